package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/journal"
)

// JournalDirName is the audit journal's directory inside a data directory.
const JournalDirName = "audit.journal"

// JournaledAudit is an audit database with journals in front of it: a
// store.AuditJournal. A request's event is durable once its process's
// journal has it (one append and one fdatasync per batch of events);
// the sequencer moves events from every journal into the database in
// large transactions, records how far it got in the same transaction,
// and retires journal segments once the database holding their events is
// synced. A process killed at any point loses nothing it acknowledged:
// its journal stays until the next sequencer has moved it.
type JournaledAudit struct {
	*AuditDB
	root string
	r    *journal.Reader

	wmu sync.Mutex
	w   *journal.Writer // created on the first Enqueue

	mu    sync.Mutex
	moved map[string]journal.Position // committed, retired after the next Sync
	swept time.Time                   // when Sync last looked at every journal: under mu
}

// sweepEvery is how often Sync looks at every journal, not only those it
// has just read: a journal read to its end while its writer lived (a
// command beside the server) is retired once the writer is gone.
const sweepEvery = 10 * time.Second

var _ store.AuditJournal = (*JournaledAudit)(nil)

// OpenJournaledAuditDir opens the audit database of a data directory and
// its journals.
func OpenJournaledAuditDir(ctx context.Context, dir string) (*JournaledAudit, error) {
	db, err := OpenAuditDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, JournalDirName)
	return &JournaledAudit{AuditDB: db, root: root, r: journal.NewReader(root), moved: map[string]journal.Position{}}, nil
}

// JournalDir returns the directory of the journals.
func (j *JournaledAudit) JournalDir() string { return j.root }

// OnCut sets a function told when a torn end of a journal is cut.
func (j *JournaledAudit) OnCut(fn func(path string, bytes int64)) { j.r.Cut = fn }

