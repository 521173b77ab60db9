package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// TaskService implements plaza.TaskService.
type TaskService struct{ db *DB }

// NewTaskService returns the task service of db.
func NewTaskService(db *DB) *TaskService { return &TaskService{db: db} }

var _ plaza.TaskService = (*TaskService)(nil)

// CreateTask validates in, checks every reference it makes and inserts the
// task with its assignees in one transaction.
func (s *TaskService) CreateTask(ctx context.Context, in plaza.TaskCreate) (*plaza.Task, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.WorkspaceID != p.WorkspaceID {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Workspace not found.")
	}
	ws := p.WorkspaceID
	var task *plaza.Task
	err = s.db.inTx(ctx, func(tx *Tx) error {
		refs := taskRefs{
			ContactID: in.ContactID, OpportunityID: in.OpportunityID, ProjectStatusID: in.ProjectStatusID,
			ProjectID: in.ProjectID, Assignees: in.AssignedUserIDs, Assignee: in.AssignedUserID, SetAssignees: true,
		}
		if err := tx.checkTaskRefs(ctx, ws, refs); err != nil {
			return err
		}
		state := in.ProjectStatusID
		if state == nil {
			def, err := tx.defaultTaskState(ctx, ws)
			if err != nil {
				return err
			}
			state = &def
		}
		id := newID()
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks (workspace_id, id, name, description, notes, status_id,
			project_status_id, project_id, contact_id, opportunity_id, expiration_date, order_in_cards_updated,
			user_creation, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $12)`,
			ws, id, in.Name, in.Description, in.Notes, plaza.TaskStatusActive, *state, in.ProjectID,
			in.ContactID, in.OpportunityID, nullTime(in.ExpirationDate), tx.now, p.UserID)
		if err != nil {
			return fmt.Errorf("insert task: %w", err)
		}
		if err := tx.setTaskAssignees(ctx, ws, id, in.AssignedUserIDs); err != nil {
			return err
		}
		task, err = findTask(ctx, tx, ws, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// taskRefs are the references a create or update makes; nil pointers are
// not checked.
type taskRefs struct {
	ContactID, OpportunityID, ProjectStatusID, ProjectID *string
	// Assignees are checked as assignedUserIds, but Assignee, which is
	// among them, as assignedUserId.
	Assignees    []string
	Assignee     *string
	SetAssignees bool
}

// checkTaskRefs checks every reference and names every bad one in a
// single EINVALID.
func (tx *Tx) checkTaskRefs(ctx context.Context, ws string, r taskRefs) error {
	var errs []error
	if r.ContactID != nil {
		errs = append(errs, tx.checkContact(ctx, ws, "contactId", *r.ContactID))
	}
	if r.OpportunityID != nil {
		errs = append(errs, tx.checkOpportunity(ctx, ws, "opportunityId", *r.OpportunityID))
	}
	if r.ProjectStatusID != nil {
		errs = append(errs, tx.checkTaskState(ctx, ws, "projectStatusId", *r.ProjectStatusID))
	}
	if r.ProjectID != nil {
		errs = append(errs, tx.checkProject(ctx, ws, "projectId", *r.ProjectID))
	}
	if r.SetAssignees {
		for _, u := range r.Assignees {
			field := "assignedUserIds"
			if r.Assignee != nil && *r.Assignee == u {
				field = "assignedUserId"
			}
			errs = append(errs, tx.checkMember(ctx, ws, field, u))
		}
	}
	return joinInvalid(errs...)
}

// checkTaskState checks that id is a task state of the workspace.
func (tx *Tx) checkTaskState(ctx context.Context, ws, field, id string) error {
	return tx.checkRef(ctx, field, "Task state", id, `SELECT 1 FROM task_states WHERE workspace_id = $1 AND id = $2`, ws, id)
}

// checkProject checks that id is a project of the workspace.
func (tx *Tx) checkProject(ctx context.Context, ws, field, id string) error {
	return tx.checkRef(ctx, field, "Project", id, `SELECT 1 FROM projects WHERE workspace_id = $1 AND id = $2`, ws, id)
}

// defaultTaskState returns the state new tasks start in: the workspace's
// default, else its first.
func (tx *Tx) defaultTaskState(ctx context.Context, ws string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM task_states WHERE workspace_id = $1
		ORDER BY is_default DESC, position, id LIMIT 1`, ws).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", plaza.Invalid(plaza.FieldError{Field: "projectStatusId", Message: "The workspace has no task states: projectStatusId cannot default."})
	}
	return id, err
}

