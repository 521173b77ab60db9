package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// OutboundService implements plaza.OutboundStore: outbound messages and
// the state machine of their sends (see plaza.SendQueued and the comment
// at the top of outbound.go).
//
// Every transition is a conditional UPDATE on the state (and attempt
// count) its caller saw, so concurrent jobs for one message, on any
// replica, cannot both claim the call to Meta.
type OutboundService struct{ db *DB }

// NewOutboundService returns the outbound store of db. The db's queue must
// be open.
func NewOutboundService(db *DB) *OutboundService { return &OutboundService{db: db} }

var _ plaza.OutboundStore = (*OutboundService)(nil)

// SendJobMaxAttempts is how many times the send job of a message runs
// before its message is failed (River's backoff spreads them over about
// eleven hours). Waits for a status webhook do not count.
const SendJobMaxAttempts = 12

// errNoNumber is the 400 of a workspace with no connected number.
var errNoNumber = plaza.Invalid(plaza.FieldError{Field: "internalWhatsappNumber",
	Message: "No WhatsApp number is connected to this workspace; connect one with POST /api/workspace/{workspaceId}/whatsapp/numbers."})

// windowClosed is the EWINDOWCLOSED of a send to a contact whose 24-hour
// window is not open; data says which contact and conversation, when
// there are.
func windowClosed(to string, contactID, conversationID *string, expired *time.Time) error {
	msg := fmt.Sprintf("The 24-hour customer service window with %s is closed: the customer has not written in the last 24 hours, so only a template can reach them (POST /api/message/conversation).", to)
	if contactID == nil {
		msg = fmt.Sprintf("%s has never written to this workspace on WhatsApp, so no customer service window is open: only a template can reach them (POST /api/message/conversation).", to)
	}
	data := map[string]any{"contactId": contactID, "conversationId": conversationID, "windowExpiresAt": nil}
	if expired != nil {
		data["windowExpiresAt"] = plaza.NewTime(*expired)
	}
	return &plaza.Error{Code: plaza.EWINDOWCLOSED, Message: msg, Data: data}
}

// sendNumber is a connected number a send may go from.
type sendNumber struct{ id, digits string }

