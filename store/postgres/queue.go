package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelgate/modelgate/store"
)

var _ store.AuditQueue = (*AuditDB)(nil)

// Enqueue stores events durably in one statement.
func (a *AuditDB) Enqueue(ctx context.Context, events []store.QueuedEvent) error {
	n := len(events)
	times := make([]int64, n)
	heads, tails := make([][]byte, n), make([][]byte, n)
	inSalt, inData, outSalt, outData := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	for i, e := range events {
		times[i], heads[i], tails[i] = e.Time.UnixNano(), e.Head, e.Tail
		if e.Input != nil {
			inSalt[i], inData[i] = nonNilBytes(e.Input.Salt), e.Input.Data
		}
		if e.Output != nil {
			outSalt[i], outData[i] = nonNilBytes(e.Output.Salt), e.Output.Data
		}
	}
	_, err := a.db.pool.Exec(ctx, `INSERT INTO audit_queue (time_ns, head, tail, in_salt, in_data, out_salt, out_data)
		SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[])`,
		times, heads, tails, inSalt, inData, outSalt, outData)
	if err != nil {
		return fmt.Errorf("audit: enqueue: %w", err)
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// sequencerLock is the session advisory lock that elects the sequencer;
// the log's transaction lock is a.lock.
func (a *AuditDB) sequencerLock() int64 { return a.lock ^ 0x5e9 }

// Lead waits for the sequencer's lock on a connection of its own. The lock
// lives as long as that connection: if it dies, PostgreSQL releases the
// lock and another replica takes over, and the returned context ends here.
// Tree writes also hold the log's transaction lock, so even a sequencer
// that has not yet noticed it lost leadership cannot write beside its
// successor.
func (a *AuditDB) Lead(ctx context.Context) (context.Context, func(), error) {
	conn, err := a.db.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	pc := conn.Hijack()
	if _, err := pc.Exec(ctx, `SELECT pg_advisory_lock($1)`, a.sequencerLock()); err != nil {
		pc.Close(context.Background())
		return nil, nil, err
	}
	lead, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-lead.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(lead, 2*time.Second)
				err := pc.Ping(pctx)
				pcancel()
				if err != nil && lead.Err() == nil {
					cancel() // the lock went with the connection
					return
				}
			}
		}
	}()
	release := func() {
		cancel()
		<-done
		// Closing the connection releases the session lock.
		pc.Close(context.Background())
	}
	return lead, release, nil
}

// Sequence moves up to max queued events into the log in one locked
// transaction.
func (a *AuditDB) Sequence(ctx context.Context, max int, fn func(store.AuditTx, []store.QueuedEvent) error) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, a.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, a.lock); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, time_ns, head, tail, in_salt, in_data, out_salt, out_data
			FROM audit_queue ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, max)
		if err != nil {
			return err
		}
		var (
			ids    []int64
			events []store.QueuedEvent
		)
		for rows.Next() {
			var (
				id, ns                           int64
				e                                store.QueuedEvent
				inSalt, inData, outSalt, outData []byte
			)
			if err := rows.Scan(&id, &ns, &e.Head, &e.Tail, &inSalt, &inData, &outSalt, &outData); err != nil {
				rows.Close()
				return err
			}
			e.Time = fromNanos(ns)
			if inSalt != nil {
				e.Input = &store.AuditBlob{Salt: inSalt, Data: inData}
			}
			if outSalt != nil {
				e.Output = &store.AuditBlob{Salt: outSalt, Data: outData}
			}
			ids, events = append(ids, id), append(events, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		if err := fn(&auditTx{ctx: ctx, tx: tx}, events); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM audit_queue WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		n = len(events)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: sequence: %w", err)
	}
	return n, nil
}

// QueueLen returns how many events wait to be sequenced.
func (a *AuditDB) QueueLen(ctx context.Context) (int64, error) {
	var n int64
	err := a.db.pool.QueryRow(ctx, `SELECT count(*) FROM audit_queue`).Scan(&n)
	return n, err
}
