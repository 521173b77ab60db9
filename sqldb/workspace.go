package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// WorkspaceService implements plaza.WorkspaceService.
type WorkspaceService struct{ db *DB }

// NewWorkspaceService returns the workspace service of db.
func NewWorkspaceService(db *DB) *WorkspaceService { return &WorkspaceService{db: db} }

var _ plaza.WorkspaceService = (*WorkspaceService)(nil)

// callerWorkspace returns the caller's workspace when it is id, and
// ENOTFOUND for any other id, so another workspace's existence never shows.
func callerWorkspace(ctx context.Context, id string) (*plaza.Principal, error) {
	p, err := plaza.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.WorkspaceID == "" || p.WorkspaceID != id {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Workspace not found.")
	}
	return p, nil
}

// FindWorkspaceByID returns the caller's workspace with its masters.
func (s *WorkspaceService) FindWorkspaceByID(ctx context.Context, id string) (*plaza.Workspace, error) {
	if _, err := callerWorkspace(ctx, id); err != nil {
		return nil, err
	}
	return s.db.findWorkspace(ctx, id)
}

func (db *DB) findWorkspace(ctx context.Context, id string) (*plaza.Workspace, error) {
	q := db.read
	w := &plaza.Workspace{
		MasterOfStates: []plaza.TaskState{}, MasterOfProjects: []plaza.Project{}, MasterOfPhases: []plaza.Stage{},
		MasterOfSegmentations: []plaza.Segmentation{}, MasterOfTags: []plaza.Tag{}, Integrations: []any{},
	}
	var created sqlTime
	var deleted sqlNullTime
	err := q.QueryRowContext(ctx, `SELECT id, owner_id, name, url_avatar, status, creation_date, deletion_date
		FROM workspaces WHERE id = $1`, id).Scan(&w.ID, &w.UserID, &w.Name, &w.URLAvatar, &w.Status, &created, &deleted)
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "Workspace not found.")
		}
		return nil, err
	}
	w.CreationDate, w.DeletionDate = created.plaza(), deleted.plaza()

	rows, err := q.QueryContext(ctx, `SELECT id, pipeline, name, color, position, is_default, creation_date
		FROM stages WHERE workspace_id = $1 ORDER BY pipeline, position, id`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var st plaza.Stage
		if err := rows.Scan(&st.ID, &st.Pipeline, &st.Name, &st.Color, &st.Order, &st.IsDefault, &created); err != nil {
			rows.Close()
			return nil, err
		}
		st.CreationDate = created.plaza()
		w.MasterOfPhases = append(w.MasterOfPhases, st)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}

	rows, err = q.QueryContext(ctx, `SELECT id, name, color, state_code, position, is_default, creation_date
		FROM task_states WHERE workspace_id = $1 ORDER BY position, id`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var st plaza.TaskState
		if err := rows.Scan(&st.ID, &st.Name, &st.Color, &st.StateCode, &st.Order, &st.IsDefault, &created); err != nil {
			rows.Close()
			return nil, err
		}
		st.CreationDate = created.plaza()
		w.MasterOfStates = append(w.MasterOfStates, st)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}

	// Projects, segmentations and tags share one shape.
	for _, m := range []struct {
		table string
		add   func(id, name, color string, created plaza.Time)
	}{
		{"projects", func(id, name, color string, c plaza.Time) {
			w.MasterOfProjects = append(w.MasterOfProjects, plaza.Project{ID: id, Name: name, Color: color, CreationDate: c})
		}},
		{"segmentations", func(id, name, color string, c plaza.Time) {
			w.MasterOfSegmentations = append(w.MasterOfSegmentations, plaza.Segmentation{ID: id, Name: name, Color: color, CreationDate: c})
		}},
		{"tags", func(id, name, color string, c plaza.Time) {
			w.MasterOfTags = append(w.MasterOfTags, plaza.Tag{ID: id, Name: name, Color: color, CreationDate: c})
		}},
	} {
		rows, err := q.QueryContext(ctx, `SELECT id, name, color, creation_date FROM `+m.table+
			` WHERE workspace_id = $1 ORDER BY name, id`, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, name, color string
			if err := rows.Scan(&id, &name, &color, &created); err != nil {
				rows.Close()
				return nil, err
			}
			m.add(id, name, color, created.plaza())
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// FindWorkspaceUsers lists the members of the caller's workspace.
func (s *WorkspaceService) FindWorkspaceUsers(ctx context.Context, id string) ([]plaza.User, error) {
	if _, err := callerWorkspace(ctx, id); err != nil {
		return nil, err
	}
	return queryAll(ctx, s.db.read, scanUser, `SELECT `+userColumns+`, m.role
		FROM workspace_members m JOIN users u ON u.id = m.user_id
		WHERE m.workspace_id = $1 ORDER BY u.id`, id)
}

// CreateWorkspace creates a workspace owned by ownerID, with default masters.
func (s *WorkspaceService) CreateWorkspace(ctx context.Context, name, ownerID string) (*plaza.Workspace, error) {
	var id string
	err := s.db.inTx(ctx, func(tx *Tx) (err error) {
		id, err = tx.createWorkspace(ctx, name, ownerID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.db.findWorkspace(ctx, id)
}

// createWorkspace inserts the workspace, its owner's membership and the
// default masters: contact and opportunity stages, task states, a
// segmentation and a few tags, so a new workspace is usable at once.
func (tx *Tx) createWorkspace(ctx context.Context, name, ownerID string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", plaza.Invalid(plaza.FieldError{Field: "workspace", Message: "The workspace name is required."})
	}
	id := newID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, owner_id, creation_date) VALUES ($1, $2, $3, $4)`,
		id, name, ownerID, tx.now); err != nil {
		return "", fmt.Errorf("insert workspace: %w", err)
	}
	if err := tx.addMember(ctx, id, ownerID, plaza.RoleOwner); err != nil {
		return "", err
	}
	stages := []struct {
		pipeline plaza.Pipeline
		name     string
		color    string
	}{
		{plaza.PipelineContact, "New", "#3b82f6"},
		{plaza.PipelineContact, "In conversation", "#f59e0b"},
		{plaza.PipelineContact, "Qualified", "#8b5cf6"},
		{plaza.PipelineContact, "Customer", "#10b981"},
		{plaza.PipelineOpportunity, "Prospecting", "#3b82f6"},
		{plaza.PipelineOpportunity, "Proposal", "#f59e0b"},
		{plaza.PipelineOpportunity, "Negotiation", "#8b5cf6"},
		{plaza.PipelineOpportunity, "Closing", "#10b981"},
	}
	pos := map[plaza.Pipeline]int{}
	for _, st := range stages {
		pos[st.pipeline]++
		if _, err := tx.ExecContext(ctx, `INSERT INTO stages (workspace_id, id, pipeline, name, color, position, is_default, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, newID(), st.pipeline, st.name, st.color, pos[st.pipeline], pos[st.pipeline] == 1, tx.now); err != nil {
			return "", fmt.Errorf("insert stage: %w", err)
		}
	}
	for i, st := range []struct{ name, code, color string }{
		{"To do", "TODO", "#64748b"}, {"In progress", "IN_PROGRESS", "#f59e0b"}, {"Done", "DONE", "#10b981"},
	} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_states (workspace_id, id, name, color, state_code, position, is_default, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, newID(), st.name, st.color, st.code, i+1, i == 0, tx.now); err != nil {
			return "", fmt.Errorf("insert task state: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO segmentations (workspace_id, id, name, color, creation_date)
		VALUES ($1, $2, $3, $4, $5)`, id, newID(), "General", "#64748b", tx.now); err != nil {
		return "", fmt.Errorf("insert segmentation: %w", err)
	}
	for _, t := range []struct{ name, color string }{{"Lead", "#3b82f6"}, {"Customer", "#10b981"}, {"Support", "#ef4444"}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (workspace_id, id, name, color, creation_date)
			VALUES ($1, $2, $3, $4, $5)`, id, newID(), t.name, t.color, tx.now); err != nil {
			return "", fmt.Errorf("insert tag: %w", err)
		}
	}
	return id, nil
}

func (tx *Tx) addMember(ctx context.Context, workspaceID, userID string, role plaza.Role) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO workspace_members (workspace_id, user_id, role, creation_date) VALUES ($1, $2, $3, $4)`,
		workspaceID, userID, role, tx.now)
	if isUnique(err) {
		return plaza.Errorf(plaza.ECONFLICT, "The user already belongs to this workspace.")
	}
	return err
}
