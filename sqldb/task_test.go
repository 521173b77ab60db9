package sqldb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// taskOwnerContext acts as the owner of the bootstrapped workspace.
func taskOwnerContext(b *sqldb.Bootstrap) context.Context {
	return plaza.NewContextWithPrincipal(context.Background(),
		&plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
}

// taskStateIDs returns the workspace's task state ids in board order.
func taskStateIDs(t *testing.T, db *sqldb.DB, b *sqldb.Bootstrap) []string {
	t.Helper()
	w, err := sqldb.NewWorkspaceService(db).FindWorkspaceByID(taskOwnerContext(b), b.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range w.MasterOfStates {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestTaskService_Lifecycle(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		clock := time.Date(2026, 11, 27, 15, 0, 0, 123456000, time.UTC)
		db.Now = func() time.Time { return clock }
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		ctx := taskOwnerContext(a)
		states := taskStateIDs(t, db, a)
		tasks := sqldb.NewTaskService(db)

		due := plaza.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		created, err := tasks.CreateTask(ctx, plaza.TaskCreate{WorkspaceID: a.WorkspaceID, Name: " Call ", Description: "d",
			ExpirationDate: &due, AssignedUserID: &a.UserID, AssignedUserIDs: []string{a.UserID}})
		if err != nil {
			t.Fatal(err)
		}
		at := plaza.NewTime(clock)
		want := &plaza.Task{ID: created.ID, WorkspaceID: a.WorkspaceID, Name: "Call", Description: "d", CreationDate: at,
			UpdatedDate: at, ExpirationDate: &due, StatusID: 1, AsignedUsers: []string{a.UserID}, ProjectStatusID: states[0],
			Files: []string{}, Project: []string{}, SubTask: []string{}, OrderInCardsLastUpdated: at}
		if diff := cmp.Diff(want, created); diff != "" {
			t.Fatalf("created (-want +got):\n%s", diff)
		}
		found, err := tasks.FindTaskByID(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, found); diff != "" {
			t.Fatalf("found (-want +got):\n%s", diff)
		}

		// An update that keeps the state leaves the card's order time alone;
		// a move sets it.
		clock = clock.Add(time.Minute)
		name := "Call again"
		updated, err := tasks.UpdateTask(ctx, created.ID, plaza.TaskUpdate{Name: &name, ProjectStatusID: &states[0], SetExpirationDate: true})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Name != name || updated.ExpirationDate != nil || !updated.UpdatedDate.Equal(clock) || !updated.OrderInCardsLastUpdated.Equal(at.Time) {
			t.Fatalf("updated = %+v", updated)
		}
		clock = clock.Add(time.Minute)
		if updated, err = tasks.UpdateTask(ctx, created.ID, plaza.TaskUpdate{ProjectStatusID: &states[2]}); err != nil {
			t.Fatal(err)
		}
		if !updated.OrderInCardsLastUpdated.Equal(clock) || updated.ProjectStatusID != states[2] {
			t.Fatalf("moved = %+v", updated)
		}
		_, err = tasks.UpdateTask(ctx, created.ID, plaza.TaskUpdate{})
		wantCode(t, err, plaza.EINVALID)

		if err := tasks.DeleteTask(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		_, err = tasks.FindTaskByID(ctx, created.ID)
		wantCode(t, err, plaza.ENOTFOUND)
		wantCode(t, tasks.DeleteTask(ctx, created.ID), plaza.ENOTFOUND)
		_, err = tasks.UpdateTask(ctx, created.ID, plaza.TaskUpdate{Name: &name})
		wantCode(t, err, plaza.ENOTFOUND)
	})
}

func TestTaskService_Tenancy(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		b := mustBootstrap(t, db, "Beta", "bob@beta.test")
		tasks := sqldb.NewTaskService(db)
		task, err := tasks.CreateTask(taskOwnerContext(a), plaza.TaskCreate{WorkspaceID: a.WorkspaceID, Name: "n", Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		bCtx := taskOwnerContext(b)
		_, err = tasks.FindTaskByID(bCtx, task.ID)
		wantCode(t, err, plaza.ENOTFOUND)
		name := "x"
		_, err = tasks.UpdateTask(bCtx, task.ID, plaza.TaskUpdate{Name: &name})
		wantCode(t, err, plaza.ENOTFOUND)
		wantCode(t, tasks.DeleteTask(bCtx, task.ID), plaza.ENOTFOUND)
		list, _, err := tasks.FindTasks(bCtx, plaza.TaskFilter{ID: task.ID})
		if err != nil || len(list) != 0 {
			t.Fatalf("Beta lists %v, %v", list, err)
		}
		// Creating in a workspace other than the caller's.
		_, err = tasks.CreateTask(bCtx, plaza.TaskCreate{WorkspaceID: a.WorkspaceID, Name: "n", Description: "d"})
		wantCode(t, err, plaza.ENOTFOUND)
		// Assigning another workspace's user.
		_, err = tasks.CreateTask(bCtx, plaza.TaskCreate{WorkspaceID: b.WorkspaceID, Name: "n", Description: "d", AssignedUserIDs: []string{a.UserID}})
		wantCode(t, err, plaza.EINVALID)
		// No principal at all.
		_, err = tasks.FindTaskByID(context.Background(), task.ID)
		wantCode(t, err, plaza.EUNAUTHORIZED)
	})
}

func TestTaskService_FindTasksPaging(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		ctx := taskOwnerContext(a)
		tasks := sqldb.NewTaskService(db)
		var ids []string // newest first
		for i := range 25 {
			task, err := tasks.CreateTask(ctx, plaza.TaskCreate{WorkspaceID: a.WorkspaceID, Name: fmt.Sprint("t", i), Description: "d"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append([]string{task.ID}, ids...)
		}
		page := func(f plaza.TaskFilter) ([]string, bool) {
			t.Helper()
			list, more, err := tasks.FindTasks(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, task := range list {
				out = append(out, task.ID)
			}
			return out, more
		}
		// By key.
		var all []string
		after := ""
		for {
			got, more := page(plaza.TaskFilter{Page: plaza.Page{After: after, Limit: 10}})
			all = append(all, got...)
			if !more {
				break
			}
			after = got[len(got)-1]
		}
		if diff := cmp.Diff(ids, all); diff != "" {
			t.Fatalf("keyset pages (-want +got):\n%s", diff)
		}
		// By offset.
		got, more := page(plaza.TaskFilter{Page: plaza.Page{Limit: 10}, Offset: 20})
		if diff := cmp.Diff(ids[20:], got); diff != "" || more {
			t.Fatalf("offset 20 (-want +got, more=%v):\n%s", more, diff)
		}
		got, more = page(plaza.TaskFilter{Page: plaza.Page{Limit: 10}, Offset: 10})
		if diff := cmp.Diff(ids[10:20], got); diff != "" || !more {
			t.Fatalf("offset 10 (-want +got, more=%v):\n%s", more, diff)
		}
		// The default page is 20.
		if got, more = page(plaza.TaskFilter{}); len(got) != 20 || !more {
			t.Fatalf("default page: %d, more=%v", len(got), more)
		}
	})
}

// Concurrent replacements of one task's assignees each apply whole, one
// after another: none fails and the task ends with one of the sets.
func TestTaskService_ConcurrentAssigneeUpdates(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		ctx := taskOwnerContext(a)
		users := sqldb.NewUserService(db, sqldb.NewAuthService(db, "test-secret-key-0123456789abcdef0123"), &codeMailer{})
		members := []string{a.UserID}
		for i := range 3 {
			u, _, err := users.CreateUser(ctx, plaza.UserCreate{Email: fmt.Sprintf("m%d@acme.test", i), Password: "member-pass-1", WorkspaceID: a.WorkspaceID})
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, u.ID)
		}
		tasks := sqldb.NewTaskService(db)
		task, err := tasks.CreateTask(ctx, plaza.TaskCreate{WorkspaceID: a.WorkspaceID, Name: "n", Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				set := []string{members[i%4], members[(i+1)%4]}
				_, errs[i] = tasks.UpdateTask(ctx, task.ID, plaza.TaskUpdate{AssignedUserIDs: set, SetAssignees: true})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("update %d: %v", i, err)
			}
		}
		final, err := tasks.FindTaskByID(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(final.AsignedUsers) != 2 {
			t.Fatalf("assignees = %v, want one whole set of two", final.AsignedUsers)
		}
	})
}
