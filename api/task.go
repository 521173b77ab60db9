package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
)

// taskSaved is the data of a task created or updated (Plazbot §3.17).
type taskSaved struct {
	TaskID string      `json:"taskId"`
	Task   *plaza.Task `json:"task"`
}

// taskPage is a page of the task list in continuation-token mode, the
// shape of every other list.
type taskPage struct {
	WorkspaceID       string       `json:"workspaceId"`
	ContinuationToken *string      `json:"continuationToken"`
	Data              []plaza.Task `json:"data"`
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
		return ok(w, "List obtained successfully.", taskPage{
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
	o, err := readJSONObject(r)
	if err != nil {
		return err
	}
	text := func(name string) string {
		if v := o.str(name); v != nil {
			return *v
		}
		return ""
	}
	// Fields are read in this order, which is the order errors name them.
	in := plaza.TaskCreate{
		WorkspaceID:     text("workspaceId"),
		Name:            text("name"),
		Description:     text("description"),
		Notes:           o.str("notes"),
		ExpirationDate:  o.time("expirationDate"),
		AssignedUserID:  o.str("assignedUserId"),
		AssignedUserIDs: o.strs("assignedUserIds"),
		AsignedUsers:    o.strs("asignedUsers"),
		ContactID:       o.str("contactId"),
		OpportunityID:   o.str("opportunityId"),
		ProjectStatusID: o.str("projectStatusId"),
		ProjectID:       o.str("projectId"),
	}
	if err := o.err(); err != nil {
		return mergeTypeErrors(err, in.Validate())
	}
	t, err := s.Tasks.CreateTask(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Task created successfully.", taskSaved{TaskID: t.ID, Task: t})
}

// taskUpdateFields are the fields a task update recognises, aliases
// grouped with their canonical name first.
var taskUpdateFields = [][]string{
	{"name"}, {"description"}, {"notes"}, {"expirationDate"}, {"projectStatusId"},
	{"assignedUserIds", "asignedUsers", "assignedUserId"},
	{"contactId"}, {"opportunityId"}, {"projectId"},
}

// handleTaskUpdate updates a task named by the path or ?id=, with any of
// Plazbot's three body forms.
func (s *Server) handleTaskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := taskIDParam(r)
	if err != nil {
		return err
	}
	o, err := readJSONObject(r)
	if err != nil {
		return err
	}
	apply, err := o.updateFields(taskUpdateFields)
	if err != nil {
		return err
	}
	var upd plaza.TaskUpdate
	// A required text sent as null becomes "", which Validate refuses.
	required := func(name string) *string {
		if v := o.str(name); v != nil {
			return v
		}
		empty := ""
		return &empty
	}
	if apply["name"] {
		upd.Name = required("name")
	}
	if apply["description"] {
		upd.Description = required("description")
	}
	if apply["projectStatusId"] {
		upd.ProjectStatusID = required("projectStatusId")
	}
	if apply["notes"] {
		upd.Notes, upd.SetNotes = o.str("notes"), true
	}
	if apply["expirationDate"] {
		upd.ExpirationDate, upd.SetExpirationDate = o.time("expirationDate"), true
	}
	if apply["assignedUserIds"] {
		upd.SetAssignees = true
		upd.AssignedUserIDs = append(o.strs("assignedUserIds"), o.strs("asignedUsers")...)
		upd.AssignedUserID = o.str("assignedUserId")
	}
	if apply["contactId"] {
		upd.ContactID, upd.SetContact = o.str("contactId"), true
	}
	if apply["opportunityId"] {
		upd.OpportunityID, upd.SetOpportunity = o.str("opportunityId"), true
	}
	if apply["projectId"] {
		upd.ProjectID, upd.SetProject = o.str("projectId"), true
	}
	if err := o.err(); err != nil {
		return mergeTypeErrors(err, upd.Validate())
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

// hasQuery reports whether the query names the parameter (matched
// case-insensitively), even with an empty value.
func queryPresent(r *http.Request, name string) bool {
	for k := range r.URL.Query() {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// queryInt parses an optional integer query parameter between min and
// max, def when absent or empty.
func queryIntRange(r *http.Request, name string, def, min, max int) (int, error) {
	v := query(r, name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return def, plaza.Invalid(plaza.FieldError{Field: name,
			Message: name + " must be an integer from " + strconv.Itoa(min) + " to " + strconv.Itoa(max) + "."})
	}
	return n, nil
}

// queryErrors gathers the field errors of several checks into one
// EINVALID.
type queryErrors struct{ fields []plaza.FieldError }

// add keeps err's fields when it is EINVALID and returns any other error.
func (b *queryErrors) add(err error) error {
	var e *plaza.Error
	if err == nil {
		return nil
	} else if errors.As(err, &e) && e.Code == plaza.EINVALID && len(e.Fields) > 0 {
		b.fields = append(b.fields, e.Fields...)
		return nil
	}
	return err
}

func (b *queryErrors) err() error {
	if len(b.fields) == 0 {
		return nil
	}
	return plaza.Invalid(b.fields...)
}

// withValidation is the EINVALID of a body with wrong types (typeErr),
// adding what validating the rest found about fields typeErr does not
// already name, so one reply names every offending field.
func mergeTypeErrors(typeErr, validateErr error) error {
	var te, ve *plaza.Error
	if !errors.As(typeErr, &te) || !errors.As(validateErr, &ve) || ve.Code != plaza.EINVALID {
		return typeErr
	}
	named := map[string]bool{}
	for _, f := range te.Fields {
		named[f.Field] = true
	}
	fields := append([]plaza.FieldError{}, te.Fields...)
	for _, f := range ve.Fields {
		if !named[f.Field] {
			fields = append(fields, f)
		}
	}
	return plaza.Invalid(fields...)
}