// sendingNumber returns the number the caller chose (by id or display
// number), or "" when the caller chose none; EINVALID when the workspace
// has no number or the choice is not one of them.
func (tx *Tx) sendingNumber(ctx context.Context, workspaceID string, in plaza.MessageSend) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, display_phone_number FROM whatsapp_numbers WHERE workspace_id = $1 ORDER BY id`, workspaceID)
	if err != nil {
		return "", err
	}
	var numbers []sendNumber
	for rows.Next() {
		var n sendNumber
		if err := rows.Scan(&n.id, &n.digits); err != nil {
			rows.Close()
			return "", err
		}
		numbers = append(numbers, n)
	}
	if err := closeRows(rows); err != nil {
		return "", err
	}
	if len(numbers) == 0 {
		return "", errNoNumber
	}
	var byID, byDigits string
	for _, n := range numbers {
		if in.NumberID != "" && n.id == in.NumberID {
			byID = n.id
		}
		if in.SenderDigits != "" && n.digits == in.SenderDigits {
			byDigits = n.id
		}
	}
	switch {
	case in.NumberID != "" && byID == "":
		return "", invalidRef("numberId", "WhatsApp number", in.NumberID)
	case in.SenderDigits != "" && byDigits == "":
		return "", plaza.Invalid(plaza.FieldError{Field: "internalWhatsappNumber",
			Message: fmt.Sprintf("internalWhatsappNumber %s is not a WhatsApp number connected to this workspace.", in.InternalWhatsappNumber)})
	case byID != "" && byDigits != "" && byID != byDigits:
		return "", plaza.Invalid(plaza.FieldError{Field: "numberId", Message: "numberId and internalWhatsappNumber name different numbers."})
	}
	if byID != "" {
		return byID, nil
	}
	return byDigits, nil
}

// sendContact is the contact a send goes to.
type sendContact struct {
	id   string
	e164 sql.NullString // its number
	key  sql.NullString // the matching key of its number (package phone)
}

// sendingContact returns the contact of the send: the one named by
// contactId, whose number must be recipientPhone, or else the live
// contact with any variant of recipientPhone; nil when there is none.
func (tx *Tx) sendingContact(ctx context.Context, workspaceID string, in plaza.MessageSend) (*sendContact, error) {
	var c sendContact
	var err error
	if in.ContactID != "" {
		err = tx.QueryRowContext(ctx, `SELECT id, phone, phone_key FROM contacts WHERE workspace_id = $1 AND id = $2
			AND deletion_date IS NULL`, workspaceID, in.ContactID).Scan(&c.id, &c.e164, &c.key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, invalidRef("contactId", "Contact", in.ContactID)
		}
		if err == nil && c.key.String != in.Recipient.Key {
			return nil, plaza.Invalid(plaza.FieldError{Field: "recipientPhone",
				Message: fmt.Sprintf("recipientPhone %s is not the phone of contact %s.", in.RecipientPhone, in.ContactID)})
		}
	} else {
		err = tx.QueryRowContext(ctx, `SELECT id, phone, phone_key FROM contacts WHERE workspace_id = $1 AND phone_key = $2
			AND deletion_date IS NULL ORDER BY id LIMIT 1`, workspaceID, in.Recipient.Key).Scan(&c.id, &c.e164, &c.key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// textPayload is the Graph API request that sends a text, as the
// message's payload stores it: the WhatsApp client's own.
func textPayload(to, body, messageID string) (string, error) {
	b, err := whatsapp.TextRequest(to, body, whatsapp.TextOptions{BizOpaqueCallbackData: plaza.OutboundCallbackData(messageID)})
	return string(b), err
}

// QueueWhatsAppText stores a free-form text for the caller's contact and
// enqueues its send, in one transaction, if the contact's 24-hour window
// on the sending number is open.
func (s *OutboundService) QueueWhatsAppText(ctx context.Context, in plaza.MessageSend) (*plaza.MessageSent, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	id := newID()
	var sent *plaza.MessageSent
	err = s.db.inTx(ctx, func(tx *Tx) error {
		// A web chat contact is answered on the web chat (webchat.go).
		if in.ContactID != "" {
			m, ok, err := tx.webchatSend(ctx, ws, in, answerType(p))
			if ok {
				sent = &plaza.MessageSent{ContactID: in.ContactID, Message: m}
			}
			if err != nil || ok {
				return err
			}
		}
		t, err := tx.sendTarget(ctx, ws, in)
		if err != nil {
			return err
		}
		payload, err := textPayload(t.to, in.Content, id)
		if err != nil {
			return err
		}
		sent, err = tx.queueOutbound(ctx, p, t, outboundRow{id: id, typ: "text", content: in.Content, payload: payload,
			externalReferenceID: in.ExternalReferenceID, agentSenderID: in.AgentSendedID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return sent, nil
}

// sendTarget is where a free-form send goes: the contact, its WhatsApp
// conversation whose window is open, and the number of that conversation.
type sendTarget struct {
	contactID, conversationID, numberID string
	// to is the recipient in E.164.
	to string
}

// sendTarget finds where a free-form send goes (see QueueWhatsAppText):
// EINVALID when no number is connected or the send names what is not the
// workspace's, EWINDOWCLOSED when the contact's window is not open.
func (tx *Tx) sendTarget(ctx context.Context, ws string, in plaza.MessageSend) (*sendTarget, error) {
	if in.RecipientPhone == "" {
		return nil, plaza.ErrRecipientPhoneRequired
	}
	numberID, err := tx.sendingNumber(ctx, ws, in)
	if err != nil {
		return nil, err
	}
	c, err := tx.sendingContact(ctx, ws, in)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, windowClosed(in.Recipient.E164, nil, nil, nil)
	}
	// The conversation on the chosen number; else the contact's
	// conversation whose window closes last.
	query := `SELECT id, whatsapp_number_id, window_expires_at FROM conversations WHERE workspace_id = $1 AND contact_id = $2
		AND channel = 'whatsapp' AND whatsapp_number_id `
	args := []any{ws, c.id}
	if numberID != "" {
		query += `= $3`
		args = append(args, numberID)
	} else {
		query += `IS NOT NULL ORDER BY CASE WHEN window_expires_at IS NULL THEN 0 ELSE 1 END DESC, window_expires_at DESC, id DESC LIMIT 1`
	}
	t := sendTarget{contactID: c.id}
	var window sqlNullTime
	err = tx.QueryRowContext(ctx, query, args...).Scan(&t.conversationID, &t.numberID, &window)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, windowClosed(in.Recipient.E164, &c.id, nil, nil)
	} else if err != nil {
		return nil, err
	}
	if !window.valid || !window.t.t.After(tx.now) {
		var expired *time.Time
		if window.valid {
			expired = &window.t.t
		}
		return nil, windowClosed(in.Recipient.E164, &c.id, &t.conversationID, expired)
	}
	// The contact's own number is WhatsApp's id for them (the one their
	// messages came from); recipientPhone may be another variant of it.
	t.to = in.Recipient.E164
	if c.e164.Valid && c.e164.String != "" {
		t.to = c.e164.String
	}
	return &t, nil
}

// answerType is who answers in a message the principal sends: "api" for
// an API key, "human" for a user in the console, "ai" for an AI agent.
func answerType(p *plaza.Principal) string {
	if p.AgentID != "" {
		return plaza.AnswerAI
	}
	if p.APIKeyID == "" {
		return "human"
	}
	return "api"
}

// outboundRow is an outbound message to store queued.
type outboundRow struct {
	id, typ, content, payload          string
	externalReferenceID, agentSenderID string
}

// queueOutbound stores the message queued in the target's conversation,
// makes it the conversation's and the contact's last message, and
// enqueues its send job. It returns the message as stored.
func (tx *Tx) queueOutbound(ctx context.Context, p *plaza.Principal, t *sendTarget, m outboundRow) (*plaza.MessageSent, error) {
	ws := p.WorkspaceID
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
		content, payload, recipient_phone, status, send_state, external_reference_id, agent_sender_id, answer_type,
		timestamp, creation_date, updated_date)
		VALUES ($1, $2, $3, $4, 'out', $5, $6, $7, $8, 'queued', 'queued', $9, $10, $11, $12, $12, $12)`,
		ws, m.id, t.conversationID, t.contactID, m.typ, m.content, m.payload, strings.TrimPrefix(t.to, "+"),
		nilIfEmpty(m.externalReferenceID), nilIfEmpty(m.agentSenderID), answerType(p), tx.now)
	if err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	}
	if err := tx.humanReplied(ctx, p, t.conversationID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_message = $3, last_message_date = $4, updated_date = $4
		WHERE workspace_id = $1 AND id = $2`, ws, t.conversationID, m.content, tx.now); err != nil {
		return nil, fmt.Errorf("update conversation: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET last_message = $3, last_message_date = $4
		WHERE workspace_id = $1 AND id = $2`, ws, t.contactID, m.content, tx.now); err != nil {
		return nil, fmt.Errorf("update contact: %w", err)
	}
	if err := tx.enqueue(ctx, plaza.WhatsAppSendJob{WorkspaceID: ws, MessageID: m.id}, &river.InsertOpts{MaxAttempts: SendJobMaxAttempts}); err != nil {
		return nil, err
	}
	if err := tx.messageEvent(ctx, plaza.EventMessageCreated, ws, m.id); err != nil {
		return nil, err
	}
	if err := tx.conversationEvent(ctx, ws, t.conversationID); err != nil {
		return nil, err
	}
	// Read before the commit: once the send is durable, nothing may fail
	// the request (a client retrying it would send twice).
	msg, err := findMessage(ctx, tx, ws, m.id)
	if err != nil {
		return nil, err
	}
	return &plaza.MessageSent{ContactID: t.contactID, Message: msg}, nil
}

