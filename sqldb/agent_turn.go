package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// Agents' turns (plaza.AgentTurnStore): a customer's message the bot is to
// answer is a row of agent_turn_pending, written with the message; a job
// takes the conversation's pending rows, and the transaction that stores
// the reply deletes them, so a job run twice replies once.
//
// Why not River's unique jobs alone: River requires a unique job's states
// to include running, so a message arriving while a turn runs would be
// skipped as a duplicate of that turn and never answered. Instead a job is
// queued when the conversation has no pending row a job has yet to take;
// the hook and a job taking its rows lock the conversation row (on
// PostgreSQL; SQLite's writers are serialised), so each message is either
// taken by a job that has not begun or queues a job of its own.

// EnableAgentTurns makes customers' messages queue agent turns, each run
// debounce after the first message of its burst. Off until called.
func (db *DB) EnableAgentTurns(debounce time.Duration) {
	if debounce <= 0 {
		debounce = time.Millisecond
	}
	db.agentDebounce = debounce
}

// AgentTurnMaxAttempts bounds the runs of a turn job (an LLM failing
// before any tool ran fails the job, which River retries with backoff).
const AgentTurnMaxAttempts = 5

// lockConversation is the FOR UPDATE suffix that serialises the turns of
// a conversation on PostgreSQL.
func (tx *Tx) lockConversation() string {
	if tx.db.Dialect == Postgres {
		return ` FOR UPDATE OF cv`
	}
	return ""
}

