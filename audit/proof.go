package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// storeHashes reads stored hashes for proofs.
type storeHashes struct {
	ctx context.Context
	st  store.AuditStore
}

func (s storeHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	raw, err := s.st.AuditHashes(s.ctx, indexes)
	if err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(raw))
	for i, h := range raw {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("audit: stored hash %d has %d bytes", indexes[i], len(h))
		}
		out[i] = tlog.Hash(h)
	}
	return out, nil
}

// Proof shows that one event is in the log: the event, its inclusion
// proof, and a signed checkpoint whose tree contains it. Anyone with the
// log's public key can check it offline (VerifyProof).
type Proof struct {
	Index      int64          `json:"index"`
	Event      jsontext.Value `json:"event"`
	LeafHash   string         `json:"leaf_hash"`
	TreeSize   int64          `json:"tree_size"`
	Inclusion  []string       `json:"inclusion_proof"`
	Checkpoint string         `json:"checkpoint"`
}

// BuildProof proves event index against the latest checkpoint, which must
// cover it (Log.Checkpoint signs one that does).
func BuildProof(ctx context.Context, st store.AuditStore, v note.Verifier, index int64) (*Proof, error) {
	c, err := st.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("no checkpoint to prove against: %w", err)
	}
	cp, err := OpenCheckpoint(c.Note, v)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= cp.Tree.N {
		return nil, fmt.Errorf("event %d is not covered by the latest checkpoint (size %d): %w", index, cp.Tree.N, store.ErrNotFound)
	}
	leaf, err := st.AuditLeaf(ctx, index)
	if err != nil {
		return nil, err
	}
	rp, err := tlog.ProveRecord(cp.Tree.N, index, storeHashes{ctx, st})
	if err != nil {
		return nil, fmt.Errorf("build inclusion proof: %w", err)
	}
	h := tlog.RecordHash(leaf.Data)
	p := &Proof{Index: index, Event: jsontext.Value(leaf.Data), LeafHash: base64.StdEncoding.EncodeToString(h[:]),
		TreeSize: cp.Tree.N, Checkpoint: string(cp.Note)}
	for _, x := range rp {
		p.Inclusion = append(p.Inclusion, base64.StdEncoding.EncodeToString(x[:]))
	}
	// Check what we hand out: a proof that fails here means the stored
	// hashes disagree with the signed tree.
	if _, err := VerifyProof(p, v); err != nil {
		return nil, fmt.Errorf("the stored log does not prove event %d: %w", index, err)
	}
	return p, nil
}

// VerifyProof checks a proof with the log's public key alone and returns
// the event it proves.
func VerifyProof(p *Proof, v note.Verifier) (*Event, error) {
	cp, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return nil, err
	}
	if p.TreeSize != cp.Tree.N {
		return nil, fmt.Errorf("proof says tree size %d but its checkpoint is for %d", p.TreeSize, cp.Tree.N)
	}
	// The leaf is the canonical form of the event, whatever whitespace the
	// bundle's JSON carries.
	data := bytes.Clone(p.Event)
	if err := (*jsontext.Value)(&data).Canonicalize(); err != nil {
		return nil, fmt.Errorf("event is not valid JSON: %w", err)
	}
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if ev.Index != p.Index {
		return nil, fmt.Errorf("the event says it is number %d, the proof says %d", ev.Index, p.Index)
	}
	var rp tlog.RecordProof
	for i, s := range p.Inclusion {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("inclusion proof hash %d is not a base64 SHA-256", i)
		}
		rp = append(rp, tlog.Hash(raw))
	}
	if err := tlog.CheckRecord(rp, cp.Tree.N, cp.Tree.Hash, p.Index, tlog.RecordHash(data)); err != nil {
		return nil, fmt.Errorf("the event is not in the signed tree: %w", err)
	}
	return &ev, nil
}

// Consistency proves that the log's latest checkpoint extends an older
// one: every event the old checkpoint covered is still there, unchanged,
// in the same place.
func Consistency(ctx context.Context, st store.AuditStore, v note.Verifier, old []byte) (oldCP, newCP *Checkpoint, err error) {
	if oldCP, err = OpenCheckpoint(old, v); err != nil {
		return nil, nil, fmt.Errorf("saved checkpoint: %w", err)
	}
	c, err := st.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	if newCP, err = OpenCheckpoint(c.Note, v); err != nil {
		return nil, nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	if newCP.Tree.N < oldCP.Tree.N {
		return oldCP, newCP, fmt.Errorf("the log (%d events) is smaller than the saved checkpoint (%d): it was truncated or rolled back", newCP.Tree.N, oldCP.Tree.N)
	}
	proof, err := tlog.ProveTree(newCP.Tree.N, oldCP.Tree.N, storeHashes{ctx, st})
	if err != nil {
		return oldCP, newCP, fmt.Errorf("build consistency proof: %w", err)
	}
	if err := tlog.CheckTree(proof, newCP.Tree.N, newCP.Tree.Hash, oldCP.Tree.N, oldCP.Tree.Hash); err != nil {
		return oldCP, newCP, fmt.Errorf("the log does not extend the saved checkpoint: %w", err)
	}
	return oldCP, newCP, nil
}
