package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// contactEnv is a bootstrapped workspace with the contact service and a
// context acting as its owner.
type contactEnv struct {
	db       *sqldb.DB
	contacts *sqldb.ContactService
	ctx      context.Context
	b        *sqldb.Bootstrap
}

func newContactEnv(t *testing.T, db *sqldb.DB, workspace, email string) *contactEnv {
	t.Helper()
	b := mustBootstrap(t, db, workspace, email)
	ctx := plaza.NewContextWithPrincipal(context.Background(),
		&plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
	return &contactEnv{db: db, contacts: sqldb.NewContactService(db), ctx: ctx, b: b}
}

func (e *contactEnv) create(t *testing.T, in plaza.ContactCreate) *plaza.Contact {
	t.Helper()
	c, err := e.contacts.CreateContact(e.ctx, in)
	if err != nil {
		t.Fatalf("CreateContact(%+v): %v", in, err)
	}
	return c
}

func platform(id int) *int { return &id }

// conflictID returns the contactId an ECONFLICT names.
func conflictID(t *testing.T, err error) string {
	t.Helper()
	var e *plaza.Error
	if !errors.As(err, &e) || e.Code != plaza.ECONFLICT {
		t.Fatalf("err = %v, want ECONFLICT", err)
	}
	d, ok := e.Data.(map[string]string)
	if !ok {
		t.Fatalf("conflict data = %#v, want {contactId}", e.Data)
	}
	return d["contactId"]
}

func TestContactService_PhoneVariants(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newContactEnv(t, db, "Acme", "ana@acme.test")
		for _, c := range []struct {
			name    string
			stored  string
			lookups []string
		}{
			{"Peru", "+51 987 654 321", []string{"51987654321", "0051987654321", "+51-987-654-321", "(+51) 987.654.321"}},
			{"Mexico", "+52 1 55 1234 5678", []string{"+52 55 1234 5678", "525512345678", "005215512345678"}},
			{"Argentina", "+54 11 2345 6789", []string{"+54 9 11 2345 6789", "5491123456789", "00541123456789"}},
			{"Brazil", "+55 11 98765-4321", []string{"+55 11 8765-4321", "551187654321", "005511987654321"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				created := e.create(t, plaza.ContactCreate{Name: c.name, PlatformID: platform(plaza.PlatformWhatsApp), InternalWhatsappNumber: c.stored})
				for _, l := range append([]string{c.stored}, c.lookups...) {
					got, err := e.contacts.FindContactByPhone(e.ctx, l)
					if err != nil || got.ID != created.ID {
						t.Errorf("FindContactByPhone(%q) = %v, %v; want %s", l, got, err, created.ID)
					}
					// Any variant is the same person: creating it again is a conflict.
					_, err = e.contacts.CreateContact(e.ctx, plaza.ContactCreate{Name: "Dup", PlatformID: platform(plaza.PlatformWhatsApp), InternalWhatsappNumber: l})
					if id := conflictID(t, err); id != created.ID {
						t.Errorf("CreateContact(%q) conflicts with %s, want %s", l, id, created.ID)
					}
				}
			})
		}
		_, err := e.contacts.FindContactByPhone(e.ctx, "+51 987 654 320")
		wantCode(t, err, plaza.ENOTFOUND)
		_, err = e.contacts.FindContactByPhone(e.ctx, "987654321x")
		wantCode(t, err, plaza.EINVALID)
	})
}

// TestContactService_ConcurrentCreate: eight creates of one number (in
// different formats) and one e-mail race; exactly one wins and every other
// gets the conflict naming the winner.
func TestContactService_ConcurrentCreate(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newContactEnv(t, db, "Acme", "ana@acme.test")
		formats := []string{"+55 11 98765-4321", "5511987654321", "00551187654321", "+55 (11) 8765-4321"}
		for _, kind := range []string{"phone", "email"} {
			t.Run(kind, func(t *testing.T) {
				const n = 8
				var wg sync.WaitGroup
				ids := make([]string, n)
				errs := make([]error, n)
				start := make(chan struct{})
				for i := range n {
					in := plaza.ContactCreate{Name: fmt.Sprintf("Racer %d", i), PlatformID: platform(plaza.PlatformWhatsApp),
						InternalWhatsappNumber: formats[i%len(formats)]}
					if kind == "email" {
						in = plaza.ContactCreate{Name: fmt.Sprintf("Racer %d", i), PlatformID: platform(plaza.PlatformWebchat),
							Email: []string{"Racer@Example.COM", "racer@example.com"}[i%2]}
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						c, err := e.contacts.CreateContact(e.ctx, in)
						if err == nil {
							ids[i] = c.ID
						}
						errs[i] = err
					}()
				}
				close(start)
				wg.Wait()
				winner := ""
				for i := range n {
					if errs[i] == nil {
						if winner != "" {
							t.Fatalf("two creates succeeded: %s and %s", winner, ids[i])
						}
						winner = ids[i]
					}
				}
				if winner == "" {
					t.Fatalf("no create succeeded: %v", errs)
				}
				for i := range n {
					if errs[i] != nil {
						if id := conflictID(t, errs[i]); id != winner {
							t.Errorf("create %d: conflict names %q, want the winner %s", i, id, winner)
						}
					}
				}
			})
		}
		var live int
		if err := db.QueryRowForTest(context.Background(), `SELECT count(*) FROM contacts WHERE workspace_id = $1`, e.b.WorkspaceID).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live != 2 {
			t.Fatalf("%d contacts stored, want 2", live)
		}
	})
}

