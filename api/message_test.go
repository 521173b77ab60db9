package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// graphServer is a local Graph API: POST /v23.0/{phone-number-id}/messages
// answers as Meta does, with the fixtures of whatsapp/testdata. Each call
// is recorded; answers[i], when set, answers the i-th call (from 0),
// others succeed, the i-th with wamid.TEST_OUT_000{i+1}.
type graphServer struct {
	t   *testing.T
	URL string // the Graph root with its version, for whatsapp.Client

	mu      sync.Mutex
	calls   []graphCall
	answers map[int]func(w http.ResponseWriter, r *http.Request)
	called  chan struct{} // one send per call
	media   mediaGraph    // the media endpoints (media_test.go)
}

// graphCall is one send request as the Graph server read it.
type graphCall struct {
	Path, Authorization string
	Body                map[string]any
}

func newGraphServer(t *testing.T) *graphServer {
	g := &graphServer{t: t, answers: map[int]func(http.ResponseWriter, *http.Request){}, called: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/v23.0"
	return g
}

// answer sets how the i-th call is answered.
func (g *graphServer) answer(i int, fn func(w http.ResponseWriter, r *http.Request)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answers[i] = fn
}

func (g *graphServer) serve(w http.ResponseWriter, r *http.Request) {
	if g.serveMedia(w, r) {
		return
	}
	if r.Method != "POST" || !strings.HasPrefix(r.URL.Path, "/v23.0/") || !strings.HasSuffix(r.URL.Path, "/messages") {
		http.Error(w, "not a send", http.StatusNotFound)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		g.t.Errorf("the send's body is not JSON: %v\n%s", err, raw)
	}
	g.mu.Lock()
	n := len(g.calls)
	g.calls = append(g.calls, graphCall{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body})
	fn := g.answers[n]
	g.mu.Unlock()
	g.called <- struct{}{}
	if fn != nil {
		fn(w, r)
		return
	}
	// Meta's success, with a wamid of its own for each call.
	answer := bytes.ReplaceAll(fixture(g.t, "send/response_success.json"), []byte("wamid.TEST_OUT_0001"),
		fmt.Appendf(nil, "wamid.TEST_OUT_%04d", n+1))
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
}

// metaAnswer answers with a fixture and a status, as Meta does.
func metaAnswer(t *testing.T, status int, name string) func(http.ResponseWriter, *http.Request) {
	body := fixture(t, name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}

func (g *graphServer) sends() []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.calls...)
}

// waitCall waits for the next call.
func (g *graphServer) waitCall() {
	g.t.Helper()
	select {
	case <-g.called:
	case <-time.After(60 * time.Second):
		g.t.Fatal("the Graph server got no send within a minute")
	}
}

// checkTextSend checks that a send is Meta's text request of the
// fixture, to number A with its token, carrying messageID as callback
// data.
func checkTextSend(t *testing.T, c graphCall, messageID, body string) {
	t.Helper()
	if c.Path != "/v23.0/"+numberA+"/messages" || c.Authorization != "Bearer EAAG-token-"+numberA {
		t.Errorf("send to %s with %q", c.Path, c.Authorization)
	}
	var want map[string]any
	if err := json.Unmarshal(fixture(t, "send/request_text.json"), &want); err != nil {
		t.Fatal(err)
	}
	want["text"].(map[string]any)["body"] = body
	want["biz_opaque_callback_data"] = "plaza:outbox:" + messageID
	if diff := cmp.Diff(want, c.Body); diff != "" {
		t.Errorf("send body (-want +got):\n%s", diff)
	}
}

// newSendServer is a test server whose queue works sends (to g) and the
// webhook's deliveries, as plaza serve does.
// assertNothingSent fails unless the Graph server got no send and no
// outbound message was stored.
func (ts *testServer) assertNothingSent(t *testing.T, g *graphServer) {
	t.Helper()
	if n := len(g.sends()); n != 0 {
		t.Errorf("the Graph server got %d sends", n)
	}
	if n := ts.count(`SELECT count(*) FROM messages WHERE direction = 'out'`); n != 0 {
		t.Errorf("%d outbound messages stored", n)
	}
}

