package sqldb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// The inbox's claims: oldest first, never a delivery under a live lease,
// a dead process's claim taken again once its lease expires, a released
// claim uncounted, a retry not before its time, a given-up delivery never.
func TestWhatsAppInbox_Claims(t *testing.T) {
	t.Parallel()
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		in := sqldb.NewWhatsAppInbox(db)
		for i := range 5 {
			if err := in.StoreWhatsAppDelivery(ctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(owner string, limit int) []plaza.WhatsAppDelivery {
			t.Helper()
			lease := time.Minute
			if owner == "other" {
				lease = 10 * time.Minute
			}
			ds, err := in.ClaimWhatsAppDeliveries(ctx, plaza.WhatsAppInboxClaim{Owner: owner, Limit: limit, Lease: lease})
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		bodies := func(ds []plaza.WhatsAppDelivery) string {
			s := ""
			for _, d := range ds {
				s += fmt.Sprintf("%s@%d ", d.Body, d.Attempt)
			}
			return s
		}

		dead := claim("dead", 2)
		if got := bodies(dead); got != `{"n":0}@1 {"n":1}@1 ` {
			t.Fatalf("first claim %s", got)
		}
		live := claim("live", 2)
		if got := bodies(live); got != `{"n":2}@1 {"n":3}@1 ` {
			t.Fatalf("second claim %s", got)
		}
		// The live one releases one delivery it did not start, and fails
		// the other; the dead one's lease runs.
		if err := in.ReleaseWhatsAppDeliveries(ctx, "live", []string{live[1].ID}); err != nil {
			t.Fatal(err)
		}
		if err := in.RetryWhatsAppDelivery(ctx, live[0].ID, "boom", now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := bodies(claim("other", 10)); got != `{"n":3}@1 {"n":4}@1 ` {
			t.Fatalf("claim under the dead one's lease %s", got)
		}
		now = now.Add(time.Minute) // the first two leases end
		if got := bodies(claim("other", 10)); got != `{"n":0}@2 {"n":1}@2 ` {
			t.Fatalf("claim after the leases %s", got)
		}
		now = now.Add(time.Minute) // the retry is due
		got := claim("other", 10)
		if bodies(got) != `{"n":2}@2 ` {
			t.Fatalf("claim after the retry time %s", bodies(got))
		}
		if err := in.RetryWhatsAppDelivery(ctx, got[0].ID, "boom again", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := in.MarkWhatsAppDeliveriesProcessed(ctx, []string{dead[0].ID, dead[1].ID}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if got := bodies(claim("other", 10)); got != `{"n":3}@2 {"n":4}@2 ` {
			t.Fatalf("claim after the give-up %s", got)
		}
		var n int
		if err := db.QueryRowForTest(ctx, `SELECT count(*) FROM whatsapp_inbox WHERE failed_at IS NOT NULL AND last_error = 'boom again'
			AND attempts = 2 AND processed_at IS NULL`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("given-up deliveries: %d, %v", n, err)
		}
		if err := db.QueryRowForTest(ctx, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL AND claimed_until IS NULL`).
			Scan(&n); err != nil || n != 2 {
			t.Fatalf("processed deliveries: %d, %v", n, err)
		}
	})
}
