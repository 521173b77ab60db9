package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// visitorStream opens the visitor's event stream, as EventSource does
// (the token in the query, Last-Event-ID when resuming), and returns its
// events; the stream closes when the test ends or close is called.
func (ts *testServer) visitorStream(t *testing.T, token, lastEventID string) (events <-chan map[string]string, close func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hr, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/widget/events?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Origin", "https://shop.example")
	hr.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		hr.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	checkOpenAPI(t, hr, nil, resp, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	stop := func() { cancel(); resp.Body.Close() }
	t.Cleanup(stop)
	return readSSE(resp.Body), stop
}

// nextMessage waits for the stream's next message event, skipping the
// id-only events (what the visitor does not see of their conversation).
func nextMessage(t *testing.T, events <-chan map[string]string) (id string, m map[string]any) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if _, ok := ev["retry"]; ok && len(ev) == 1 {
				continue // the reconnection delay, first thing on the stream
			}
			if ev["event"] != "message" {
				if ev["id"] == "" || len(ev) != 1 {
					t.Errorf("an event the visitor should not see: %v", ev)
				}
				continue
			}
			if err := json.Unmarshal([]byte(ev["data"]), &m); err != nil {
				t.Fatalf("event data %q: %v", ev["data"], err)
			}
			return ev["id"], m
		case <-deadline:
			t.Fatal("no message on the visitor's stream within 30 seconds")
		}
	}
}

// A visitor's stream carries their own messages and the console's
// replies, in the visitor's view only, and nothing of another visitor;
// reconnecting with Last-Event-ID brings what was missed.
func TestWebchat_Stream(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ts := newSendServer(t, dsn, newGraphServer(t), messaging.OutboxConfig{})
		broker := sqldb.NewEventBroker(ts.DB, nil)
		if err := broker.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(broker.Stop)
		ts.API.Events = broker
		a := ts.bootstrap("Acme", "ana@acme.test")
		va := ts.startVisitor(t, a.WorkspaceID, map[string]any{"name": "Lucía"})
		vb := ts.startVisitor(t, a.WorkspaceID, map[string]any{"name": "Bruno"})

		events, stop := ts.visitorStream(t, va.Token, "")
		ts.visitorSays(t, vb.Token, "mensaje de otro visitante")
		own := ts.visitorSays(t, va.Token, "hola")
		_, m := nextMessage(t, events)
		if m["id"] != own.ID || m["direction"] != "in" || m["content"] != "hola" {
			t.Fatalf("first message on the stream %v, want the visitor's own", m)
		}
		ts.do(req{Method: "POST", Path: "/api/message", Token: a.APIKey,
			Body: map[string]any{"contactId": va.ContactID, "content": "¡Hola, Lucía!"}}).want(t, 200, "")
		lastID, m := nextMessage(t, events)
		if m["direction"] != "out" || m["content"] != "¡Hola, Lucía!" || m["answerType"] != "api" || m["conversationId"] != va.ConversationID {
			t.Fatalf("reply on the stream %v", m)
		}
		want := []string{"answerType", "content", "conversationId", "direction", "id", "timestamp", "type"}
		if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
			t.Errorf("the visitor sees %v, want only %v", got, want)
		}

		// Away, a reply comes; back, the stream resumes after the last id.
		stop()
		ts.do(req{Method: "POST", Path: "/api/message", Token: a.APIKey,
			Body: map[string]any{"contactId": va.ContactID, "content": "¿Sigues ahí?"}}).want(t, 200, "")
		events, _ = ts.visitorStream(t, va.Token, lastID)
		if _, m = nextMessage(t, events); m["content"] != "¿Sigues ahí?" {
			t.Fatalf("after resuming %v, want the missed reply", m)
		}
		// B's stream starts now and sees B's next message only.
		eventsB, _ := ts.visitorStream(t, vb.Token, "")
		ts.visitorSays(t, va.Token, "de A otra vez")
		ts.visitorSays(t, vb.Token, "de B")
		if _, m = nextMessage(t, eventsB); m["content"] != "de B" {
			t.Errorf("B's stream got %v", m)
		}
	})
}