// findMessage returns a message of the workspace, in the shape the
// conversation reads give it.
func findMessage(ctx context.Context, q querier, workspaceID, id string) (*plaza.Message, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+messageColumns+messageFrom+` WHERE m.workspace_id = $1 AND m.id = $2`, workspaceID, id)
	if err != nil {
		return nil, err
	}
	var m *plaza.Message
	if rows.Next() {
		m, err = scanMessage(rows)
	}
	if err := errors.Join(err, closeRows(rows)); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Message not found.")
	}
	return m, nil
}

// FindOutboundMessage returns one of the caller's messages.
func (s *OutboundService) FindOutboundMessage(ctx context.Context, id string) (*plaza.Message, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findMessage(ctx, s.db.read, p.WorkspaceID, id)
}

// OutboundSend returns the send of an outbound message.
func (s *OutboundService) OutboundSend(ctx context.Context, workspaceID, messageID string) (*plaza.OutboundSend, error) {
	o := plaza.OutboundSend{WorkspaceID: workspaceID, MessageID: messageID}
	var to, state, phoneNumberID sql.NullString
	var until sqlNullTime
	err := s.db.read.QueryRowContext(ctx, `SELECT m.type, m.content, m.payload, m.recipient_phone, m.send_state, m.attempts,
		m.reconcile_until, wn.phone_number_id
		FROM messages m
		JOIN conversations cv ON cv.workspace_id = m.workspace_id AND cv.id = m.conversation_id
		LEFT JOIN whatsapp_numbers wn ON wn.workspace_id = cv.workspace_id AND wn.id = cv.whatsapp_number_id
		WHERE m.workspace_id = $1 AND m.id = $2 AND m.direction = 'out'`, workspaceID, messageID).Scan(
		&o.Type, &o.Content, &o.Payload, &to, &state, &o.Attempts, &until, &phoneNumberID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Outbound message %s not found.", messageID)
	} else if err != nil {
		return nil, err
	}
	if to.String != "" {
		o.To = "+" + to.String
	}
	o.SendState, o.PhoneNumberID = state.String, phoneNumberID.String
	if until.valid {
		t := until.t.t
		o.ReconcileUntil = &t
	}
	return &o, nil
}