// TestContactService_ConcurrentUpdate: eight contacts take one number at
// once; exactly one gets it, the others the conflict naming it.
func TestContactService_ConcurrentUpdate(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newContactEnv(t, db, "Acme", "ana@acme.test")
		const n = 8
		var ids []string
		for i := range n {
			ids = append(ids, e.create(t, plaza.ContactCreate{Name: fmt.Sprintf("C%d", i), PlatformID: platform(plaza.PlatformWebchat),
				Email: fmt.Sprintf("c%d@example.com", i)}).ID)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				number := []string{"+52 1 55 1234 5678", "525512345678"}[i%2]
				<-start
				_, errs[i] = e.contacts.UpdateContact(e.ctx, ids[i], plaza.ContactUpdate{Phone: &number})
			}()
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two updates succeeded: %s and %s", winner, ids[i])
				}
				winner = ids[i]
			}
		}
		if winner == "" {
			t.Fatalf("no update succeeded: %v", errs)
		}
		for i, err := range errs {
			if err != nil {
				if id := conflictID(t, err); id != winner {
					t.Errorf("update %d: conflict names %q, want %s", i, id, winner)
				}
			}
		}
		c, err := e.contacts.FindContactByPhone(e.ctx, "5215512345678")
		if err != nil || c.ID != winner {
			t.Fatalf("FindContactByPhone = %v, %v; want %s", c, err, winner)
		}
	})
}

func TestContactService_StageHistory(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newContactEnv(t, db, "Acme", "ana@acme.test")
		c := e.create(t, plaza.ContactCreate{Name: "Eva", PlatformID: platform(plaza.PlatformWebchat), Email: "eva@example.com"})
		if c.StageID == nil {
			t.Fatal("a new contact has no stage")
		}
		var other string
		if err := db.QueryRowForTest(context.Background(), `SELECT id FROM stages WHERE workspace_id = $1 AND pipeline = 'contact'
			AND id <> $2 ORDER BY position LIMIT 1`, e.b.WorkspaceID, *c.StageID).Scan(&other); err != nil {
			t.Fatal(err)
		}
		first := *c.StageID
		for _, stage := range []string{other, other} { // the second is no change: no history
			if _, err := e.contacts.UpdateContact(e.ctx, c.ID, plaza.ContactUpdate{StageID: &stage}); err != nil {
				t.Fatal(err)
			}
		}
		rows := historyRows(t, db, e.b.WorkspaceID, c.ID)
		want := []string{"<nil> -> " + first + " by api? false", first + " -> " + other + " by api? false"}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Fatalf("stage history (-want +got):\n%s", diff)
		}
	})
}

// historyRows renders a record's stage history, oldest first.
func historyRows(t *testing.T, db *sqldb.DB, workspaceID, recordID string) []string {
	t.Helper()
	var out []string
	for i := 0; ; i++ {
		var from, to *string
		var actorType, actorID string
		err := db.QueryRowForTest(context.Background(), `SELECT from_stage_id, to_stage_id, actor_type, actor_id FROM stage_history
			WHERE workspace_id = $1 AND entity = 'contact' AND record_id = $2 ORDER BY id LIMIT 1 OFFSET $3`, workspaceID, recordID, i).
			Scan(&from, &to, &actorType, &actorID)
		if err != nil {
			break
		}
		s := func(p *string) string {
			if p == nil {
				return "<nil>"
			}
			return *p
		}
		out = append(out, fmt.Sprintf("%s -> %s by api? %v", s(from), s(to), actorType == plaza.ActorAPIKey))
	}
	return out
}

func TestContactService_DeleteFreesNumberAndEmail(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newContactEnv(t, db, "Acme", "ana@acme.test")
		in := plaza.ContactCreate{Name: "Eva", PlatformID: platform(plaza.PlatformWebchat), Email: "eva@example.com", Phone: "+51 987 654 321"}
		c := e.create(t, in)
		if _, err := e.contacts.DeleteContacts(e.ctx, []string{c.ID}); err != nil {
			t.Fatal(err)
		}
		_, err := e.contacts.FindContactByID(e.ctx, c.ID)
		wantCode(t, err, plaza.ENOTFOUND)
		var deletedBy string
		if err := db.QueryRowForTest(context.Background(), `SELECT user_deletion FROM contacts WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NOT NULL`,
			e.b.WorkspaceID, c.ID).Scan(&deletedBy); err != nil || deletedBy != e.b.UserID {
			t.Fatalf("user_deletion = %q, %v; want %s", deletedBy, err, e.b.UserID)
		}
		again := e.create(t, in)
		if again.ID == c.ID {
			t.Fatal("the deleted contact came back")
		}
		// Deleting a deleted contact: nothing is deleted.
		_, err = e.contacts.DeleteContacts(e.ctx, []string{again.ID, c.ID})
		wantCode(t, err, plaza.ENOTFOUND)
		if _, err := e.contacts.FindContactByID(e.ctx, again.ID); err != nil {
			t.Fatalf("all-or-nothing: %v", err)
		}
	})
}
