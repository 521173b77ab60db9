package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/phone"
)

// WebhookService implements plaza.WebhookService and
// plaza.WebhookForwardStore: the forwarding webhooks of connected numbers,
// their deliveries and attempts. Endpoint secrets are sealed with the
// server's secret key.
type WebhookService struct {
	db    *DB
	box   secretBox
	check plaza.WebhookURLCheck
}

// NewWebhookService returns the service of db; secretKey seals the
// endpoints' secrets and check refuses the URLs the server will not call.
func NewWebhookService(db *DB, secretKey string, check plaza.WebhookURLCheck) *WebhookService {
	return &WebhookService{db: db, box: newSecretBox(secretKey), check: check}
}

var (
	_ plaza.WebhookService      = (*WebhookService)(nil)
	_ plaza.WebhookForwardStore = (*WebhookService)(nil)
)

func webhookSecretPlace(workspaceID, id string) string {
	return "webhook_endpoints.secret:" + workspaceID + ":" + id
}

// newWebhookSecret is a Standard Webhooks secret: whsec_ and the base64 of
// 32 random bytes (the HMAC key).
func newWebhookSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// webhookNumber finds the workspace's number named by its Plaza id or its
// display phone number in any format.
func webhookNumber(ctx context.Context, q querier, workspaceID, number string) (id, display string, err error) {
	number = strings.TrimSpace(number)
	digits := number
	if n, err := phone.Normalize(number); err == nil {
		digits = n.Digits
	}
	err = q.QueryRowContext(ctx, `SELECT id, display_phone_number FROM whatsapp_numbers
		WHERE workspace_id = $1 AND (id = $2 OR display_digits = $3) ORDER BY id LIMIT 1`,
		workspaceID, number, digits).Scan(&id, &display)
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return "", "", plaza.Errorf(plaza.ENOTFOUND, "WhatsApp number not found.")
		}
		return "", "", err
	}
	return id, display, nil
}

const webhookEndpointColumns = `e.workspace_id, e.id, e.whatsapp_number_id, n.display_phone_number, e.url,
	e.disabled_at, e.disabled_reason, e.creation_date`

func scanWebhookEndpoint(row scanner) (*plaza.WebhookEndpoint, error) {
	var e plaza.WebhookEndpoint
	var disabled sqlNullTime
	var reason string
	var created sqlTime
	if err := row.Scan(&e.WorkspaceID, &e.ID, &e.WhatsAppNumberID, &e.DisplayPhoneNumber, &e.Webhook,
		&disabled, &reason, &created); err != nil {
		return nil, err
	}
	e.Disabled = disabled.plaza() != nil
	if e.Disabled {
		e.DisabledReason = &reason
	}
	e.CreationDate = created.plaza()
	return &e, nil
}

// endpointOf returns the number's endpoint, ENOTFOUND when none.
func endpointOf(ctx context.Context, q querier, workspaceID, numberID string) (*plaza.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(q.QueryRowContext(ctx, `SELECT `+webhookEndpointColumns+`
		FROM webhook_endpoints e JOIN whatsapp_numbers n ON n.workspace_id = e.workspace_id AND n.id = e.whatsapp_number_id
		WHERE e.workspace_id = $1 AND e.whatsapp_number_id = $2`, workspaceID, numberID))
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "This WhatsApp number has no webhook.")
		}
		return nil, err
	}
	return e, nil
}