// BeginWhatsAppSend claims the call to Meta.
func (s *OutboundService) BeginWhatsAppSend(ctx context.Context, seen plaza.OutboundSend) (bool, error) {
	var claimed bool
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE messages SET send_state = 'sending', attempts = attempts + 1,
			reconcile_until = NULL, updated_date = $5
			WHERE workspace_id = $1 AND id = $2 AND send_state = $3 AND attempts = $4
			AND (send_state = 'queued' OR (send_state = 'sending' AND reconcile_until <= $5))`,
			seen.WorkspaceID, seen.MessageID, seen.SendState, seen.Attempts, tx.now)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// StartWhatsAppReconcile opens (or keeps) the wait for a status webhook.
func (s *OutboundService) StartWhatsAppReconcile(ctx context.Context, seen plaza.OutboundSend, d time.Duration) (time.Time, error) {
	var until time.Time
	err := s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET reconcile_until = $5, updated_date = $6
			WHERE workspace_id = $1 AND id = $2 AND send_state = 'sending' AND attempts = $3
			AND (reconcile_until IS NULL OR reconcile_until < $4)`,
			seen.WorkspaceID, seen.MessageID, seen.Attempts, tx.now.Add(d), tx.now.Add(d), tx.now); err != nil {
			return err
		}
		var u sqlNullTime
		err := tx.QueryRowContext(ctx, `SELECT reconcile_until FROM messages WHERE workspace_id = $1 AND id = $2
			AND send_state = 'sending' AND attempts = $3`, seen.WorkspaceID, seen.MessageID, seen.Attempts).Scan(&u)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // moved on meanwhile: the zero time says look again
		}
		if u.valid {
			until = u.t.t
		}
		return err
	})
	return until, err
}

// RecordWhatsAppSent records Meta's acceptance. A status webhook may have
// come first and moved the status further, or attached the same wamid.
//
// Meta never gives two messages one wamid; should its answer name one
// that another message of the workspace has, the message is still
// recorded sent (Meta accepted it: sending it again would be the worse
// error), without the wamid.
func (s *OutboundService) RecordWhatsAppSent(ctx context.Context, workspaceID, messageID, wamid string) error {
	record := func(wamid any) error {
		return s.db.inTx(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE messages SET wamid = COALESCE(wamid, $3), send_state = 'sent',
				status = CASE WHEN status IN ('delivered', 'read', 'failed') THEN status ELSE 'sent' END,
				reconcile_until = NULL, updated_date = $4
				WHERE workspace_id = $1 AND id = $2`, workspaceID, messageID, wamid, tx.now)
			if err != nil {
				return err
			}
			return tx.messageEvent(ctx, plaza.EventMessageUpdated, workspaceID, messageID)
		})
	}
	err := record(wamid)
	if isUnique(err) {
		err = record(nil)
	}
	return err
}

// RecordWhatsAppRefused records Meta's refusal of a send.
func (s *OutboundService) RecordWhatsAppRefused(ctx context.Context, workspaceID, messageID string, e plaza.MessageError, retryable bool) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		if retryable {
			_, err := tx.ExecContext(ctx, `UPDATE messages SET send_state = 'queued', reconcile_until = NULL, updated_date = $3
				WHERE workspace_id = $1 AND id = $2 AND send_state = 'sending'`, workspaceID, messageID, tx.now)
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE messages SET send_state = 'failed', status = 'failed', reconcile_until = NULL,
			error_code = $3, error_title = $4, error_details = $5, updated_date = $6
			WHERE workspace_id = $1 AND id = $2 AND send_state IN ('queued', 'sending')`,
			workspaceID, messageID, e.Code, e.Title, e.Details, tx.now)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			return tx.messageEvent(ctx, plaza.EventMessageUpdated, workspaceID, messageID)
		}
		return nil
	})
}

