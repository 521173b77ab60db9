package plaza

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Task is a to-do for the workspace's people, as Plazbot's Create Task
// returns it (reference §3.17), the misspelled asignedUsers included, plus
// Plaza's links to a contact and an opportunity. A task moves between the
// workspace's task states (ProjectStatusID: To do, In progress, Done).
type Task struct {
	ID             string `json:"id"`
	WorkspaceID    string `json:"workspaceId"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	CreationDate   Time   `json:"creationDate"`
	UpdatedDate    Time   `json:"updatedDate"`
	ExpirationDate *Time  `json:"expirationDate"`
	// StatusID is TaskStatusActive: deleted tasks are soft-deleted and no
	// longer served.
	StatusID int     `json:"statusId"`
	Notes    *string `json:"notes"`
	// AsignedUsers lists the ids of the members the task is assigned to,
	// sorted. Plazbot spells it with one s.
	AsignedUsers    []string `json:"asignedUsers"`
	ProjectStatusID string   `json:"projectStatusId"`
	Files           []string `json:"files"`
	// Project holds the id of the task's project, or nothing.
	Project                 []string `json:"project"`
	SubTask                 []string `json:"subTask"`
	OrderInCards            int      `json:"orderInCards"`
	OrderInCardsLastUpdated Time     `json:"orderInCardsLastUpdated"`
	ContactID               *string  `json:"contactId"`
	OpportunityID           *string  `json:"opportunityId"`
}

// TaskStatusActive is the statusId of every task served.
const TaskStatusActive = 1

// Limits on a task's text and assignees.
const (
	MaxTaskNameLength = 500
	MaxTaskTextLength = 10000 // description and notes
	MaxTaskAssignees  = 50
)

// Plazbot's page-number paging of the task list: pageSize defaults to 10;
// Plaza allows up to 100.
const (
	DefaultTaskPageSize = 10
	MaxTaskPageSize     = 100
)

// TaskCreate is the input of creating a task: Plazbot's fields (workspaceId,
// name, description, notes, expirationDate, assignedUserId, contactId) and
// Plaza's (several assignees, an opportunity, a state, a project). An empty
// string in an optional id counts as absent.
type TaskCreate struct {
	WorkspaceID    string  `json:"workspaceId"`
	Name           string  `json:"name"`
	Description    string  `json:"description"`
	Notes          *string `json:"notes"`
	ExpirationDate *Time   `json:"expirationDate"`
	// The assignees: assignedUserId (Plazbot's one), assignedUserIds and
	// asignedUsers (the reply's spelling) are merged by Validate into
	// AssignedUserIDs, without repeats. AssignedUserID stays set, so that
	// an error about it can name it.
	AssignedUserID  *string  `json:"assignedUserId"`
	AssignedUserIDs []string `json:"assignedUserIds"`
	AsignedUsers    []string `json:"asignedUsers"`
	ContactID       *string  `json:"contactId"`
	OpportunityID   *string  `json:"opportunityId"`
	// ProjectStatusID is the task state; absent, the workspace's default.
	ProjectStatusID *string `json:"projectStatusId"`
	ProjectID       *string `json:"projectId"`
}

// Validate checks and normalises the fields that need no database: it
// trims the texts, turns empty ids into absent ones and merges the
// assignees. References are checked by the service.
func (in *TaskCreate) Validate() error {
	var v Validator
	in.WorkspaceID = strings.TrimSpace(in.WorkspaceID)
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	v.Required(in.WorkspaceID, "workspaceId")
	v.Required(in.Name, "name")
	v.Required(in.Description, "description")
	checkTaskText(&v, in.Name, in.Description, in.Notes)
	for _, p := range []**string{&in.ContactID, &in.OpportunityID, &in.ProjectStatusID, &in.ProjectID, &in.AssignedUserID} {
		*p = emptyToNil(*p)
	}
	var ids []string
	if in.AssignedUserID != nil {
		ids = append(ids, *in.AssignedUserID)
	}
	ids = append(append(ids, in.AssignedUserIDs...), in.AsignedUsers...)
	in.AssignedUserIDs = checkAssignees(&v, ids)
	in.AsignedUsers = nil
	return v.Err()
}

// TaskUpdate changes some fields of a task; a nil pointer with its Set
// flag false leaves the field alone. Name, Description and ProjectStatusID
// cannot be cleared; the others can (Set with a nil value).
type TaskUpdate struct {
	Name            *string
	Description     *string
	ProjectStatusID *string

	Notes             *string
	SetNotes          bool
	ExpirationDate    *Time
	SetExpirationDate bool
	// AssignedUserIDs replaces the whole set of assignees when
	// SetAssignees; empty unassigns everyone. Validate merges
	// AssignedUserID (Plazbot's single assignee) into it, as on create.
	AssignedUserIDs []string
	AssignedUserID  *string
	SetAssignees    bool
	ContactID       *string
	SetContact      bool
	OpportunityID   *string
	SetOpportunity  bool
	ProjectID       *string
	SetProject      bool
}

// Empty reports whether the update changes nothing.
func (u *TaskUpdate) Empty() bool {
	return u.Name == nil && u.Description == nil && u.ProjectStatusID == nil && !u.SetNotes &&
		!u.SetExpirationDate && !u.SetAssignees && !u.SetContact && !u.SetOpportunity && !u.SetProject
}

// Validate checks and normalises the update as TaskCreate.Validate does.
func (u *TaskUpdate) Validate() error {
	var v Validator
	if u.Empty() {
		return Invalid(FieldError{Field: "body", Message: "The update names no field to change (name, description, notes, expirationDate, projectStatusId, assignedUserIds, assignedUserId, contactId, opportunityId, projectId)."})
	}
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		v.Required(*u.Name, "name")
	}
	if u.Description != nil {
		*u.Description = strings.TrimSpace(*u.Description)
		v.Required(*u.Description, "description")
	}
	if u.ProjectStatusID != nil {
		*u.ProjectStatusID = strings.TrimSpace(*u.ProjectStatusID)
		v.Required(*u.ProjectStatusID, "projectStatusId")
	}
	name, desc := "", ""
	if u.Name != nil {
		name = *u.Name
	}
	if u.Description != nil {
		desc = *u.Description
	}
	checkTaskText(&v, name, desc, u.Notes)
	for _, p := range []**string{&u.ContactID, &u.OpportunityID, &u.ProjectID} {
		*p = emptyToNil(*p)
	}
	if u.SetAssignees {
		u.AssignedUserID = emptyToNil(u.AssignedUserID)
		ids := u.AssignedUserIDs
		if u.AssignedUserID != nil {
			ids = append([]string{*u.AssignedUserID}, ids...)
		}
		u.AssignedUserIDs = checkAssignees(&v, ids)
	}
	return v.Err()
}

func checkTaskText(v *Validator, name, description string, notes *string) {
	v.Check(utf8.RuneCountInString(name) <= MaxTaskNameLength, "name", "name must be at most 500 characters long.")
	v.Check(utf8.RuneCountInString(description) <= MaxTaskTextLength, "description", "description must be at most 10000 characters long.")
	if notes != nil {
		v.Check(utf8.RuneCountInString(*notes) <= MaxTaskTextLength, "notes", "notes must be at most 10000 characters long.")
	}
}

// checkAssignees returns ids trimmed and without repeats, recording blank
// ids and too many of them.
func checkAssignees(v *Validator, ids []string) []string {
	out := []string{}
	seen := map[string]bool{}
	blank := false
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			blank = true
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	v.Check(!blank, "assignedUserIds", "assignedUserIds must not hold empty ids.")
	v.Check(len(out) <= MaxTaskAssignees, "assignedUserIds", "A task can have at most 50 assignees.")
	return out
}

func emptyToNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// TaskFilter selects tasks of the caller's workspace; empty fields do not
// filter. Lists are newest first, and page either by key (Page: the tasks
// older than Page.After) or, for Plazbot's pageNumber/pageSize, by Offset.
type TaskFilter struct {
	ID              string
	ContactID       string
	OpportunityID   string
	AssignedUserID  string
	ProjectStatusID string
	// Name matches tasks whose name contains it, in any case.
	Name string
	// Q matches tasks whose name, description or notes contain it, in any
	// case.
	Q            string
	UpdatedSince *Time

	Page Page
	// Offset skips this many tasks (page-number paging); it is not combined
	// with Page.After.
	Offset int
}

// TaskService manages the tasks of the caller's workspace. Another
// workspace's task is ENOTFOUND; a reference (contact, opportunity,
// assignee, state, project) that is not a live record of the workspace is
// EINVALID naming the field.
type TaskService interface {
	// CreateTask creates a task; its state defaults to the workspace's
	// default task state.
	CreateTask(ctx context.Context, in TaskCreate) (*Task, error)
	// FindTaskByID returns a live task; ENOTFOUND when deleted or foreign.
	FindTaskByID(ctx context.Context, id string) (*Task, error)
	// FindTasks returns one page of the matching tasks, newest first, and
	// whether more follow.
	FindTasks(ctx context.Context, f TaskFilter) (tasks []Task, more bool, err error)
	// UpdateTask applies upd and returns the task as it now is.
	UpdateTask(ctx context.Context, id string, upd TaskUpdate) (*Task, error)
	// DeleteTask soft-deletes a task, recording who did it; a deleted task
	// is ENOTFOUND from then on.
	DeleteTask(ctx context.Context, id string) error
}
