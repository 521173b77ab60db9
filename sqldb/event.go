package sqldb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
)

// Events are written by the transaction of the change they report
// (insertEvent), so an event exists exactly when its change does, and read
// back in id order by the EventBroker (event_broker.go).
//
// The order readers see must be the order ids grow in, or a reader asking
// for ids above the last it has would skip one. On SQLite writers take
// turns (one write connection, BEGIN IMMEDIATE), so AUTOINCREMENT ids
// become visible in order.
//
// On PostgreSQL transactions run side by side and commit in any order, so
// a sequence's ids do not become visible in order. Filtering on the
// writers' xids does not save a sequence either: an older transaction (a
// smaller xid) may draw a larger id than a younger one still running, be
// delivered once it commits, and the younger one's smaller id is then
// skipped. So the id is made of the xid itself: an event's id is
// xid * eventRankSpan + its rank among its transaction's events, and a
// reader takes only ids below pg_snapshot_xmin(pg_current_snapshot()) *
// eventRankSpan. Below that xmin every transaction has finished (its
// events are visible or rolled back), and every event not visible yet
// belongs to a transaction at or above it, so its id is larger than
// everything delivered. The price: a long-running writing transaction
// anywhere on the server holds delivery back until it ends.
//
// The ids stay below 2^53 (exact in JavaScript) while the server's xids
// stay below 2^37, and a transaction writes at most eventRankSpan events
// (a Send Conversation to 1,000 destinations writes 2,000).
const eventRankSpan = 1 << 16

// eventBoundSQL is the id every event a reader may take is below:
// events at or above it may still have earlier neighbours in transactions
// under way.
func (db *DB) eventBoundSQL() string {
	if db.Dialect == Postgres {
		return `(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 65536)`
	}
	return `9223372036854775807`
}

// insertEvent writes e in the transaction; its id and time are the
// transaction's to give. Brokers in this process are woken when the
// transaction commits (other processes: PostgreSQL's NOTIFY, sent by a
// trigger on events, or their poll).
func (tx *Tx) insertEvent(ctx context.Context, e plaza.Event) error {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	var err error
	if tx.db.Dialect == Postgres {
		// The rank is read from the transaction's own range of ids: no
		// other transaction writes there. Past the range the id is NULL
		// and the insert fails.
		_, err = tx.ExecContext(ctx, `INSERT INTO events (workspace_id, id, type, conversation_id, contact_id, data, created_at)
			SELECT $1, CASE WHEN r.rank < 65536 THEN r.base + r.rank END, $2, $3, $4, $5, $6
			FROM (SELECT x.base, COALESCE((SELECT max(e.id) + 1 FROM events e WHERE e.id >= x.base AND e.id < x.base + 65536), x.base) - x.base AS rank
				FROM (SELECT pg_current_xact_id()::text::bigint * 65536 AS base) x) r`,
			e.WorkspaceID, e.Type, nilIfEmpty(e.ConversationID), nilIfEmpty(e.ContactID), string(e.Data), tx.now)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO events (workspace_id, type, conversation_id, contact_id, data, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			e.WorkspaceID, e.Type, nilIfEmpty(e.ConversationID), nilIfEmpty(e.ContactID), string(e.Data), tx.now)
	}
	if err != nil {
		return fmt.Errorf("insert %s event (a transaction writes at most %d): %w", e.Type, eventRankSpan, err)
	}
	tx.afterCommit = append(tx.afterCommit, tx.db.eventsCommitted.notify)
	return nil
}

// eventJSON renders an event's data as the API renders it.
func eventJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// messageEvent writes a message.created or message.updated event of the
// workspace's message, as the message reads render it now.
func (tx *Tx) messageEvent(ctx context.Context, typ, workspaceID, messageID string) error {
	m, err := findMessage(ctx, tx, workspaceID, messageID)
	if err != nil {
		return fmt.Errorf("%s event: %w", typ, err)
	}
	data, err := eventJSON(m)
	if err != nil {
		return err
	}
	return tx.insertEvent(ctx, plaza.Event{WorkspaceID: workspaceID, Type: typ,
		ConversationID: m.ConversationID, ContactID: m.ContactID, Data: data})
}

