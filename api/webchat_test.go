package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// sessionJSON is the data of POST /widget/session.
type sessionJSON struct {
	Token, WorkspaceID, ContactID, ConversationID, Name string
	ExpiresAt                                           string
	Resumed                                             bool
}

// visitorMessageJSON is a VisitorMessage.
type visitorMessageJSON struct {
	ID, ConversationID, Direction, Type, Content, Timestamp string
	AnswerType                                              *string
}

// startVisitor starts a web chat session in the workspace.
func (ts *testServer) startVisitor(t *testing.T, workspaceID string, body map[string]any) sessionJSON {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["workspaceId"] = workspaceID
	var s sessionJSON
	ts.do(req{Method: "POST", Path: "/widget/session", Body: body}).want(t, 200, "").into(t, &s)
	if s.Token == "" || s.ContactID == "" || s.ConversationID == "" {
		t.Fatalf("session %+v", s)
	}
	return s
}

// visitorContact is the visitor's contact as the console reads it.
type visitorContactJSON struct {
	ID         string
	PlatformID int
	Name       string
	Email      *string
	IsRead     bool
	StageID    *string
}

func (ts *testServer) contactByID(t *testing.T, a tenant, id string) visitorContactJSON {
	t.Helper()
	var d struct {
		ContactID string
		Data      []visitorContactJSON
	}
	ts.do(req{Method: "GET", Path: "/api/contact/" + id, Token: a.APIKey}).want(t, 200, "").into(t, &d)
	if d.ContactID != id || len(d.Data) != 1 {
		t.Fatalf("contact %s: %+v", id, d)
	}
	return d.Data[0]
}

