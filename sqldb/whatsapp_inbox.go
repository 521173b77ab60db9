package sqldb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
)

// WhatsAppInbox implements plaza.WhatsAppInbox on the whatsapp_inbox table,
// which is its own durable queue (migration 0018): the webhook's one
// insert is the whole enqueue, and drainers claim the rows.
type WhatsAppInbox struct {
	db *DB
	// Logger reports a lost LISTEN connection; nil discards.
	Logger *slog.Logger
	// Listening, when set, is called each time a watcher's LISTEN is in
	// place (tests wait for it).
	Listening func()
}

// NewWhatsAppInbox returns the inbox of db.
func NewWhatsAppInbox(db *DB) *WhatsAppInbox { return &WhatsAppInbox{db: db} }

var _ plaza.WhatsAppInbox = (*WhatsAppInbox)(nil)

// inboxChannel is the PostgreSQL channel a stored delivery is announced on.
const inboxChannel = "plaza_whatsapp_inbox"

// StoreWhatsAppDelivery stores the delivery in one statement: no
// transaction around it and no job beside it. On PostgreSQL the same
// statement announces it to the other replicas' drainers (NOTIFY is sent
// when the statement commits); this process's watchers are woken after.
func (s *WhatsAppInbox) StoreWhatsAppDelivery(ctx context.Context, body []byte) error {
	id, now := newID(), s.db.now()
	var err error
	if s.db.Dialect == Postgres {
		_, err = s.db.write.ExecContext(ctx, `WITH d AS (INSERT INTO whatsapp_inbox (id, body, received_at) VALUES ($1, $2, $3) RETURNING id)
			SELECT pg_notify('`+inboxChannel+`', '') FROM d`, id, string(body), now)
	} else {
		_, err = s.db.write.ExecContext(ctx, `INSERT INTO whatsapp_inbox (id, body, received_at) VALUES ($1, $2, $3)`,
			id, string(body), now)
	}
	if err != nil {
		return fmt.Errorf("insert whatsapp inbox: %w", err)
	}
	inboxHubOf(s.db).wake()
	return nil
}

