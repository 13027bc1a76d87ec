package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// BundleFormat names the evidence bundle format.
const BundleFormat = "modelgate-evidence-bundle/1"

// Bundle is evidence that travels: a set of events, each with its proof
// of inclusion in one signed checkpoint, and a proof that this checkpoint
// extends an earlier one (the log was not rewritten between them). Anyone
// with the log's public key checks it offline (VerifyBundle); changing a
// byte of any event breaks its proof.
type Bundle struct {
	Format  string    `json:"format"`
	Subject string    `json:"subject"` // what the evidence is about: an incident id
	Created time.Time `json:"created"`
	// Checkpoint is the signed checkpoint every proof is against.
	Checkpoint string   `json:"checkpoint"`
	Proofs     []*Proof `json:"proofs"`
	// Earlier, when set, is an older signed checkpoint, and Consistency
	// the proof that Checkpoint's tree extends it.
	Earlier     string   `json:"earlier_checkpoint,omitempty"`
	Consistency []string `json:"consistency_proof,omitempty"`
	// Context is what else the evidence needs (configuration and model
	// digests); it is covered by no proof and says so.
	Context map[string]string `json:"context,omitempty"`
}

// BuildBundle proves each event against the latest checkpoint (which must
// cover them: Log.Checkpoint signs one that does), and that checkpoint
// against earlier, when given.
func BuildBundle(ctx context.Context, st store.AuditStore, v note.Verifier, subject string, indexes []int64, earlier []byte) (*Bundle, error) {
	b := &Bundle{Format: BundleFormat, Subject: subject, Created: time.Now().UTC()}
	indexes = slices.Clone(indexes)
	slices.Sort(indexes)
	indexes = slices.Compact(indexes)
	for _, i := range indexes {
		p, err := BuildProof(ctx, st, v, i)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if b.Checkpoint == "" {
			b.Checkpoint = p.Checkpoint
		} else if p.Checkpoint != b.Checkpoint {
			return nil, errors.New("the log signed a new checkpoint while the bundle was built; build it again")
		}
		b.Proofs = append(b.Proofs, p)
	}
	if b.Checkpoint == "" {
		c, err := st.LatestAuditCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		b.Checkpoint = string(c.Note)
	}
	if len(earlier) > 0 {
		old, err := OpenCheckpoint(earlier, v)
		if err != nil {
			return nil, fmt.Errorf("earlier checkpoint: %w", err)
		}
		cur, err := OpenCheckpoint([]byte(b.Checkpoint), v)
		if err != nil {
			return nil, err
		}
		proof, err := tlog.ProveTree(cur.Tree.N, old.Tree.N, storeHashes{ctx, st})
		if err != nil {
			return nil, fmt.Errorf("consistency proof: %w", err)
		}
		b.Earlier = string(earlier)
		for _, h := range proof {
			b.Consistency = append(b.Consistency, base64.StdEncoding.EncodeToString(h[:]))
		}
	}
	return b, nil
}

// VerifyBundle checks every proof of a bundle, and its consistency proof,
// with the log's public key alone, and returns the events it proves.
func VerifyBundle(b *Bundle, v note.Verifier) ([]*Event, error) {
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("not an evidence bundle (format %q, want %q)", b.Format, BundleFormat)
	}
	cur, err := OpenCheckpoint([]byte(b.Checkpoint), v)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var events []*Event
	for i, p := range b.Proofs {
		if p == nil {
			return nil, fmt.Errorf("proof %d is empty", i)
		}
		if p.Checkpoint != b.Checkpoint {
			return nil, fmt.Errorf("proof %d (event %d) is against another checkpoint than the bundle's", i, p.Index)
		}
		ev, err := VerifyProof(p, v)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", p.Index, err)
		}
		events = append(events, ev)
	}
	if b.Earlier != "" {
		old, err := OpenCheckpoint([]byte(b.Earlier), v)
		if err != nil {
			return nil, fmt.Errorf("earlier checkpoint: %w", err)
		}
		var proof tlog.TreeProof
		for i, s := range b.Consistency {
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(raw) != tlog.HashSize {
				return nil, fmt.Errorf("consistency proof hash %d is not a base64 SHA-256", i)
			}
			proof = append(proof, tlog.Hash(raw))
		}
		if err := tlog.CheckTree(proof, cur.Tree.N, cur.Tree.Hash, old.Tree.N, old.Tree.Hash); err != nil {
			return nil, fmt.Errorf("the checkpoint does not extend the earlier one (%d events): %w", old.Tree.N, err)
		}
	}
	return events, nil
}