// withOutbox lets POST /api/message send, through an outbox whose Graph
// API is g.
func (ts *testServer) withOutbox(t *testing.T, g *graphServer) {
	t.Helper()
	outbox, err := messaging.NewOutbox(sqldb.NewOutboundService(ts.DB), sqldb.NewWhatsAppNumberService(ts.DB, testSecret),
		&whatsapp.Client{BaseURL: g.URL}, messaging.OutboxConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.API.Outbound = outbox
}

// visitorSays posts a visitor's message.
func (ts *testServer) visitorSays(t *testing.T, token, content string) visitorMessageJSON {
	t.Helper()
	var m visitorMessageJSON
	ts.do(req{Method: "POST", Path: "/widget/messages", Token: token, Body: map[string]any{"content": content}}).want(t, 200, "").into(t, &m)
	return m
}

// The widget's round trip over a real HTTP server: the script, a visitor's
// session (a web chat contact and conversation the console sees), their
// message stored as an inbound webchat message, and a reply from the
// console through POST /api/message, sent at once without calling Meta.
func TestWebchat_RoundTrip(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newSendServer(t, dsn, g, messaging.OutboxConfig{Wait: 2 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")

		// The script.
		r := ts.do(req{Method: "GET", Path: "/widget.js?workspaceId=" + a.WorkspaceID + "&Id=agent-7&zone=America/Lima"}).want(t, 200, "")
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || !bytes.Contains(r.Body, []byte("/widget/session")) ||
			!bytes.Contains(r.Body, []byte("EventSource")) || r.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("widget.js: %s, %q, %d bytes", ct, r.Header.Get("Cache-Control"), len(r.Body))
		}
		if bytes.Contains(r.Body, []byte("http://")) || bytes.Contains(r.Body, []byte("https://")) && !bytes.Contains(r.Body, []byte("https://YOUR-PLAZA")) {
			t.Errorf("widget.js names an external resource")
		}
		for path, status := range map[string]int{"/widget.js": 400, "/widget.js?workspaceId=no-such-workspace": 404} {
			r := ts.do(req{Method: "GET", Path: path})
			if r.Status != status || !bytes.HasPrefix(r.Body, []byte("/* Plaza web chat: ")) || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}

		// A preflight from another site is allowed.
		pre := ts.do(req{Method: "OPTIONS", Path: "/widget/session", Header: map[string]string{"Origin": "https://shop.example",
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}}).want(t, 200, "")
		if pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight headers %v", pre.Header)
		}

		// The visitor's session: a web chat contact and conversation.
		s := ts.startVisitor(t, a.WorkspaceID, map[string]any{"name": "Lucía", "agentId": "agent-7"})
		if s.Resumed || s.Name != "Lucía" || s.WorkspaceID != a.WorkspaceID {
			t.Errorf("session %+v", s)
		}
		c := ts.contactByID(t, a, s.ContactID)
		if c.PlatformID != plaza.PlatformWebchat || c.Name != "Lucía" || c.Email != nil || c.StageID == nil {
			t.Errorf("visitor contact %+v", c)
		}
		convs, _ := ts.conversations(a, "")
		if len(convs) != 1 || convs[0].ID != s.ConversationID || convs[0].Channel != "webchat" || convs[0].ContactID != s.ContactID {
			t.Fatalf("conversations %+v", convs)
		}

		// The visitor writes; CORS lets the page read the answer.
		resp := ts.do(req{Method: "POST", Path: "/widget/messages", Token: s.Token, Header: map[string]string{"Origin": "https://shop.example"},
			Body: map[string]any{"content": "¿Tienen envío a Lima?"}}).want(t, 200, "")
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("no CORS on the message's answer: %v", resp.Header)
		}
		var in visitorMessageJSON
		resp.into(t, &in)
		if in.Direction != "in" || in.Content != "¿Tienen envío a Lima?" || in.AnswerType != nil || in.ConversationID != s.ConversationID {
			t.Errorf("visitor message %+v", in)
		}
		stored := ts.messages(a, s.ConversationID, "")
		if len(stored) != 1 || stored[0].ID != in.ID || stored[0].Direction != "in" || stored[0].PlatformID != "1" || stored[0].PlatformType != "webchat" {
			t.Fatalf("stored messages %+v", stored)
		}
		if c = ts.contactByID(t, a, s.ContactID); c.IsRead {
			t.Errorf("the contact is read after the visitor wrote")
		}
		convs, _ = ts.conversations(a, "")
		if convs[0].LastMessage == nil || *convs[0].LastMessage != "¿Tienen envío a Lima?" || convs[0].LastMessageDate == nil {
			t.Errorf("conversation's last message %+v", convs[0])
		}

		// The console answers by contactId: no recipientPhone, no number
		// connected, no window; sent at once, Meta never called.
		var sent struct {
			ContactID string
			Message   struct {
				ID, Direction, Content, PlatformType, ConversationID string
				Status, AnswerType, MessageWhatsappID                *string
			}
		}
		ts.do(req{Method: "POST", Path: "/api/message", Token: a.APIKey,
			Body: map[string]any{"contactId": s.ContactID, "content": "Sí, en 48 horas."}}).want(t, 200, "").into(t, &sent)
		m := sent.Message
		if sent.ContactID != s.ContactID || m.Direction != "out" || m.Status == nil || *m.Status != "sent" || m.PlatformType != "webchat" ||
			m.ConversationID != s.ConversationID || m.AnswerType == nil || *m.AnswerType != "api" || m.MessageWhatsappID != nil {
			t.Errorf("reply %+v", sent)
		}
		if calls := g.sends(); len(calls) != 0 {
			t.Errorf("Meta was called %d times for a web chat reply", len(calls))
		}
		if n := ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'`); n != 0 {
			t.Errorf("%d send jobs queued for a web chat reply", n)
		}

		// The visitor reads the conversation: theirs, then the reply.
		var history []visitorMessageJSON
		ts.do(req{Method: "GET", Path: "/widget/messages", Token: s.Token}).want(t, 200, "").into(t, &history)
		if len(history) != 2 || history[0].ID != in.ID || history[1].ID != m.ID || history[1].Direction != "out" ||
			history[1].AnswerType == nil || *history[1].AnswerType != "api" {
			t.Errorf("history %+v", history)
		}
		// Resuming keeps the visitor.
		again := ts.startVisitor(t, a.WorkspaceID, map[string]any{"token": s.Token})
		if !again.Resumed || again.ContactID != s.ContactID || again.ConversationID != s.ConversationID {
			t.Errorf("resumed %+v", again)
		}
		ts.do(req{Method: "GET", Path: "/widget/messages?limit=1", Token: again.Token}).want(t, 200, "").into(t, &history)
		if len(history) != 1 || history[0].ID != m.ID {
			t.Errorf("last page of one %+v", history)
		}
	})
}