// setTaskAssignees makes users the task's assignees, replacing any.
func (tx *Tx) setTaskAssignees(ctx context.Context, ws, taskID string, users []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM task_assignees WHERE workspace_id = $1 AND task_id = $2`, ws, taskID); err != nil {
		return fmt.Errorf("delete task assignees: %w", err)
	}
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_assignees (workspace_id, task_id, user_id) VALUES ($1, $2, $3)`,
			ws, taskID, u); err != nil {
			return fmt.Errorf("insert task assignee: %w", err)
		}
	}
	return nil
}

// FindTaskByID returns a live task of the caller's workspace.
func (s *TaskService) FindTaskByID(ctx context.Context, id string) (*plaza.Task, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findTask(ctx, s.db.read, p.WorkspaceID, id)
}

// taskColumns are the columns scanTask reads, from tasks aliased t.
const taskColumns = `t.id, t.workspace_id, t.name, t.description, t.notes, t.status_id, t.project_status_id,
	t.project_id, t.contact_id, t.opportunity_id, t.expiration_date, t.files, t.order_in_cards,
	t.order_in_cards_updated, t.creation_date, t.updated_date`

func scanTask(row scanner) (*plaza.Task, error) {
	var t plaza.Task
	var project sql.NullString
	var files string
	var expiration sqlNullTime
	var orderUpdated, created, updated sqlTime
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.Description, &t.Notes, &t.StatusID, &t.ProjectStatusID,
		&project, &t.ContactID, &t.OpportunityID, &expiration, &files, &t.OrderInCards,
		&orderUpdated, &created, &updated); err != nil {
		return nil, err
	}
	t.ExpirationDate = expiration.plaza()
	t.OrderInCardsLastUpdated, t.CreationDate, t.UpdatedDate = orderUpdated.plaza(), created.plaza(), updated.plaza()
	t.Project, t.SubTask, t.AsignedUsers = []string{}, []string{}, []string{}
	if project.Valid {
		t.Project = append(t.Project, project.String)
	}
	t.Files = []string{}
	if err := json.Unmarshal([]byte(files), &t.Files); err != nil {
		return nil, fmt.Errorf("task %s: files: %w", t.ID, err)
	}
	if t.Files == nil {
		t.Files = []string{}
	}
	return &t, nil
}

// findTask reads one live task with its assignees.
func findTask(ctx context.Context, q querier, ws, id string) (*plaza.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks t
		WHERE t.workspace_id = $1 AND t.id = $2 AND t.deletion_date IS NULL`, ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Task not found.")
	} else if err != nil {
		return nil, err
	}
	tasks := []plaza.Task{*t}
	if err := loadTaskAssignees(ctx, q, ws, tasks); err != nil {
		return nil, err
	}
	return &tasks[0], nil
}

// loadTaskAssignees fills in the assignees of tasks with one query.
func loadTaskAssignees(ctx context.Context, q querier, ws string, tasks []plaza.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	args := []any{ws}
	index := map[string]int{}
	for i, t := range tasks {
		args = append(args, t.ID)
		index[t.ID] = i
	}
	rows, err := q.QueryContext(ctx, `SELECT task_id, user_id FROM task_assignees
		WHERE workspace_id = $1 AND task_id IN (`+placeholders(2, len(tasks))+`) ORDER BY task_id, user_id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var taskID, userID string
		if err := rows.Scan(&taskID, &userID); err != nil {
			rows.Close()
			return err
		}
		t := &tasks[index[taskID]]
		t.AsignedUsers = append(t.AsignedUsers, userID)
	}
	return closeRows(rows)
}

