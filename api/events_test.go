package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// withEvents gives the test server an event broker, as plaza serve does.
func (ts *testServer) withEvents() *testServer {
	ts.t.Helper()
	b := sqldb.NewEventBroker(ts.DB, nil)
	if err := b.Start(context.Background()); err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(b.Stop)
	ts.API.Events = b
	return ts
}

// sseStream is an open GET /api/events.
type sseStream struct {
	t      *testing.T
	req    *http.Request
	resp   *http.Response
	cancel context.CancelFunc
	events chan plaza.Event
	mu     sync.Mutex
	raw    bytes.Buffer
	done   chan struct{}
}

// openEvents opens GET /api/events?query; it must answer 200.
func (ts *testServer) openEvents(a tenant, query string, header map[string]string) *sseStream {
	ts.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hr, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events?"+query, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+a.APIKey)
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		cancel()
		ts.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		ts.t.Fatalf("GET /api/events?%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{t: ts.t, req: hr, resp: resp, cancel: cancel, events: make(chan plaza.Event, 100), done: make(chan struct{})}
	go s.read()
	ts.t.Cleanup(s.close)
	return s
}

func (s *sseStream) read() {
	defer close(s.events)
	defer close(s.done)
	r := bufio.NewReader(s.resp.Body)
	fields := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		s.mu.Lock()
		s.raw.WriteString(line)
		s.mu.Unlock()
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line != "" {
			if !strings.HasPrefix(line, ":") {
				k, v, _ := strings.Cut(line, ": ")
				fields[k] = v
			}
			continue
		}
		if fields["data"] != "" {
			var e plaza.Event
			if err := json.Unmarshal([]byte(fields["data"]), &e); err != nil {
				s.t.Errorf("event data %s: %v", fields["data"], err)
				return
			}
			s.events <- e
		}
		fields = map[string]string{}
	}
}

// next returns the stream's next event.
func (s *sseStream) next() plaza.Event {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			s.t.Fatal("the event stream ended")
		}
		return e
	case <-time.After(time.Minute):
		s.t.Fatal("no event within a minute")
	}
	return plaza.Event{}
}

// text is what the stream sent so far.
func (s *sseStream) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// close ends the stream and checks what it sent against the OpenAPI
// document.
func (s *sseStream) close() {
	s.cancel()
	<-s.done
	s.resp.Body.Close()
	raw := s.text()
	if i := strings.LastIndex(raw, "\n\n"); i >= 0 {
		raw = raw[:i+2]
	}
	checkOpenAPI(s.t, s.req, nil, s.resp, []byte(raw))
}

// message is an event's data as a message.
func eventMessage(t *testing.T, e plaza.Event) messageJSON {
	t.Helper()
	var m messageJSON
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("event %d data %s: %v", e.ID, e.Data, err)
	}
	return m
}

