package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// ConversationService implements plaza.ConversationService: the reads of
// conversations and messages. Conversations and messages of deleted
// contacts are not shown.
type ConversationService struct{ db *DB }

// NewConversationService returns the conversation service of db.
func NewConversationService(db *DB) *ConversationService { return &ConversationService{db: db} }

var _ plaza.ConversationService = (*ConversationService)(nil)

// conversationColumns are what scanConversation reads, from
// conversationFrom. The template fields describe the conversation's last
// template send (set by the send; templateCode falls back on the last
// template message).
const conversationColumns = `cv.id, cv.contact_id, cv.workspace_id, wn.display_phone_number, c.platform_sender_id,
	c.platform_sender_name, c.name, c.lastname, c.wa_id, w.name, cv.channel, cv.last_message, cv.last_message_date,
	cv.window_expires_at, cv.creation_date, cv.updated_date,
	COALESCE(cv.template_code, (SELECT t.template_name FROM messages t WHERE t.workspace_id = cv.workspace_id
		AND t.conversation_id = cv.id AND t.template_name IS NOT NULL ORDER BY t.id DESC LIMIT 1)),
	cv.template_type, cv.send_type, cv.campaign_name, cv.agent_sender_id`

const conversationFrom = ` FROM conversations cv
	JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
	JOIN workspaces w ON w.id = cv.workspace_id
	LEFT JOIN whatsapp_numbers wn ON wn.workspace_id = cv.workspace_id AND wn.id = cv.whatsapp_number_id`

func scanConversation(row scanner) (*plaza.Conversation, error) {
	var cv plaza.Conversation
	var senderName, name, lastname string
	var lastDate, window sqlNullTime
	var created, updated sqlTime
	err := row.Scan(&cv.ID, &cv.ContactID, &cv.WorkspaceID, &cv.InternalWhatsappNumber, &cv.PlatformSenderID,
		&senderName, &name, &lastname, &cv.PlatformSenderPhone, &cv.WorkspaceName, &cv.Channel, &cv.LastMessage, &lastDate,
		&window, &created, &updated, &cv.TemplateCode, &cv.TemplateType, &cv.Type, &cv.CampaignName, &cv.AgentSenderID)
	if err != nil {
		return nil, err
	}
	// Plazbot's platformSenderName is the channel's name of the person;
	// a contact created by hand has none, so its own name stands in.
	cv.PlatformSenderName = senderName
	if cv.PlatformSenderName == "" {
		cv.PlatformSenderName = strings.TrimSpace(name + " " + lastname)
	}
	cv.LastMessageDate, cv.WindowExpiresAt = lastDate.plaza(), window.plaza()
	cv.CreationDate, cv.UpdatedDate = created.plaza(), updated.plaza()
	return &cv, nil
}

func (s *ConversationService) queryConversations(ctx context.Context, tail string, args ...any) ([]plaza.Conversation, error) {
	return queryAll(ctx, s.db.read, scanConversation, `SELECT `+conversationColumns+conversationFrom+` `+tail, args...)
}

