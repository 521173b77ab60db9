package sqldb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// templateRequest is the body of the Graph API request that sends a
// template, as the message's payload stores it.
type templateRequest struct {
	MessagingProduct      string                `json:"messaging_product"`
	RecipientType         string                `json:"recipient_type"`
	To                    string                `json:"to"`
	Type                  string                `json:"type"`
	Template              plaza.TemplateMessage `json:"template"`
	BizOpaqueCallbackData string                `json:"biz_opaque_callback_data"`
}

func templatePayload(to string, tpl plaza.TemplateMessage, messageID string) (string, error) {
	r := templateRequest{MessagingProduct: "whatsapp", RecipientType: "individual", To: strings.TrimPrefix(to, "+"),
		Type: "template", Template: tpl, BizOpaqueCallbackData: plaza.OutboundCallbackData(messageID)}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// sendTemplate finds the approved template a send names: EINVALID naming
// template when there is none (unknown, or not approved), language when
// it has several approved languages and the send chose none.
func sendTemplate(ctx context.Context, q querier, ws string, in plaza.ConversationSend) (*plaza.Template, error) {
	all, err := findTemplates(ctx, q, ws, "", in.Template)
	if err != nil {
		return nil, err
	}
	var approved []plaza.Template
	found, status := false, ""
	for _, t := range all {
		if in.NumberID != "" && t.NumberID != in.NumberID {
			continue
		}
		if in.Language != "" && t.LanguageCode != in.Language {
			continue
		}
		found, status = true, t.Status
		if t.Status == plaza.TemplateApproved {
			approved = append(approved, t)
		}
	}
	switch {
	case !found:
		msg := fmt.Sprintf("template %s is not a template of this workspace's WhatsApp numbers (sync them with POST /api/template/sync).", in.Template)
		if in.Language != "" {
			msg = fmt.Sprintf("template %s has no %s version in this workspace's WhatsApp numbers.", in.Template, in.Language)
		}
		return nil, plaza.Invalid(plaza.FieldError{Field: "template", Message: msg})
	case len(approved) == 0:
		return nil, plaza.Invalid(plaza.FieldError{Field: "template",
			Message: fmt.Sprintf("template %s is not approved by WhatsApp (status %s): only approved templates can be sent.", in.Template, status)})
	}
	langs := map[string]bool{}
	for _, t := range approved {
		langs[t.LanguageCode] = true
	}
	if len(langs) > 1 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "language",
			Message: fmt.Sprintf("template %s is approved in several languages: language says which to send.", in.Template)})
	}
	return &approved[0], nil // by number id: the same number every time
}