// TestEvents: an inbound WhatsApp message reaches GET /api/events as
// message.created and conversation.updated; a client resuming from an id
// gets what came after it; another workspace's events never reach it.
func TestEvents(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		ts.withEvents()
		ts.API.EventHeartbeat = 20 * time.Millisecond
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.connectNumber(b, numberB, wabaB, "15550005678", appSecretB)
		ts.startInbox()
		stream := ts.openEvents(a, "", nil)
		betaStream := ts.openEvents(b, "", map[string]string{"x-workspace-id": b.WorkspaceID})

		ts.postDelivery(appSecretA, fixture(t, "inbound/text.json"))
		created := stream.next()
		m := eventMessage(t, created)
		if created.Type != plaza.EventMessageCreated || created.WorkspaceID != a.WorkspaceID ||
			m.Content != "Hola, ¿tienen el sofá Oslo en color azul?" || m.Direction != "in" ||
			created.ConversationID != m.ConversationID || created.ContactID != m.ContactID {
			t.Fatalf("first event: %+v", created)
		}
		updated := stream.next()
		var cv conversationJSON
		json.Unmarshal(updated.Data, &cv)
		if updated.Type != plaza.EventConversationUpdated || updated.ID <= created.ID || cv.ID != m.ConversationID ||
			cv.LastMessage == nil || *cv.LastMessage != m.Content {
			t.Fatalf("second event: %+v", updated)
		}
		// What the event carries is what the API reads.
		msgs := ts.messages(a, m.ConversationID, "")
		if len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Timestamp != m.Timestamp || msgs[0].From != m.From {
			t.Fatalf("messages read %+v, event %+v", msgs, m)
		}

		// Resuming after the first event, by Last-Event-ID or ?after=,
		// delivers the second, then what comes next.
		byHeader := ts.openEvents(a, "after=1", map[string]string{"Last-Event-ID": itoa(created.ID)})
		byQuery := ts.openEvents(a, "after="+itoa(created.ID)+"&workspaceId="+a.WorkspaceID, nil)
		conv := ts.openEvents(a, "conversationId="+m.ConversationID+"&after="+itoa(created.ID), nil)
		for _, s := range []*sseStream{byHeader, byQuery} {
			if e := s.next(); e.ID != updated.ID {
				t.Fatalf("resumed with event %d %s, want %d", e.ID, e.Type, updated.ID)
			}
		}
		if e := conv.next(); e.ID != updated.ID {
			t.Fatalf("the conversation's stream began with %d, want %d", e.ID, updated.ID)
		}
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.second", "5215512345678", "Lucía", "¿Y en verde?", time.Now().Unix()))
		for _, s := range []*sseStream{stream, byHeader, byQuery} {
			if e := s.next(); eventMessage(t, e).Content != "¿Y en verde?" {
				t.Fatalf("next event %s %s", e.Type, e.Data)
			}
		}

		// Beta's stream got none of Acme's events: its first is its own.
		beta := messagesDelivery(t, numberB, wabaB, "15550005678", map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Bruno"}, "wa_id": "5491155550000"}},
			"messages": []any{map[string]any{"from": "5491155550000", "id": "wamid.beta", "timestamp": itoa(time.Now().Unix()),
				"type": "text", "text": map[string]any{"body": "Hola Beta"}}},
		})
		ts.postDelivery(appSecretB, beta)
		if e := betaStream.next(); e.WorkspaceID != b.WorkspaceID || eventMessage(t, e).Content != "Hola Beta" {
			t.Fatalf("Beta's first event: %s %s", e.WorkspaceID, e.Data)
		}
		if strings.Contains(betaStream.text(), a.WorkspaceID) {
			t.Fatalf("Beta's stream mentions Acme")
		}
		// The idle stream's heartbeat (every 20 ms here) comes in time.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stream.text(), ": heartbeat\n\n"); {
			if time.Now().After(deadline) {
				t.Fatalf("no heartbeat in %q", stream.text())
			}
			time.Sleep(5 * time.Millisecond)
		}

		// Refused: another workspace, another workspace's conversation,
		// no credentials, a bad id.
		ts.do(req{Method: "GET", Path: "/api/events", Token: a.APIKey, Workspace: b.WorkspaceID}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/events?workspaceId=" + b.WorkspaceID, Token: a.APIKey}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/events?conversationId=" + m.ConversationID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/events"}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		r := ts.do(req{Method: "GET", Path: "/api/events?after=-1", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "after" {
			t.Fatalf("fields %v", f)
		}
		r = ts.do(req{Method: "GET", Path: "/api/events", Token: a.APIKey, Header: map[string]string{"Last-Event-ID": "x"}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "Last-Event-ID" {
			t.Fatalf("fields %v", f)
		}
	})
}

// TestEvents_TwoReplicas: two servers on two handles on one database (a
// PostgreSQL schema, a SQLite file); a message stored through one reaches
// a client of the other.
func TestEvents_TwoReplicas(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		one, two := newTestServer(t, dsn), newTestServer(t, dsn)
		two.withEvents()
		a := one.bootstrap("Acme", "ana@acme.test")
		one.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		one.startInbox()
		stream := two.openEvents(a, "", nil)
		for i, body := range []string{"uno", "dos"} {
			one.postDelivery(appSecretA, textDelivery(t, "wamid.r"+itoa(int64(i)), "5215512345678", "Lucía", body, time.Now().Unix()))
			e := stream.next()
			if e.Type != plaza.EventMessageCreated || eventMessage(t, e).Content != body {
				t.Fatalf("event %s %s, want the message %q", e.Type, e.Data, body)
			}
			if e := stream.next(); e.Type != plaza.EventConversationUpdated {
				t.Fatalf("event %s, want conversation.updated", e.Type)
			}
		}
	})
}

// TestEvents_CloseStreams: CloseStreams (plaza serve's shutdown) ends the
// streams under way.
func TestEvents_CloseStreams(t *testing.T) {
	ts := newTestServer(t, sqldbtest.DSN(t, sqldb.SQLite)).withEvents()
	a := ts.bootstrap("Acme", "ana@acme.test")
	stream := ts.openEvents(a, "", nil)
	ts.API.CloseStreams()
	select {
	case _, ok := <-stream.events:
		if ok {
			t.Fatal("an event after CloseStreams")
		}
	case <-time.After(time.Minute):
		t.Fatal("the stream did not end")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
