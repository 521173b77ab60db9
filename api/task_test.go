package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// taskEnv is a test server with two workspaces, Acme (a) and Beta (b), and
// a direct connection to its database, to set up what has no API
// (projects) and to check what was stored, soft-deleted rows included.
type taskEnv struct {
	*testServer
	raw  *sql.DB
	a, b tenant
	// States are each workspace's task states: To do, In progress, Done.
	aStates, bStates []string
}

// eachTaskEnv runs fn once per database with a fresh taskEnv.
func eachTaskEnv(t *testing.T, fn func(t *testing.T, e *taskEnv)) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		e := &taskEnv{testServer: newTestServer(t, dsn), raw: openTaskDB(t, dsn)}
		e.a = e.bootstrap("Acme", "ana@acme.test")
		e.b = e.bootstrap("Beta", "bob@beta.test")
		e.aStates = e.taskStates(e.a)
		e.bStates = e.taskStates(e.b)
		fn(t, e)
	})
}

// openTaskDB opens a second connection to the test database at dsn.
func openTaskDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if file, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (e *taskEnv) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.raw.ExecContext(context.Background(), query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// count runs a count(*) query.
func (e *taskEnv) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.raw.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *taskEnv) taskStates(tn tenant) []string {
	e.t.Helper()
	var ws struct{ MasterOfStates []struct{ ID string } }
	e.do(req{Method: "GET", Path: "/api/workspace/" + tn.WorkspaceID, Token: tn.APIKey}).want(e.t, http.StatusOK, "").into(e.t, &ws)
	var ids []string
	for _, s := range ws.MasterOfStates {
		ids = append(ids, s.ID)
	}
	return ids
}

// newContact creates a contact through the contacts API, optionally in
// a segmentation (nil for none).
func (e *taskEnv) newContact(tn tenant, name string, segmentationID any) string {
	e.t.Helper()
	body := map[string]any{"name": name, "platformId": 1, "email": uuid.NewString() + "@example.test"}
	if segmentationID != nil {
		body["segmentationId"] = segmentationID
	}
	var created struct{ ID string }
	e.do(req{Method: "POST", Path: "/api/contact", Token: tn.APIKey, Body: body}).want(e.t, http.StatusOK, "").into(e.t, &created)
	return created.ID
}

// newOpportunity creates an opportunity through the opportunities API,
// optionally in a segmentation (nil for none).
func (e *taskEnv) newOpportunity(tn tenant, name string, segmentationID any) string {
	e.t.Helper()
	body := map[string]any{"name": name, "description": "d", "amount": 100}
	if segmentationID != nil {
		body["segmentationId"] = segmentationID
	}
	var created struct{ ID string }
	e.do(req{Method: "POST", Path: "/api/opportunity", Token: tn.APIKey, Body: body}).want(e.t, http.StatusOK, "").into(e.t, &created)
	return created.ID
}

// memberID returns the id of the workspace member with the e-mail.
func (e *taskEnv) memberID(tn tenant, email string) string {
	e.t.Helper()
	var u struct{ ID string }
	e.do(req{Method: "GET", Path: "/api/user/email?email=" + url.QueryEscape(email), Token: tn.APIKey}).want(e.t, http.StatusOK, "").into(e.t, &u)
	return u.ID
}

// taskJSON is a task as the API renders it.
type taskJSON struct {
	ID, WorkspaceID, Name, Description string
	CreationDate, UpdatedDate          string
	ExpirationDate                     *string
	StatusID                           int
	Notes                              *string
	AsignedUsers                       []string
	ProjectStatusID                    string
	Files, Project, SubTask            []string
	OrderInCards                       int
	OrderInCardsLastUpdated            string
	ContactID, OpportunityID           *string
}

type taskSavedJSON struct {
	TaskID string
	Task   taskJSON
}