// QueueWhatsAppTemplates stores the template send to each destination and
// enqueues its send job, all in one transaction; beyond
// plaza.SyncSendLimit destinations it stores a campaign instead, fanned
// out by its job (see campaign.go). Templates reach customers whatever
// their 24-hour window. Nothing is written when the send is invalid.
func (s *OutboundService) QueueWhatsAppTemplates(ctx context.Context, in plaza.ConversationSend) (*plaza.ConversationSent, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	answerType := "api"
	if p.APIKeyID == "" {
		answerType = "human"
	}
	tpl, err := sendTemplate(ctx, s.db.read, ws, in)
	if err != nil {
		return nil, err
	}
	msg, content, templateType, err := plaza.BuildTemplateMessage(*tpl, in)
	if err != nil {
		return nil, err
	}
	var number plaza.WhatsAppNumber
	err = s.db.read.QueryRowContext(ctx, `SELECT id, display_phone_number FROM whatsapp_numbers WHERE workspace_id = $1 AND id = $2`,
		ws, tpl.NumberID).Scan(&number.ID, &number.DisplayPhoneNumber)
	if err != nil {
		return nil, fmt.Errorf("number of template %s: %w", tpl.ElementName, err)
	}
	number.WorkspaceID = ws
	if len(in.Recipients) > plaza.SyncSendLimit {
		return s.storeCampaign(ctx, ws, number, campaignSpec{Message: msg, Content: content, TemplateName: tpl.ElementName,
			TemplateType: templateType, AnswerType: answerType, NumberDisplay: number.DisplayPhoneNumber, SendType: int(in.SendType),
			CampaignName: in.CampaignName, Reference1: in.Reference1, Reference2: in.Reference2, Reference3: in.Reference3,
			AgentSendedID: in.AgentSendedID}, in.Recipients)
	}
	// One transaction for all the destinations (at most
	// plaza.SyncSendLimit; more make a campaign): a request that fails has
	// sent nothing, so a client retrying it sends no one twice.
	sent := &plaza.ConversationSent{}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		sent.ContactIDs, sent.MessageIDs = nil, nil
		for _, to := range in.Recipients {
			contactID, messageID, err := tx.queueTemplate(ctx, ws, number, to.E164, tpl, msg, content, templateType, answerType, in)
			if err != nil {
				return err
			}
			sent.ContactIDs = append(sent.ContactIDs, contactID)
			sent.MessageIDs = append(sent.MessageIDs, messageID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !in.Destination.List {
		sent.ContactID, sent.MessageID = sent.ContactIDs[0], sent.MessageIDs[0]
		sent.ContactIDs, sent.MessageIDs = nil, nil
	}
	return sent, nil
}

// queueTemplate stores the template send to one destination: the contact
// (found by any variant of the phone, or created), its conversation on the
// template's number, the message and its send job.
func (tx *Tx) queueTemplate(ctx context.Context, ws string, number plaza.WhatsAppNumber, to string,
	tpl *plaza.Template, msg plaza.TemplateMessage, content, templateType, answerType string, in plaza.ConversationSend) (string, string, error) {
	id := newID()
	var contactID string
	err := func() error {
		var err error
		contactID, _, err = tx.inboundContact(ctx, plaza.InboundMessage{Number: number, From: strings.TrimPrefix(to, "+")})
		if err != nil {
			return err
		}
		conversationID, err := tx.inboundConversation(ctx, ws, contactID, number.ID)
		if err != nil {
			return err
		}
		// The contact's own number is WhatsApp's id for them.
		var e164 *string
		if err := tx.QueryRowContext(ctx, `SELECT phone FROM contacts WHERE workspace_id = $1 AND id = $2`, ws, contactID).Scan(&e164); err != nil {
			return err
		}
		if e164 != nil && *e164 != "" {
			to = *e164
		}
		payload, err := templatePayload(to, msg, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
			content, payload, recipient_phone, status, send_state, agent_sender_id, answer_type, template_name,
			reference1, reference2, reference3, timestamp, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, 'out', 'template', $5, $6, $7, 'queued', 'queued', $8, $9, $10, $11, $12, $13, $14, $14, $14)`,
			ws, id, conversationID, contactID, content, payload, strings.TrimPrefix(to, "+"), nilIfEmpty(in.AgentSendedID),
			answerType, tpl.ElementName, nilIfEmpty(in.Reference1), nilIfEmpty(in.Reference2), nilIfEmpty(in.Reference3), tx.now)
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_message = $3, last_message_date = $4, updated_date = $4,
			template_code = $5, template_type = $6, send_type = $7, campaign_name = $8, agent_sender_id = $9
			WHERE workspace_id = $1 AND id = $2`, ws, conversationID, content, tx.now, tpl.ElementName, templateType,
			int(in.SendType), nilIfEmpty(in.CampaignName), nilIfEmpty(in.AgentSendedID)); err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET last_message = $3, last_message_date = $4
			WHERE workspace_id = $1 AND id = $2`, ws, contactID, content, tx.now); err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		if err := tx.messageEvent(ctx, plaza.EventMessageCreated, ws, id); err != nil {
			return err
		}
		if err := tx.conversationEvent(ctx, ws, conversationID); err != nil {
			return err
		}
		return tx.enqueue(ctx, plaza.WhatsAppSendJob{WorkspaceID: ws, MessageID: id}, &river.InsertOpts{MaxAttempts: SendJobMaxAttempts})
	}()
	return contactID, id, err
}