// RecoverWhatsAppSends takes over send jobs, and campaign fan-out jobs,
// whose process died.
//
// River rescues such a job too, but only from its elected leader (which
// a crashed leader holds for a while) and only after RescueStuckJobsAfter
// (five minutes here), so a crash would hold a message, or the rest of a
// campaign, back that long. Any replica may run this: a send job still
// running elsewhere only looks stuck once its timeout has passed, and a
// job taking over a message whose job is in fact alive finds the message
// sending and waits, or sent and stops. A fan-out job may run longer than
// stuckAfter and be taken over while alive: the two fan out batch by
// batch under the campaign's lock (see FanOutWhatsAppCampaign), so no
// destination is queued twice. Each stuck job is taken over once (the
// new job is unique by its args, which name the stuck job).
func (s *OutboundService) RecoverWhatsAppSends(ctx context.Context, stuckAfter time.Duration) (int, error) {
	sends, err := s.recoverStuckJobs(ctx, plaza.WhatsAppSendJob{}.Kind(), stuckAfter, func(job *rivertype.JobRow) (river.JobArgs, int, error) {
		var args plaza.WhatsAppSendJob
		err := json.Unmarshal(job.EncodedArgs, &args)
		args.Recovers = job.ID
		return args, SendJobMaxAttempts, err
	})
	if err != nil {
		return sends, err
	}
	campaigns, err := s.recoverStuckJobs(ctx, plaza.WhatsAppCampaignJob{}.Kind(), stuckAfter, func(job *rivertype.JobRow) (river.JobArgs, int, error) {
		var args plaza.WhatsAppCampaignJob
		err := json.Unmarshal(job.EncodedArgs, &args)
		args.Recovers = job.ID
		return args, CampaignJobMaxAttempts, err
	})
	return sends + campaigns, err
}

// recoverStuckJobs enqueues, for each job of kind running since before
// stuckAfter, the job takeOver makes of it, unique by its args.
func (s *OutboundService) recoverStuckJobs(ctx context.Context, kind string, stuckAfter time.Duration,
	takeOver func(*rivertype.JobRow) (river.JobArgs, int, error)) (int, error) {
	if s.db.queue == nil {
		return 0, errNoQueue
	}
	client := s.db.queue.client
	horizon := time.Now().Add(-stuckAfter)
	params := river.NewJobListParams().Kinds(kind).States(rivertype.JobStateRunning).First(200)
	recovered := 0
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			return recovered, fmt.Errorf("list running %s jobs: %w", kind, err)
		}
		for _, job := range res.Jobs {
			if job.AttemptedAt == nil || job.AttemptedAt.After(horizon) {
				continue
			}
			args, maxAttempts, err := takeOver(job)
			if err != nil {
				return recovered, fmt.Errorf("%s job %d: %w", kind, job.ID, err)
			}
			r, err := client.Insert(ctx, args, &river.InsertOpts{MaxAttempts: maxAttempts,
				UniqueOpts: river.UniqueOpts{ByArgs: true}})
			if err != nil {
				return recovered, fmt.Errorf("take over %s job %d: %w", kind, job.ID, err)
			}
			if !r.UniqueSkippedAsDuplicate {
				recovered++
			}
		}
		if len(res.Jobs) < 200 || res.LastCursor == nil {
			return recovered, nil
		}
		params = params.After(res.LastCursor)
	}
}
