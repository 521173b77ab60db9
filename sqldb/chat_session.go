package sqldb

import (
	"context"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// AgentSessionStore keeps the messages of API chat sessions
// (plaza.AgentSessionStore).
type AgentSessionStore struct{ db *DB }

var _ plaza.AgentSessionStore = (*AgentSessionStore)(nil)

// NewAgentSessionStore returns the session store of db.
func NewAgentSessionStore(db *DB) *AgentSessionStore { return &AgentSessionStore{db: db} }

// SessionMessages returns the session's last limit messages, oldest first.
func (s *AgentSessionStore) SessionMessages(ctx context.Context, agentID, sessionID string, limit int) ([]plaza.AgentSessionMessage, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT role, content FROM agent_session_messages
		WHERE workspace_id = $1 AND agent_id = $2 AND session_id = $3 ORDER BY id DESC LIMIT $4`, p.WorkspaceID, agentID, sessionID, limit)
	if err != nil {
		return nil, err
	}
	msgs := []plaza.AgentSessionMessage{}
	for rows.Next() {
		var m plaza.AgentSessionMessage
		if err := rows.Scan(&m.Role, &m.Content); err != nil {
			rows.Close()
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, nil
}

// AppendSessionMessages adds the messages, in order, in one transaction.
func (s *AgentSessionStore) AppendSessionMessages(ctx context.Context, agentID, sessionID string, msgs []plaza.AgentSessionMessage) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		for _, m := range msgs {
			// UUIDv7 ids grow in the order they are made: the order sent.
			_, err := tx.ExecContext(ctx, `INSERT INTO agent_session_messages (workspace_id, id, agent_id, session_id, role, content, creation_date)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.WorkspaceID, newID(), agentID, sessionID, m.Role, m.Content, tx.now)
			if err != nil {
				return fmt.Errorf("append session message: %w", err)
			}
		}
		return nil
	})
}