func newSendServer(t *testing.T, dsn string, g *graphServer, cfg messaging.OutboxConfig) *testServer {
	t.Helper()
	ts := newTestServer(t, dsn)
	logger := slog.New(slog.NewJSONHandler(ts.Logs, nil))
	numbers := sqldb.NewWhatsAppNumberService(ts.DB, testSecret)
	outbox, err := messaging.NewOutbox(sqldb.NewOutboundService(ts.DB), numbers, &whatsapp.Client{BaseURL: g.URL}, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	outbox.AddWorkers(workers)
	startDrainer(t, ts.DB, logger)
	q, err := ts.DB.OpenQueue(sqldb.QueueConfig{Workers: workers, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	ts.API.Outbound = outbox // before the first request
	return ts
}

// customerWrites posts the inbound text fixture (Lucía, +1 555 765 4321,
// to number A) as sent now, opening her 24-hour window, and waits until
// it is applied.
func (ts *testServer) customerWrites() {
	ts.t.Helper()
	body := bytes.ReplaceAll(fixture(ts.t, "inbound/text.json"), []byte(`"1795791600"`), fmt.Appendf(nil, `"%d"`, time.Now().Unix()))
	ts.postDelivery(appSecretA, body)
	ts.waitInbox()
}

// waitSendState waits until the message's send state is state.
func (ts *testServer) waitSendState(id, state string) {
	ts.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND send_state = $2`, id, state) == 0 {
		if time.Now().After(deadline) {
			var got string
			ts.DB.QueryRowForTest(context.Background(), `SELECT COALESCE(send_state, '') FROM messages WHERE id = $1`, id).Scan(&got)
			ts.t.Fatalf("message %s: send state %q after a minute, want %q", id, got, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSendJobsDone waits until no send job is left to run.
func (ts *testServer) waitSendJobsDone() {
	ts.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send' AND state NOT IN ('completed', 'cancelled', 'discarded')`) > 0 {
		if time.Now().After(deadline) {
			ts.t.Fatal("send jobs still running after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type sentJSON struct {
	ContactID string
	Message   messageJSON
}

const lucia = "+1 555 765 4321" // the fixture's customer, as a client types her number

var replyText = "¡Hola Lucía! Sí, el sofá Oslo está disponible en azul. ¿Te reservo uno?"

func (ts *testServer) send(a tenant, body map[string]any) *response {
	ts.t.Helper()
	body["workspaceId"] = a.WorkspaceID
	return ts.do(req{Method: "POST", Path: "/api/message", Token: a.APIKey, Body: body})
}

func TestMessageSend(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: 30 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()

		r := ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText, "externalReferenceId": "order-77",
			"agentSendedId": a.UserID, "conversationId": nil}).want(t, http.StatusOK, "")
		if r.Message != "Message sent successfully." {
			t.Errorf("message %q", r.Message)
		}
		assertGolden(t, "message_send", r.Body)
		var sent sentJSON
		r.into(t, &sent)
		m := sent.Message
		if m.MessageWhatsappID == nil || *m.MessageWhatsappID != "wamid.TEST_OUT_0001" || m.Status == nil || *m.Status != "sent" {
			t.Fatalf("messageWhatsappId %v, status %v; want Meta's wamid, sent", m.MessageWhatsappID, m.Status)
		}
		if m.ContactID != sent.ContactID || m.RecipientPhone == nil || *m.RecipientPhone != "15557654321" || m.From != "15550001234" ||
			m.Direction != "out" || m.PlatformID != "2" || m.Content != replyText {
			t.Errorf("message %+v", m)
		}
		calls := g.sends()
		if len(calls) != 1 {
			t.Fatalf("the Graph server got %d sends, want 1", len(calls))
		}
		checkTextSend(t, calls[0], m.ID, replyText)

		// The message is in the conversation; the job is done once.
		ts.waitSendJobsDone()
		if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'sent' AND attempts = 1
			AND wamid = 'wamid.TEST_OUT_0001'`, m.ID); n != 1 {
			t.Errorf("message row not sent once")
		}
		list := ts.messages(a, m.ConversationID, "")
		if len(list) != 2 || list[1].ID != m.ID || list[1].Direction != "out" {
			t.Errorf("conversation messages %+v", list)
		}

		// The contact chosen by id (any variant of the number), from the
		// number chosen by its display number: the same conversation.
		r = ts.send(a, map[string]any{"recipientPhone": "15557654321", "contactId": sent.ContactID, "content": "Otro mensaje",
			"internalWhatsappNumber": "+1 555 000 1234"}).want(t, http.StatusOK, "")
		var second sentJSON
		r.into(t, &second)
		if second.Message.ConversationID != m.ConversationID || second.ContactID != sent.ContactID ||
			second.Message.MessageWhatsappID == nil || *second.Message.MessageWhatsappID != "wamid.TEST_OUT_0002" {
			t.Errorf("second send %+v", second)
		}
		if len(g.sends()) != 2 {
			t.Errorf("the Graph server got %d sends, want 2", len(g.sends()))
		}
	})
}

// Outside the window nothing is stored and Meta is not called.
func TestMessageSend_WindowClosed(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)

		// The customer never wrote: no contact, no window.
		r := ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusConflict, "WINDOW_CLOSED")
		var data struct{ ContactID, ConversationID, WindowExpiresAt *string }
		r.into(t, &data)
		if data.ContactID != nil || data.ConversationID != nil || data.WindowExpiresAt != nil {
			t.Errorf("data %s", r.Data)
		}

		// She wrote more than 24 hours ago.
		ts.customerWrites()
		past := time.Now().Add(-time.Minute).UTC()
		if err := ts.DB.ExecForTest(context.Background(), `UPDATE conversations SET window_expires_at = $1`, past); err != nil {
			t.Fatal(err)
		}
		r = ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusConflict, "WINDOW_CLOSED")
		r.into(t, &data)
		if data.ContactID == nil || data.ConversationID == nil || data.WindowExpiresAt == nil {
			t.Errorf("data %s", r.Data)
		}
		// A contact with no WhatsApp conversation.
		ts.do(req{Method: "POST", Path: "/api/contact", Token: a.APIKey, Body: map[string]any{"name": "Pedro",
			"platformId": 2, "phone": "+51 987 654 321"}}).want(t, http.StatusOK, "")
		ts.send(a, map[string]any{"recipientPhone": "51987654321", "content": "Hola"}).want(t, http.StatusConflict, "WINDOW_CLOSED")

		ts.assertNothingSent(t, g)
		if n := ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'`); n != 0 {
			t.Errorf("%d send jobs enqueued", n)
		}
	})
}

