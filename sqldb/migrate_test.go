package sqldb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// Replicas starting together all migrate the same database; every one must
// succeed and the migrations apply once.
func TestMigrate_Concurrent(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		const n = 4
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqldb.Open(ctx, dsn)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				errs[i] = db.Migrate(ctx)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("replica %d: %v", i, err)
			}
		}
		db := sqldbtest.MustOpen(t, dsn) // migrating again is a no-op
		var applied, distinct int
		if err := db.QueryRowForTest(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
			t.Fatal(err)
		}
		if applied == 0 || applied != distinct {
			t.Fatalf("schema_migrations has %d rows for %d versions", applied, distinct)
		}
	})
}

// The secret key is generated once and then kept, whoever asks first.
func TestSecretKey(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		k1, gen1, err := db.SecretKey(ctx)
		if err != nil || !gen1 || len(k1) < 32 {
			t.Fatalf("first: %q %v %v", k1, gen1, err)
		}
		k2, gen2, err := db.SecretKey(ctx)
		if err != nil || gen2 || k2 != k1 {
			t.Fatalf("second: %q %v %v", k2, gen2, err)
		}
	})
}