// Enqueue appends events to this process's journal and returns once they
// are on disk.
func (j *JournaledAudit) Enqueue(ctx context.Context, events []store.QueuedEvent) error {
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if j.w == nil {
		w, err := journal.Create(j.root, journal.Options{})
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		j.w = w
	}
	size := 0
	for _, e := range events {
		size += 32 + len(e.Head) + len(e.Tail) + blobSize(e.Input) + blobSize(e.Output)
	}
	buf := make([]byte, 0, size)
	records := make([][]byte, len(events))
	for i, e := range events {
		start := len(buf)
		buf = store.AppendQueuedEvent(buf, e)
		records[i] = buf[start:len(buf):len(buf)]
	}
	if err := j.w.Append(records); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func blobSize(b *store.AuditBlob) int {
	if b == nil {
		return 0
	}
	return 20 + len(b.Salt) + len(b.Data)
}

// Lead blocks until this process is the sequencer: the one that holds the
// journals' reader lock. Leadership ends only with release (or the
// process).
func (j *JournaledAudit) Lead(ctx context.Context) (context.Context, func(), error) {
	release, err := journal.Lead(ctx, j.root)
	if err != nil {
		return nil, nil, err
	}
	lead, cancel := context.WithCancel(ctx)
	return lead, func() { cancel(); release() }, nil
}

// Sequence moves up to max queued events, oldest journal first, into the
// database with fn, and records how far it read in the same transaction.
func (j *JournaledAudit) Sequence(ctx context.Context, max int, fn func(tx store.AuditTx, events []store.QueuedEvent) error) (int, error) {
	var n int
	var moved map[string]journal.Position
	err := j.AppendAudit(ctx, func(tx store.AuditTx) error {
		t := tx.(*auditTx)
		progress, err := j.progress(ctx, t.a.wconn)
		if err != nil {
			return err
		}
		ids, err := j.r.Journals()
		if err != nil {
			return err
		}
		var events []store.QueuedEvent
		moved = map[string]journal.Position{}
		for _, id := range ids {
			if len(events) >= max {
				break
			}
			from := progress[id]
			next, n, err := j.r.Read(id, from, max-len(events), func(rec []byte) error {
				q, err := store.DecodeQueuedEvent(rec)
				if err != nil {
					return fmt.Errorf("audit journal %s: %w", id, err)
				}
				events = append(events, q)
				return nil
			})
			if errors.Is(err, fs.ErrNotExist) && n == 0 {
				continue // retired meanwhile: read to its end before
			}
			if err != nil {
				return err
			}
			if next != from {
				moved[id] = next
			}
		}
		if len(events) > 0 {
			if err := fn(tx, events); err != nil {
				return err
			}
		}
		for id, p := range moved {
			if err := t.a.exec(ctx, `INSERT INTO audit_journal (journal, segment, byte_offset) VALUES (?, ?, ?)
				ON CONFLICT (journal) DO UPDATE SET segment = excluded.segment, byte_offset = excluded.byte_offset`,
				id, p.Segment, p.Offset); err != nil {
				return fmt.Errorf("audit: record journal progress: %w", err)
			}
		}
		n = len(events)
		return nil
	})
	if err != nil {
		return 0, err
	}
	j.mu.Lock()
	for id, p := range moved {
		j.moved[id] = p
	}
	j.mu.Unlock()
	return n, nil
}

// progress reads how far each journal has been moved into the log.
func (j *JournaledAudit) progress(ctx context.Context, q queryer) (map[string]journal.Position, error) {
	rows, err := q.QueryContext(ctx, `SELECT journal, segment, byte_offset FROM audit_journal`)
	if err != nil {
		return nil, fmt.Errorf("audit: read journal progress: %w", err)
	}
	defer rows.Close()
	out := map[string]journal.Position{}
	for rows.Next() {
		var id string
		var p journal.Position
		if err := rows.Scan(&id, &p.Segment, &p.Offset); err != nil {
			return nil, fmt.Errorf("audit: read journal progress: %w", err)
		}
		out[id] = p
	}
	return out, rows.Err()
}

// Sync makes the database durable and then retires the journal segments
// whose events it now holds for good.
func (j *JournaledAudit) Sync(ctx context.Context) error {
	j.mu.Lock()
	moved := j.moved
	j.moved = map[string]journal.Position{}
	j.mu.Unlock()
	if err := j.AuditDB.Sync(ctx); err != nil {
		j.mu.Lock()
		for id, p := range moved {
			if _, ok := j.moved[id]; !ok {
				j.moved[id] = p
			}
		}
		j.mu.Unlock()
		return err
	}
	var errs []error
	for id, p := range moved {
		if _, err := j.r.Retire(id, p); err != nil {
			errs = append(errs, err)
		}
	}
	j.mu.Lock()
	due := time.Since(j.swept) >= sweepEvery
	if due {
		j.swept = time.Now()
	}
	j.mu.Unlock()
	if due {
		if err := j.sweep(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweep retires every journal as far as it has been read, and forgets the
// progress of journals that no longer exist.
func (j *JournaledAudit) sweep(ctx context.Context) error {
	progress, err := j.progress(ctx, j.db)
	if err != nil {
		return err
	}
	for id, p := range progress {
		if gone, err := j.r.Retire(id, p); err != nil {
			return err
		} else if !gone {
			continue
		}
		if _, err := j.db.ExecContext(ctx, `DELETE FROM audit_journal WHERE journal = ?`, id); err != nil {
			return fmt.Errorf("audit: forget journal %s: %w", id, err)
		}
	}
	return nil
}

// QueueLen returns how many events the journals hold that are not yet in
// the log.
func (j *JournaledAudit) QueueLen(ctx context.Context) (int64, error) {
	ends, err := j.ends(ctx)
	var n int64
	for _, e := range ends {
		n += e.count
	}
	return n, err
}

type journalEnd struct {
	end   journal.Position
	count int64
}

// ends returns where each journal ends now, and how many events it holds
// beyond what has been moved.
func (j *JournaledAudit) ends(ctx context.Context) (map[string]journalEnd, error) {
	progress, err := j.progress(ctx, j.db)
	if err != nil {
		return nil, err
	}
	ids, err := j.r.Journals()
	if err != nil {
		return nil, err
	}
	out := map[string]journalEnd{}
	for _, id := range ids {
		end, n, err := j.r.End(id, progress[id])
		if errors.Is(err, os.ErrNotExist) {
			continue // retired meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[id] = journalEnd{end, n}
	}
	return out, nil
}

// WaitSequenced returns once the sequencer (of this process or another)
// has moved every event the journals hold now into the log.
func (j *JournaledAudit) WaitSequenced(ctx context.Context) error {
	want, err := j.ends(ctx)
	if err != nil {
		return err
	}
	for wait := 200 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
		progress, err := j.progress(ctx, j.db)
		if err != nil {
			return err
		}
		left := int64(0)
		for id, e := range want {
			if e.count == 0 {
				continue
			}
			if p, ok := progress[id]; !ok || p.Less(e.end) {
				if _, err := os.Stat(filepath.Join(j.root, id)); err == nil {
					left += e.count
				}
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit: events in %s are not yet in the log (is a sequencer running?): %w", j.root, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Close closes the journal writer, the reader and the database. What the
// journal holds stays for the next sequencer.
func (j *JournaledAudit) Close() error {
	j.wmu.Lock()
	var werr error
	if j.w != nil {
		werr = j.w.Close()
		j.w = nil
	}
	j.wmu.Unlock()
	j.r.Close()
	return errors.Join(werr, j.AuditDB.Close())
}