func TestMessageSend_Validation(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{})
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		fields := func(body map[string]any) string {
			return strings.Join(ts.send(a, body).want(t, http.StatusBadRequest, "VALIDATION_FAILED").fields(), ",")
		}
		// No number connected yet.
		if got := fields(map[string]any{"recipientPhone": lucia, "content": "Hola"}); got != "internalWhatsappNumber" {
			t.Errorf("no number: fields %s", got)
		}
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		for _, tc := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{}, "recipientPhone,content"},
			{map[string]any{"recipientPhone": "0987", "content": "   "}, "recipientPhone,content"},
			{map[string]any{"recipientPhone": lucia, "content": strings.Repeat("ñ", 4097)}, "content"},
			{map[string]any{"recipientPhone": lucia, "content": "Hola", "numberId": "nope"}, "numberId"},
			{map[string]any{"recipientPhone": lucia, "content": "Hola", "internalWhatsappNumber": "+1 555 999 0000"}, "internalWhatsappNumber"},
			{map[string]any{"recipientPhone": lucia, "content": "Hola", "contactId": "nope"}, "contactId"},
			{map[string]any{"recipientPhone": lucia, "content": "Hola", "externalReferenceId": strings.Repeat("x", 257)}, "externalReferenceId"},
		} {
			if got := fields(tc.body); got != tc.want {
				t.Errorf("%v: fields %s, want %s", tc.body, got, tc.want)
			}
		}
		// Another workspace's contact is not found there.
		list := ts.contacts(a)
		ts.do(req{Method: "POST", Path: "/api/message", Token: b.APIKey, Body: map[string]any{"recipientPhone": lucia,
			"content": "Hola", "contactId": list[0].ID}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		// The contact's number must be recipientPhone.
		if got := fields(map[string]any{"recipientPhone": "+51 987 654 321", "content": "Hola", "contactId": list[0].ID}); got != "recipientPhone" {
			t.Errorf("another number: fields %s", got)
		}
		ts.assertNothingSent(t, g)
	})
}