// agentTurnHook is the hook of a customer's stored message: when the bot
// answers in the conversation (the contact's isBotEnabled, the handoff
// state) and an enabled agent or automation listens on the channel (key:
// the display number on WhatsApp), or the web chat conversation has the
// agent of its widget, the message is pending, and a turn job is queued
// unless one that has not begun already waits.
func (tx *Tx) agentTurnHook(ctx context.Context, workspaceID, conversationID, messageID, channel, key string) error {
	if tx.db.agentDebounce <= 0 {
		return nil
	}
	agentKey, err := plaza.ChannelKey(plaza.AgentChannel{Channel: channel, Key: key})
	if err != nil {
		agentKey = plaza.TriggerMatchKey(channel, key)
	}
	var botEnabled, listened, waiting bool
	var state string
	err = tx.QueryRowContext(ctx, `SELECT c.is_bot_enabled, COALESCE(h.state, 'bot_active'),
		EXISTS (SELECT 1 FROM agent_channels ac WHERE ac.workspace_id = $1 AND ac.channel = $3 AND ac.channel_key = $4 AND ac.enabled)
		OR EXISTS (SELECT 1 FROM agents a WHERE a.workspace_id = $1 AND a.id = cv.webchat_agent_id)
		OR EXISTS (SELECT 1 FROM automations au WHERE au.workspace_id = $1 AND au.enabled AND au.trigger_channel = $3
			AND au.trigger_match IN ($5, '')),
		EXISTS (SELECT 1 FROM agent_turn_pending p WHERE p.workspace_id = $1 AND p.conversation_id = $2 AND p.job_id IS NULL)
		FROM conversations cv JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
		LEFT JOIN conversation_handoffs h ON h.workspace_id = cv.workspace_id AND h.conversation_id = cv.id
		WHERE cv.workspace_id = $1 AND cv.id = $2`+tx.lockConversation(),
		workspaceID, conversationID, channel, agentKey, plaza.TriggerMatchKey(channel, key)).Scan(&botEnabled, &state, &listened, &waiting)
	if err != nil {
		return fmt.Errorf("agent turn: %w", err)
	}
	if !botEnabled || !plaza.HandoffState(state).BotAnswers() || !listened {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO agent_turn_pending (workspace_id, message_id, conversation_id, creation_date)
		VALUES ($1, $2, $3, $4)`, workspaceID, messageID, conversationID, tx.now); err != nil {
		return fmt.Errorf("agent turn: %w", err)
	}
	if waiting {
		return nil // the job queued for the first of the burst takes it
	}
	return tx.enqueue(ctx, plaza.AgentTurnJob{WorkspaceID: workspaceID, ConversationID: conversationID},
		&river.InsertOpts{ScheduledAt: tx.now.Add(tx.db.agentDebounce), MaxAttempts: AgentTurnMaxAttempts})
}

// AgentTurnService implements plaza.AgentTurnStore.
type AgentTurnService struct {
	db          *DB
	agents      *AgentService
	automations *AutomationService
}

var _ plaza.AgentTurnStore = (*AgentTurnService)(nil)

// NewAgentTurnService returns the turns of db; automations open their
// nodes' API keys.
func NewAgentTurnService(db *DB, automations *AutomationService) *AgentTurnService {
	return &AgentTurnService{db: db, agents: NewAgentService(db), automations: automations}
}

// historyLimit bounds the earlier messages a turn reads.
const historyLimit = 100

// BeginAgentTurn takes the conversation's pending messages for the job.
func (s *AgentTurnService) BeginAgentTurn(ctx context.Context, workspaceID, conversationID string, jobID int64) (*plaza.AgentTurn, error) {
	t := &plaza.AgentTurn{WorkspaceID: workspaceID, ConversationID: conversationID}
	answers := false
	var widgetAgent sql.NullString
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var botEnabled bool
		var state string
		var key sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT cv.contact_id, cv.channel, n.display_phone_number, cv.webchat_agent_id, c.is_bot_enabled, COALESCE(h.state, 'bot_active')
			FROM conversations cv JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
			LEFT JOIN whatsapp_numbers n ON n.workspace_id = cv.workspace_id AND n.id = cv.whatsapp_number_id
			LEFT JOIN conversation_handoffs h ON h.workspace_id = cv.workspace_id AND h.conversation_id = cv.id
			WHERE cv.workspace_id = $1 AND cv.id = $2 AND c.deletion_date IS NULL`+tx.lockConversation(),
			workspaceID, conversationID).Scan(&t.ContactID, &t.Channel, &key, &widgetAgent, &botEnabled, &state)
		if errors.Is(err, sql.ErrNoRows) {
			// The conversation or its contact is gone: nothing to answer.
			_, err = tx.ExecContext(ctx, `DELETE FROM agent_turn_pending WHERE workspace_id = $1 AND conversation_id = $2`, workspaceID, conversationID)
			return err
		} else if err != nil {
			return err
		}
		t.Key = key.String
		if _, err := tx.ExecContext(ctx, `UPDATE agent_turn_pending SET job_id = $3 WHERE workspace_id = $1 AND conversation_id = $2
			AND (job_id IS NULL OR job_id = $3)`, workspaceID, conversationID, jobID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT m.id, m.content FROM agent_turn_pending p
			JOIN messages m ON m.workspace_id = p.workspace_id AND m.id = p.message_id
			WHERE p.workspace_id = $1 AND p.conversation_id = $2 AND p.job_id = $3 ORDER BY m.timestamp, m.id`, workspaceID, conversationID, jobID)
		if err != nil {
			return err
		}
		for rows.Next() {
			m := plaza.TurnMessage{In: true}
			if err := rows.Scan(&m.ID, &m.Content); err != nil {
				rows.Close()
				return err
			}
			t.Messages = append(t.Messages, m)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		if len(t.Messages) == 0 {
			return nil
		}
		if botEnabled && plaza.HandoffState(state).BotAnswers() {
			answers = true
			return nil
		}
		// A human took over (or the bot was switched off) meanwhile: these
		// messages are theirs.
		_, err = tx.ExecContext(ctx, `DELETE FROM agent_turn_pending WHERE workspace_id = $1 AND conversation_id = $2 AND job_id = $3`,
			workspaceID, conversationID, jobID)
		return err
	})
	if err != nil || !answers {
		return nil, err
	}
	if widgetAgent.Valid {
		// The agent the visitor's widget was embedded for answers, while
		// it is enabled.
		a, err := s.agents.FindAgent(ctx, workspaceID, widgetAgent.String)
		if err != nil && plaza.ErrorCode(err) != plaza.ENOTFOUND {
			return nil, err
		}
		if err == nil && a.Config.Enabled() {
			t.Agent = a
		}
	}
	if t.Agent != nil {
		err = nil
	} else if t.Agent, err = s.agents.AgentForChannel(ctx, workspaceID, t.Channel, t.Key); plaza.ErrorCode(err) == plaza.ENOTFOUND {
		t.Agent = nil
		if t.Automation, err = s.automations.AutomationForTrigger(ctx, workspaceID, t.Channel, t.Key); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			// Nobody listens on the channel any more.
			return nil, s.drop(ctx, t)
		}
	}
	if err != nil {
		return nil, err
	}
	if t.Contact, err = findContact(ctx, s.db.read, workspaceID, `c.id = $2`, t.ContactID); err != nil {
		return nil, err
	}
	if t.History, err = s.history(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// drop answers the turn's messages with nothing.
func (s *AgentTurnService) drop(ctx context.Context, t *plaza.AgentTurn) error {
	_, err := s.FinishAgentTurn(ctx, plaza.AgentReply{Turn: t})
	return err
}

// history reads the conversation's last messages before the turn's, oldest
// first.
func (s *AgentTurnService) history(ctx context.Context, t *plaza.AgentTurn) ([]plaza.TurnMessage, error) {
	first := t.Messages[0].ID
	rows, err := s.db.read.QueryContext(ctx, `SELECT m.id, m.direction, m.content FROM messages m
		WHERE m.workspace_id = $1 AND m.conversation_id = $2 AND (m.timestamp < (SELECT f.timestamp FROM messages f WHERE f.workspace_id = $1 AND f.id = $3)
			OR (m.timestamp = (SELECT f.timestamp FROM messages f WHERE f.workspace_id = $1 AND f.id = $3) AND m.id < $3))
		ORDER BY m.timestamp DESC, m.id DESC LIMIT $4`, t.WorkspaceID, t.ConversationID, first, historyLimit)
	if err != nil {
		return nil, err
	}
	var out []plaza.TurnMessage
	for rows.Next() {
		var m plaza.TurnMessage
		var dir string
		if err := rows.Scan(&m.ID, &dir, &m.Content); err != nil {
			rows.Close()
			return nil, err
		}
		m.In = dir == "in"
		out = append(out, m)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// FinishAgentTurn stores the reply and deletes the turn's pending rows in
// one transaction; when none is left to delete, another run answered them
// and nothing is stored.
func (s *AgentTurnService) FinishAgentTurn(ctx context.Context, r plaza.AgentReply) (bool, error) {
	t := r.Turn
	if t == nil || len(t.Messages) == 0 {
		return false, nil
	}
	done := false
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var contactID string
		err := tx.QueryRowContext(ctx, `SELECT cv.contact_id FROM conversations cv WHERE cv.workspace_id = $1 AND cv.id = $2`+tx.lockConversation(),
			t.WorkspaceID, t.ConversationID).Scan(&contactID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		ids := make([]any, 0, len(t.Messages)+1)
		ids = append(ids, t.WorkspaceID)
		for _, m := range t.Messages {
			ids = append(ids, m.ID)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM agent_turn_pending WHERE workspace_id = $1 AND message_id IN (`+placeholders(2, len(t.Messages))+`)`, ids...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || contactID == "" {
			return nil // answered already, or the conversation is gone
		}
		done = true
		for _, text := range r.Texts {
			if text = strings.TrimSpace(text); text == "" {
				continue
			}
			if err := tx.agentReply(ctx, t, text, r.AgentID); err != nil {
				return err
			}
		}
		return nil
	})
	return done, err
}