// createTask creates a task in tn's workspace with body (workspaceId,
// name and description added when missing).
func (e *taskEnv) createTask(tn tenant, body map[string]any) taskJSON {
	e.t.Helper()
	full := map[string]any{"workspaceId": tn.WorkspaceID, "name": "Call back", "description": "Details"}
	for k, v := range body {
		full[k] = v
	}
	var saved taskSavedJSON
	e.do(req{Method: "POST", Path: "/api/task", Token: tn.APIKey, Body: full}).want(e.t, http.StatusOK, "").into(e.t, &saved)
	return saved.Task
}

func (e *taskEnv) getTask(tn tenant, id string) taskJSON {
	e.t.Helper()
	var task taskJSON
	e.do(req{Method: "GET", Path: "/api/task/" + id, Token: tn.APIKey}).want(e.t, http.StatusOK, "").into(e.t, &task)
	return task
}

func taskStr(s string) *string { return &s }

func TestTaskCreate(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		e.createUser(a, "agent@acme.test", "agent")
		agent := e.memberID(a, "agent@acme.test")
		contact := e.newContact(a, "Rosa", nil)
		opp := e.newOpportunity(a, "Big deal", nil)

		r := e.do(req{Method: "POST", Path: "/api/task", Token: a.APIKey, Body: map[string]any{
			"workspaceId": a.WorkspaceID, "name": "  Send the quote ", "description": "Prices for 2026",
			"notes": "Ask for Rosa", "expirationDate": "2026-12-01", "assignedUserId": agent,
			"assignedUserIds": []string{a.UserID, agent}, "contactId": contact, "opportunityId": opp,
			"projectStatusId": e.aStates[1], "unknownKey": "ignored",
		}}).want(t, http.StatusOK, "")
		if r.Message != "Task created successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "task_create", r.Body)
		var saved taskSavedJSON
		r.into(t, &saved)
		got := saved.Task
		want := taskJSON{
			ID: saved.TaskID, WorkspaceID: a.WorkspaceID, Name: "Send the quote", Description: "Prices for 2026",
			CreationDate: got.CreationDate, UpdatedDate: got.CreationDate, ExpirationDate: taskStr("2026-12-01T00:00:00.0000000Z"),
			StatusID: 1, Notes: taskStr("Ask for Rosa"), AsignedUsers: []string{a.UserID, agent}, ProjectStatusID: e.aStates[1],
			Files: []string{}, Project: []string{}, SubTask: []string{}, OrderInCardsLastUpdated: got.CreationDate,
			ContactID: &contact, OpportunityID: &opp,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("task (-want +got):\n%s", diff)
		}

		// Get By Id serves the same task.
		g := e.do(req{Method: "GET", Path: "/api/task/" + got.ID + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if g.Message != "Task obtained successfully." {
			t.Errorf("message = %q", g.Message)
		}
		assertGolden(t, "task_get", g.Body)
		if diff := cmp.Diff(got, e.getTask(a, got.ID)); diff != "" {
			t.Errorf("get (-created +got):\n%s", diff)
		}

		// The least a task needs: the default state, nulls and empty lists.
		r = e.do(req{Method: "POST", Path: "/api/task", Token: a.APIKey, Body: map[string]any{
			"workspaceId": a.WorkspaceID, "name": "Minimal", "description": "d", "contactId": "", "notes": nil,
		}}).want(t, http.StatusOK, "")
		assertGolden(t, "task_create_minimal", r.Body)
		r.into(t, &saved)
		if saved.Task.ProjectStatusID != e.aStates[0] || saved.Task.ContactID != nil || saved.Task.Notes != nil ||
			saved.Task.ExpirationDate != nil || len(saved.Task.AsignedUsers) != 0 {
			t.Fatalf("minimal task = %+v", saved.Task)
		}

		// Any member may create tasks, with a login token and PascalCase keys.
		tok := e.login("agent@acme.test", "member-pass-1")
		var own taskSavedJSON
		e.do(req{Method: "POST", Path: "/api/task", Token: tok, Workspace: a.WorkspaceID, Body: map[string]any{
			"WorkspaceId": a.WorkspaceID, "Name": "Mine", "Description": "d", "AsignedUsers": []string{agent},
		}}).want(t, http.StatusOK, "").into(t, &own)
		if own.Task.Name != "Mine" || cmp.Diff([]string{agent}, own.Task.AsignedUsers) != "" {
			t.Fatalf("agent's task = %+v", own.Task)
		}
	})
}

