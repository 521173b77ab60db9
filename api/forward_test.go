package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
)

// forwardGuard lets the tests' forwarding webhooks call 127.0.0.1 only.
var forwardGuard, _ = messaging.ParseFetchAllow("127.0.0.1")

// startForwarding makes the queue work the inbox and the forwarding
// deliveries, retrying after 10 ms instead of the production schedule.
func (ts *testServer) startForwarding() {
	ts.t.Helper()
	workers := river.NewWorkers()
	logger := slog.New(slog.NewJSONHandler(ts.Logs, nil))
	startDrainer(ts.t, ts.DB, logger)
	messaging.AddForwardWorker(workers, &messaging.ForwardWorker{Store: sqldb.NewWebhookService(ts.DB, testSecret, forwardGuard.CheckURL),
		Client: forwardGuard.HTTPClient(), Logger: logger, RetryDelays: []time.Duration{10 * time.Millisecond}})
	q, err := ts.DB.OpenQueue(sqldb.QueueConfig{Workers: workers, Logger: logger})
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
}

type forwarded struct {
	Header http.Header
	Body   []byte
}

// receiver is a webhook receiver answering codes in turn (then 200).
func receiver(t *testing.T, codes ...int) (string, chan forwarded) {
	got := make(chan forwarded, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		code := 200
		if len(codes) > 0 {
			code, codes = codes[0], codes[1:]
		}
		got <- forwarded{Header: r.Header.Clone(), Body: b}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook", got
}

func receive(t *testing.T, got chan forwarded) forwarded {
	t.Helper()
	select {
	case f := <-got:
		return f
	case <-time.After(60 * time.Second):
		t.Fatal("no delivery within a minute")
		return forwarded{}
	}
}

// verifyStandardWebhook is an independent Standard Webhooks verification.
func verifyStandardWebhook(t *testing.T, secret string, f forwarded) {
	t.Helper()
	id, ts, sigs := f.Header.Get("webhook-id"), f.Header.Get("webhook-timestamp"), f.Header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		t.Fatalf("missing headers: %v", f.Header)
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Fatalf("webhook-timestamp %q", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(f.Body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(sigs) {
		if v, sig, _ := strings.Cut(s, ","); v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Fatalf("signature %q does not verify", sigs)
}

func TestForwardingWebhook(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "+1 555 000 1234", appSecretA)
		ts.startForwarding()
		path := "/api/workspace/" + a.WorkspaceID + "/whatsapp/numbers/+1%20(555)%20000-1234/webhook"

		// A private address is refused unless allow-listed.
		r := ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{"webhook": "http://10.1.2.3/hook"}}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if !strings.Contains(string(r.Body), `"webhook"`) {
			t.Fatalf("error does not name webhook: %s", r.Body)
		}
		// Another workspace cannot register on A's number.
		ts.do(req{Method: "POST", Path: "/api/workspace/" + b.WorkspaceID + "/whatsapp/numbers/15550001234/webhook", Token: b.APIKey,
			Body: map[string]any{"webhook": "http://127.0.0.1:1/hook"}}).want(t, http.StatusNotFound, "NOT_FOUND")

		url, got := receiver(t, 500)
		var ep struct{ ID, Secret, Webhook string }
		ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{"webhook": url}}).
			want(t, http.StatusOK, "").into(t, &ep)
		if !strings.HasPrefix(ep.Secret, "whsec_") || ep.Webhook != url {
			t.Fatalf("endpoint %+v", ep)
		}
		r = ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "")
		if strings.Contains(string(r.Body), ep.Secret) {
			t.Fatal("GET returns the secret")
		}

		ts.postDelivery(appSecretA, textDelivery(t, "wamid.F1", "5215512345678", "Lucía", "Hola, ¿tienen envío?", 1767225600))
		first := receive(t, got)  // answered 500
		second := receive(t, got) // retried, answered 200
		verifyStandardWebhook(t, ep.Secret, first)
		verifyStandardWebhook(t, ep.Secret, second)
		if first.Header.Get("webhook-id") != second.Header.Get("webhook-id") || string(first.Body) != string(second.Body) {
			t.Fatal("a retry changed webhook-id or body")
		}
		var body struct {
			RecipientPhone, Content string
			Reference               struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Metadata struct {
								PhoneNumberID string `json:"phone_number_id"`
							}
							Messages []struct {
								From string
								Text struct{ Body string }
							}
						}
					}
				}
			}
		}
		if err := json.Unmarshal(second.Body, &body); err != nil {
			t.Fatal(err)
		}
		v := body.Reference.Entry[0].Changes[0].Value
		if body.RecipientPhone != "5215512345678" || body.Content != "Hola, ¿tienen envío?" ||
			v.Metadata.PhoneNumberID != numberA || v.Messages[0].From != "5215512345678" || v.Messages[0].Text.Body != body.Content {
			t.Fatalf("forward %s", second.Body)
		}

		// The deliveries list shows both attempts once the second is recorded.
		deliveries := path + "/deliveries"
		var page struct {
			Data []struct {
				ID, Status string
				Attempts   []struct{ StatusCode *int }
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			ts.do(req{Method: "GET", Path: deliveries, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &page)
			if len(page.Data) == 1 && page.Data[0].Status == "delivered" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deliveries %+v", page)
			}
			time.Sleep(20 * time.Millisecond)
		}
		d := page.Data[0]
		if d.ID != first.Header.Get("webhook-id") || len(d.Attempts) != 2 || *d.Attempts[0].StatusCode != 500 || *d.Attempts[1].StatusCode != 200 {
			t.Fatalf("delivery %+v", d)
		}

		// Another workspace neither sees nor replays it.
		bPath := "/api/workspace/" + b.WorkspaceID + "/whatsapp/numbers/15550001234/webhook"
		ts.do(req{Method: "GET", Path: bPath + "/deliveries", Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "POST", Path: bPath + "/deliveries/" + d.ID + "/replay", Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")

		// Replay: same webhook-id and body, freshly signed.
		ts.do(req{Method: "POST", Path: deliveries + "/" + d.ID + "/replay", Token: a.APIKey}).want(t, http.StatusOK, "")
		third := receive(t, got)
		verifyStandardWebhook(t, ep.Secret, third)
		if third.Header.Get("webhook-id") != d.ID || string(third.Body) != string(second.Body) {
			t.Fatal("replay changed webhook-id or body")
		}

		// A duplicate delivery of the same message is not forwarded again;
		// after DELETE nothing more is forwarded.
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.F1", "5215512345678", "Lucía", "Hola, ¿tienen envío?", 1767225600))
		ts.do(req{Method: "DELETE", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "")
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.F2", "5215512345678", "Lucía", "¿Sigue ahí?", 1767225700))
		ts.waitInbox()
		if n := ts.count(`SELECT count(*) FROM webhook_deliveries`); n != 1 {
			t.Fatalf("%d deliveries, want 1", n)
		}
		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		select {
		case f := <-got:
			t.Fatalf("forwarded after DELETE: %s", f.Body)
		default:
		}
	})
}

// A receiver answering 410 Gone disables the webhook: the delivery fails
// and nothing is retried or replayed until the webhook is registered again.
func TestForwardingWebhook_Gone(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		numberID := ts.connectNumber(a, numberA, wabaA, "+1 555 000 1234", appSecretA)
		ts.startForwarding()
		path := "/api/workspace/" + a.WorkspaceID + "/whatsapp/numbers/" + numberID + "/webhook"
		url, got := receiver(t, http.StatusGone)
		ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{"webhook": url}}).want(t, http.StatusOK, "")
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.G1", "5215512345678", "Lucía", "Hola", 1767225600))
		f := receive(t, got)
		var ep struct {
			Disabled       bool
			DisabledReason *string
		}
		deadline := time.Now().Add(60 * time.Second)
		for !ep.Disabled {
			if time.Now().After(deadline) {
				t.Fatal("webhook not disabled after 410")
			}
			time.Sleep(20 * time.Millisecond)
			ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &ep)
		}
		if ep.DisabledReason == nil || !strings.Contains(*ep.DisabledReason, "410") {
			t.Fatalf("endpoint %+v", ep)
		}
		if n := ts.count(`SELECT count(*) FROM webhook_deliveries WHERE status = 'failed'`); n != 1 {
			t.Fatalf("%d failed deliveries, want 1", n)
		}
		ts.do(req{Method: "POST", Path: path + "/deliveries/" + f.Header.Get("webhook-id") + "/replay", Token: a.APIKey}).
			want(t, http.StatusConflict, "CONFLICT")
	})
}
