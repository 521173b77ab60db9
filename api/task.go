package api

import (
	"math"
	"net/http"

	"github.com/plaza-crm/plaza"
)

// taskSaved is the data of a task created or updated (Plazbot §3.17).
type taskSaved struct {
	TaskID string      `json:"taskId"`
	Task   *plaza.Task `json:"task"`
}

// taskListName keys the task list's continuation tokens.
const taskListName = "tasks"

// handleTaskList lists tasks, newest first. By default it pages as
// Plazbot's task list does, by pageNumber and pageSize, with data the
// array of tasks; a request that carries continuationToken (empty for the
// first page) pages like every other list instead, 20 at a time, with data
// {workspaceId, continuationToken, data}.
func (s *Server) handleTaskList(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	f := plaza.TaskFilter{
		ID:              query(r, "id"),
		ContactID:       query(r, "contactId"),
		OpportunityID:   query(r, "opportunityId"),
		AssignedUserID:  query(r, "assignedUserId"),
		ProjectStatusID: query(r, "projectStatusId"),
		Name:            query(r, "name"),
		Q:               query(r, "q"),
	}
	var bad queryErrors
	f.UpdatedSince, err = queryTime(r, "updatedSince")
	if err := bad.add(err); err != nil {
		return err
	}
	if queryPresent(r, "continuationToken") {
		for _, name := range []string{"pageNumber", "pageSize"} {
			if queryPresent(r, name) {
				bad.add(plaza.Invalid(plaza.FieldError{Field: name, Message: name + " cannot be combined with continuationToken: page by one or the other."}))
			}
		}
		after, err := s.pageAfter(r, taskListName)
		if err := bad.add(err); err != nil {
			return err
		}
		if err := bad.err(); err != nil {
			return err
		}
		f.Page = plaza.Page{After: after}
		tasks, more, err := s.Tasks.FindTasks(r.Context(), f)
		if err != nil {
			return err
		}
		last := ""
		if len(tasks) > 0 {
			last = tasks[len(tasks)-1].ID
		}
		return ok(w, "List obtained successfully.", listPage[plaza.Task]{
			WorkspaceID: p.WorkspaceID, ContinuationToken: s.nextPageToken(r, taskListName, more, last), Data: tasks})
	}
	number, err := queryIntRange(r, "pageNumber", 1, 1, math.MaxInt32)
	bad.add(err)
	size, err := queryIntRange(r, "pageSize", plaza.DefaultTaskPageSize, 1, plaza.MaxTaskPageSize)
	bad.add(err)
	if err := bad.err(); err != nil {
		return err
	}
	f.Page = plaza.Page{Limit: size}
	f.Offset = (number - 1) * size
	tasks, _, err := s.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", tasks)
}

func (s *Server) handleTaskCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	text := func(name string) string {
		if v := b.str(name); v != nil {
			return *v
		}
		return ""
	}
	// Fields are read in this order, which is the order errors name them.
	in := plaza.TaskCreate{
		WorkspaceID:     text("workspaceId"),
		Name:            text("name"),
		Description:     text("description"),
		Notes:           b.str("notes"),
		ExpirationDate:  b.time("expirationDate"),
		AssignedUserID:  b.str("assignedUserId"),
		AssignedUserIDs: b.strs("assignedUserIds"),
		AsignedUsers:    b.strs("asignedUsers"),
		ContactID:       b.str("contactId"),
		OpportunityID:   b.str("opportunityId"),
		ProjectStatusID: b.str("projectStatusId"),
		ProjectID:       b.str("projectId"),
	}
	// A body of the wrong types is refused here, naming what validation
	// finds too; otherwise the service validates.
	if b.err() != nil {
		return b.check(in.Validate())
	}
	t, err := s.Tasks.CreateTask(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Task created successfully.", taskSaved{TaskID: t.ID, Task: t})
}

// taskUpdate is what a task update sets. The three assignee keys are
// read together, as on create: any of them replaces the set of assignees.
var taskUpdate = updateForm{fields: []string{"name", "description", "notes", "expirationDate", "projectStatusId",
	"assignedUserIds", "asignedUsers", "assignedUserId", "contactId", "opportunityId", "projectId"}}

// handleTaskUpdate updates a task named by the path or ?id=, with any of
// Plazbot's three body forms.
func (s *Server) handleTaskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := taskIDParam(r)
	if err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	fields, err := b.updateFields(taskUpdate)
	if err != nil {
		return err
	}
	apply := func(field string) bool {
		_, ok := fields[field]
		return ok
	}
	var upd plaza.TaskUpdate
	// A required text sent as null becomes "", which Validate refuses.
	required := func(name string) *string {
		if v := b.str(name); v != nil {
			return v
		}
		return new(string)
	}
	if apply("name") {
		upd.Name = required("name")
	}
	if apply("description") {
		upd.Description = required("description")
	}
	if apply("projectStatusId") {
		upd.ProjectStatusID = required("projectStatusId")
	}
	if apply("notes") {
		upd.Notes, upd.SetNotes = b.str("notes"), true
	}
	if apply("expirationDate") {
		upd.ExpirationDate, upd.SetExpirationDate = b.time("expirationDate"), true
	}
	if apply("assignedUserIds") || apply("asignedUsers") || apply("assignedUserId") {
		upd.SetAssignees = true
		upd.AssignedUserIDs = append(b.strs("assignedUserIds"), b.strs("asignedUsers")...)
		upd.AssignedUserID = b.str("assignedUserId")
	}
	if apply("contactId") {
		upd.ContactID, upd.SetContact = b.str("contactId"), true
	}
	if apply("opportunityId") {
		upd.OpportunityID, upd.SetOpportunity = b.str("opportunityId"), true
	}
	if apply("projectId") {
		upd.ProjectID, upd.SetProject = b.str("projectId"), true
	}
	if b.err() != nil {
		return b.check(upd.Validate())
	}
	t, err := s.Tasks.UpdateTask(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return ok(w, "Task updated successfully.", taskSaved{TaskID: t.ID, Task: t})
}

func (s *Server) handleTaskGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Tasks.FindTaskByID(r.Context(), r.PathValue("taskId"))
	if err != nil {
		return err
	}
	return ok(w, "Task obtained successfully.", t)
}

// handleTaskDelete soft-deletes a task named by the path or ?id=.
func (s *Server) handleTaskDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := taskIDParam(r)
	if err != nil {
		return err
	}
	if err := s.Tasks.DeleteTask(r.Context(), id); err != nil {
		return err
	}
	return ok(w, "Task deleted successfully.", map[string]string{"id": id})
}

// taskIDParam is the task a request names, in the path or as ?id= (Plazbot
// serves both); named in both, they must agree.
func taskIDParam(r *http.Request) (string, error) {
	path, q := r.PathValue("taskId"), query(r, "id")
	switch {
	case path != "" && q != "" && path != q:
		return "", plaza.Invalid(plaza.FieldError{Field: "id", Message: "The id in the query does not match the task id in the path."})
	case path != "":
		return path, nil
	case q != "":
		return q, nil
	}
	return "", plaza.Invalid(plaza.FieldError{Field: "id", Message: "id is required: name the task in the path or as ?id=."})
}