// A token is the visitor's only key: forged or altered tokens are refused,
// a token of one workspace reads nothing of another, and the console of
// another workspace cannot reach the visitor.
func TestWebchat_Tokens(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		ts.withOutbox(t, newGraphServer(t))
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Other", "otto@other.test")
		sa := ts.startVisitor(t, a.WorkspaceID, nil)
		sb := ts.startVisitor(t, b.WorkspaceID, nil)
		ts.visitorSays(t, sa.Token, "hola desde A")
		ts.visitorSays(t, sb.Token, "hola desde B")

		head, _, _ := strings.Cut(sa.Token[4:], ".")
		_, sigB, _ := strings.Cut(sb.Token[4:], ".")
		for name, token := range map[string]string{
			"forged":               "wc1." + head + ".AAAA",
			"another signature":    "wc1." + head + "." + sigB,
			"an API key":           a.APIKey,
			"altered workspace":    alterToken(t, sa.Token, a.WorkspaceID, b.WorkspaceID),
			"altered conversation": alterToken(t, sa.Token, sa.ConversationID, sb.ConversationID),
		} {
			ts.do(req{Method: "GET", Path: "/widget/messages", Token: token}).want(t, 401, "UNAUTHORIZED")
			ts.do(req{Method: "POST", Path: "/widget/messages", Token: token, Body: map[string]any{"content": "x"}}).want(t, 401, "UNAUTHORIZED")
			ts.do(req{Method: "GET", Path: "/widget/events?token=" + token}).want(t, 401, "UNAUTHORIZED")
			_ = name
		}
		ts.do(req{Method: "GET", Path: "/widget/messages"}).want(t, 401, "UNAUTHORIZED")
		// A's token does not resume in B.
		ts.do(req{Method: "POST", Path: "/widget/session", Body: map[string]any{"workspaceId": b.WorkspaceID, "token": sa.Token}}).want(t, 401, "UNAUTHORIZED")
		// Each token reads its own conversation only.
		var history []visitorMessageJSON
		ts.do(req{Method: "GET", Path: "/widget/messages", Header: map[string]string{"X-Visitor-Token": sb.Token}}).want(t, 200, "").into(t, &history)
		if len(history) != 1 || history[0].Content != "hola desde B" {
			t.Errorf("B's visitor reads %+v", history)
		}
		// B's console cannot write to A's visitor, nor see A's contact.
		r := ts.do(req{Method: "POST", Path: "/api/message", Token: b.APIKey, Body: map[string]any{"contactId": sa.ContactID, "content": "hi"}}).want(t, 400, "VALIDATION_FAILED")
		if fmt.Sprint(r.fields()) != "[contactId]" {
			t.Errorf("fields %v", r.fields())
		}
		ts.do(req{Method: "GET", Path: "/api/contact/" + sa.ContactID, Token: b.APIKey}).want(t, 404, "NOT_FOUND")
		if n := ts.count(`SELECT count(*) FROM messages WHERE conversation_id = $1`, sa.ConversationID); n != 1 {
			t.Errorf("A's conversation holds %d messages, want 1", n)
		}
		// A deleted contact's token ends.
		ts.do(req{Method: "POST", Path: "/api/contact/delete-batch", Token: a.APIKey, Body: map[string]any{"contactIds": []string{sa.ContactID}}}).want(t, 200, "")
		ts.do(req{Method: "GET", Path: "/widget/messages", Token: sa.Token}).want(t, 401, "UNAUTHORIZED")
	})
}

// alterToken swaps one id in a token's payload and keeps its signature.
func alterToken(t *testing.T, token, from, to string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(from), []byte(to), 1))
	return strings.Join(parts, ".")
}