// conversationEvent writes a conversation.updated event of the
// workspace's conversation, as the conversation reads render it now.
func (tx *Tx) conversationEvent(ctx context.Context, workspaceID, conversationID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+conversationColumns+conversationFrom+`
		WHERE cv.workspace_id = $1 AND cv.id = $2`, workspaceID, conversationID)
	if err != nil {
		return err
	}
	var cv *plaza.Conversation
	if rows.Next() {
		cv, err = scanConversation(rows)
	}
	if err := errors.Join(err, closeRows(rows)); err != nil {
		return fmt.Errorf("conversation event: %w", err)
	}
	if cv == nil {
		return fmt.Errorf("conversation event: conversation %s not found", conversationID)
	}
	data, err := eventJSON(cv)
	if err != nil {
		return err
	}
	return tx.insertEvent(ctx, plaza.Event{WorkspaceID: workspaceID, Type: plaza.EventConversationUpdated,
		ConversationID: cv.ID, ContactID: cv.ContactID, Data: data})
}

const eventColumns = `id, workspace_id, type, COALESCE(conversation_id, ''), COALESCE(contact_id, ''), data, created_at`

func scanEvent(row scanner, extra ...any) (plaza.Event, error) {
	var e plaza.Event
	var data string
	var at sqlTime
	err := row.Scan(append([]any{&e.ID, &e.WorkspaceID, &e.Type, &e.ConversationID, &e.ContactID, &data, &at}, extra...)...)
	e.Data, e.CreationDate = json.RawMessage(data), at.plaza()
	return e, err
}

// eventHead returns the id every event visible from now on is above.
func (db *DB) eventHead(ctx context.Context) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM events WHERE id < `+db.eventBoundSQL()).Scan(&id)
	return id, err
}

// tailEvents returns, in id order, up to limit events of every workspace
// after the id after that a reader may take now. held says that visible
// events wait behind a transaction under way (PostgreSQL).
func (db *DB) tailEvents(ctx context.Context, after int64, limit int) (events []plaza.Event, held bool, err error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+eventColumns+`, `+db.eventBoundSQL()+`
		FROM events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, false, err
	}
	for rows.Next() {
		var bound int64
		e, err := scanEvent(rows, &bound)
		if err != nil {
			rows.Close()
			return nil, false, err
		}
		if e.ID >= bound {
			held = true
			break
		}
		events = append(events, e)
	}
	return events, held, closeRows(rows)
}

// backlogEvents returns, in id order, up to limit of the filter's events
// with ids in (after, upto].
func (db *DB) backlogEvents(ctx context.Context, f plaza.EventFilter, after, upto int64, limit int) ([]plaza.Event, error) {
	w := newConditions(f.WorkspaceID, `workspace_id = $1`)
	w.add(`id > ` + w.arg(after))
	w.add(`id <= ` + w.arg(upto))
	if f.ConversationID != "" {
		w.add(`conversation_id = ` + w.arg(f.ConversationID))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+w.sql()+
		` ORDER BY id LIMIT `+w.arg(limit), w.args...)
	if err != nil {
		return nil, err
	}
	var events []plaza.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		events = append(events, e)
	}
	return events, closeRows(rows)
}

// PruneEvents deletes events created before before, oldest first, in
// batches of at most batch rows, and at most maxBatches of them (the next
// call goes on): each batch looks at the batch oldest events only, so it
// costs the same however large the table is. It returns how many were
// deleted.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, batch, maxBatches int) (int, error) {
	total := 0
	for i := 0; i < maxBatches; i++ {
		var n int64
		err := db.inTx(ctx, func(tx *Tx) error {
			r, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (SELECT o.id FROM
				(SELECT id, created_at FROM events ORDER BY id LIMIT $2) o WHERE o.created_at < $1)`,
				before.UTC().Truncate(time.Microsecond), batch)
			if err != nil {
				return err
			}
			n, err = r.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += int(n)
		if n < int64(batch) {
			break
		}
	}
	return total, nil
}

// eventSignal wakes this process's brokers when a transaction that wrote
// events commits. Its zero value is ready.
type eventSignal struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func (s *eventSignal) subscribe() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	c := make(chan struct{}, 1)
	s.subs[c] = struct{}{}
	return c
}

func (s *eventSignal) unsubscribe(c chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, c)
}

func (s *eventSignal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // already pending
		}
	}
}
