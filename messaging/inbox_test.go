package messaging_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

const inboxSecretKey = "test-secret-key-0123456789abcdef-0123"

// inboxEnv is a workspace with number A of the fixtures connected, and the
// inbox worker on the real database. The tests claim and apply the
// deliveries themselves, or run a Drainer.
type inboxEnv struct {
	db     *sqldb.DB
	inbox  *sqldb.WhatsAppInbox
	store  *sqldb.InboundStore
	worker *messaging.InboxWorker
	number *plaza.WhatsAppNumber
	logs   *inboxLogs
}

type inboxLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *inboxLogs) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *inboxLogs) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newInboxEnv(t *testing.T, db *sqldb.DB) *inboxEnv {
	t.Helper()
	ctx := context.Background()
	b, err := db.Bootstrap(ctx, "Acme", plaza.UserCreate{Email: "ana@acme.test", Password: "correct-horse-1", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	owner := plaza.NewContextWithPrincipal(ctx, &plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
	numbers := sqldb.NewWhatsAppNumberService(db, inboxSecretKey)
	n, err := numbers.CreateWhatsAppNumber(owner, plaza.WhatsAppNumberCreate{PhoneNumberID: "100200300400501",
		WabaID: "100200300400500", DisplayPhoneNumber: "15550001234", AccessToken: "token", AppSecret: "secret", VerifyToken: "verify"})
	if err != nil {
		t.Fatal(err)
	}
	e := &inboxEnv{db: db, inbox: sqldb.NewWhatsAppInbox(db), store: sqldb.NewInboundStore(db), number: n, logs: &inboxLogs{}}
	e.worker = &messaging.InboxWorker{Numbers: numbers, Store: e.store, Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return e
}

// deliver stores body as the webhook does and claims it, as a drainer
// does.
func (e *inboxEnv) deliver(t *testing.T, body []byte) plaza.WhatsAppDelivery {
	t.Helper()
	ctx := context.Background()
	if err := e.inbox.StoreWhatsAppDelivery(ctx, body); err != nil {
		t.Fatal(err)
	}
	ds, err := e.inbox.ClaimWhatsAppDeliveries(ctx, plaza.WhatsAppInboxClaim{Owner: "test", Limit: 10, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(ds))
	}
	return ds[0]
}

// apply applies a claimed delivery and marks it processed.
func (e *inboxEnv) apply(t *testing.T, d plaza.WhatsAppDelivery) {
	t.Helper()
	if err := e.worker.Apply(context.Background(), d, nil); err != nil {
		t.Fatalf("apply %s: %v", d.ID, err)
	}
	if err := e.inbox.MarkWhatsAppDeliveriesProcessed(context.Background(), []string{d.ID}); err != nil {
		t.Fatal(err)
	}
}

func (e *inboxEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowForTest(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func inboxFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../whatsapp/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A delivery whose processing crashed after storing part of a delivery, then retried (and
// retried again), stores each message once and ends processed.
func TestInboxWorker_RetryAfterCrash(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		ctx := context.Background()
		body := inboxFixture(t, "inbound/multiple_messages_one_delivery.json")
		d := e.deliver(t, body)

		// The first attempt stored the first message, then the process died.
		note, err := whatsapp.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		v := note.Entry[0].Changes[0].Messages
		first := v.Messages[0]
		if _, err := e.store.StoreInboundMessage(ctx, plaza.InboundMessage{Number: *e.number, From: first.From,
			ProfileName: v.Contacts[0].Profile.Name, WAMID: first.ID, Type: first.Type, Content: whatsapp.Summary(first),
			Payload: first.Raw, Timestamp: first.Time()}); err != nil {
			t.Fatal(err)
		}
		if e.count(t, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL`) != 1 {
			t.Fatal("the delivery is processed before it was applied")
		}
		for attempt := 2; attempt <= 3; attempt++ {
			d.Attempt = attempt
			e.apply(t, d)
		}
		for query, want := range map[string]int{
			`SELECT count(*) FROM messages`:                                                  2,
			`SELECT count(*) FROM contacts`:                                                  1,
			`SELECT count(*) FROM conversations`:                                             1,
			`SELECT count(*) FROM stage_history`:                                             1,
			`SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`:             1,
			`SELECT count(*) FROM contacts WHERE last_message = '¿hacen envíos a Arequipa?'`: 1,
		} {
			if got := e.count(t, query); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
	})
}

// A change for a number nobody connected is skipped with a log line, and
// the rest of the delivery is applied.
func TestInboxWorker_Skips(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		e.apply(t, e.deliver(t, inboxFixture(t, "inbound/two_numbers_one_delivery.json")))
		if n := e.count(t, `SELECT count(*) FROM messages`); n != 1 {
			t.Fatalf("%d messages, want number A's one", n)
		}
		if !strings.Contains(e.logs.String(), `"phone_number_id":"100200300400601"`) {
			t.Errorf("the skipped number is not logged:\n%s", e.logs)
		}
		// Template reviews of a WABA nobody connected, and fields Plaza
		// does not handle, are skipped too.
		other := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"999","changes":[
			{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1,"message_template_name":"x","message_template_language":"es"}},
			{"field":"phone_number_quality_update","value":{"display_phone_number":"15550001234","event":"FLAGGED"}}]}]}`)
		e.apply(t, e.deliver(t, other))
		if n := e.count(t, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL`); n != 0 {
			t.Fatalf("%d deliveries unprocessed", n)
		}
		if n := e.count(t, `SELECT count(*) FROM whatsapp_templates`); n != 0 {
			t.Fatalf("%d templates", n)
		}
	})
}
