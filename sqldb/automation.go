package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/plaza-crm/plaza"
)

// AutomationService implements plaza.AutomationService and
// plaza.AutomationStore. The ai_agent nodes' API keys are sealed with the
// server's secret key, as WhatsApp numbers' secrets are.
type AutomationService struct {
	db  *DB
	box secretBox
}

// NewAutomationService returns the automation service of db; secretKey
// seals the nodes' API keys.
func NewAutomationService(db *DB, secretKey string) *AutomationService {
	return &AutomationService{db: db, box: newSecretBox(secretKey)}
}

var (
	_ plaza.AutomationService = (*AutomationService)(nil)
	_ plaza.AutomationStore   = (*AutomationService)(nil)
)

// nodeKeyPlace names the place a node's API key is sealed for.
func nodeKeyPlace(workspaceID, nodeID string) string {
	return "automation_nodes.api_key:" + workspaceID + ":" + nodeID
}

// storedNode is a node row: the node, and its API key as stored (sealed).
type storedNode struct {
	plaza.AutomationNode
	automationID string
	sealedKey    string
}

const automationColumns = `id, name, enabled, trigger_channel, trigger_key, creation_date, updated_date`

const nodeColumns = `automation_id, id, type, name, position_x, position_y, next_id, prompt, model,
	temperature, max_tokens, memory, output_variable, api_key, text`

func scanAutomation(row scanner, ws string) (*plaza.Automation, error) {
	a := plaza.Automation{WorkspaceID: ws, Nodes: []plaza.AutomationNode{}}
	var created, updated sqlTime
	if err := row.Scan(&a.ID, &a.Name, &a.Enabled, &a.Trigger.Channel, &a.Trigger.Key, &created, &updated); err != nil {
		return nil, err
	}
	a.CreationDate, a.UpdatedDate = created.plaza(), updated.plaza()
	return &a, nil
}

func scanNode(row scanner) (*storedNode, error) {
	var n storedNode
	var x, y, temp sql.NullFloat64
	var maxTokens sql.NullInt64
	if err := row.Scan(&n.automationID, &n.ID, &n.Type, &n.Name, &x, &y, &n.Next, &n.Prompt, &n.Model,
		&temp, &maxTokens, &n.Memory, &n.OutputVariable, &n.sealedKey, &n.Text); err != nil {
		return nil, err
	}
	if x.Valid && y.Valid {
		n.Position = &plaza.NodePosition{X: x.Float64, Y: y.Float64}
	}
	if temp.Valid {
		n.Temperature = &temp.Float64
	}
	if maxTokens.Valid {
		m := int(maxTokens.Int64)
		n.MaxTokens = &m
	}
	n.HasAPIKey = n.sealedKey != ""
	return &n, nil
}

