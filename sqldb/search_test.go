package sqldb_test

import (
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// TestSearch_UnicodeCase: every text search folds case beyond ASCII, alike
// on both databases. SQLite's own LOWER leaves "É" as it is, so a stored
// "Émilie" would be found by q=Émilie only.
func TestSearch_UnicodeCase(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx, b := oppOwnerContext(t, db, "Acme", "ana@acme.test")
		contacts, opportunities, tasks := sqldb.NewContactService(db), sqldb.NewOpportunityService(db), sqldb.NewTaskService(db)
		contact, err := contacts.CreateContact(ctx, plaza.ContactCreate{Name: "Émilie", Lastname: "Durand", PlatformID: platform(1), Email: "e.durand@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		opp, err := opportunities.CreateOpportunity(ctx, newOpportunityInput("Équipe d'Émilie"))
		if err != nil {
			t.Fatal(err)
		}
		task, err := tasks.CreateTask(ctx, plaza.TaskCreate{WorkspaceID: b.WorkspaceID, Name: "Appeler Émilie", Description: "ÉTÉ"})
		if err != nil {
			t.Fatal(err)
		}
		ids := func(n int, id func(i int) string) []string {
			var out []string
			for i := range n {
				out = append(out, id(i))
			}
			return out
		}
		for _, c := range []struct {
			q     string
			found bool
		}{{"émilie", true}, {"ÉMILIE", true}, {"Émilie", true}, {"ÉmIlIe", true}, {"emilie", false}} {
			t.Run(c.q, func(t *testing.T) {
				searches := map[string]struct {
					got  func() ([]string, error)
					want string
				}{
					"contacts": {func() ([]string, error) {
						cs, _, err := contacts.FindContacts(ctx, plaza.ContactFilter{Query: c.q}, plaza.Page{})
						return ids(len(cs), func(i int) string { return cs[i].ID }), err
					}, contact.ID},
					"opportunities": {func() ([]string, error) {
						opps, _, err := opportunities.FindOpportunities(ctx, plaza.OpportunityFilter{Q: c.q})
						return ids(len(opps), func(i int) string { return opps[i].ID }), err
					}, opp.ID},
					"tasks by q": {func() ([]string, error) {
						ts, _, err := tasks.FindTasks(ctx, plaza.TaskFilter{Q: c.q})
						return ids(len(ts), func(i int) string { return ts[i].ID }), err
					}, task.ID},
					"tasks by name": {func() ([]string, error) {
						ts, _, err := tasks.FindTasks(ctx, plaza.TaskFilter{Name: c.q})
						return ids(len(ts), func(i int) string { return ts[i].ID }), err
					}, task.ID},
				}
				for name, s := range searches {
					got, err := s.got()
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if found := len(got) == 1 && got[0] == s.want; found != c.found || len(got) > 1 {
						t.Errorf("%s: q=%q found %v, want found %v", name, c.q, got, c.found)
					}
				}
			})
		}
	})
}