// Bad input is named, nothing is written, and each visitor endpoint is
// rate-limited per client address with 429 and Retry-After.
func TestWebchat_InputAndRateLimit(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		ts.withOutbox(t, newGraphServer(t))
		a := ts.bootstrap("Acme", "ana@acme.test")
		ws := ts.API.Webchat.(*sqldb.WebchatService)
		contacts := func() int { return ts.count(`SELECT count(*) FROM contacts WHERE workspace_id = $1`, a.WorkspaceID) }
		for _, c := range []struct {
			body   any
			fields string
		}{
			{map[string]any{}, "[workspaceId]"},
			{map[string]any{"workspaceId": a.WorkspaceID, "email": "not-an-email", "name": strings.Repeat("x", 101)}, "[name email]"},
			{map[string]any{"workspaceId": 7}, "[workspaceId]"},
			{"[1]", "[body]"},
		} {
			r := ts.do(req{Method: "POST", Path: "/widget/session", Body: c.body}).want(t, 400, "VALIDATION_FAILED")
			if fmt.Sprint(r.fields()) != c.fields {
				t.Errorf("%v: fields %v, want %s", c.body, r.fields(), c.fields)
			}
		}
		ts.do(req{Method: "POST", Path: "/widget/session", Body: map[string]any{"workspaceId": "no-such-workspace"}}).want(t, 404, "NOT_FOUND")
		if n := contacts(); n != 0 {
			t.Fatalf("%d contacts written by bad sessions", n)
		}

		// An e-mail that is a contact's already is not copied onto the visitor.
		ts.newContact(t, a, "lucia@example.com", nil)
		s := ts.startVisitor(t, a.WorkspaceID, map[string]any{"email": "Lucia@Example.com"})
		if c := ts.contactByID(t, a, s.ContactID); c.Email != nil {
			t.Errorf("the visitor took another contact's e-mail %q", *c.Email)
		}
		if n := ts.count(`SELECT count(*) FROM contact_activities WHERE contact_id = $1 AND content LIKE '%Lucia@Example.com%'`, s.ContactID); n != 1 {
			t.Errorf("the e-mail was not noted on the visitor's activities")
		}
		fresh := ts.startVisitor(t, a.WorkspaceID, map[string]any{"email": "new@example.com"})
		if c := ts.contactByID(t, a, fresh.ContactID); c.Email == nil || *c.Email != "new@example.com" {
			t.Errorf("visitor's own e-mail %v", c.Email)
		}

		for _, body := range []any{map[string]any{}, map[string]any{"content": "  "}, map[string]any{"content": strings.Repeat("a", 4097)}, map[string]any{"content": 5}} {
			r := ts.do(req{Method: "POST", Path: "/widget/messages", Token: s.Token, Body: body}).want(t, 400, "VALIDATION_FAILED")
			if fmt.Sprint(r.fields()) != "[content]" {
				t.Errorf("%v: fields %v", body, r.fields())
			}
		}
		ts.do(req{Method: "POST", Path: "/widget/messages", Token: s.Token,
			Body: `{"content": "` + strings.Repeat("a", 40<<10) + `"}`}).want(t, 413, "PAYLOAD_TOO_LARGE")
		ts.do(req{Method: "GET", Path: "/widget/messages?limit=0", Token: s.Token}).want(t, 400, "VALIDATION_FAILED")
		ts.do(req{Method: "GET", Path: "/widget/messages?before=nope", Token: s.Token}).want(t, 400, "VALIDATION_FAILED")
		if n := ts.count(`SELECT count(*) FROM messages WHERE workspace_id = $1`, a.WorkspaceID); n != 0 {
			t.Fatalf("%d messages written by bad posts", n)
		}
		// POST /api/message names recipientPhone when nothing names a web chat contact.
		r := ts.do(req{Method: "POST", Path: "/api/message", Token: a.APIKey, Body: map[string]any{"content": "hi"}})
		if r.Status != 400 || fmt.Sprint(r.fields()) != "[recipientPhone]" {
			t.Errorf("send without recipient: %d %v", r.Status, r.fields())
		}

		// Rate limits, per client address (the test client's).
		// Every start so far counted, the refused one included.
		started := ts.count(`SELECT count FROM webchat_rate WHERE key LIKE 'session:%'`)
		if started != 3 {
			t.Errorf("%d session starts counted, want 3", started)
		}
		ws.Limits = plaza.WebchatLimits{Sessions: started + 1, SessionWindow: time.Hour, Messages: 2, MessageWindow: time.Minute}
		ts.do(req{Method: "POST", Path: "/widget/session", Body: map[string]any{"workspaceId": a.WorkspaceID}}).want(t, 200, "")
		r = ts.do(req{Method: "POST", Path: "/widget/session", Body: map[string]any{"workspaceId": a.WorkspaceID}}).want(t, 429, "RATE_LIMITED")
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("429 headers %v", r.Header)
		}
		ts.visitorSays(t, s.Token, "uno")
		ts.visitorSays(t, s.Token, "dos")
		r = ts.do(req{Method: "POST", Path: "/widget/messages", Token: s.Token, Body: map[string]any{"content": "tres"}}).want(t, 429, "RATE_LIMITED")
		if ra := r.Header.Get("Retry-After"); ra == "" {
			t.Errorf("no Retry-After on 429")
		}
		if n := ts.count(`SELECT count(*) FROM messages WHERE conversation_id = $1`, s.ConversationID); n != 2 {
			t.Errorf("%d messages stored, want 2", n)
		}
	})
}

// readSSE reads server-sent events from body into a channel, one
// map of fields per event (comments skipped).
func readSSE(body io.Reader) <-chan map[string]string {
	out := make(chan map[string]string, 16)
	go func() {
		defer close(out)
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 4096)
		ev := map[string]string{}
		for {
			n, err := body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				line := string(buf[:i])
				buf = buf[i+1:]
				switch {
				case line == "":
					if len(ev) > 0 {
						out <- ev
						ev = map[string]string{}
					}
				case strings.HasPrefix(line, ":"):
				default:
					k, v, _ := strings.Cut(line, ":")
					ev[k] = strings.TrimPrefix(v, " ")
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

var _ = json.Marshal
var _ = http.MethodGet
