package sqldb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// outboundEnv is a workspace with a connected number, a customer who
// wrote at t0, the outbound store and a clock the test moves.
type outboundEnv struct {
	*inboundEnv
	out *sqldb.OutboundService
	ctx context.Context // the workspace's owner
	t0  time.Time
	now time.Time
}

func newOutboundEnv(t *testing.T, db *sqldb.DB) *outboundEnv {
	t.Helper()
	if _, err := db.OpenQueue(sqldb.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	e := &outboundEnv{inboundEnv: newInboundEnv(t, db), out: sqldb.NewOutboundService(db),
		t0: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)}
	e.now = e.t0
	db.Now = func() time.Time { return e.now }
	e.ctx = plaza.NewContextWithPrincipal(context.Background(), &plaza.Principal{UserID: "u", WorkspaceID: e.number.WorkspaceID,
		Role: plaza.RoleOwner, APIKeyID: "k"})
	if _, err := e.store.StoreInboundMessage(context.Background(), plaza.InboundMessage{Number: e.number, From: "15557654321",
		ProfileName: "Lucía", WAMID: "wamid.IN", Type: "text", Content: "Hola", Payload: []byte(`{}`), Timestamp: e.t0}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *outboundEnv) queue(t *testing.T) *plaza.OutboundSend {
	t.Helper()
	sent, err := e.out.QueueWhatsAppText(e.ctx, plaza.MessageSend{RecipientPhone: "+1 555 765 4321", Content: "Sí"})
	if err != nil {
		t.Fatal(err)
	}
	return e.send(t, sent.Message.ID)
}

func (e *outboundEnv) send(t *testing.T, id string) *plaza.OutboundSend {
	t.Helper()
	s, err := e.out.OutboundSend(context.Background(), e.number.WorkspaceID, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Of concurrent claims on one send, exactly one wins.
func TestOutboundService_OneClaim(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newOutboundEnv(t, db)
		seen := e.queue(t)
		if seen.SendState != plaza.SendQueued || seen.Attempts != 0 || seen.To != "+15557654321" || seen.PhoneNumberID != e.number.PhoneNumberID {
			t.Fatalf("queued send %+v", seen)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := e.out.BeginWhatsAppSend(context.Background(), *seen)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d claims won, want 1", won)
		}
		if s := e.send(t, seen.MessageID); s.SendState != plaza.SendSending || s.Attempts != 1 {
			t.Fatalf("after the claim: %+v", s)
		}
	})
}

// A send left sending is claimed again only once its reconcile window is
// over; a status webhook that came meanwhile settles it.
func TestOutboundService_Reconcile(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newOutboundEnv(t, db)
		ctx := context.Background()
		seen := e.queue(t)
		if ok, _ := e.out.BeginWhatsAppSend(ctx, *seen); !ok {
			t.Fatal("no claim")
		}
		sending := e.send(t, seen.MessageID)
		// Sending, no window yet: not claimable.
		if ok, _ := e.out.BeginWhatsAppSend(ctx, *sending); ok {
			t.Fatal("a send left sending was claimed with no reconcile window")
		}
		until, err := e.out.StartWhatsAppReconcile(ctx, *sending, 3*time.Minute)
		if err != nil || !until.Equal(e.t0.Add(3*time.Minute)) {
			t.Fatalf("reconcile until %s, %v", until, err)
		}
		// A second start keeps the later end.
		e.now = e.t0.Add(time.Minute)
		if u, _ := e.out.StartWhatsAppReconcile(ctx, *sending, time.Minute); !u.Equal(until) {
			t.Errorf("second start: until %s, want %s", u, until)
		}
		sending = e.send(t, seen.MessageID)
		if ok, _ := e.out.BeginWhatsAppSend(ctx, *sending); ok {
			t.Fatal("claimed inside the reconcile window")
		}
		e.now = e.t0.Add(3*time.Minute + time.Second)
		stale := *sending
		stale.Attempts = 0
		if ok, _ := e.out.BeginWhatsAppSend(ctx, stale); ok {
			t.Fatal("claimed with a stale attempt count")
		}
		if ok, _ := e.out.BeginWhatsAppSend(ctx, *sending); !ok {
			t.Fatal("not claimed after the reconcile window")
		}
		if s := e.send(t, seen.MessageID); s.SendState != plaza.SendSending || s.Attempts != 2 || s.ReconcileUntil != nil {
			t.Fatalf("after the second claim: %+v", s)
		}

		// Meta's answer after a status webhook moved the message further.
		if err := db.ExecForTest(ctx, `UPDATE messages SET status = 'delivered', wamid = 'wamid.X' WHERE id = $1`, seen.MessageID); err != nil {
			t.Fatal(err)
		}
		if err := e.out.RecordWhatsAppSent(ctx, e.number.WorkspaceID, seen.MessageID, "wamid.X"); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, `SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'sent' AND status = 'delivered'
			AND wamid = 'wamid.X'`, seen.MessageID); n != 1 {
			t.Error("the recorded answer moved the status back")
		}
		if s := e.send(t, seen.MessageID); s.SendState != plaza.SendSent {
			t.Fatalf("after the answer: %+v", s)
		}
		if ok, _ := e.out.BeginWhatsAppSend(ctx, *e.send(t, seen.MessageID)); ok {
			t.Fatal("a sent message was claimed")
		}
	})
}

// Meta's refusals: a retryable one puts the message back in the queue,
// another fails it with Meta's error.
func TestOutboundService_Refused(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newOutboundEnv(t, db)
		ctx := context.Background()
		seen := e.queue(t)
		e.out.BeginWhatsAppSend(ctx, *seen)
		if err := e.out.RecordWhatsAppRefused(ctx, e.number.WorkspaceID, seen.MessageID, plaza.MessageError{Code: 130429}, true); err != nil {
			t.Fatal(err)
		}
		again := e.send(t, seen.MessageID)
		if again.SendState != plaza.SendQueued || again.Attempts != 1 {
			t.Fatalf("after a retryable refusal: %+v", again)
		}
		e.out.BeginWhatsAppSend(ctx, *again)
		err := e.out.RecordWhatsAppRefused(ctx, e.number.WorkspaceID, seen.MessageID,
			plaza.MessageError{Code: 131047, Title: "Re-engagement message", Details: "more than 24 hours"}, false)
		if err != nil {
			t.Fatal(err)
		}
		m, err := e.out.FindOutboundMessage(e.ctx, seen.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if *m.Status != "failed" || m.Error == nil || m.Error.Code != 131047 || m.Error.Title != "Re-engagement message" {
			t.Errorf("failed message %+v %+v", m, m.Error)
		}
	})
}

// The window is the customer's last message plus 24 hours, by the
// database's clock.
func TestOutboundService_Window(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newOutboundEnv(t, db)
		e.now = e.t0.Add(24*time.Hour - time.Second)
		e.queue(t)
		e.now = e.t0.Add(24 * time.Hour)
		_, err := e.out.QueueWhatsAppText(e.ctx, plaza.MessageSend{RecipientPhone: "15557654321", Content: "Sí"})
		if plaza.ErrorCode(err) != plaza.EWINDOWCLOSED {
			t.Fatalf("at the window's end: %v, want EWINDOWCLOSED", err)
		}
		if n := e.count(t, `SELECT count(*) FROM messages WHERE direction = 'out'`); n != 1 {
			t.Errorf("%d outbound messages, want 1", n)
		}
		if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'`); n != 1 {
			t.Errorf("%d send jobs, want 1", n)
		}
	})
}
