package sqldb_test

import (
	"context"
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// BenchmarkEventDelivery measures from a transaction writing one event
// until a subscriber has it: through the same handle (this process's own
// commits wake the broker) and through another one (another replica: on
// PostgreSQL NOTIFY wakes it, on SQLite its poll).
func BenchmarkEventDelivery(b *testing.B) {
	for _, d := range sqldbtest.Dialects(b) {
		for _, where := range []string{"same-handle", "other-handle"} {
			b.Run(string(d)+"/"+where, func(b *testing.B) {
				dsn := sqldbtest.DSN(b, d)
				writer := sqldbtest.MustOpen(b, dsn)
				reader := writer
				if where == "other-handle" {
					reader = sqldbtest.MustOpen(b, dsn)
				}
				boot, err := writer.Bootstrap(context.Background(), "Acme", plaza.UserCreate{Email: "a@acme.test", Password: "correct-horse-1"})
				if err != nil {
					b.Fatal(err)
				}
				broker := sqldb.NewEventBroker(reader, nil)
				if err := broker.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer broker.Stop()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				c, err := broker.Subscribe(ctx, plaza.EventFilter{WorkspaceID: boot.WorkspaceID})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					tx, err := writer.BeginEventTxForTest(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if err := tx.InsertEvent(ctx, testEvent(boot.WorkspaceID, "x")); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
					if _, ok := <-c; !ok {
						b.Fatal("the subscription closed")
					}
				}
			})
		}
	}
}
