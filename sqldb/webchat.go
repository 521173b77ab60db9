package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plaza-crm/plaza"
)

// WebchatService implements plaza.WebchatService: the widget's visitors,
// their messages, and replies to them.
type WebchatService struct {
	db     *DB
	tokens webchatTokens
	// Limits are the per-address rate limits; zero counts turn one off.
	Limits plaza.WebchatLimits
	// TokenTTL is how long a visitor token is valid; each resume gives a
	// fresh one.
	TokenTTL time.Duration

	hits atomic.Uint64 // rate-limit hits, to clean the counters now and then
}

// DefaultWebchatTokenTTL is how long a visitor token is valid by default:
// a visitor who comes back within 180 days finds their conversation.
const DefaultWebchatTokenTTL = 180 * 24 * time.Hour

// NewWebchatService returns the web chat of db; visitor tokens are signed
// with a key derived from secretKey.
func NewWebchatService(db *DB, secretKey string) *WebchatService {
	return &WebchatService{db: db, tokens: webchatTokens{key: plaza.DeriveKey(secretKey, "webchat-token")},
		Limits: plaza.DefaultWebchatLimits, TokenTTL: DefaultWebchatTokenTTL}
}

var _ plaza.WebchatService = (*WebchatService)(nil)

var errWorkspaceNotFound = plaza.Errorf(plaza.ENOTFOUND, "Workspace not found.")

// CheckWebchatWorkspace reports whether the workspace exists.
func (s *WebchatService) CheckWebchatWorkspace(ctx context.Context, workspaceID string) error {
	ok, err := exists(ctx, s.db.read, `SELECT 1 FROM workspaces WHERE id = $1 AND deletion_date IS NULL`, workspaceID)
	if err != nil {
		return err
	}
	if !ok {
		return errWorkspaceNotFound
	}
	return nil
}

// StartWebchatSession creates a visitor, or resumes one from its token.
func (s *WebchatService) StartWebchatSession(ctx context.Context, in plaza.WebchatSessionStart) (*plaza.WebchatSession, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.db.rateLimit(ctx, &s.hits, "session:"+in.ClientAddr, s.Limits.Sessions, s.Limits.SessionWindow, s.Limits); err != nil {
		return nil, err
	}
	if in.Token != "" {
		v, err := s.WebchatVisitor(ctx, in.Token)
		if err != nil {
			return nil, err
		}
		if v.WorkspaceID != in.WorkspaceID {
			return nil, errVisitorToken
		}
		var name string
		if err := s.db.read.QueryRowContext(ctx, `SELECT name FROM contacts WHERE workspace_id = $1 AND id = $2`,
			v.WorkspaceID, v.ContactID).Scan(&name); err != nil {
			return nil, err
		}
		return s.session(*v, name, true), nil
	}
	if err := s.CheckWebchatWorkspace(ctx, in.WorkspaceID); err != nil {
		return nil, err
	}
	v, name, err := s.createVisitor(ctx, in, true)
	if isUnique(err) {
		// Another contact took the e-mail meanwhile: the visitor's is
		// only noted, as when it was taken before.
		v, name, err = s.createVisitor(ctx, in, false)
	}
	if err != nil {
		return nil, err
	}
	return s.session(*v, name, false), nil
}

func (s *WebchatService) session(v plaza.WebchatVisitor, name string, resumed bool) *plaza.WebchatSession {
	expires := s.db.now().Add(s.TokenTTL)
	return &plaza.WebchatSession{Token: s.tokens.sign(v, expires), ExpiresAt: plaza.NewTime(expires),
		WorkspaceID: v.WorkspaceID, ContactID: v.ContactID, ConversationID: v.ConversationID, Name: name, Resumed: resumed}
}