// Meta's throughput error is retried with backoff: the message goes out
// once, on the second call.
func TestMessageSend_RetryableError(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		g.answer(0, metaAnswer(t, http.StatusBadRequest, "send/error_130429_rate_limit.json"))
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: time.Millisecond})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		var sent sentJSON
		ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
		ts.waitSendState(sent.Message.ID, "sent")
		ts.waitSendJobsDone()
		calls := g.sends()
		if len(calls) != 2 {
			t.Fatalf("the Graph server got %d sends, want 2", len(calls))
		}
		for _, c := range calls {
			checkTextSend(t, c, sent.Message.ID, replyText)
		}
		if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND wamid = 'wamid.TEST_OUT_0002' AND status = 'sent'
			AND error_code IS NULL AND attempts = 2`, sent.Message.ID); n != 1 {
			t.Error("the message is not sent on its second attempt")
		}
	})
}

// A permanent error fails the message with Meta's error, after one call.
func TestMessageSend_PermanentError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fixture   string
		status    int
		errorCode string
		code      int
	}{
		{"send/error_131047_reengagement.json", http.StatusConflict, "WINDOW_CLOSED", 131047},
		{"send/error_100_invalid_parameter.json", http.StatusUnprocessableEntity, "UNPROCESSABLE", 100},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			sqldbtest.Each(t, func(t *testing.T, dsn string) {
				g := newGraphServer(t)
				g.answer(0, metaAnswer(t, http.StatusBadRequest, tc.fixture))
				ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: 30 * time.Second})
				a := ts.bootstrap("Acme", "ana@acme.test")
				ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
				ts.customerWrites()
				r := ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, tc.status, tc.errorCode)
				var sent sentJSON
				r.into(t, &sent)
				m := sent.Message
				if m.Status == nil || *m.Status != "failed" || m.Error == nil || m.Error.Code != tc.code || m.Error.Details == "" ||
					m.MessageWhatsappID != nil || !strings.Contains(r.Message, m.Error.Title) {
					t.Errorf("%s\nmessage %+v, error %+v", r.Message, m, m.Error)
				}
				ts.waitSendJobsDone()
				if n := len(g.sends()); n != 1 {
					t.Errorf("the Graph server got %d sends, want 1", n)
				}
				if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'failed' AND error_code = $2`,
					m.ID, tc.code); n != 1 {
					t.Error("the message is not failed with Meta's code")
				}
				if n := ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send' AND state = 'cancelled'`); n != 1 {
					t.Error("the send job is not cancelled")
				}
			})
		})
	}
}

// When Meta is slow the request answers with the message queued; the
// send completes later.
func TestMessageSend_SlowGraph(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		release := make(chan struct{})
		g.answer(0, func(w http.ResponseWriter, r *http.Request) {
			<-release
			metaAnswer(t, http.StatusOK, "send/response_success.json")(w, r)
		})
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: 100 * time.Millisecond})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		var sent sentJSON
		ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
		if sent.Message.MessageWhatsappID != nil || sent.Message.Status == nil || *sent.Message.Status != "queued" {
			t.Errorf("messageWhatsappId %v, status %v; want null, queued", sent.Message.MessageWhatsappID, sent.Message.Status)
		}
		g.waitCall()
		close(release)
		ts.waitSendState(sent.Message.ID, "sent")
		ts.waitSendJobsDone()
		if n := len(g.sends()); n != 1 {
			t.Errorf("the Graph server got %d sends, want 1", n)
		}
	})
}

