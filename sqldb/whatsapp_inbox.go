package sqldb

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// WhatsAppInbox implements plaza.WhatsAppInbox on the whatsapp_inbox table
// and the job queue.
type WhatsAppInbox struct{ db *DB }

// NewWhatsAppInbox returns the inbox of db. The db's queue must be open.
func NewWhatsAppInbox(db *DB) *WhatsAppInbox { return &WhatsAppInbox{db: db} }

var _ plaza.WhatsAppInbox = (*WhatsAppInbox)(nil)

// StoreWhatsAppDelivery stores the delivery and its processing job in one
// transaction.
func (s *WhatsAppInbox) StoreWhatsAppDelivery(ctx context.Context, body []byte) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		id := newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_inbox (id, body, received_at) VALUES ($1, $2, $3)`,
			id, string(body), tx.now); err != nil {
			return fmt.Errorf("insert whatsapp inbox: %w", err)
		}
		return tx.enqueue(ctx, plaza.WhatsAppInboxJob{InboxID: id}, &river.InsertOpts{MaxAttempts: 25})
	})
}

// WhatsAppDelivery returns a stored delivery's body.
func (s *WhatsAppInbox) WhatsAppDelivery(ctx context.Context, inboxID string) ([]byte, error) {
	var body string
	err := s.db.read.QueryRowContext(ctx, `SELECT body FROM whatsapp_inbox WHERE id = $1`, inboxID).Scan(&body)
	if err != nil {
		return nil, normalize(err)
	}
	return []byte(body), nil
}

// MarkWhatsAppDeliveryProcessed records that a delivery was applied.
func (s *WhatsAppInbox) MarkWhatsAppDeliveryProcessed(ctx context.Context, inboxID string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE whatsapp_inbox SET processed_at = $1 WHERE id = $2`, tx.now, inboxID)
		return err
	})
}