func TestTaskCreate_Invalid(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a, b := e.a, e.b
		bContact := e.newContact(b, "Foreign", nil)
		bOpp := e.newOpportunity(b, "Foreign", nil)
		base := func(extra map[string]any) map[string]any {
			m := map[string]any{"workspaceId": a.WorkspaceID, "name": "n", "description": "d"}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty object", map[string]any{}, []string{"workspaceId", "name", "description"}},
			{"blank texts", map[string]any{"workspaceId": a.WorkspaceID, "name": "  ", "description": ""}, []string{"name", "description"}},
			{"no body", nil, []string{"body"}},
			{"not an object", `[1,2]`, []string{"body"}},
			{"malformed", `{"name": "x",`, []string{"body"}},
			{"trailing data", `{"name": "x"} {}`, []string{"body"}},
			{"name is a number", base(map[string]any{"name": 5}), []string{"name"}},
			{"wrong types and missing", map[string]any{"workspaceId": a.WorkspaceID, "name": 5, "notes": true}, []string{"name", "notes", "description"}},
			{"assignedUserIds is a string", base(map[string]any{"assignedUserIds": "x"}), []string{"assignedUserIds"}},
			{"assignedUserIds holds a number", base(map[string]any{"assignedUserIds": []any{1}}), []string{"assignedUserIds"}},
			{"blank assignee", base(map[string]any{"assignedUserIds": []string{" "}}), []string{"assignedUserIds"}},
			{"expirationDate is not a date", base(map[string]any{"expirationDate": "yesterday"}), []string{"expirationDate"}},
			{"expirationDate is a number", base(map[string]any{"expirationDate": 20261201}), []string{"expirationDate"}},
			{"name too long", base(map[string]any{"name": strings.Repeat("x", 501)}), []string{"name"}},
			{"unknown state", base(map[string]any{"projectStatusId": "nope"}), []string{"projectStatusId"}},
			{"unknown project", base(map[string]any{"projectId": "nope"}), []string{"projectId"}},
			{"another workspace's references", base(map[string]any{
				"contactId": bContact, "opportunityId": bOpp, "projectStatusId": e.bStates[0],
				"assignedUserId": b.UserID, "assignedUserIds": []string{"nobody"},
			}), []string{"contactId", "opportunityId", "projectStatusId", "assignedUserId", "assignedUserIds"}},
			{"workspaceId disagrees", base(map[string]any{"workspaceId": b.WorkspaceID}), []string{"workspaceId"}},
			{"workspaceId is a number", base(map[string]any{"workspaceId": 7}), []string{"workspaceId"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(req{Method: "POST", Path: "/api/task", Token: a.APIKey, Workspace: a.WorkspaceID, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		if n := e.count(`SELECT count(*) FROM tasks`); n != 0 {
			t.Fatalf("%d tasks written", n)
		}
		if n := e.count(`SELECT count(*) FROM task_assignees`); n != 0 {
			t.Fatalf("%d assignees written", n)
		}
	})
}

func TestTaskGetDelete(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a, b := e.a, e.b
		t1 := e.createTask(a, nil)
		t2 := e.createTask(a, nil)
		bTask := e.createTask(b, nil)

		// Another workspace's task is not found, and stays.
		e.do(req{Method: "GET", Path: "/api/task/" + bTask.ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		e.do(req{Method: "DELETE", Path: "/api/task/" + bTask.ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		e.do(req{Method: "DELETE", Path: "/api/task?id=" + bTask.ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		e.getTask(b, bTask.ID)
		e.do(req{Method: "GET", Path: "/api/task/nope", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")

		// Both forms delete; the task is then gone.
		r := e.do(req{Method: "DELETE", Path: "/api/task/" + t1.ID + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if r.Message != "Task deleted successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "task_delete", r.Body)
		e.do(req{Method: "DELETE", Path: "/api/task?id=" + t2.ID + "&workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		for _, id := range []string{t1.ID, t2.ID} {
			e.do(req{Method: "GET", Path: "/api/task/" + id, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
			e.do(req{Method: "DELETE", Path: "/api/task/" + id, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
			e.do(req{Method: "PUT", Path: "/api/task/" + id, Token: a.APIKey, Body: map[string]any{"name": "x"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		}
		var list []taskJSON
		e.do(req{Method: "GET", Path: "/api/task", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &list)
		if len(list) != 0 {
			t.Fatalf("list = %+v", list)
		}
		// Soft-deleted: the row keeps who deleted it and when.
		if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND deletion_date IS NOT NULL AND user_deletion = $2`, t1.ID, a.UserID); n != 1 {
			t.Fatal("the deletion was not recorded")
		}

		// Naming the task: required, and path and query must agree.
		for _, c := range []struct{ method, path string }{
			{"DELETE", "/api/task"},
			{"DELETE", "/api/task/" + bTask.ID + "?id=other"},
			{"PUT", "/api/task"},
		} {
			r := e.do(req{Method: c.method, Path: c.path, Token: a.APIKey, Body: map[string]any{"name": "x"}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff([]string{"id"}, r.fields()); diff != "" {
				t.Errorf("%s %s fields (-want +got):\n%s", c.method, c.path, diff)
			}
		}
	})
}

func TestTaskUpdate(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		e.createUser(a, "agent@acme.test", "agent")
		agent := e.memberID(a, "agent@acme.test")
		contact := e.newContact(a, "Rosa", nil)
		opp := e.newOpportunity(a, "Deal", nil)
		task := e.createTask(a, map[string]any{"notes": "n", "expirationDate": "2026-12-01", "assignedUserId": a.UserID})

		update := func(path string, body any) taskJSON {
			t.Helper()
			r := e.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: body}).want(t, http.StatusOK, "")
			if r.Message != "Task updated successfully." {
				t.Errorf("message = %q", r.Message)
			}
			var saved taskSavedJSON
			r.into(t, &saved)
			if saved.TaskID != task.ID {
				t.Fatalf("taskId = %q", saved.TaskID)
			}
			return saved.Task
		}
		byQuery := "/api/task?id=" + task.ID + "&workspaceId=" + a.WorkspaceID
		byPath := "/api/task/" + task.ID

		// Form 1: {"<field>": value}.
		got := update(byQuery, map[string]any{"name": "Renamed"})
		if got.Name != "Renamed" || got.Description != task.Description || got.UpdatedDate < task.UpdatedDate {
			t.Fatalf("after rename: %+v", got)
		}
		// Form 2: paramToUpdate names the one field changed; others are ignored.
		got = update(byPath, map[string]any{"paramToUpdate": "projectStatusId", "projectStatusId": e.aStates[2], "name": "ignored"})
		if got.ProjectStatusID != e.aStates[2] || got.Name != "Renamed" || got.OrderInCardsLastUpdated == task.OrderInCardsLastUpdated {
			t.Fatalf("after the move: %+v", got)
		}
		// paramToUpdate with an alias of the assignees.
		got = update(byPath, map[string]any{"paramToUpdate": "asignedUsers", "asignedUsers": []string{agent}})
		if diff := cmp.Diff([]string{agent}, got.AsignedUsers); diff != "" {
			t.Fatalf("assignees (-want +got):\n%s", diff)
		}
		// Form 3: several fields at once, links set, PascalCase keys.
		r := e.do(req{Method: "PUT", Path: byPath, Token: a.APIKey, Body: map[string]any{
			"Description": "New description", "notes": "More notes", "expirationDate": "2027-01-15T10:30:00-05:00",
			"assignedUserIds": []string{agent, a.UserID, agent}, "contactId": contact, "opportunityId": opp,
		}}).want(t, http.StatusOK, "")
		assertGolden(t, "task_update", r.Body)
		got = e.getTask(a, task.ID)
		want := task
		want.Name, want.Description, want.Notes = "Renamed", "New description", taskStr("More notes")
		want.ExpirationDate = taskStr("2027-01-15T15:30:00.0000000Z")
		want.ProjectStatusID = e.aStates[2]
		want.AsignedUsers = []string{a.UserID, agent}
		want.ContactID, want.OpportunityID = &contact, &opp
		want.UpdatedDate, want.OrderInCardsLastUpdated = got.UpdatedDate, got.OrderInCardsLastUpdated
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("task (-want +got):\n%s", diff)
		}
		// Null clears what can be cleared; assignedUserId alone replaces the set.
		got = update(byPath, map[string]any{"notes": nil, "expirationDate": nil, "contactId": nil, "opportunityId": "", "assignedUserId": agent})
		if got.Notes != nil || got.ExpirationDate != nil || got.ContactID != nil || got.OpportunityID != nil || cmp.Diff([]string{agent}, got.AsignedUsers) != "" {
			t.Fatalf("after clearing: %+v", got)
		}
		got = update(byPath, map[string]any{"assignedUserIds": nil})
		if len(got.AsignedUsers) != 0 {
			t.Fatalf("after unassigning: %+v", got.AsignedUsers)
		}
		// A project of the workspace (Plaza makes none by default).
		project := uuid.Must(uuid.NewV7()).String()
		e.exec(`INSERT INTO projects (workspace_id, id, name, creation_date) VALUES ($1, $2, 'Launch', $3)`, a.WorkspaceID, project, time.Now().UTC())
		got = update(byPath, map[string]any{"projectId": project})
		if diff := cmp.Diff([]string{project}, got.Project); diff != "" {
			t.Fatalf("project (-want +got):\n%s", diff)
		}
		got = update(byPath, map[string]any{"projectId": nil})
		if len(got.Project) != 0 {
			t.Fatalf("project after clearing = %v", got.Project)
		}
	})
}

func TestTaskUpdate_Invalid(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a, b := e.a, e.b
		task := e.createTask(a, map[string]any{"notes": "keep", "assignedUserId": a.UserID})
		bTask := e.createTask(b, nil)
		bContact := e.newContact(b, "Foreign", nil)
		path := "/api/task/" + task.ID
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty object", map[string]any{}, []string{"body"}},
			{"only unknown keys", map[string]any{"colour": "red", "workspaceId": a.WorkspaceID}, []string{"body"}},
			{"no body", nil, []string{"body"}},
			{"not an object", `"name"`, []string{"body"}},
			{"unknown paramToUpdate", map[string]any{"paramToUpdate": "priority", "priority": 1}, []string{"paramToUpdate"}},
			{"paramToUpdate is a number", map[string]any{"paramToUpdate": 3}, []string{"paramToUpdate"}},
			{"paramToUpdate without its value", map[string]any{"paramToUpdate": "name"}, []string{"name"}},
			{"name is a number", map[string]any{"name": 5}, []string{"name"}},
			{"name is null", map[string]any{"name": nil}, []string{"name"}},
			{"blank description", map[string]any{"description": " "}, []string{"description"}},
			{"projectStatusId cannot be cleared", map[string]any{"projectStatusId": nil}, []string{"projectStatusId"}},
			{"assignedUserIds is a string", map[string]any{"assignedUserIds": "x"}, []string{"assignedUserIds"}},
			{"bad date and wrong type", map[string]any{"expirationDate": "soon", "notes": 1}, []string{"notes", "expirationDate"}},
			{"another workspace's references", map[string]any{
				"contactId": bContact, "projectStatusId": e.bStates[1], "assignedUserId": b.UserID,
			}, []string{"contactId", "projectStatusId", "assignedUserId"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// Another workspace's task: 404, both forms, and it is unchanged.
		e.do(req{Method: "PUT", Path: "/api/task/" + bTask.ID, Token: a.APIKey, Body: map[string]any{"name": "hijacked"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		e.do(req{Method: "PUT", Path: "/api/task?id=" + bTask.ID, Token: a.APIKey, Body: map[string]any{"name": "hijacked"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		if diff := cmp.Diff(bTask, e.getTask(b, bTask.ID)); diff != "" {
			t.Fatalf("Beta's task changed (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(task, e.getTask(a, task.ID)); diff != "" {
			t.Fatalf("the task changed (-before +after):\n%s", diff)
		}
	})
}

func TestTaskList_PageNumbers(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		var ids []string // newest first
		for i := range 45 {
			ids = append([]string{e.createTask(a, map[string]any{"name": fmt.Sprintf("Task %02d", i)}).ID}, ids...)
		}
		e.createTask(e.b, nil)
		page := func(q string) []string {
			t.Helper()
			var tasks []taskJSON
			r := e.do(req{Method: "GET", Path: "/api/task" + q, Token: a.APIKey}).want(t, http.StatusOK, "")
			if r.Message != "List obtained successfully." {
				t.Errorf("message = %q", r.Message)
			}
			r.into(t, &tasks)
			out := []string{}
			for _, task := range tasks {
				out = append(out, task.ID)
			}
			return out
		}
		// Plazbot's defaults: page 1 of 10.
		if diff := cmp.Diff(ids[:10], page("")); diff != "" {
			t.Fatalf("default page (-want +got):\n%s", diff)
		}
		var all []string
		for n := 1; n <= 3; n++ {
			all = append(all, page(fmt.Sprintf("?workspaceId=%s&pageNumber=%d&PageSize=20", a.WorkspaceID, n))...)
		}
		if diff := cmp.Diff(ids, all); diff != "" {
			t.Fatalf("pages 1-3 (-want +got):\n%s", diff)
		}
		if got := page("?pageNumber=4&pageSize=20"); len(got) != 0 {
			t.Fatalf("page 4 = %v", got)
		}
		if diff := cmp.Diff(ids[40:], page("?pageNumber=5&pageSize=10")); diff != "" {
			t.Fatalf("page 5 (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids, page("?pageSize=100")); diff != "" {
			t.Fatalf("one page of 100 (-want +got):\n%s", diff)
		}
		for _, c := range []struct{ q, field string }{
			{"?pageNumber=abc", "pageNumber"},
			{"?pageNumber=0", "pageNumber"},
			{"?pageSize=0", "pageSize"},
			{"?pageSize=101", "pageSize"},
			{"?pageSize=1.5", "pageSize"},
			{"?updatedSince=yesterday", "updatedSince"},
		} {
			r := e.do(req{Method: "GET", Path: "/api/task" + c.q, Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff([]string{c.field}, r.fields()); diff != "" {
				t.Errorf("%s fields (-want +got):\n%s", c.q, diff)
			}
		}
		r := e.do(req{Method: "GET", Path: "/api/task?pageNumber=x&pageSize=y", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"pageNumber", "pageSize"}, r.fields()); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
}

func TestTaskList_ContinuationToken(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a, b := e.a, e.b
		var ids []string
		for range 45 {
			ids = append([]string{e.createTask(a, nil).ID}, ids...)
		}
		e.createTask(b, nil)
		type pageJSON struct {
			WorkspaceID       string
			ContinuationToken *string
			Data              []taskJSON
		}
		get := func(tn tenant, token string) (*response, pageJSON) {
			t.Helper()
			r := e.do(req{Method: "GET", Path: "/api/task?continuationToken=" + url.QueryEscape(token), Token: tn.APIKey})
			var p pageJSON
			if r.Status == http.StatusOK {
				r.into(t, &p)
			}
			return r, p
		}
		var all []string
		token := ""
		var sizes []int
		for i := 0; ; i++ {
			r, p := get(a, token)
			r.want(t, http.StatusOK, "")
			if i == 2 {
				assertGolden(t, "task_list_token_last", r.Body)
			}
			if p.WorkspaceID != a.WorkspaceID {
				t.Fatalf("workspaceId = %q", p.WorkspaceID)
			}
			sizes = append(sizes, len(p.Data))
			for _, task := range p.Data {
				all = append(all, task.ID)
			}
			if p.ContinuationToken == nil {
				break
			}
			token = *p.ContinuationToken
			if i > 5 {
				t.Fatal("paging does not end")
			}
		}
		if diff := cmp.Diff([]int{20, 20, 5}, sizes); diff != "" {
			t.Fatalf("page sizes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids, all); diff != "" {
			t.Fatalf("tasks (-want +got):\n%s", diff)
		}

		// A token is tamper-proof and bound to its workspace.
		_, first := get(a, "")
		tok := *first.ContinuationToken
		for name, bad := range map[string]struct {
			tn    tenant
			token string
		}{
			"tampered":        {a, tok[:len(tok)-2] + "xx"},
			"garbage":         {a, "not-a-token"},
			"other workspace": {b, tok},
			"edited payload":  {a, strings.Replace(tok, ".", "x.", 1)},
		} {
			r, _ := get(bad.tn, bad.token)
			r.want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff([]string{"continuationToken"}, r.fields()); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s", name, diff)
			}
		}
		// Page numbers and tokens do not mix.
		r := e.do(req{Method: "GET", Path: "/api/task?continuationToken=&pageSize=5", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"pageSize"}, r.fields()); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
}

func TestTaskList_Filters(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		e.createUser(a, "agent@acme.test", "agent")
		agent := e.memberID(a, "agent@acme.test")
		c1, c2 := e.newContact(a, "One", nil), e.newContact(a, "Two", nil)
		opp := e.newOpportunity(a, "Deal", nil)

		quote := e.createTask(a, map[string]any{"name": "Send the QUOTE", "contactId": c1, "assignedUserIds": []string{agent, a.UserID}})
		call := e.createTask(a, map[string]any{"name": "Call", "description": "about 100% of the quote", "contactId": c2, "projectStatusId": e.aStates[1]})
		visit := e.createTask(a, map[string]any{"name": "Visit", "notes": "bring the Quote_v2", "opportunityId": opp, "assignedUserId": agent})
		deleted := e.createTask(a, map[string]any{"name": "quote (deleted)", "contactId": c1})
		e.do(req{Method: "DELETE", Path: "/api/task/" + deleted.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		e.createTask(e.b, map[string]any{"name": "quote elsewhere"})

		// Only tasks changed at or after visit's last change pass updatedSince.
		since := visit.UpdatedDate
		later := e.createTask(a, nil)

		for _, c := range []struct {
			q    string
			want []string
		}{
			{"contactId=" + c1, []string{quote.ID}},
			{"CONTACTID=" + c2, []string{call.ID}},
			{"opportunityId=" + opp, []string{visit.ID}},
			{"assignedUserId=" + agent, []string{visit.ID, quote.ID}},
			{"assignedUserId=" + a.UserID, []string{quote.ID}},
			{"projectStatusId=" + e.aStates[1], []string{call.ID}},
			{"projectStatusId=" + e.aStates[0] + "&contactId=" + c1, []string{quote.ID}},
			{"name=quote", []string{quote.ID}},
			{"name=" + url.QueryEscape("%"), []string{}},
			{"q=quote", []string{visit.ID, call.ID, quote.ID}},
			{"q=" + url.QueryEscape("100%"), []string{call.ID}},
			{"q=" + url.QueryEscape("quote_v"), []string{visit.ID}},
			{"id=" + call.ID, []string{call.ID}},
			{"id=" + deleted.ID, []string{}},
			{"updatedSince=" + url.QueryEscape(since), []string{later.ID, visit.ID}},
			{"updatedSince=2999-01-01", []string{}},
			{"contactId=unknown", []string{}},
		} {
			var tasks []taskJSON
			e.do(req{Method: "GET", Path: "/api/task?" + c.q, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &tasks)
			got := []string{}
			for _, task := range tasks {
				got = append(got, task.ID)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("?%s (-want +got):\n%s", c.q, diff)
			}
		}
		r := e.do(req{Method: "GET", Path: "/api/task?id=" + call.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "task_list_page", r.Body)

		// Filters apply in token mode too.
		var p struct{ Data []taskJSON }
		e.do(req{Method: "GET", Path: "/api/task?continuationToken=&q=quote", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &p)
		if len(p.Data) != 3 {
			t.Fatalf("token mode with q: %d tasks", len(p.Data))
		}
	})
}
