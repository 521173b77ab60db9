package messaging_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

const inboxSecretKey = "test-secret-key-0123456789abcdef-0123"

// inboxEnv is a workspace with number A of the fixtures connected, and the
// inbox worker on the real database. The queue only inserts: the tests
// work the jobs themselves.
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
	if _, err := db.OpenQueue(sqldb.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
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
	e.worker = &messaging.InboxWorker{Inbox: e.inbox, Numbers: numbers, Store: e.store, Logger: slog.New(slog.NewJSONHandler(e.logs, nil))}
	return e
}

// deliver stores body as the webhook does and returns its job.
func (e *inboxEnv) deliver(t *testing.T, body []byte) *river.Job[plaza.WhatsAppInboxJob] {
	t.Helper()
	ctx := context.Background()
	if err := e.inbox.StoreWhatsAppDelivery(ctx, body); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := e.db.QueryRowForTest(ctx, `SELECT id FROM whatsapp_inbox ORDER BY id DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return &river.Job[plaza.WhatsAppInboxJob]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: plaza.WhatsAppInboxJob{InboxID: id}}
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

// A job that crashed after storing part of a delivery, then retried (and
// retried again), stores each message once and ends processed.
func TestInboxWorker_RetryAfterCrash(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		ctx := context.Background()
		body := inboxFixture(t, "inbound/multiple_messages_one_delivery.json")
		job := e.deliver(t, body)

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
			t.Fatal("the delivery is processed before its job ran")
		}
		for attempt := 2; attempt <= 3; attempt++ {
			job.Attempt = attempt
			if err := e.worker.Work(ctx, job); err != nil {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
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

// A delivery that is gone cancels its job rather than retrying it; a
// change for a number nobody connected is skipped with a log line, and
// the rest of the delivery is applied.
func TestInboxWorker_Skips(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		ctx := context.Background()
		gone := &river.Job[plaza.WhatsAppInboxJob]{JobRow: &rivertype.JobRow{ID: 2, Attempt: 1},
			Args: plaza.WhatsAppInboxJob{InboxID: "0190f000-0000-7000-8000-000000000000"}}
		var cancel *river.JobCancelError
		if err := e.worker.Work(ctx, gone); !errors.As(err, &cancel) {
			t.Fatalf("missing delivery: %v, want a cancellation", err)
		}

		job := e.deliver(t, inboxFixture(t, "inbound/two_numbers_one_delivery.json"))
		if err := e.worker.Work(ctx, job); err != nil {
			t.Fatal(err)
		}
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
		if err := e.worker.Work(ctx, e.deliver(t, other)); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL`); n != 0 {
			t.Fatalf("%d deliveries unprocessed", n)
		}
		if n := e.count(t, `SELECT count(*) FROM whatsapp_templates`); n != 0 {
			t.Fatalf("%d templates", n)
		}
	})
}