// FindTasks returns a page of the caller's matching tasks, newest first.
func (s *TaskService) FindTasks(ctx context.Context, f plaza.TaskFilter) ([]plaza.Task, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	w := newConditions(p.WorkspaceID, "t.workspace_id = $1", "t.deletion_date IS NULL")
	for _, eq := range []struct{ col, v string }{
		{"t.id", f.ID}, {"t.contact_id", f.ContactID}, {"t.opportunity_id", f.OpportunityID},
		{"t.project_status_id", f.ProjectStatusID},
	} {
		if eq.v != "" {
			w.add(eq.col + " = " + w.arg(eq.v))
		}
	}
	if f.AssignedUserID != "" {
		w.add(`EXISTS (SELECT 1 FROM task_assignees a
			WHERE a.workspace_id = t.workspace_id AND a.task_id = t.id AND a.user_id = ` + w.arg(f.AssignedUserID) + `)`)
	}
	if f.Name != "" {
		w.add(likeAny(w.arg(likePattern(f.Name)), `plaza_lower(t.name)`))
	}
	if f.Q != "" {
		w.add(likeAny(w.arg(likePattern(f.Q)), `plaza_lower(t.name)`, `plaza_lower(t.description)`, `plaza_lower(COALESCE(t.notes, ''))`))
	}
	if f.UpdatedSince != nil {
		w.add("t.updated_date >= " + w.arg(f.UpdatedSince.Time))
	}
	if f.Page.After != "" {
		w.add("t.id < " + w.arg(f.Page.After))
	}
	size := f.Page.Size()
	query := `SELECT ` + taskColumns + ` FROM tasks t WHERE ` + w.sql() + ` ORDER BY t.id DESC LIMIT ` + w.arg(size+1)
	if f.Offset > 0 {
		query += ` OFFSET ` + w.arg(f.Offset)
	}
	tasks, err := queryAll(ctx, s.db.read, scanTask, query, w.args...)
	if err != nil {
		return nil, false, err
	}
	tasks, more := cutPage(tasks, size)
	if err := loadTaskAssignees(ctx, s.db.read, p.WorkspaceID, tasks); err != nil {
		return nil, false, err
	}
	return tasks, more, nil
}

// UpdateTask applies upd to a live task of the caller's workspace.
func (s *TaskService) UpdateTask(ctx context.Context, id string, upd plaza.TaskUpdate) (*plaza.Task, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var task *plaza.Task
	err = s.db.inTx(ctx, func(tx *Tx) error {
		// Locks the row (PostgreSQL) so concurrent updates apply one after
		// the other, and tells a missing task from a bad reference.
		var state string
		err := tx.QueryRowContext(ctx, `UPDATE tasks SET updated_date = $3
			WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL
			RETURNING project_status_id`, ws, id, tx.now).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return plaza.Errorf(plaza.ENOTFOUND, "Task not found.")
		} else if err != nil {
			return fmt.Errorf("lock task: %w", err)
		}
		refs := taskRefs{ProjectStatusID: upd.ProjectStatusID, Assignees: upd.AssignedUserIDs, Assignee: upd.AssignedUserID,
			SetAssignees: upd.SetAssignees}
		if upd.SetContact {
			refs.ContactID = upd.ContactID
		}
		if upd.SetOpportunity {
			refs.OpportunityID = upd.OpportunityID
		}
		if upd.SetProject {
			refs.ProjectID = upd.ProjectID
		}
		if err := tx.checkTaskRefs(ctx, ws, refs); err != nil {
			return err
		}

		var set setList
		if upd.Name != nil {
			set.add("name", *upd.Name)
		}
		if upd.Description != nil {
			set.add("description", *upd.Description)
		}
		if upd.SetNotes {
			set.add("notes", upd.Notes)
		}
		if upd.SetExpirationDate {
			set.add("expiration_date", nullTime(upd.ExpirationDate))
		}
		if upd.ProjectStatusID != nil {
			set.add("project_status_id", *upd.ProjectStatusID)
			if *upd.ProjectStatusID != state {
				// The card moved to another column of the board.
				set.add("order_in_cards_updated", tx.now)
			}
		}
		if upd.SetContact {
			set.add("contact_id", upd.ContactID)
		}
		if upd.SetOpportunity {
			set.add("opportunity_id", upd.OpportunityID)
		}
		if upd.SetProject {
			set.add("project_id", upd.ProjectID)
		}
		if !set.empty() {
			cols, args := set.render(ws, id)
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET `+cols+` WHERE workspace_id = $1 AND id = $2`, args...); err != nil {
				return fmt.Errorf("update task: %w", err)
			}
		}
		if upd.SetAssignees {
			if err := tx.setTaskAssignees(ctx, ws, id, upd.AssignedUserIDs); err != nil {
				return err
			}
		}
		task, err = findTask(ctx, tx, ws, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// DeleteTask soft-deletes a live task of the caller's workspace.
func (s *TaskService) DeleteTask(ctx context.Context, id string) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		deleted, err := tx.softDelete(ctx, "tasks", p.WorkspaceID, id, p.UserID)
		if err == nil && !deleted {
			return plaza.Errorf(plaza.ENOTFOUND, "Task not found.")
		}
		return err
	})
}