// findAutomation reads one automation of the workspace with its nodes;
// ENOTFOUND otherwise.
func findAutomation(ctx context.Context, q querier, ws, id string) (*plaza.Automation, []storedNode, error) {
	a, err := scanAutomation(q.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations
		WHERE workspace_id = $1 AND id = $2`, ws, id), ws)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, plaza.Errorf(plaza.ENOTFOUND, "Automation not found.")
	} else if err != nil {
		return nil, nil, err
	}
	nodes, err := findNodes(ctx, q, `WHERE workspace_id = $1 AND automation_id = $2`, ws, id)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range nodes {
		a.Nodes = append(a.Nodes, n.AutomationNode)
	}
	return a, nodes, nil
}

// findNodes reads the nodes where says, in their automations' order.
func findNodes(ctx context.Context, q querier, where string, args ...any) ([]storedNode, error) {
	return queryAll(ctx, q, scanNode, `SELECT `+nodeColumns+` FROM automation_nodes `+where+`
		ORDER BY automation_id, ordinal`, args...)
}

// FindAutomations lists the caller's workspace's automations by name
// regardless of case, then id.
func (s *AutomationService) FindAutomations(ctx context.Context) ([]plaza.Automation, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE workspace_id = $1`, ws)
	if err != nil {
		return nil, err
	}
	list := []plaza.Automation{}
	byID := map[string]int{}
	for rows.Next() {
		a, err := scanAutomation(rows, ws)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[a.ID] = len(list)
		list = append(list, *a)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	nodes, err := findNodes(ctx, s.db.read, `WHERE workspace_id = $1`, ws)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		// A node of an automation created since the first read has no
		// automation in the list.
		if i, ok := byID[n.automationID]; ok {
			list[i].Nodes = append(list[i].Nodes, n.AutomationNode)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := strings.ToLower(list[i].Name), strings.ToLower(list[j].Name)
		if a != b {
			return a < b
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

// FindAutomationByID returns one automation of the caller's workspace.
func (s *AutomationService) FindAutomationByID(ctx context.Context, id string) (*plaza.Automation, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	a, _, err := findAutomation(ctx, s.db.read, p.WorkspaceID, id)
	return a, err
}

// CreateAutomation validates and stores an automation with its nodes.
func (s *AutomationService) CreateAutomation(ctx context.Context, in plaza.AutomationInput) (*plaza.Automation, error) {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	id := newID()
	var a *plaza.Automation
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if err := automationConflict(ctx, tx, ws, id, &in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automations (workspace_id, id, name, enabled, trigger_channel,
			trigger_key, trigger_match, creation_date, updated_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			ws, id, in.Name, *in.Enabled, in.Trigger.Channel, in.Trigger.Key, in.Trigger.MatchKey(), tx.now); err != nil {
			return err
		}
		if err := s.insertNodes(ctx, tx, ws, id, in.Nodes, nil); err != nil {
			return err
		}
		a, _, err = findAutomation(ctx, tx, ws, id)
		return err
	})
	if isUnique(err) {
		// Another transaction took the trigger or a node id between the
		// check and the insert.
		return nil, s.raceConflict(ctx, ws, id, &in)
	} else if err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAutomation changes an automation: the parts upd sets replace the
// stored ones, and the whole is validated again as on create. Nodes sent
// replace every node; a node sent without apiKey keeps the key stored for
// its id in this automation.
func (s *AutomationService) UpdateAutomation(ctx context.Context, id string, upd plaza.AutomationUpdate) (*plaza.Automation, error) {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return nil, err
	}
	if upd.Empty() {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The update names no field to change (name, enabled, trigger, nodes)."})
	}
	ws := p.WorkspaceID
	var a *plaza.Automation
	var in plaza.AutomationInput
	err = s.db.inTx(ctx, func(tx *Tx) error {
		cur, stored, err := findAutomation(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		in = plaza.AutomationInput{Name: cur.Name, Enabled: &cur.Enabled, Trigger: cur.Trigger, Nodes: upd.Nodes}
		if upd.Name != nil {
			in.Name = *upd.Name
		}
		if upd.Enabled != nil {
			in.Enabled = upd.Enabled
		}
		if upd.Trigger != nil {
			in.Trigger = *upd.Trigger
		}
		if in.Nodes == nil {
			in.Nodes = nodeInputs(cur.Nodes)
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if err := automationConflict(ctx, tx, ws, id, &in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automations SET name = $3, enabled = $4, trigger_channel = $5,
			trigger_key = $6, trigger_match = $7, updated_date = $8 WHERE workspace_id = $1 AND id = $2`,
			ws, id, in.Name, *in.Enabled, in.Trigger.Channel, in.Trigger.Key, in.Trigger.MatchKey(), tx.now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM automation_nodes WHERE workspace_id = $1 AND automation_id = $2`, ws, id); err != nil {
			return err
		}
		keys := map[string]string{}
		for _, n := range stored {
			keys[n.ID] = n.sealedKey
		}
		if err := s.insertNodes(ctx, tx, ws, id, in.Nodes, keys); err != nil {
			return err
		}
		a, _, err = findAutomation(ctx, tx, ws, id)
		return err
	})
	if isUnique(err) {
		return nil, s.raceConflict(ctx, ws, id, &in)
	} else if err != nil {
		return nil, err
	}
	return a, nil
}

// nodeInputs turns stored nodes back into input, keeping their keys.
func nodeInputs(nodes []plaza.AutomationNode) []plaza.NodeInput {
	ins := make([]plaza.NodeInput, len(nodes))
	for i, n := range nodes {
		in := plaza.NodeInput{ID: n.ID, Type: n.Type, Name: n.Name, Position: n.Position, Next: n.Next}
		switch n.Type {
		case plaza.NodeAIAgent:
			memory := n.Memory
			in.Prompt, in.Model, in.Temperature, in.MaxTokens, in.Memory, in.OutputVariable =
				n.Prompt, n.Model, n.Temperature, n.MaxTokens, &memory, n.OutputVariable
		case plaza.NodeSendMessage:
			in.Text = n.Text
		}
		ins[i] = in
	}
	return ins
}

// insertNodes stores the validated nodes of automation id in order. A node
// whose APIKey is nil keeps keep[its id], the key sealed before.
func (s *AutomationService) insertNodes(ctx context.Context, tx *Tx, ws, id string, nodes []plaza.NodeInput, keep map[string]string) error {
	for i, n := range nodes {
		var x, y *float64
		if n.Position != nil {
			x, y = &n.Position.X, &n.Position.Y
		}
		sealed := keep[n.ID]
		if n.APIKey != nil {
			sealed = ""
			if *n.APIKey != "" {
				sealed = s.box.seal(*n.APIKey, nodeKeyPlace(ws, n.ID))
			}
		}
		memory := 0
		if n.Memory != nil {
			memory = *n.Memory
		}
		if n.Type != plaza.NodeAIAgent {
			sealed = ""
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_nodes (workspace_id, id, automation_id, ordinal, type,
			name, position_x, position_y, next_id, prompt, model, temperature, max_tokens, memory, output_variable,
			api_key, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			ws, n.ID, id, i, n.Type, n.Name, x, y, n.Next, n.Prompt, n.Model, n.Temperature, n.MaxTokens, memory,
			n.OutputVariable, sealed, n.Text); err != nil {
			return fmt.Errorf("insert node %s: %w", n.ID, err)
		}
	}
	return nil
}

// automationConflict returns ECONFLICT when another enabled automation of
// the workspace (not self) has in's trigger, or another automation has
// one of in's node ids.
func automationConflict(ctx context.Context, q querier, ws, self string, in *plaza.AutomationInput) error {
	if *in.Enabled {
		var other string
		err := q.QueryRowContext(ctx, `SELECT id FROM automations WHERE workspace_id = $1 AND enabled
			AND trigger_channel = $2 AND trigger_match = $3 AND id <> $4`,
			ws, in.Trigger.Channel, in.Trigger.MatchKey(), self).Scan(&other)
		if err == nil {
			what := "every number"
			switch {
			case in.Trigger.Channel == plaza.ChannelWebchat:
				what = "the web chat"
			case in.Trigger.Key != "":
				what = in.Trigger.Key
			}
			return &plaza.Error{Code: plaza.ECONFLICT,
				Message: fmt.Sprintf("Another enabled automation (%s) already has this trigger (%s on %s): disable it first, or create this one disabled.", other, in.Trigger.Channel, what),
				Data:    map[string]string{"field": "trigger", "id": other}}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if len(in.Nodes) == 0 {
		return nil
	}
	ids := make([]any, 0, len(in.Nodes)+2)
	ids = append(ids, ws, self)
	for _, n := range in.Nodes {
		ids = append(ids, n.ID)
	}
	var nodeID, other string
	err := q.QueryRowContext(ctx, `SELECT id, automation_id FROM automation_nodes WHERE workspace_id = $1
		AND automation_id <> $2 AND id IN (`+placeholders(3, len(in.Nodes))+`) ORDER BY id LIMIT 1`, ids...).Scan(&nodeID, &other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	field := "nodes"
	for i, n := range in.Nodes {
		if n.ID == nodeID {
			field = fmt.Sprintf("nodes[%d].id", i)
		}
	}
	return &plaza.Error{Code: plaza.ECONFLICT,
		Message: fmt.Sprintf("Node id %q is already the id of a node of another automation (%s); node ids are unique in a workspace.", nodeID, other),
		Data:    map[string]string{"field": field, "id": other}}
}

// raceConflict is the ECONFLICT of a unique index another transaction
// filled between the checks and the writes.
func (s *AutomationService) raceConflict(ctx context.Context, ws, self string, in *plaza.AutomationInput) error {
	if err := automationConflict(ctx, s.db.read, ws, self, in); err != nil {
		return err
	}
	return plaza.Errorf(plaza.ECONFLICT, "The automation changed at the same time; retry the request.")
}

// DeleteAutomation deletes an automation and its nodes.
func (s *AutomationService) DeleteAutomation(ctx context.Context, id string) error {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM automations WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "Automation not found.")
		}
		return nil
	})
}

// FindAutomationNode returns a node of the caller's workspace by id.
func (s *AutomationService) FindAutomationNode(ctx context.Context, nodeID string) (*plaza.AutomationNode, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	nodes, err := findNodes(ctx, s.db.read, `WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, nodeID)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Node not found.")
	}
	return &nodes[0].AutomationNode, nil
}

// UpdateNodePrompt replaces an ai_agent node's prompt and moves its
// automation's updatedDate.
func (s *AutomationService) UpdateNodePrompt(ctx context.Context, nodeID, prompt string) (*plaza.AutomationNode, error) {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := plaza.ValidateNodePrompt(prompt); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var node *storedNode
	err = s.db.inTx(ctx, func(tx *Tx) error {
		nodes, err := findNodes(ctx, tx, `WHERE workspace_id = $1 AND id = $2`, ws, nodeID)
		if err != nil {
			return err
		}
		if len(nodes) == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "Node not found.")
		}
		if err := nodes[0].AcceptsPrompt(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automation_nodes SET prompt = $3 WHERE workspace_id = $1 AND id = $2`,
			ws, nodeID, prompt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automations SET updated_date = $3 WHERE workspace_id = $1 AND id = $2`,
			ws, nodes[0].automationID, tx.now); err != nil {
			return err
		}
		nodes, err = findNodes(ctx, tx, `WHERE workspace_id = $1 AND id = $2`, ws, nodeID)
		if err != nil {
			return err
		}
		node = &nodes[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &node.AutomationNode, nil
}

// AutomationForTrigger returns the enabled automation a message on channel
// (and number key) starts, with its nodes' API keys opened.
func (s *AutomationService) AutomationForTrigger(ctx context.Context, workspaceID, channel, key string) (*plaza.Automation, error) {
	match := plaza.TriggerMatchKey(channel, key)
	// The automation on the number itself wins over the one on every
	// number: '' sorts first, so descending.
	var id string
	err := s.db.read.QueryRowContext(ctx, `SELECT id FROM automations WHERE workspace_id = $1 AND enabled
		AND trigger_channel = $2 AND trigger_match IN ($3, '') ORDER BY trigger_match DESC LIMIT 1`,
		workspaceID, channel, match).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "No enabled automation has this trigger.")
	} else if err != nil {
		return nil, err
	}
	a, stored, err := findAutomation(ctx, s.db.read, workspaceID, id)
	if err != nil {
		return nil, err
	}
	for i, n := range stored {
		if n.sealedKey == "" {
			continue
		}
		if a.Nodes[i].APIKey, err = s.box.open(n.sealedKey, nodeKeyPlace(workspaceID, n.ID)); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.ID, err)
		}
	}
	return a, nil
}