// FindConversations lists the caller's conversations, newest first.
func (s *ConversationService) FindConversations(ctx context.Context, f plaza.ConversationFilter, page plaza.Page) ([]plaza.Conversation, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	w := newConditions(p.WorkspaceID, `cv.workspace_id = $1`, `c.deletion_date IS NULL`)
	if page.After != "" {
		w.add(`cv.id < ` + w.arg(page.After))
	}
	if f.ContactID != "" {
		w.add(`cv.contact_id = ` + w.arg(f.ContactID))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(contactSearch(w, q, `plaza_lower(cv.last_message)`))
	}
	out, err := s.queryConversations(ctx, `WHERE `+w.sql()+` ORDER BY cv.id DESC LIMIT `+w.arg(page.Size()+1), w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := cutPage(out, page.Size())
	return out, more, nil
}

var errConversationNotFound = plaza.Errorf(plaza.ENOTFOUND, "Conversation not found.")

// FindConversationByID returns one of the caller's conversations.
func (s *ConversationService) FindConversationByID(ctx context.Context, id string) (*plaza.Conversation, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.queryConversations(ctx, `WHERE cv.workspace_id = $1 AND cv.id = $2 AND c.deletion_date IS NULL`, p.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errConversationNotFound
	}
	return &out[0], nil
}

// messageColumns are what scanMessage reads, from messageFrom. An
// inbound message's sender is the customer (from_phone); an outbound
// one's is the conversation's number.
const messageColumns = `m.id, m.wamid, m.contact_id, m.conversation_id, m.workspace_id, m.content, m.recipient_phone,
	m.external_reference_id, cv.channel, m.agent_sender_id, m.answer_type, m.type,
	COALESCE(m.from_phone, wn.display_phone_number, ''), m.timestamp, m.direction, m.status, m.error_code,
	m.error_title, m.error_details, m.template_name, m.payload, m.creation_date`

const messageFrom = ` FROM messages m
	JOIN conversations cv ON cv.workspace_id = m.workspace_id AND cv.id = m.conversation_id
	JOIN contacts c ON c.workspace_id = m.workspace_id AND c.id = m.contact_id
	LEFT JOIN whatsapp_numbers wn ON wn.workspace_id = cv.workspace_id AND wn.id = cv.whatsapp_number_id`

// Platform ids of messages, as strings (Plazbot renders them so there).
var messagePlatforms = map[string]string{"whatsapp": "2", "webchat": "1"}

func scanMessage(row scanner) (*plaza.Message, error) {
	var m plaza.Message
	var channel, payload string
	var ts, created sqlTime
	var code sql.NullInt64
	var title, details sql.NullString
	err := row.Scan(&m.ID, &m.MessageWhatsappID, &m.ContactID, &m.ConversationID, &m.WorkspaceID, &m.Content,
		&m.RecipientPhone, &m.ExternalReferenceID, &channel, &m.AnswerAgentID, &m.AnswerType, &m.Type, &m.From, &ts,
		&m.Direction, &m.Status, &code, &title, &details, &m.TemplateName, &payload, &created)
	if err != nil {
		return nil, err
	}
	m.PlatformID, m.PlatformType = messagePlatforms[channel], channel
	m.Timestamp, m.CreationDate = ts.plaza(), created.plaza()
	if code.Valid {
		m.Error = &plaza.MessageError{Code: int(code.Int64), Title: title.String, Details: details.String}
	}
	m.Payload = json.RawMessage(payload)
	if !json.Valid(m.Payload) {
		m.Payload = json.RawMessage("null")
	}
	m.Files = messageFiles(&m)
	return &m, nil
}

func (s *ConversationService) queryMessages(ctx context.Context, tail string, args ...any) ([]plaza.Message, error) {
	return queryAll(ctx, s.db.read, scanMessage, `SELECT `+messageColumns+messageFrom+` `+tail, args...)
}

// FindMessages returns a page of a conversation's messages, oldest first:
// in the order they were sent (Meta's time for inbound messages), which is
// not always the order they were stored in (deliveries are worked
// concurrently and Meta retries late), with the id breaking ties.
func (s *ConversationService) FindMessages(ctx context.Context, conversationID string, page plaza.MessagePage) ([]plaza.Message, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var one int
	err = s.db.read.QueryRowContext(ctx, `SELECT 1 FROM conversations cv
		JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
		WHERE cv.workspace_id = $1 AND cv.id = $2 AND c.deletion_date IS NULL`, ws, conversationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errConversationNotFound
	} else if err != nil {
		return nil, err
	}
	where := `WHERE m.workspace_id = $1 AND m.conversation_id = $2`
	args := []any{ws, conversationID}
	if page.Before != "" {
		err = s.db.read.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE workspace_id = $1 AND conversation_id = $2 AND id = $3`,
			ws, conversationID, page.Before).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, plaza.Invalid(plaza.FieldError{Field: "before", Message: "before must be the id of a message of this conversation."})
		} else if err != nil {
			return nil, err
		}
		args = append(args, page.Before)
		// The keyset (timestamp, id) of the before message, read in SQL so
		// the timestamps compare as stored.
		where += ` AND (m.timestamp < (SELECT b.timestamp FROM messages b WHERE b.workspace_id = $1 AND b.id = $3)
			OR (m.timestamp = (SELECT b.timestamp FROM messages b WHERE b.workspace_id = $1 AND b.id = $3) AND m.id < $3))`
	}
	args = append(args, page.Size())
	out, err := s.queryMessages(ctx, where+fmt.Sprintf(` ORDER BY m.timestamp DESC, m.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// SearchMessages finds the caller's messages whose content contains the
// query, newest first.
func (s *ConversationService) SearchMessages(ctx context.Context, q plaza.MessageSearch) ([]plaza.Message, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	query := strings.TrimSpace(q.Query)
	if query == "" {
		return nil, plaza.Invalid(plaza.FieldError{Field: "query", Message: "query is required: the text to find in messages."})
	}
	w := newConditions(p.WorkspaceID, `m.workspace_id = $1`, `c.deletion_date IS NULL`)
	w.add(likeAny(w.arg(likePattern(query)), `plaza_lower(m.content)`))
	if q.ContactID != "" {
		w.add(`m.contact_id = ` + w.arg(q.ContactID))
	}
	limit := plaza.MessagePage{Limit: q.Limit}.Size()
	return s.queryMessages(ctx, `WHERE `+w.sql()+` ORDER BY m.timestamp DESC, m.id DESC LIMIT `+w.arg(limit), w.args...)
}