// agentReply stores the reply where the customer wrote: a web chat reply,
// sent as stored; on WhatsApp a text queued for the send worker from the
// number of the conversation, while its window is open.
func (tx *Tx) agentReply(ctx context.Context, t *plaza.AgentTurn, text, agentID string) error {
	if t.Channel == plaza.ChannelWebchat {
		_, err := tx.storeWebchatMessage(ctx, webchatMessage{WorkspaceID: t.WorkspaceID, ConversationID: t.ConversationID,
			ContactID: t.ContactID, Direction: "out", Content: text, AnswerType: plaza.AnswerAI, AgentID: agentID})
		return err
	}
	target := sendTarget{contactID: t.ContactID, conversationID: t.ConversationID}
	var e164, waID sql.NullString
	var window sqlNullTime
	err := tx.QueryRowContext(ctx, `SELECT cv.whatsapp_number_id, cv.window_expires_at, c.phone, c.wa_id FROM conversations cv
		JOIN contacts c ON c.workspace_id = cv.workspace_id AND c.id = cv.contact_id
		WHERE cv.workspace_id = $1 AND cv.id = $2`, t.WorkspaceID, t.ConversationID).Scan(&target.numberID, &window, &e164, &waID)
	if err != nil {
		return fmt.Errorf("agent reply: %w", err)
	}
	if !window.valid || !window.t.t.After(tx.now) {
		// Retried past the 24-hour window: a free-form text cannot reach
		// the customer any more.
		return nil
	}
	target.to = e164.String
	if target.to == "" {
		target.to = "+" + waID.String
	}
	id := newID()
	payload, err := textPayload(target.to, text, id)
	if err != nil {
		return err
	}
	sender := agentID
	if sender == "" {
		sender = "automation"
	}
	_, err = tx.queueOutbound(ctx, plaza.AgentPrincipal(t.WorkspaceID, sender), &target,
		outboundRow{id: id, typ: "text", content: text, payload: payload, agentSenderID: agentID})
	return err
}

// humanReplied switches the bot off in a conversation a user answered from
// the console or the API as a person (answerType human).
func (tx *Tx) humanReplied(ctx context.Context, p *plaza.Principal, conversationID string) error {
	if answerType(p) != plaza.AnswerHuman {
		return nil
	}
	_, err := tx.moveHandoff(ctx, p, conversationID, plaza.HandoffHumanActive, "", func(from plaza.HandoffState) bool { return from != plaza.HandoffHumanActive })
	return err
}
