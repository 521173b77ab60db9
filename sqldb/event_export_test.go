package sqldb

import (
	"context"

	"github.com/plaza-crm/plaza"
)

// EventTxForTest is a write transaction a test commits by hand, to
// interleave writers of events.
type EventTxForTest struct{ tx *Tx }

// BeginEventTxForTest begins a write transaction (on SQLite it holds the
// one writer until it ends).
func (db *DB) BeginEventTxForTest(ctx context.Context) (*EventTxForTest, error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &EventTxForTest{&Tx{Tx: sqlTx, db: db, now: db.now()}}, nil
}

// TakeXID gives the transaction its PostgreSQL transaction id now.
func (t *EventTxForTest) TakeXID(ctx context.Context) error {
	_, err := t.tx.ExecContext(ctx, `SELECT pg_current_xact_id()`)
	return err
}

func (t *EventTxForTest) InsertEvent(ctx context.Context, e plaza.Event) error {
	return t.tx.insertEvent(ctx, e)
}

func (t *EventTxForTest) Commit() error {
	if err := t.tx.Commit(); err != nil {
		return err
	}
	for _, fn := range t.tx.afterCommit {
		fn()
	}
	return nil
}

func (t *EventTxForTest) Rollback() error { return t.tx.Rollback() }

// TailEventsForTest is what the broker reads after after.
func (db *DB) TailEventsForTest(ctx context.Context, after int64) ([]plaza.Event, bool, error) {
	return db.tailEvents(ctx, after, eventBatch)
}

// EventHeadForTest is where a broker starting now would start.
func (db *DB) EventHeadForTest(ctx context.Context) (int64, error) { return db.eventHead(ctx) }

// ListenerPID is the backend of the broker's LISTEN connection, 0 before
// it connects.
func (b *EventBroker) ListenerPID() uint32 { return b.listenerPID.Load() }
