package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// HandoffService keeps the AI agent's handoff state of conversations
// (plaza.HandoffService).
type HandoffService struct{ db *DB }

var _ plaza.HandoffService = (*HandoffService)(nil)

// NewHandoffService returns the handoff service of db.
func NewHandoffService(db *DB) *HandoffService { return &HandoffService{db: db} }

// MaxHandoffReason bounds a handoff's reason.
const MaxHandoffReason = 1000

// FindHandoff returns the conversation's handoff state: bot_active, with
// no actor, when it never changed.
func (s *HandoffService) FindHandoff(ctx context.Context, conversationID string) (*plaza.Handoff, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findHandoff(ctx, s.db.read, p.WorkspaceID, conversationID, "")
}

// RequestHandoff moves a conversation whose bot answers to
// handoff_requested with the reason; requested already or with a human
// active, it changes nothing.
func (s *HandoffService) RequestHandoff(ctx context.Context, conversationID, reason string) (*plaza.Handoff, error) {
	reason = strings.TrimSpace(reason)
	var v plaza.Validator
	v.Required(reason, "reason")
	v.Check(len([]rune(reason)) <= MaxHandoffReason, "reason", fmt.Sprintf("reason is longer than %d characters.", MaxHandoffReason))
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.move(ctx, conversationID, plaza.HandoffRequested, reason, func(from plaza.HandoffState) bool { return from.BotAnswers() })
}

// HumanTakeOver makes a human active, from any state.
func (s *HandoffService) HumanTakeOver(ctx context.Context, conversationID string) (*plaza.Handoff, error) {
	return s.move(ctx, conversationID, plaza.HandoffHumanActive, "", func(from plaza.HandoffState) bool { return from != plaza.HandoffHumanActive })
}

// ResumeBot lets the bot answer again after a handoff, and switches the
// contact's bot (isBotEnabled) back on; a conversation whose bot answers
// already is left as it is.
func (s *HandoffService) ResumeBot(ctx context.Context, conversationID string) (*plaza.Handoff, error) {
	return s.move(ctx, conversationID, plaza.HandoffBotResumed, "", func(from plaza.HandoffState) bool { return !from.BotAnswers() })
}

// move sets the state to when allowed(current) says so, recording the
// change with the caller as actor and writing a handoff.changed event
// ({conversationId, state, reason}) in the same transaction; otherwise it
// returns the state as it is and writes nothing.
func (s *HandoffService) move(ctx context.Context, conversationID string, to plaza.HandoffState, reason string, allowed func(plaza.HandoffState) bool) (*plaza.Handoff, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var h *plaza.Handoff
	err = s.db.inTx(ctx, func(tx *Tx) error {
		h, err = tx.moveHandoff(ctx, p, conversationID, to, reason, allowed)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// moveHandoff is HandoffService.move in the caller's transaction, with p
// as the actor.
func (tx *Tx) moveHandoff(ctx context.Context, p *plaza.Principal, conversationID string, to plaza.HandoffState, reason string, allowed func(plaza.HandoffState) bool) (*plaza.Handoff, error) {
	ws := p.WorkspaceID
	lock := ""
	if tx.db.Dialect == Postgres {
		// Two changes of one conversation at once (an agent's turn and
		// a human's reply) each read the state they leave under this
		// lock. SQLite's writers are serialised.
		lock = ` FOR UPDATE`
	}
	var contactID string
	err := tx.QueryRowContext(ctx, `SELECT contact_id FROM conversations WHERE workspace_id = $1 AND id = $2`+lock, ws, conversationID).Scan(&contactID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errConversationNotFound
	} else if err != nil {
		return nil, err
	}
	cur, err := findHandoff(ctx, tx, ws, conversationID, lock)
	if err != nil {
		return nil, err
	}
	if !allowed(cur.State) {
		return cur, nil
	}
	actor := p.Actor()
	var r *string
	if reason != "" {
		r = &reason
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO conversation_handoffs (workspace_id, conversation_id, state, reason, actor_type, actor_id, updated_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (workspace_id, conversation_id) DO UPDATE SET state = excluded.state, reason = excluded.reason,
			actor_type = excluded.actor_type, actor_id = excluded.actor_id, updated_date = excluded.updated_date`,
		ws, conversationID, string(to), r, actor.Type, actor.ID, tx.now)
	if err != nil {
		return nil, fmt.Errorf("set handoff: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO handoff_changes (workspace_id, id, conversation_id, from_state, to_state, reason,
		actor_type, actor_id, creation_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ws, newID(), conversationID, string(cur.State), string(to), r, actor.Type, actor.ID, tx.now)
	if err != nil {
		return nil, fmt.Errorf("record handoff change: %w", err)
	}
	if to == plaza.HandoffBotResumed {
		// Giving the conversation back to the agent switches the contact's
		// bot back on, which action.agentShutDown switched off.
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET is_bot_enabled = TRUE, updated_date = $3
			WHERE workspace_id = $1 AND id = $2 AND NOT is_bot_enabled`, ws, contactID, tx.now); err != nil {
			return nil, fmt.Errorf("switch the bot on: %w", err)
		}
	}
	now := plaza.NewTime(tx.now)
	h := &plaza.Handoff{ConversationID: conversationID, State: to, Reason: r, Actor: &actor, UpdatedDate: &now}
	data, err := eventJSON(map[string]any{"conversationId": conversationID, "state": to, "reason": r})
	if err != nil {
		return nil, err
	}
	return h, tx.insertEvent(ctx, plaza.Event{WorkspaceID: ws, Type: plaza.EventHandoffChanged,
		ConversationID: conversationID, ContactID: contactID, Data: data})
}

// findHandoff reads a conversation's state; the caller has checked the
// conversation exists, or wants ENOTFOUND when it does not.
func findHandoff(ctx context.Context, q querier, workspaceID, conversationID, lock string) (*plaza.Handoff, error) {
	h := &plaza.Handoff{ConversationID: conversationID}
	var state, actorType, actorID string
	var reason sql.NullString
	var updated sqlTime
	err := q.QueryRowContext(ctx, `SELECT state, reason, actor_type, actor_id, updated_date FROM conversation_handoffs
		WHERE workspace_id = $1 AND conversation_id = $2`+lock, workspaceID, conversationID).Scan(&state, &reason, &actorType, &actorID, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		if ok, err := exists(ctx, q, `SELECT 1 FROM conversations WHERE workspace_id = $1 AND id = $2`, workspaceID, conversationID); err != nil {
			return nil, err
		} else if !ok {
			return nil, errConversationNotFound
		}
		h.State = plaza.HandoffBotActive
		return h, nil
	} else if err != nil {
		return nil, err
	}
	h.State = plaza.HandoffState(state)
	if reason.Valid {
		h.Reason = &reason.String
	}
	h.Actor = &plaza.Actor{Type: actorType, ID: actorID}
	t := updated.plaza()
	h.UpdatedDate = &t
	return h, nil
}
