package sqldb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// inboundEnv is a workspace with a connected number and the inbound store.
type inboundEnv struct {
	db     *sqldb.DB
	store  *sqldb.InboundStore
	number plaza.WhatsAppNumber
}

func newInboundEnv(t *testing.T, db *sqldb.DB) *inboundEnv {
	t.Helper()
	b := mustBootstrap(t, db, "Acme", "ana@acme.test")
	ctx := plaza.NewContextWithPrincipal(context.Background(),
		&plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
	n, err := sqldb.NewWhatsAppNumberService(db, "test-secret-key-0123456789abcdef-0123").CreateWhatsAppNumber(ctx, plaza.WhatsAppNumberCreate{
		PhoneNumberID: "100200300400501", WabaID: "100200300400500", DisplayPhoneNumber: "15550001234",
		AccessToken: "token", AppSecret: "secret", VerifyToken: "verify"})
	if err != nil {
		t.Fatal(err)
	}
	return &inboundEnv{db: db, store: sqldb.NewInboundStore(db), number: *n}
}

func (e *inboundEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowForTest(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Messages from one new customer stored at once, in both variants of a
// Brazilian number and some with the same wamid, make one contact, one
// conversation and one message per wamid; each repeat is told which
// message it repeats.
func TestInboundStore_Concurrent(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboundEnv(t, db)
		ctx := context.Background()
		const n = 24
		results := make([]*plaza.InboundResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := "5511987654321"
				if i%2 == 1 {
					from = "551187654321"
				}
				wamid := "wamid.SAME"
				if i%3 != 0 {
					wamid = fmt.Sprintf("wamid.C_%d", i)
				}
				results[i], errs[i] = e.store.StoreInboundMessage(ctx, plaza.InboundMessage{Number: e.number, From: from,
					ProfileName: "João", WAMID: wamid, Type: "text", Content: fmt.Sprintf("m%d", i),
					Payload: []byte(`{}`), Timestamp: time.Unix(1795791600+int64(i), 0)})
			}()
		}
		wg.Wait()
		var same []*plaza.InboundResult
		for i, err := range errs {
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if i%3 == 0 {
				same = append(same, results[i])
			} else if results[i].Duplicate {
				t.Errorf("message %d reported a duplicate", i)
			}
		}
		fresh := 0
		for _, r := range same {
			if !r.Duplicate {
				fresh++
			}
			if r.MessageID != same[0].MessageID || r.ContactID != same[0].ContactID {
				t.Errorf("repeat %+v names another message than %+v", r, same[0])
			}
		}
		if fresh != 1 {
			t.Errorf("wamid.SAME stored %d times", fresh)
		}
		if c := e.count(t, `SELECT count(*) FROM contacts WHERE deletion_date IS NULL`); c != 1 {
			t.Errorf("%d contacts", c)
		}
		if c := e.count(t, `SELECT count(*) FROM conversations`); c != 1 {
			t.Errorf("%d conversations", c)
		}
		if c := e.count(t, `SELECT count(*) FROM messages`); c != n-len(same)+1 {
			t.Errorf("%d messages, want %d", c, n-len(same)+1)
		}
		// The newest message is the last one, whatever order they committed in.
		if c := e.count(t, `SELECT count(*) FROM contacts WHERE last_message = $1`, fmt.Sprintf("m%d", n-1)); c != 1 {
			t.Errorf("the contact's last message is not m%d", n-1)
		}
		if c := e.count(t, `SELECT count(*) FROM conversations WHERE last_message = $1`, fmt.Sprintf("m%d", n-1)); c != 1 {
			t.Errorf("the conversation's last message is not m%d", n-1)
		}
	})
}

// Statuses of one message applied at once end at the highest, keeping the
// failure's error.
func TestInboundStore_ConcurrentStatuses(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboundEnv(t, db)
		ctx := context.Background()
		r, err := e.store.StoreInboundMessage(ctx, plaza.InboundMessage{Number: e.number, From: "15557654321",
			WAMID: "wamid.IN", Type: "text", Content: "hola", Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		for _, final := range []string{"read", "failed"} {
			wamid := "wamid.OUT_" + final
			if err := db.ExecForTest(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
				wamid, status, send_state, timestamp, creation_date, updated_date)
				VALUES ($1, $2, $3, $4, 'out', 'text', $5, 'queued', 'sent', $6, $6, $6)`,
				e.number.WorkspaceID, "0190f000-0000-7000-8000-00000000000"+fmt.Sprint(len(final)), r.ConversationID, r.ContactID,
				wamid, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			statuses := []string{"sent", "delivered", "read"}
			if final == "failed" {
				statuses = append(statuses, "failed")
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8*len(statuses))
			for range 8 {
				for _, s := range statuses {
					wg.Add(1)
					go func() {
						defer wg.Done()
						u := plaza.MessageStatusUpdate{Number: e.number, WAMID: wamid, Status: s}
						if s == "failed" {
							u.Error = &plaza.MessageError{Code: 131026, Title: "Message undeliverable", Details: "Message Undeliverable."}
						}
						found, err := e.store.ApplyMessageStatus(ctx, u, whatsapp.Advance)
						if err == nil && !found {
							err = fmt.Errorf("%s: message not found", s)
						}
						errs <- err
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			want := 1
			if e.count(t, `SELECT count(*) FROM messages WHERE wamid = $1 AND status = $2`, wamid, final) != want {
				t.Errorf("%s did not end %s", wamid, final)
			}
			withError := e.count(t, `SELECT count(*) FROM messages WHERE wamid = $1 AND error_code = 131026`, wamid)
			if (final == "failed") != (withError == 1) {
				t.Errorf("%s: %d rows with the error", wamid, withError)
			}
		}
	})
}