// SetWebhook registers the number's webhook, replacing any previous one.
func (s *WebhookService) SetWebhook(ctx context.Context, number, webhook string) (*plaza.WebhookEndpointSecret, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	u, err := plaza.ParseWebhookURL(webhook, s.check)
	if err != nil {
		return nil, err
	}
	var out *plaza.WebhookEndpointSecret
	err = s.db.inTx(ctx, func(tx *Tx) error {
		numberID, _, err := webhookNumber(ctx, tx, p.WorkspaceID, number)
		if err != nil {
			return err
		}
		if err := tx.cancelEndpointDeliveries(ctx, p.WorkspaceID, numberID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND whatsapp_number_id = $2`,
			p.WorkspaceID, numberID); err != nil {
			return err
		}
		id, secret := newID(), newWebhookSecret()
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (workspace_id, id, whatsapp_number_id, url, secret, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.WorkspaceID, id, numberID, u.String(),
			s.box.seal(secret, webhookSecretPlace(p.WorkspaceID, id)), tx.now); err != nil {
			return fmt.Errorf("insert webhook endpoint: %w", err)
		}
		e, err := endpointOf(ctx, tx, p.WorkspaceID, numberID)
		if err != nil {
			return err
		}
		out = &plaza.WebhookEndpointSecret{WebhookEndpoint: *e, Secret: secret}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// cancelEndpointDeliveries cancels the pending deliveries of the number's
// endpoint, which is being replaced or removed.
func (tx *Tx) cancelEndpointDeliveries(ctx context.Context, workspaceID, numberID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $3, updated_date = $4
		WHERE workspace_id = $1 AND whatsapp_number_id = $2 AND status = $5`,
		workspaceID, numberID, plaza.WebhookCancelled, tx.now, plaza.WebhookPending)
	return err
}

// DeleteWebhook removes the number's webhook.
func (s *WebhookService) DeleteWebhook(ctx context.Context, number string) error {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		numberID, _, err := webhookNumber(ctx, tx, p.WorkspaceID, number)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND whatsapp_number_id = $2`,
			p.WorkspaceID, numberID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "This WhatsApp number has no webhook.")
		}
		return tx.cancelEndpointDeliveries(ctx, p.WorkspaceID, numberID)
	})
}

// FindWebhook returns the number's webhook.
func (s *WebhookService) FindWebhook(ctx context.Context, number string) (*plaza.WebhookEndpoint, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	numberID, _, err := webhookNumber(ctx, s.db.read, p.WorkspaceID, number)
	if err != nil {
		return nil, err
	}
	return endpointOf(ctx, s.db.read, p.WorkspaceID, numberID)
}

const webhookDeliveryColumns = `id, endpoint_id, message_id, status, creation_date, updated_date`

func scanWebhookDelivery(row scanner) (*plaza.WebhookDelivery, error) {
	var d plaza.WebhookDelivery
	var created, updated sqlTime
	if err := row.Scan(&d.ID, &d.EndpointID, &d.MessageID, &d.Status, &created, &updated); err != nil {
		return nil, err
	}
	d.CreationDate, d.UpdatedDate = created.plaza(), updated.plaza()
	d.Attempts = []plaza.WebhookAttempt{}
	return &d, nil
}

// FindWebhookDeliveries lists the number's deliveries, newest first.
func (s *WebhookService) FindWebhookDeliveries(ctx context.Context, number string, page plaza.Page) ([]plaza.WebhookDelivery, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	numberID, _, err := webhookNumber(ctx, s.db.read, p.WorkspaceID, number)
	if err != nil {
		return nil, false, err
	}
	args := []any{p.WorkspaceID, numberID, page.Size() + 1}
	after := ""
	if page.After != "" {
		after = ` AND id < $4`
		args = append(args, page.After)
	}
	list, err := queryAll(ctx, s.db.read, scanWebhookDelivery, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
		WHERE workspace_id = $1 AND whatsapp_number_id = $2`+after+` ORDER BY id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, false, err
	}
	list, more := cutPage(list, page.Size())
	if err := s.attachAttempts(ctx, p.WorkspaceID, list); err != nil {
		return nil, false, err
	}
	return list, more, nil
}

// attachAttempts reads the attempts of the deliveries.
func (s *WebhookService) attachAttempts(ctx context.Context, workspaceID string, list []plaza.WebhookDelivery) error {
	if len(list) == 0 {
		return nil
	}
	index := map[string]int{}
	args := []any{workspaceID}
	for i, d := range list {
		index[d.ID] = i
		args = append(args, d.ID)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT delivery_id, id, attempted_at, status_code, error, duration_ms
		FROM webhook_attempts WHERE workspace_id = $1 AND delivery_id IN (`+placeholders(2, len(list))+`)
		ORDER BY id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var deliveryID, errText string
		var a plaza.WebhookAttempt
		var at sqlTime
		var code *int
		if err := rows.Scan(&deliveryID, &a.ID, &at, &code, &errText, &a.DurationMs); err != nil {
			rows.Close()
			return err
		}
		a.AttemptedAt, a.StatusCode, a.Error = at.plaza(), code, nilIfEmpty(errText)
		i := index[deliveryID]
		list[i].Attempts = append(list[i].Attempts, a)
	}
	return closeRows(rows)
}

// ReplayWebhookDelivery sends a delivery again to the number's webhook.
func (s *WebhookService) ReplayWebhookDelivery(ctx context.Context, number, deliveryID string) (*plaza.WebhookDelivery, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	var d *plaza.WebhookDelivery
	err = s.db.inTx(ctx, func(tx *Tx) error {
		numberID, _, err := webhookNumber(ctx, tx, p.WorkspaceID, number)
		if err != nil {
			return err
		}
		e, err := endpointOf(ctx, tx, p.WorkspaceID, numberID)
		if err != nil {
			return err
		}
		if e.Disabled {
			return plaza.Errorf(plaza.ECONFLICT, "The webhook is disabled (it answered 410 Gone); register it again.")
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET endpoint_id = $4, status = $5, updated_date = $6
			WHERE workspace_id = $1 AND whatsapp_number_id = $2 AND id = $3`,
			p.WorkspaceID, numberID, deliveryID, e.ID, plaza.WebhookPending, tx.now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "Webhook delivery not found.")
		}
		if err := tx.enqueue(ctx, plaza.WebhookForwardJob{WorkspaceID: p.WorkspaceID, DeliveryID: deliveryID},
			&river.InsertOpts{MaxAttempts: plaza.WebhookMaxAttempts}); err != nil {
			return err
		}
		d, err = scanWebhookDelivery(tx.QueryRowContext(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
			WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, deliveryID))
		return err
	})
	if err != nil {
		return nil, err
	}
	list := []plaza.WebhookDelivery{*d}
	if err := s.attachAttempts(ctx, p.WorkspaceID, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// enqueueForwards records the delivery of a new inbound message to its
// number's webhook, if it has one that is enabled, with its job, in the
// transaction that stores the message.
func (tx *Tx) enqueueForwards(ctx context.Context, m plaza.InboundMessage, messageID string) error {
	ws := m.Number.WorkspaceID
	var endpointID string
	err := tx.QueryRowContext(ctx, `SELECT id FROM webhook_endpoints
		WHERE workspace_id = $1 AND whatsapp_number_id = $2 AND disabled_at IS NULL`, ws, m.Number.ID).Scan(&endpointID)
	if errors.Is(err, sql.ErrNoRows) || plaza.ErrorCode(normalize(err)) == plaza.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	body, err := forwardBody(m)
	if err != nil {
		return err
	}
	id := newID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (workspace_id, id, whatsapp_number_id, endpoint_id,
		message_id, body, status, creation_date, updated_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		ws, id, m.Number.ID, endpointID, messageID, string(body), plaza.WebhookPending, tx.now); err != nil {
		return fmt.Errorf("insert webhook delivery: %w", err)
	}
	return tx.enqueue(ctx, plaza.WebhookForwardJob{WorkspaceID: ws, DeliveryID: id},
		&river.InsertOpts{MaxAttempts: plaza.WebhookMaxAttempts})
}

// forwardBody is Plazbot's forward of an inbound message: the customer's
// number, the message as text, and Meta's webhook payload of the message.
func forwardBody(m plaza.InboundMessage) ([]byte, error) {
	msg := m.Payload
	if len(msg) == 0 {
		msg = json.RawMessage(`{}`)
	}
	type obj = map[string]any
	ref, err := json.Marshal(obj{"object": "whatsapp_business_account", "entry": []any{obj{
		"id": m.Number.WabaID, "changes": []any{obj{"field": "messages", "value": obj{
			"messaging_product": "whatsapp",
			"metadata":          obj{"display_phone_number": m.Number.DisplayPhoneNumber, "phone_number_id": m.Number.PhoneNumberID},
			"contacts":          []any{obj{"profile": obj{"name": m.ProfileName}, "wa_id": m.From}},
			"messages":          []any{msg},
		}}},
	}}})
	if err != nil {
		return nil, err
	}
	return json.Marshal(plaza.WebhookForwardBody{RecipientPhone: m.From, Content: m.Content, Reference: ref})
}

// WebhookSendOf returns a pending delivery with its endpoint.
func (s *WebhookService) WebhookSendOf(ctx context.Context, workspaceID, deliveryID string) (*plaza.WebhookSend, error) {
	var send *plaza.WebhookSend
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var status, endpointID, url, sealed, body string
		var disabled sqlNullTime
		var hasEndpoint bool
		rows, err := tx.QueryContext(ctx, `SELECT d.status, d.endpoint_id, d.body, e.url, e.secret, e.disabled_at
			FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id
			WHERE d.workspace_id = $1 AND d.id = $2`, workspaceID, deliveryID)
		if err != nil {
			return err
		}
		found := rows.Next()
		if found {
			var u, sec *string
			err = rows.Scan(&status, &endpointID, &body, &u, &sec, &disabled)
			if u != nil && sec != nil {
				hasEndpoint, url, sealed = true, *u, *sec
			}
		}
		if err := errors.Join(err, closeRows(rows)); err != nil || !found || status != plaza.WebhookPending {
			return err
		}
		if !hasEndpoint || disabled.plaza() != nil {
			_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $3, updated_date = $4
				WHERE workspace_id = $1 AND id = $2`, workspaceID, deliveryID, plaza.WebhookCancelled, tx.now)
			return err
		}
		secret, err := s.box.open(sealed, webhookSecretPlace(workspaceID, endpointID))
		if err != nil {
			return err
		}
		send = &plaza.WebhookSend{WorkspaceID: workspaceID, DeliveryID: deliveryID, URL: url, Secret: secret, Body: []byte(body)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return send, nil
}

// RecordWebhookAttempt logs an attempt and the delivery's status.
func (s *WebhookService) RecordWebhookAttempt(ctx context.Context, workspaceID, deliveryID string, a plaza.WebhookAttempt, status, disable string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		errText := ""
		if a.Error != nil {
			errText = *a.Error
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (workspace_id, delivery_id, id, attempted_at,
			status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			workspaceID, deliveryID, newID(), a.AttemptedAt.Time.UTC().Truncate(time.Microsecond), a.StatusCode, errText, a.DurationMs); err != nil {
			return fmt.Errorf("insert webhook attempt: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $3, updated_date = $4
			WHERE workspace_id = $1 AND id = $2 AND status = $5`,
			workspaceID, deliveryID, status, tx.now, plaza.WebhookPending); err != nil {
			return err
		}
		if disable == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = $3, disabled_reason = $4
			WHERE workspace_id = $1 AND id = (SELECT endpoint_id FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2)
			AND disabled_at IS NULL`, workspaceID, deliveryID, tx.now, disable)
		return err
	})
}
