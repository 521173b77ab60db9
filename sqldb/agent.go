package sqldb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// AgentService implements plaza.AgentService for the API and
// plaza.AgentStore for the agent runtime.
type AgentService struct{ db *DB }

// NewAgentService returns the agent service of db.
func NewAgentService(db *DB) *AgentService { return &AgentService{db: db} }

var (
	_ plaza.AgentService = (*AgentService)(nil)
	_ plaza.AgentStore   = (*AgentService)(nil)
)

// marshalDocument writes a configuration document as stored: compact, with
// <, > and & as they were sent.
func marshalDocument(doc plaza.AgentDocument) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(buf.Bytes())), nil
}

// CreateAgent stores a configuration document in the caller's workspace.
func (s *AgentService) CreateAgent(ctx context.Context, doc plaza.AgentDocument) (*plaza.AgentSaved, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := doc.Config()
	if err != nil {
		return nil, err
	}
	raw, err := marshalDocument(doc)
	if err != nil {
		return nil, err
	}
	saved := &plaza.AgentSaved{Agent: &plaza.AgentRecord{ID: newID(), WorkspaceID: p.WorkspaceID, Config: *cfg, Raw: json.RawMessage(raw)}}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		a := saved.Agent
		a.CreationDate, a.UpdatedDate = plaza.NewTime(tx.now), plaza.NewTime(tx.now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents (workspace_id, id, name, config, enabled, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, a.WorkspaceID, a.ID, cfg.Name, raw, cfg.Enabled(), tx.now); err != nil {
			return fmt.Errorf("insert agent: %w", err)
		}
		saved.Channels, err = tx.setAgentChannels(ctx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// UpdateAgent applies u to one of the caller's agents.
func (s *AgentService) UpdateAgent(ctx context.Context, id string, u plaza.AgentUpdate) (*plaza.AgentSaved, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	saved := &plaza.AgentSaved{}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		a, err := findAgent(ctx, tx, p.WorkspaceID, id, true)
		if err != nil {
			return err
		}
		doc, err := plaza.ParseAgentDocument(a.Raw)
		if err != nil {
			return err
		}
		if err := u.Apply(doc); err != nil {
			return err
		}
		cfg, err := doc.Config()
		if err != nil {
			return err
		}
		raw, err := marshalDocument(doc)
		if err != nil {
			return err
		}
		a.Config, a.Raw, a.UpdatedDate = *cfg, json.RawMessage(raw), plaza.NewTime(tx.now)
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET name = $3, config = $4, enabled = $5, updated_date = $6
			WHERE workspace_id = $1 AND id = $2`, a.WorkspaceID, a.ID, cfg.Name, raw, cfg.Enabled(), tx.now); err != nil {
			return fmt.Errorf("update agent: %w", err)
		}
		saved.Agent = a
		saved.Channels, err = tx.setAgentChannels(ctx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// setAgentChannels replaces the agent's rows in agent_channels by its
// configuration's channels and reports each one's status. ECONFLICT
// naming channels when another enabled agent holds one of them.
func (tx *Tx) setAgentChannels(ctx context.Context, a *plaza.AgentRecord) ([]plaza.AgentChannelStatus, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_channels WHERE workspace_id = $1 AND agent_id = $2`,
		a.WorkspaceID, a.ID); err != nil {
		return nil, err
	}
	statuses := []plaza.AgentChannelStatus{}
	seen := map[[2]string]bool{}
	enabled := a.Config.Enabled()
	for i, ch := range a.Config.Channels {
		key, err := plaza.ChannelKey(ch)
		if err != nil { // Validate has checked it
			return nil, err
		}
		st := plaza.AgentChannelStatus{Channel: ch.Channel, Key: key}
		switch ch.Channel {
		case plaza.ChannelWebchat:
			st.Attached = true
		case plaza.ChannelWhatsApp:
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM whatsapp_numbers WHERE workspace_id = $1 AND display_digits = $2`,
				a.WorkspaceID, key).Scan(&n); err != nil {
				return nil, err
			}
			st.Attached = n > 0
			if !st.Attached {
				st.Message = "No connected WhatsApp number of the workspace has this display number; the agent answers there once one is connected."
			}
		default:
			st.Message = fmt.Sprintf("Plaza does not answer on %s; the channel is kept in the configuration.", ch.Channel)
		}
		statuses = append(statuses, st)
		if seen[[2]string{ch.Channel, key}] {
			continue
		}
		seen[[2]string{ch.Channel, key}] = true
		if enabled {
			var otherID, otherName string
			err := tx.QueryRowContext(ctx, `SELECT a.id, a.name FROM agent_channels c
				JOIN agents a ON a.workspace_id = c.workspace_id AND a.id = c.agent_id
				WHERE c.workspace_id = $1 AND c.channel = $2 AND c.channel_key = $3 AND c.enabled AND c.agent_id <> $4`,
				a.WorkspaceID, ch.Channel, key, a.ID).Scan(&otherID, &otherName)
			if err == nil {
				return nil, channelConflict(i, ch.Channel, key, fmt.Sprintf("agent %q (%s)", otherName, otherID))
			} else if plaza.ErrorCode(normalize(err)) != plaza.ENOTFOUND {
				return nil, err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO agent_channels (workspace_id, agent_id, channel, channel_key, enabled)
			VALUES ($1, $2, $3, $4, $5)`, a.WorkspaceID, a.ID, ch.Channel, key, enabled)
		if isUnique(err) { // an agent saved at the same time took it
			return nil, channelConflict(i, ch.Channel, key, "another agent")
		} else if err != nil {
			return nil, fmt.Errorf("insert agent channel: %w", err)
		}
	}
	return statuses, nil
}

func channelConflict(i int, channel, key, holder string) error {
	where := channel
	if key != "" {
		where += " " + key
	}
	msg := fmt.Sprintf("%s already answers on %s; disable it or remove the channel from one of them (one enabled agent per channel).", holder, where)
	return &plaza.Error{Code: plaza.ECONFLICT, Message: msg,
		Fields: []plaza.FieldError{{Field: fmt.Sprintf("channels[%d]", i), Message: msg}}}
}

const agentColumns = `workspace_id, id, config, creation_date, updated_date`

func scanAgent(row scanner) (*plaza.AgentRecord, error) {
	var a plaza.AgentRecord
	var raw string
	var created, updated sqlTime
	if err := row.Scan(&a.WorkspaceID, &a.ID, &raw, &created, &updated); err != nil {
		return nil, err
	}
	a.Raw = json.RawMessage(raw)
	// What was stored was validated; a configuration Plaza reads
	// differently after an upgrade is still returned as it is.
	_ = json.Unmarshal(a.Raw, &a.Config)
	a.CreationDate, a.UpdatedDate = created.plaza(), updated.plaza()
	return &a, nil
}

// findAgent reads an agent; forUpdate locks its row on PostgreSQL (SQLite's
// write transaction already excludes other writers).
func findAgent(ctx context.Context, q querier, workspaceID, id string, forUpdate bool) (*plaza.AgentRecord, error) {
	lock := ""
	if tx, ok := q.(*Tx); ok && forUpdate && tx.db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	a, err := scanAgent(q.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE workspace_id = $1 AND id = $2`+lock,
		workspaceID, id))
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "Agent not found.")
		}
		return nil, err
	}
	return a, nil
}

// GetAgent returns one of the caller's agents.
func (s *AgentService) GetAgent(ctx context.Context, id string) (*plaza.AgentRecord, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findAgent(ctx, s.db.read, p.WorkspaceID, id, false)
}

// FindAgent returns an agent of the workspace, for the runtime.
func (s *AgentService) FindAgent(ctx context.Context, workspaceID, id string) (*plaza.AgentRecord, error) {
	return findAgent(ctx, s.db.read, workspaceID, id, false)
}

// ListAgents lists the caller's agents, oldest first.
func (s *AgentService) ListAgents(ctx context.Context) ([]plaza.AgentRecord, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.db.read, scanAgent, `SELECT `+agentColumns+` FROM agents WHERE workspace_id = $1
		ORDER BY creation_date, id`, p.WorkspaceID)
}

// AgentForChannel returns the enabled agent answering on a channel.
func (s *AgentService) AgentForChannel(ctx context.Context, workspaceID, channel, key string) (*plaza.AgentRecord, error) {
	k, err := plaza.ChannelKey(plaza.AgentChannel{Channel: channel, Key: key})
	if err != nil {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "No agent answers on %s %s.", channel, key)
	}
	a, err := scanAgent(s.db.read.QueryRowContext(ctx, `SELECT a.workspace_id, a.id, a.config, a.creation_date, a.updated_date
		FROM agent_channels c JOIN agents a ON a.workspace_id = c.workspace_id AND a.id = c.agent_id
		WHERE c.workspace_id = $1 AND c.channel = $2 AND c.channel_key = $3 AND c.enabled`, workspaceID, channel, k))
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "No agent answers on %s %s.", channel, k)
		}
		return nil, err
	}
	return a, nil
}

// DeleteAgent deletes one of the caller's agents with its channels,
// knowledge files and passages. Indexing jobs still queued find their file
// gone and end.
func (s *AgentService) DeleteAgent(ctx context.Context, id string) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		for _, table := range []string{"knowledge_passages", "knowledge_files", "agent_channels"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE workspace_id = $1 AND agent_id = $2`, p.WorkspaceID, id); err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "Agent not found.")
		}
		return nil
	})
}

