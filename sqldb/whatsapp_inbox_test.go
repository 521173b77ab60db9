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

// Pruning deletes processed deliveries past their retention and given-up
// ones past theirs; a delivery still to be processed stays whatever its age.
func TestWhatsAppInbox_Prune(t *testing.T) {
	t.Parallel()
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		in := sqldb.NewWhatsAppInbox(db)
		for i := range 3 {
			if err := in.StoreWhatsAppDelivery(ctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := in.ClaimWhatsAppDeliveries(ctx, plaza.WhatsAppInboxClaim{Owner: "me", Limit: 3, Lease: time.Minute})
		if err != nil || len(ds) != 3 {
			t.Fatalf("claimed %d, %v", len(ds), err)
		}
		if err := in.MarkWhatsAppDeliveriesProcessed(ctx, []string{ds[0].ID}); err != nil {
			t.Fatal(err)
		}
		if err := in.RetryWhatsAppDelivery(ctx, ds[1].ID, "boom", time.Time{}); err != nil {
			t.Fatal(err)
		}
		prune := func(processedBefore, failedBefore time.Time) int {
			t.Helper()
			n, err := in.PruneWhatsAppDeliveries(ctx, processedBefore, failedBefore, 10)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := prune(now, now); n != 0 {
			t.Fatalf("pruned %d deliveries none of which is past its retention", n)
		}
		if n := prune(now.Add(time.Hour), now); n != 1 {
			t.Fatalf("pruned %d, want the processed one", n)
		}
		if n := prune(now.Add(time.Hour), now.Add(time.Hour)); n != 1 {
			t.Fatalf("pruned %d, want the given-up one", n)
		}
		if n := prune(now.Add(1000*time.Hour), now.Add(1000*time.Hour)); n != 0 {
			t.Fatalf("pruned %d, want the unprocessed one kept", n)
		}
		// The one left is still there to be processed once its lease ends.
		now = now.Add(2 * time.Minute)
		left, err := in.ClaimWhatsAppDeliveries(ctx, plaza.WhatsAppInboxClaim{Owner: "me", Limit: 3, Lease: time.Minute})
		if err != nil || len(left) != 1 || left[0].ID != ds[2].ID {
			t.Fatalf("left %v, %v; want %s", left, err, ds[2].ID)
		}
	})
}