// createVisitor creates the visitor's contact, in the contact pipeline's
// default stage, and its web chat conversation. The e-mail goes on the
// contact when emailFree and no live contact has it; else it is noted on
// the contact's activities.
func (s *WebchatService) createVisitor(ctx context.Context, in plaza.WebchatSessionStart, emailFree bool) (*plaza.WebchatVisitor, string, error) {
	ws := in.WorkspaceID
	v := &plaza.WebchatVisitor{WorkspaceID: ws, ContactID: newID(), ConversationID: newID(), AgentID: in.AgentID}
	name := in.Name
	if name == "" {
		name = plaza.DefaultVisitorName
	}
	email := plaza.NormalizeEmail(in.Email)
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var taken string
		if email != "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = $2
				AND deletion_date IS NULL ORDER BY id LIMIT 1`, ws, email).Scan(&taken)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if !emailFree && taken == "" {
				taken = "another contact"
			}
		}
		var given, givenNormalized *string
		if email != "" && taken == "" {
			given, givenNormalized = &in.Email, &email
		}
		stage, err := tx.defaultStage(ctx, ws, plaza.PipelineContact)
		if err != nil {
			return err
		}
		actor := plaza.Actor{Type: plaza.ActorWebchat, ID: v.ConversationID}
		_, err = tx.ExecContext(ctx, `INSERT INTO contacts (workspace_id, id, name, email, email_normalized, platform_id,
			platform_sender_id, platform_sender_name, stage_id, is_manually_added, order_in_cards_updated, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10, $10, $10)`,
			ws, v.ContactID, name, given, givenNormalized, plaza.PlatformWebchat, v.ConversationID, in.Name, nilIfEmpty(stage), tx.now)
		if err != nil {
			return fmt.Errorf("insert contact: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO conversations (workspace_id, id, contact_id, channel, webchat_agent_id,
			creation_date, updated_date) VALUES ($1, $2, $3, 'webchat', $4, $5, $5)`,
			ws, v.ConversationID, v.ContactID, nilIfEmpty(in.AgentID), tx.now)
		if err != nil {
			return fmt.Errorf("insert conversation: %w", err)
		}
		if stage != "" {
			err := tx.recordStageChange(ctx, ws, actor, stageChange{Entity: plaza.EntityContact, RecordID: v.ContactID, ToStage: &stage})
			if err != nil {
				return err
			}
		}
		// Consoles following the workspace see the new conversation.
		if err := tx.conversationEvent(ctx, ws, v.ConversationID); err != nil {
			return err
		}
		if email != "" && taken != "" {
			note := fmt.Sprintf("The web chat visitor gave the e-mail %s, which is already %s's; it was not copied to this contact.",
				in.Email, taken)
			_, err := tx.ExecContext(ctx, `INSERT INTO contact_activities (workspace_id, id, contact_id, content, category_type,
				actor_type, actor_id, creation_date) VALUES ($1, $2, $3, $4, 'Note', $5, $6, $7)`,
				ws, newID(), v.ContactID, note, actor.Type, actor.ID, tx.now)
			if err != nil {
				return fmt.Errorf("insert contact activity: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return v, name, nil
}

// errVisitorToken is the 401 of a token that is not valid.
var errVisitorToken = plaza.Errorf(plaza.EUNAUTHORIZED,
	"The web chat token is not valid (forged, expired, of another workspace, or its conversation was deleted): start a new session.")

// WebchatVisitor checks a token and returns the visitor it names.
func (s *WebchatService) WebchatVisitor(ctx context.Context, token string) (*plaza.WebchatVisitor, error) {
	v, err := s.tokens.parse(token, s.db.now())
	if err != nil {
		return nil, err
	}
	var agent sql.NullString
	err = s.db.read.QueryRowContext(ctx, `SELECT cv.webchat_agent_id FROM conversations cv
		JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
		WHERE cv.workspace_id = $1 AND cv.id = $2 AND cv.contact_id = $3 AND cv.channel = 'webchat'
		AND c.deletion_date IS NULL`, v.WorkspaceID, v.ConversationID, v.ContactID).Scan(&agent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errVisitorToken
	} else if err != nil {
		return nil, err
	}
	v.AgentID = agent.String
	return v, nil
}

// PostWebchatMessage stores the visitor's message.
func (s *WebchatService) PostWebchatMessage(ctx context.Context, v plaza.WebchatVisitor, content, clientAddr string) (*plaza.Message, error) {
	var val plaza.Validator
	plaza.CheckMessageContent(&val, "content", content)
	if err := val.Err(); err != nil {
		return nil, err
	}
	if err := s.db.rateLimit(ctx, &s.hits, "message:"+clientAddr, s.Limits.Messages, s.Limits.MessageWindow, s.Limits); err != nil {
		return nil, err
	}
	var m *plaza.Message
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var blocked bool
		err := tx.QueryRowContext(ctx, `SELECT c.blocked FROM conversations cv
			JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
			WHERE cv.workspace_id = $1 AND cv.id = $2 AND cv.contact_id = $3 AND cv.channel = 'webchat'
			AND c.deletion_date IS NULL`, v.WorkspaceID, v.ConversationID, v.ContactID).Scan(&blocked)
		if errors.Is(err, sql.ErrNoRows) {
			return errVisitorToken
		} else if err != nil {
			return err
		}
		if blocked {
			return plaza.Errorf(plaza.EFORBIDDEN, "This chat is closed.")
		}
		m, err = tx.storeWebchatMessage(ctx, webchatMessage{WorkspaceID: v.WorkspaceID, ConversationID: v.ConversationID,
			ContactID: v.ContactID, Direction: "in", Content: content})
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// WebchatMessages returns a page of the visitor's conversation, oldest
// first: the newest page.Size() sent before page.Before.
func (s *WebchatService) WebchatMessages(ctx context.Context, v plaza.WebchatVisitor, page plaza.MessagePage) ([]plaza.Message, error) {
	where := `WHERE m.workspace_id = $1 AND m.conversation_id = $2`
	args := []any{v.WorkspaceID, v.ConversationID}
	if page.Before != "" {
		ok, err := exists(ctx, s.db.read, `SELECT 1 FROM messages WHERE workspace_id = $1 AND conversation_id = $2 AND id = $3`,
			v.WorkspaceID, v.ConversationID, page.Before)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, plaza.Invalid(plaza.FieldError{Field: "before", Message: "before must be the id of a message of this conversation."})
		}
		args = append(args, page.Before)
		where += ` AND (m.timestamp < (SELECT b.timestamp FROM messages b WHERE b.workspace_id = $1 AND b.id = $3)
			OR (m.timestamp = (SELECT b.timestamp FROM messages b WHERE b.workspace_id = $1 AND b.id = $3) AND m.id < $3))`
	}
	args = append(args, page.Size())
	out, err := queryAll(ctx, s.db.read, scanMessage, `SELECT `+messageColumns+messageFrom+` `+where+
		fmt.Sprintf(` ORDER BY m.timestamp DESC, m.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// SendWebchatReply stores a reply in a web chat conversation, sent.
func (s *WebchatService) SendWebchatReply(ctx context.Context, workspaceID, conversationID, content, answerType, agentID string) (*plaza.Message, error) {
	var val plaza.Validator
	plaza.CheckMessageContent(&val, "content", content)
	val.Check(answerType == plaza.AnswerHuman || answerType == plaza.AnswerAI || answerType == plaza.AnswerAPI, "answerType",
		`answerType must be "human", "ai" or "api".`)
	val.Check(len(agentID) <= 100, "agentId", "agentId must be at most 100 characters long.")
	if err := val.Err(); err != nil {
		return nil, err
	}
	var m *plaza.Message
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var contactID string
		err := tx.QueryRowContext(ctx, `SELECT cv.contact_id FROM conversations cv
			JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
			WHERE cv.workspace_id = $1 AND cv.id = $2 AND cv.channel = 'webchat' AND c.deletion_date IS NULL`,
			workspaceID, conversationID).Scan(&contactID)
		if errors.Is(err, sql.ErrNoRows) {
			return plaza.Errorf(plaza.ENOTFOUND, "Web chat conversation %s not found.", conversationID)
		} else if err != nil {
			return err
		}
		m, err = tx.storeWebchatMessage(ctx, webchatMessage{WorkspaceID: workspaceID, ConversationID: conversationID,
			ContactID: contactID, Direction: "out", Content: content, AnswerType: answerType, AgentID: agentID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// webchatSend is the web chat branch of POST /api/message: when the send
// names (by contactId) a web chat contact, the reply is stored in the
// contact's newest web chat conversation, sent, and ok is true. ok is
// false for any other contact, which goes by WhatsApp.
func (tx *Tx) webchatSend(ctx context.Context, workspaceID string, in plaza.MessageSend, answerType string) (m *plaza.Message, ok bool, err error) {
	var platform int
	err = tx.QueryRowContext(ctx, `SELECT platform_id FROM contacts WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`,
		workspaceID, in.ContactID).Scan(&platform)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, invalidRef("contactId", "Contact", in.ContactID)
	} else if err != nil {
		return nil, false, err
	}
	if platform != plaza.PlatformWebchat {
		return nil, false, nil
	}
	var conversationID string
	err = tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2
		AND channel = 'webchat' ORDER BY id DESC LIMIT 1`, workspaceID, in.ContactID).Scan(&conversationID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, plaza.Invalid(plaza.FieldError{Field: "contactId", Message: fmt.Sprintf(
			"Contact %s is a web chat contact (platformId 1) with no web chat conversation: it can be answered once the visitor writes from the widget.",
			in.ContactID)})
	} else if err != nil {
		return nil, false, err
	}
	m, err = tx.storeWebchatMessage(ctx, webchatMessage{WorkspaceID: workspaceID, ConversationID: conversationID,
		ContactID: in.ContactID, Direction: "out", Content: in.Content, AnswerType: answerType, AgentID: in.AgentSendedID,
		ExternalReferenceID: in.ExternalReferenceID})
	if err == nil && answerType == plaza.AnswerHuman {
		// A person answers: the bot stops answering this conversation.
		p, perr := plaza.RequireWorkspace(ctx)
		if perr != nil {
			return nil, false, perr
		}
		err = tx.humanReplied(ctx, p, conversationID)
	}
	return m, err == nil, err
}

// webchatMessage is a message to store in a web chat conversation.
type webchatMessage struct {
	WorkspaceID, ConversationID, ContactID string
	Direction                              string // "in": the visitor's; "out": a reply
	Content                                string
	AnswerType, AgentID                    string // replies only
	ExternalReferenceID                    string
}

// storeWebchatMessage stores a web chat message with its conversation's
// and contact's last message (a visitor's message also leaves the contact
// unread), and returns it as the API renders it. A reply is sent as it is
// stored: nothing stands between Plaza and the visitor.
func (tx *Tx) storeWebchatMessage(ctx context.Context, in webchatMessage) (*plaza.Message, error) {
	id := newID()
	var status any
	if in.Direction == "out" {
		status = plaza.SendSent
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
		content, payload, status, send_state, external_reference_id, agent_sender_id, answer_type,
		timestamp, creation_date, updated_date)
		VALUES ($1, $2, $3, $4, $5, 'text', $6, '{}', $7, $7, $8, $9, $10, $11, $11, $11)`,
		in.WorkspaceID, id, in.ConversationID, in.ContactID, in.Direction, in.Content, status,
		nilIfEmpty(in.ExternalReferenceID), nilIfEmpty(in.AgentID), nilIfEmpty(in.AnswerType), tx.now)
	if err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_message = $3, last_message_date = $4, updated_date = $4
		WHERE workspace_id = $1 AND id = $2`, in.WorkspaceID, in.ConversationID, in.Content, tx.now); err != nil {
		return nil, fmt.Errorf("update conversation: %w", err)
	}
	unread := ""
	if in.Direction == "in" {
		unread = `, is_read = FALSE, updated_date = $4`
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET last_message = $3, last_message_date = $4`+unread+`
		WHERE workspace_id = $1 AND id = $2`, in.WorkspaceID, in.ContactID, in.Content, tx.now); err != nil {
		return nil, fmt.Errorf("update contact: %w", err)
	}
	m, err := findMessage(ctx, tx, in.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if err := tx.webchatMessageStored(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// webchatMessageStored is where every web chat message, the visitor's or a
// reply, passes in the transaction that stores it: the one place for what
// follows a stored message on this channel. The events that carry it to
// the visitor's stream and the consoles are written here; a visitor's
// message (m.Direction "in") is where the agent runtime's turn is to be
// enqueued, as StoreInboundMessage does for WhatsApp.
func (tx *Tx) webchatMessageStored(ctx context.Context, m *plaza.Message) error {
	if err := tx.messageEvent(ctx, plaza.EventMessageCreated, m.WorkspaceID, m.ID); err != nil {
		return err
	}
	if err := tx.conversationEvent(ctx, m.WorkspaceID, m.ConversationID); err != nil {
		return err
	}
	if m.Direction != "in" {
		return nil
	}
	return tx.agentTurnHook(ctx, m.WorkspaceID, m.ConversationID, m.ID, plaza.ChannelWebchat, "")
}

// rateLimit counts a hit against key in a fixed window and refuses it,
// ERATELIMITED with the rest of the window as RetryAfter, past limit hits.
// The counters are rows of webchat_rate, so every replica counts the same
// ones; every 256th hit of a process deletes the rows whose windows have
// passed. A limit of 0 or less counts nothing.
func (db *DB) rateLimit(ctx context.Context, hits *atomic.Uint64, key string, limit int, window time.Duration, all plaza.WebchatLimits) error {
	if limit <= 0 || window <= 0 {
		return nil
	}
	var n int
	var start sqlTime
	var now time.Time
	err := db.inTx(ctx, func(tx *Tx) error {
		now = tx.now
		if hits.Add(1)%256 == 0 {
			longest := max(all.SessionWindow, all.MessageWindow, window)
			if _, err := tx.ExecContext(ctx, `DELETE FROM webchat_rate WHERE window_start < $1`, tx.now.Add(-longest)); err != nil {
				return fmt.Errorf("clean rate limits: %w", err)
			}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO webchat_rate (key, count, window_start) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET
				count = CASE WHEN webchat_rate.window_start <= $3 THEN 1 ELSE webchat_rate.count + 1 END,
				window_start = CASE WHEN webchat_rate.window_start <= $3 THEN $2 ELSE webchat_rate.window_start END
			RETURNING count, window_start`, key, tx.now, tx.now.Add(-window)).Scan(&n, &start)
	})
	if err != nil {
		return err
	}
	if n <= limit {
		return nil
	}
	wait := start.t.Add(window).Sub(now)
	what, _, _ := strings.Cut(key, ":")
	return &plaza.Error{Code: plaza.ERATELIMITED, RetryAfter: wait,
		Message: fmt.Sprintf("Too many web chat %ss from this address: at most %d per %s. Try again in %d seconds.",
			what, limit, windowName(window), int(max(wait.Round(time.Second), time.Second).Seconds()))}
}

// windowName says a window in words: "minute", "10 minutes", "hour".
func windowName(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Minute:
		return "minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