// CopyAgent copies one of the caller's agents.
func (s *AgentService) CopyAgent(ctx context.Context, id string) (*plaza.AgentRecord, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var copied *plaza.AgentRecord
	err = s.db.inTx(ctx, func(tx *Tx) error {
		a, err := findAgent(ctx, tx, p.WorkspaceID, id, false)
		if err != nil {
			return err
		}
		doc, err := plaza.ParseAgentDocument(a.Raw)
		if err != nil {
			return err
		}
		name, _ := json.Marshal(a.Config.Name + " (copy)")
		doc["name"] = name
		delete(doc, "channels")
		cfg, err := doc.Config()
		if err != nil {
			return err
		}
		raw, err := marshalDocument(doc)
		if err != nil {
			return err
		}
		copied = &plaza.AgentRecord{ID: newID(), WorkspaceID: p.WorkspaceID, Config: *cfg, Raw: json.RawMessage(raw),
			CreationDate: plaza.NewTime(tx.now), UpdatedDate: plaza.NewTime(tx.now)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents (workspace_id, id, name, config, enabled, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, copied.WorkspaceID, copied.ID, cfg.Name, raw, cfg.Enabled(), tx.now); err != nil {
			return fmt.Errorf("insert agent: %w", err)
		}
		return tx.copyKnowledge(ctx, p.WorkspaceID, a.ID, copied.ID)
	})
	if err != nil {
		return nil, err
	}
	return copied, nil
}
