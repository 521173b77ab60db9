package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/phone"
)

// InboundStore implements plaza.InboundStore: what Meta's webhooks report,
// applied to the workspace of the number they name.
//
// Everything is idempotent and safe against concurrent jobs on PostgreSQL:
// the unique indexes on contacts' phone keys, conversations' threads and
// messages' wamids decide races (INSERT ... ON CONFLICT DO NOTHING, then
// read the winner), and a status update locks its message row.
type InboundStore struct{ db *DB }

// NewInboundStore returns the inbound store of db.
func NewInboundStore(db *DB) *InboundStore { return &InboundStore{db: db} }

var _ plaza.InboundStore = (*InboundStore)(nil)

// errMessageStored rolls back a transaction that lost the race to store a
// message to a concurrent one: what it wrote before (a contact, a
// conversation) is the winner's to write.
var errMessageStored = errors.New("sqldb: the message was stored by a concurrent transaction")

// storedInbound returns the ids of the message the workspace stored with
// wamid, or nil.
func storedInbound(ctx context.Context, q querier, workspaceID, wamid string) (*plaza.InboundResult, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, contact_id, conversation_id FROM messages
		WHERE workspace_id = $1 AND wamid = $2`, workspaceID, wamid)
	if err != nil {
		return nil, err
	}
	var r *plaza.InboundResult
	if rows.Next() {
		r = &plaza.InboundResult{Duplicate: true}
		err = rows.Scan(&r.MessageID, &r.ContactID, &r.ConversationID)
	}
	if err := errors.Join(err, closeRows(rows)); err != nil {
		return nil, err
	}
	return r, nil
}

// StoreInboundMessage stores a customer's message, its contact and its
// conversation in one transaction.
func (s *InboundStore) StoreInboundMessage(ctx context.Context, m plaza.InboundMessage) (*plaza.InboundResult, error) {
	ws := m.Number.WorkspaceID
	if ws == "" || m.Number.ID == "" || m.WAMID == "" || m.From == "" {
		return nil, plaza.Errorf(plaza.EINVALID, "An inbound message needs its number, wamid and sender.")
	}
	var res *plaza.InboundResult
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		if res, err = storedInbound(ctx, tx, ws, m.WAMID); err != nil || res != nil {
			return err
		}
		at := m.Timestamp
		if at.IsZero() {
			at = tx.now
		}
		at = at.UTC().Truncate(time.Microsecond)
		res = &plaza.InboundResult{}
		if res.ContactID, res.NewContact, err = tx.inboundContact(ctx, m); err != nil {
			return err
		}
		if res.ConversationID, err = tx.inboundConversation(ctx, ws, res.ContactID, m.Number.ID); err != nil {
			return err
		}
		res.MessageID = newID()
		payload := string(m.Payload)
		if payload == "" {
			payload = "{}"
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
			content, payload, wamid, recipient_phone, from_phone, timestamp, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, 'in', $5, $6, $7, $8, $9, $10, $11, $12, $12)
			ON CONFLICT (workspace_id, wamid) WHERE wamid IS NOT NULL DO NOTHING`,
			ws, res.MessageID, res.ConversationID, res.ContactID, m.Type, m.Content, payload, m.WAMID,
			m.Number.DisplayPhoneNumber, m.From, at, tx.now)
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errMessageStored
		}
		// The conversation's row is updated before the contact's, as every
		// write that touches both does (a reply, a handoff, an agent's
		// turn): on PostgreSQL two of them crossing cannot deadlock.
		// The window closes 24 hours after the customer's latest message,
		// and never earlier than it already did.
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET
			last_message = CASE WHEN last_message_date IS NULL OR last_message_date <= $3 THEN $4 ELSE last_message END,
			last_message_date = CASE WHEN last_message_date IS NULL OR last_message_date <= $3 THEN $3 ELSE last_message_date END,
			window_expires_at = CASE WHEN window_expires_at IS NULL OR window_expires_at < $5 THEN $5 ELSE window_expires_at END,
			updated_date = $6
			WHERE workspace_id = $1 AND id = $2`,
			ws, res.ConversationID, at, m.Content, at.Add(plaza.WindowDuration), tx.now)
		if err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		// The last message moves only forward in time: a delivery Meta
		// retried late does not replace a newer message. Every inbound
		// message leaves the contact unread.
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET
			last_message = CASE WHEN last_message IS NULL OR last_message_date IS NULL OR last_message_date <= $3 THEN $4 ELSE last_message END,
			last_message_date = CASE WHEN last_message IS NULL OR last_message_date IS NULL OR last_message_date <= $3 THEN $3 ELSE last_message_date END,
			is_read = FALSE,
			platform_sender_name = CASE WHEN $5 <> '' THEN $5 ELSE platform_sender_name END,
			updated_date = $6
			WHERE workspace_id = $1 AND id = $2`,
			ws, res.ContactID, at, m.Content, m.ProfileName, tx.now)
		if err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		if err := tx.messageEvent(ctx, plaza.EventMessageCreated, ws, res.MessageID); err != nil {
			return err
		}
		if err := tx.conversationEvent(ctx, ws, res.ConversationID); err != nil {
			return err
		}
		// The agent answering on the number takes its turn.
		if err := tx.agentTurnHook(ctx, ws, res.ConversationID, res.MessageID, plaza.ChannelWhatsApp, m.Number.DisplayPhoneNumber); err != nil {
			return err
		}
		// A new message goes to the number's forwarding webhook.
		return tx.enqueueForwards(ctx, m, res.MessageID)
	})
	if errors.Is(err, errMessageStored) {
		if res, err = storedInbound(ctx, s.db.read, ws, m.WAMID); err == nil && res == nil {
			err = fmt.Errorf("message %s: stored by a concurrent transaction, then not found", m.WAMID)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// inboundContact returns the live contact of the sender, found by any
// variant of the number (package phone's key) or, for a sender WhatsApp
// identifies without a phone number, by platform sender id; else it
// creates one, in the contact pipeline's default stage.
func (tx *Tx) inboundContact(ctx context.Context, m plaza.InboundMessage) (id string, created bool, err error) {
	ws := m.Number.WorkspaceID
	var e164, digits, key string
	if n, err := phone.Normalize(m.From); err == nil {
		e164, digits, key = n.E164, n.Digits, n.Key
	}
	find := func() (string, error) {
		var id string
		var err error
		if key != "" {
			err = tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE workspace_id = $1 AND deletion_date IS NULL
				AND phone_key = $2 ORDER BY id LIMIT 1`, ws, key).Scan(&id)
		} else {
			err = tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE workspace_id = $1 AND deletion_date IS NULL
				AND platform_id = $2 AND platform_sender_id = $3 ORDER BY id LIMIT 1`, ws, plaza.PlatformWhatsApp, m.From).Scan(&id)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return id, err
	}
	if id, err = find(); err != nil || id != "" {
		return id, false, err
	}
	stage, err := tx.defaultStage(ctx, ws, plaza.PipelineContact)
	if err != nil {
		return "", false, err
	}
	name := strings.TrimSpace(m.ProfileName)
	if name == "" {
		name = m.From
		if e164 != "" {
			name = e164
		}
	}
	id = newID()
	r, err := tx.ExecContext(ctx, `INSERT INTO contacts (workspace_id, id, name, platform_id, internal_whatsapp_number,
		phone, wa_id, phone_key, platform_sender_id, platform_sender_name, stage_id, is_manually_added,
		order_in_cards_updated, creation_date, updated_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE, $12, $12, $12)
		ON CONFLICT (workspace_id, phone_key) WHERE deletion_date IS NULL AND phone_key IS NOT NULL DO NOTHING`,
		ws, id, name, plaza.PlatformWhatsApp, nilIfEmpty(m.Number.DisplayPhoneNumber), nilIfEmpty(e164),
		nilIfEmpty(digits), nilIfEmpty(key), m.From, strings.TrimSpace(m.ProfileName), nilIfEmpty(stage), tx.now)
	if err != nil {
		return "", false, fmt.Errorf("insert contact: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		// A concurrent transaction created the contact first.
		if id, err = find(); err == nil && id == "" {
			err = fmt.Errorf("contact of %s: created concurrently, then not found", m.From)
		}
		return id, false, err
	}
	if stage != "" {
		err = tx.recordStageChange(ctx, ws, plaza.Actor{Type: plaza.ActorWhatsApp, ID: m.Number.ID},
			stageChange{Entity: plaza.EntityContact, RecordID: id, ToStage: &stage})
		if err != nil {
			return "", false, err
		}
	}
	return id, true, nil
}

// inboundConversation returns the contact's WhatsApp conversation on the
// number, creating it when missing.
func (tx *Tx) inboundConversation(ctx context.Context, workspaceID, contactID, numberID string) (string, error) {
	find := func() (string, error) {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2
			AND channel = 'whatsapp' AND whatsapp_number_id = $3`, workspaceID, contactID, numberID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return id, err
	}
	id, err := find()
	if err != nil || id != "" {
		return id, err
	}
	id = newID()
	r, err := tx.ExecContext(ctx, `INSERT INTO conversations (workspace_id, id, contact_id, channel, whatsapp_number_id,
		creation_date, updated_date) VALUES ($1, $2, $3, 'whatsapp', $4, $5, $5)
		ON CONFLICT (workspace_id, contact_id, channel, whatsapp_number_id) DO NOTHING`,
		workspaceID, id, contactID, numberID, tx.now)
	if err != nil {
		return "", fmt.Errorf("insert conversation: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		if id, err = find(); err == nil && id == "" {
			err = errors.New("conversation created concurrently, then not found")
		}
	}
	return id, err
}

// ApplyMessageStatus moves an outbound message's status.
func (s *InboundStore) ApplyMessageStatus(ctx context.Context, u plaza.MessageStatusUpdate, advance plaza.StatusAdvance) (bool, error) {
	ws := u.Number.WorkspaceID
	if ws == "" || u.WAMID == "" {
		return false, plaza.Errorf(plaza.EINVALID, "A status needs its number and wamid.")
	}
	found := false
	err := s.db.inTx(ctx, func(tx *Tx) error {
		lock := ""
		if tx.db.Dialect == Postgres {
			// Statuses of one message arrive in separate deliveries, worked
			// at once by separate jobs: each reads the status it advances
			// from under this lock. (SQLite's writers are serialised.)
			lock = ` FOR UPDATE`
		}
		var id string
		var status, wamid sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, status, wamid FROM messages
			WHERE workspace_id = $1 AND wamid = $2 AND direction = 'out'`+lock, ws, u.WAMID).Scan(&id, &status, &wamid)
		if errors.Is(err, sql.ErrNoRows) {
			ours := plaza.MessageIDFromCallbackData(u.CallbackData)
			if ours == "" {
				return nil
			}
			err = tx.QueryRowContext(ctx, `SELECT id, status, wamid FROM messages
				WHERE workspace_id = $1 AND id = $2 AND direction = 'out'`+lock, ws, ours).Scan(&id, &status, &wamid)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if wamid.Valid && wamid.String != u.WAMID {
			return nil // the callback data names a message Meta gave another wamid
		}
		found = true
		if !wamid.Valid {
			// Meta accepted the send, though its answer was never recorded
			// (a crash or a timeout in between): the message was sent.
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET wamid = $3, send_state = 'sent', updated_date = $4
				WHERE workspace_id = $1 AND id = $2`, ws, id, u.WAMID, tx.now); err != nil {
				return fmt.Errorf("attach wamid: %w", err)
			}
		}
		next, changed := advance(status.String, u.Status)
		if !changed {
			if !wamid.Valid { // the wamid attached is news
				return tx.messageEvent(ctx, plaza.EventMessageUpdated, ws, id)
			}
			return nil
		}
		var code any
		var title, details any
		if next == u.Status && u.Error != nil {
			code, title, details = u.Error.Code, u.Error.Title, u.Error.Details
		}
		_, err = tx.ExecContext(ctx, `UPDATE messages SET status = $3,
			error_code = COALESCE($4, error_code), error_title = COALESCE($5, error_title),
			error_details = COALESCE($6, error_details), updated_date = $7
			WHERE workspace_id = $1 AND id = $2`, ws, id, next, code, title, details, tx.now)
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		return tx.messageEvent(ctx, plaza.EventMessageUpdated, ws, id)
	})
	return found, err
}

// ApplyTemplateStatus records Meta's review of a template.
func (s *InboundStore) ApplyTemplateStatus(ctx context.Context, c plaza.TemplateStatusChange) error {
	ws := c.Number.WorkspaceID
	if ws == "" || c.Status == "" || (c.MetaID == "" && (c.Name == "" || c.Language == "")) {
		return plaza.Errorf(plaza.EINVALID, "A template status needs its number, status, and Meta's id or name and language.")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE whatsapp_templates SET status = $3, reason = $4,
			meta_id = CASE WHEN $5 <> '' THEN $5 ELSE meta_id END,
			category = CASE WHEN $6 <> '' THEN $6 ELSE category END,
			updated_date = $7
			WHERE workspace_id = $1 AND whatsapp_number_id = $2
			AND ((meta_id = $5 AND $5 <> '') OR (name = $8 AND language = $9))`,
			ws, c.Number.ID, c.Status, nilIfEmpty(c.Reason), c.MetaID, c.Category, tx.now, c.Name, c.Language)
		if err != nil {
			return fmt.Errorf("update template: %w", err)
		}
		if n, _ := r.RowsAffected(); n > 0 || c.Name == "" || c.Language == "" {
			return nil
		}
		// Not synced yet: the review is all Plaza knows of the template.
		_, err = tx.ExecContext(ctx, `INSERT INTO whatsapp_templates (workspace_id, id, whatsapp_number_id, meta_id,
			name, language, category, status, reason, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (workspace_id, whatsapp_number_id, name, language) DO UPDATE SET status = excluded.status,
			reason = excluded.reason, meta_id = COALESCE(excluded.meta_id, whatsapp_templates.meta_id),
			updated_date = excluded.updated_date`,
			ws, newID(), c.Number.ID, nilIfEmpty(c.MetaID), c.Name, c.Language, c.Category, c.Status,
			nilIfEmpty(c.Reason), tx.now)
		if err != nil {
			return fmt.Errorf("insert template: %w", err)
		}
		return nil
	})
}

// WhatsAppNumbersByWabaID lists the connected numbers of a WABA.
func (s *InboundStore) WhatsAppNumbersByWabaID(ctx context.Context, wabaID string) ([]plaza.WhatsAppNumber, error) {
	scan := func(row scanner) (*plaza.WhatsAppNumber, error) { return scanWhatsAppNumber(row) }
	return queryAll(ctx, s.db.read, scan, `SELECT `+whatsappNumberColumns+` FROM whatsapp_numbers
		WHERE waba_id = $1 ORDER BY id`, wabaID)
}

// ExecForTest runs a statement in a write transaction, for tests that
// set up rows no API writes yet.
func (db *DB) ExecForTest(ctx context.Context, query string, args ...any) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}
