package sqldb_test

import (
	"context"
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

func TestBootstrap_AllOrNothing(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		count := func(table string) int {
			var n int
			if err := db.QueryRowForTest(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		owner := plaza.UserCreate{Email: "ana@acme.test", Password: "correct-horse-1"}

		// The workspace fails after the user was inserted: nothing stays.
		_, err := db.Bootstrap(ctx, "   ", owner)
		wantCode(t, err, plaza.EINVALID)
		if n := count("users"); n != 0 {
			t.Fatalf("%d users after a failed bootstrap", n)
		}

		if _, err := db.Bootstrap(ctx, "Acme", owner); err != nil {
			t.Fatal(err)
		}
		tables := []string{"users", "workspaces", "workspace_members", "api_keys", "stages", "task_states", "tags", "segmentations"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = count(tb)
		}
		owner.Email = "ANA@acme.test"
		_, err = db.Bootstrap(ctx, "Acme again", owner)
		wantCode(t, err, plaza.ECONFLICT)
		for _, tb := range tables {
			if n := count(tb); n != before[tb] {
				t.Errorf("%s: %d rows after a refused bootstrap, want %d", tb, n, before[tb])
			}
		}
		_, err = db.Bootstrap(ctx, "Beta", plaza.UserCreate{Email: "bob@beta.test", Password: "weak"})
		wantCode(t, err, plaza.EINVALID)
	})
}