// When Meta cannot be reached the request answers with the message
// queued, and the send is retried until Meta is back.
func TestMessageSend_GraphDown(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		// An address nothing listens on, until the Graph server does.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		g := &graphServer{t: t, URL: "http://" + addr + "/v23.0", answers: map[int]func(http.ResponseWriter, *http.Request){},
			called: make(chan struct{}, 100)}
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: 100 * time.Millisecond})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		var sent sentJSON
		ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
		if sent.Message.MessageWhatsappID != nil || *sent.Message.Status != "queued" {
			t.Errorf("messageWhatsappId %v, status %v; want null, queued", sent.Message.MessageWhatsappID, *sent.Message.Status)
		}
		// The first attempt failed to connect, and put the message back.
		deadline := time.Now().Add(60 * time.Second)
		for ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'queued' AND attempts = 1`, sent.Message.ID) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no failed attempt within a minute")
			}
			time.Sleep(10 * time.Millisecond)
		}
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(g.serve)}}
		srv.Start()
		t.Cleanup(srv.Close)
		ts.waitSendState(sent.Message.ID, "sent")
		ts.waitSendJobsDone()
		if n := len(g.sends()); n != 1 {
			t.Errorf("the Graph server got %d sends, want 1", n)
		}
	})
}

// An answer that proves nothing (no answer in time, a gateway's bare
// 502) leaves the send unresolved: Meta may have the message. If Meta's
// status webhook names it, it is sent and not sent again; if none comes
// within the reconcile window, it is sent again.
func TestMessageSend_Reconcile(t *testing.T) {
	t.Parallel()
	gateway502 := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	}
	t.Run("accepted", func(t *testing.T) {
		sqldbtest.Each(t, func(t *testing.T, dsn string) {
			g := newGraphServer(t)
			g.answer(0, gateway502) // Meta accepted it; the gateway lost the answer
			ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: time.Millisecond, CallTimeout: time.Second, ReconcileAfter: 5 * time.Second})
			a := ts.bootstrap("Acme", "ana@acme.test")
			ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
			ts.customerWrites()
			var sent sentJSON
			ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
			g.waitCall()
			deadline := time.Now().Add(60 * time.Second)
			for ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND reconcile_until IS NOT NULL`, sent.Message.ID) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the send did not start waiting for a status")
				}
				time.Sleep(10 * time.Millisecond)
			}
			ts.postDelivery(appSecretA, sentStatus(t, sent.Message.ID))
			ts.waitSendState(sent.Message.ID, "sent")
			ts.waitSendJobsDone() // the job looked again, after its wait, and found it sent
			if n := len(g.sends()); n != 1 {
				t.Errorf("the Graph server got %d sends, want 1", n)
			}
			if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND wamid = 'wamid.TEST_OUT_0001' AND status = 'sent'`,
				sent.Message.ID); n != 1 {
				t.Error("the status did not mark the message sent")
			}
		})
	})
	t.Run("lost", func(t *testing.T) {
		sqldbtest.Each(t, func(t *testing.T, dsn string) {
			g := newGraphServer(t)
			g.answer(0, gateway502) // Meta never got it
			ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: time.Millisecond, CallTimeout: 100 * time.Millisecond,
				ReconcileAfter: 200 * time.Millisecond})
			a := ts.bootstrap("Acme", "ana@acme.test")
			ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
			ts.customerWrites()
			var sent sentJSON
			ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
			ts.waitSendState(sent.Message.ID, "sent")
			ts.waitSendJobsDone()
			calls := g.sends()
			if len(calls) != 2 {
				t.Fatalf("the Graph server got %d sends, want 2 (one lost)", len(calls))
			}
			checkTextSend(t, calls[1], sent.Message.ID, replyText)
		})
	})
}

// sentStatus is Meta's "sent" status webhook of the fixture's message,
// naming Plaza's message by its callback data.
func sentStatus(t *testing.T, messageID string) []byte {
	return bytes.ReplaceAll(fixture(t, "status/sent.json"), []byte("plaza:outbox:01JDTEST0000000000000000001"),
		[]byte("plaza:outbox:"+messageID))
}

// Jobs run twice, or several jobs for one message (a job taken over from
// a process thought dead while it was in fact alive), send it once.
func TestMessageSend_DuplicateJobs(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		release := make(chan struct{})
		g.answer(0, func(w http.ResponseWriter, r *http.Request) {
			<-release
			metaAnswer(t, http.StatusOK, "send/response_success.json")(w, r)
		})
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: time.Millisecond, CallTimeout: 5 * time.Second,
			ReconcileAfter: 6 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		var sent sentJSON
		ts.send(a, map[string]any{"recipientPhone": lucia, "content": replyText}).want(t, http.StatusOK, "").into(t, &sent)
		g.waitCall() // the first job is in the call
		for i := range 4 {
			job := plaza.WhatsAppSendJob{WorkspaceID: a.WorkspaceID, MessageID: sent.Message.ID, Recovers: int64(1000 + i)}
			if err := ts.DB.EnqueueForTest(context.Background(), job, nil); err != nil {
				t.Fatal(err)
			}
		}
		// The duplicates find the message sending and wait.
		deadline := time.Now().Add(60 * time.Second)
		for ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND reconcile_until IS NOT NULL`, sent.Message.ID) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no duplicate job waited")
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(release)
		ts.waitSendState(sent.Message.ID, "sent")
		ts.waitSendJobsDone()
		if n := len(g.sends()); n != 1 {
			t.Errorf("the Graph server got %d sends, want 1", n)
		}
		if n := ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send' AND state = 'completed'`); n != 5 {
			t.Errorf("%d send jobs completed, want 5", n)
		}
	})
}