// ClaimWhatsAppDeliveries claims due deliveries in id (arrival) order. On
// PostgreSQL, FOR UPDATE SKIP LOCKED lets replicas claim side by side
// without waiting on or taking each other's rows; on SQLite the single
// writer connection serialises claims.
func (s *WhatsAppInbox) ClaimWhatsAppDeliveries(ctx context.Context, c plaza.WhatsAppInboxClaim) ([]plaza.WhatsAppDelivery, error) {
	if c.Limit <= 0 || c.Lease <= 0 || c.Owner == "" {
		return nil, errors.New("whatsapp inbox: a claim needs an owner, a limit and a lease")
	}
	lock := ""
	if s.db.Dialect == Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	now := s.db.now()
	rows, err := s.db.write.QueryContext(ctx, `UPDATE whatsapp_inbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM whatsapp_inbox
			WHERE processed_at IS NULL AND failed_at IS NULL
				AND (next_attempt_at IS NULL OR next_attempt_at <= $3) AND (claimed_until IS NULL OR claimed_until <= $3)
			ORDER BY id LIMIT $4 `+lock+`)
		RETURNING id, body, attempts`, c.Owner, now.Add(c.Lease), now, c.Limit)
	if err != nil {
		return nil, fmt.Errorf("claim whatsapp inbox: %w", err)
	}
	defer rows.Close()
	var ds []plaza.WhatsAppDelivery
	for rows.Next() {
		var d plaza.WhatsAppDelivery
		var body string
		if err := rows.Scan(&d.ID, &body, &d.Attempt); err != nil {
			return nil, err
		}
		d.Body = []byte(body)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim whatsapp inbox: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(ds, func(a, b plaza.WhatsAppDelivery) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return ds, nil
}

// MarkWhatsAppDeliveriesProcessed marks the deliveries processed in one
// statement; claimed_by is kept, naming the process that applied them.
func (s *WhatsAppInbox) MarkWhatsAppDeliveriesProcessed(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.db.now()}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.write.ExecContext(ctx, `UPDATE whatsapp_inbox SET processed_at = $1, claimed_until = NULL, next_attempt_at = NULL
		WHERE id IN (`+placeholders(2, len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("mark whatsapp inbox processed: %w", err)
	}
	return nil
}

// RetryWhatsAppDelivery records a failed attempt and when to try again;
// a zero retryAt gives the delivery up.
func (s *WhatsAppInbox) RetryWhatsAppDelivery(ctx context.Context, id, lastError string, retryAt time.Time) error {
	var next, failed *time.Time
	if retryAt.IsZero() {
		now := s.db.now()
		failed = &now
	} else {
		t := retryAt.UTC().Truncate(time.Microsecond)
		next = &t
	}
	_, err := s.db.write.ExecContext(ctx, `UPDATE whatsapp_inbox SET last_error = $2, next_attempt_at = $3, failed_at = $4,
		claimed_until = NULL WHERE id = $1 AND processed_at IS NULL`, id, lastError, next, failed)
	if err != nil {
		return fmt.Errorf("retry whatsapp inbox: %w", err)
	}
	return nil
}

// ReleaseWhatsAppDeliveries ends the owner's live claims of the deliveries.
func (s *WhatsAppInbox) ReleaseWhatsAppDeliveries(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.write.ExecContext(ctx, `UPDATE whatsapp_inbox SET claimed_until = NULL, attempts = attempts - 1
		WHERE claimed_by = $1 AND processed_at IS NULL AND claimed_until IS NOT NULL AND id IN (`+placeholders(2, len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("release whatsapp inbox: %w", err)
	}
	return nil
}

// WatchWhatsAppDeliveries returns a channel woken after this process
// stores a delivery on db (through any WhatsAppInbox of the same DB) and,
// on PostgreSQL, when any process does: a connection of the pool LISTENs
// for as long as ctx lives, reconnecting after a failure. Wakes are
// coalesced: a watcher that is busy gets one value for many deliveries.
func (s *WhatsAppInbox) WatchWhatsAppDeliveries(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	hub := inboxHubOf(s.db)
	hub.add(ch)
	go func() {
		<-ctx.Done()
		hub.remove(ch)
	}()
	if s.db.Dialect == Postgres {
		go s.listen(ctx, ch)
	}
	return ch
}

// listen relays the channel's notifications to ch until ctx ends.
func (s *WhatsAppInbox) listen(ctx context.Context, ch chan struct{}) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for ctx.Err() == nil {
		err := func() error {
			conn, err := s.db.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			// The connection leaves the pool for good: closing it ends the
			// LISTEN, which must not stay on a pooled connection.
			c := conn.Hijack()
			defer c.Close(context.Background())
			if _, err := c.Exec(ctx, `LISTEN `+inboxChannel); err != nil {
				return err
			}
			if s.Listening != nil {
				s.Listening()
			}
			// Deliveries stored while no one listened are waiting.
			signal(ch)
			for {
				if _, err := c.WaitForNotification(ctx); err != nil {
					return err
				}
				signal(ch)
			}
		}()
		if ctx.Err() != nil {
			return
		}
		log.Warn("whatsapp inbox: LISTEN failed; listening again in a second", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// inboxHub is the in-process wake-up of one DB's watchers.
type inboxHub struct {
	mu       sync.Mutex
	watchers []chan struct{}
}

// inboxHubOf is db's hub: every WhatsAppInbox made on one DB wakes the
// same watchers.
func inboxHubOf(db *DB) *inboxHub { return &db.inboxStored }

func (h *inboxHub) add(ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers = append(h.watchers, ch)
}

func (h *inboxHub) remove(ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers = slices.DeleteFunc(h.watchers, func(c chan struct{}) bool { return c == ch })
}

func (h *inboxHub) wake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.watchers {
		signal(ch)
	}
}

// PruneWhatsAppDeliveries deletes, oldest first, deliveries processed
// before processedBefore and deliveries given up before failedBefore, at
// most limit of them. Each call looks at the limit oldest deliveries only,
// so it costs the same however large the inbox is; unprocessed ones are
// never touched.
func (s *WhatsAppInbox) PruneWhatsAppDeliveries(ctx context.Context, processedBefore, failedBefore time.Time, limit int) (int, error) {
	var n int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_inbox WHERE id IN (SELECT o.id FROM
			(SELECT id, processed_at, failed_at FROM whatsapp_inbox ORDER BY id LIMIT $3) o
			WHERE o.processed_at < $1 OR o.failed_at < $2)`,
			processedBefore.UTC().Truncate(time.Microsecond), failedBefore.UTC().Truncate(time.Microsecond), limit)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune whatsapp inbox: %w", err)
	}
	return int(n), nil
}
