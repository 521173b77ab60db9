package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/whatsapp"
)

// startInbox starts the drainer of the webhook's inbox, as plaza serve
// does. Until it is called the deliveries wait in the inbox.
func (ts *testServer) startInbox() {
	ts.t.Helper()
	startDrainer(ts.t, ts.DB, slog.New(slog.NewJSONHandler(ts.Logs, nil)))
}

// waitInbox waits until every stored delivery is processed, failing at
// once if one failed.
func (ts *testServer) waitInbox() {
	ts.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ts.count(`SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL`) == 0 {
			return
		}
		var failed int
		var errs string
		ts.DB.QueryRowForTest(context.Background(), `SELECT count(*), COALESCE(MAX(last_error), '') FROM whatsapp_inbox
			WHERE last_error IS NOT NULL`).Scan(&failed, &errs)
		if failed > 0 {
			ts.t.Fatalf("%d inbox deliveries failed: %s", failed, errs)
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("deliveries still unprocessed after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// postDelivery posts a webhook delivery signed with secret; it must be
// accepted.
func (ts *testServer) postDelivery(secret string, body []byte) {
	ts.t.Helper()
	ts.do(req{Method: "POST", Path: "/webhooks/whatsapp", Header: map[string]string{"X-Hub-Signature-256": sign(secret, body)},
		Body: string(body)}).want(ts.t, http.StatusOK, "")
}

// messagesDelivery is a "messages" delivery for a number, with value's
// other keys (messages, contacts, statuses) as given.
func messagesDelivery(t *testing.T, phoneNumberID, wabaID, display string, value map[string]any) []byte {
	t.Helper()
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": display, "phone_number_id": phoneNumberID}
	b, err := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{
		map[string]any{"id": wabaID, "changes": []any{map[string]any{"field": "messages", "value": value}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// textDelivery is an inbound text message to number A.
func textDelivery(t *testing.T, wamid, from, name, body string, at int64) []byte {
	return messagesDelivery(t, numberA, wabaA, "15550001234", map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": name}, "wa_id": from}},
		"messages": []any{map[string]any{"from": from, "id": wamid, "timestamp": fmt.Sprint(at), "type": "text",
			"text": map[string]any{"body": body}}},
	})
}

// statusDelivery reports statuses of outbound messages sent from number A.
func statusDelivery(t *testing.T, statuses ...map[string]any) []byte {
	list := []any{}
	for _, s := range statuses {
		list = append(list, s)
	}
	return messagesDelivery(t, numberA, wabaA, "15550001234", map[string]any{"statuses": list})
}

type conversationJSON struct {
	ID, ContactID, WorkspaceID, PlatformSenderName, WorkspaceName, Channel string
	InternalWhatsappNumber, PlatformSenderID, PlatformSenderPhone          *string
	LastMessage, LastMessageDate, WindowExpiresAt, TemplateCode            *string
}

type messageJSON struct {
	ID, ContactID, ConversationID, WorkspaceID, Content, PlatformID, PlatformType string
	Type, From, Timestamp, Direction                                              string
	MessageWhatsappID, RecipientPhone, Status                                     *string
	Error                                                                         *struct {
		Code           int
		Title, Details string
	}
	Payload json.RawMessage
}

func (ts *testServer) conversations(a tenant, query string) (list []conversationJSON, token *string) {
	ts.t.Helper()
	var page struct {
		WorkspaceID          string
		NewContinuationToken *string
		Data                 []conversationJSON
	}
	ts.do(req{Method: "GET", Path: "/api/message/conversation?" + query, Token: a.APIKey}).want(ts.t, http.StatusOK, "").into(ts.t, &page)
	if page.WorkspaceID != a.WorkspaceID {
		ts.t.Fatalf("workspaceId %q", page.WorkspaceID)
	}
	return page.Data, page.NewContinuationToken
}

func (ts *testServer) messages(a tenant, conversationID, extra string) []messageJSON {
	ts.t.Helper()
	var list []messageJSON
	ts.do(req{Method: "GET", Path: "/api/message/get-all?conversationId=" + url.QueryEscape(conversationID) + extra, Token: a.APIKey}).
		want(ts.t, http.StatusOK, "").into(ts.t, &list)
	return list
}

func (ts *testServer) contacts(a tenant) []contactJSON {
	ts.t.Helper()
	var page struct{ Data []contactJSON }
	ts.do(req{Method: "GET", Path: "/api/contact", Token: a.APIKey}).want(ts.t, http.StatusOK, "").into(ts.t, &page)
	return page.Data
}

// Every inbound fixture lands as one contact, one conversation and one
// message per wamid, with its summary, its payload as Meta sent it and
// its window; the webhook answered before any of it was done.
func TestInbound_Messages(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "+1 555 000 1234", appSecretA)
		files, err := filepath.Glob("../whatsapp/testdata/inbound/*.json")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]whatsapp.Message{} // by wamid
		for _, f := range files {
			if strings.HasSuffix(f, "two_numbers_one_delivery.json") {
				continue
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ts.postDelivery(appSecretA, body)
			note, err := whatsapp.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range note.Entry[0].Changes[0].Messages.Messages {
				want[m.ID] = m
			}
		}
		// Accepted and stored, not yet processed: the job does the work.
		if n := ts.count(`SELECT count(*) FROM messages`); n != 0 {
			t.Fatalf("%d messages stored before the queue worked", n)
		}
		ts.startInbox()
		ts.waitInbox()
		// Meta delivers again: nothing more is stored.
		ts.postDelivery(appSecretA, fixture(t, "inbound/text.json"))
		ts.postDelivery(appSecretA, fixture(t, "inbound/multiple_messages_one_delivery.json"))
		ts.waitInbox()

		contacts := ts.contacts(a)
		if len(contacts) != 1 {
			t.Fatalf("%d contacts, want 1", len(contacts))
		}
		c := contacts[0]
		var full struct {
			Data []struct {
				PlatformSenderName, LastMessage, LastMessageDate string
				PlatformSenderID                                 *string
				IsManuallyAdded                                  bool
			}
		}
		ts.do(req{Method: "GET", Path: "/api/contact/" + c.ID, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &full)
		var latest whatsapp.Message
		for _, m := range want {
			if m.Timestamp > latest.Timestamp {
				latest = m
			}
		}
		got := full.Data[0]
		if c.Name != "Lucía Fernández" || got.PlatformSenderName != "Lucía Fernández" || c.PlatformID != 2 ||
			got.IsManuallyAdded || c.IsRead || orEmpty(c.PlatformSenderPhone) != "15557654321" ||
			orEmpty(c.InternalWhatsappNumber) != "15550001234" || c.StageID == nil || orEmpty(got.PlatformSenderID) != "15557654321" {
			t.Fatalf("contact: %+v %+v", c, got)
		}
		if got.LastMessage != whatsapp.Summary(latest) || got.LastMessageDate != latest.Time().Format("2006-01-02T15:04:05.0000000Z") {
			t.Fatalf("contact's last message %q at %s; want %q at %s", got.LastMessage, got.LastMessageDate, whatsapp.Summary(latest), latest.Time())
		}
		// The new contact entered the default stage, by the number's doing.
		hist := ts.history(t, a, "contact", c.ID)
		if len(hist) != 1 || hist[0].Actor.Type != "whatsapp" || orEmpty(hist[0].ToStageID) != *c.StageID {
			t.Fatalf("history: %+v", hist)
		}

		list, token := ts.conversations(a, "")
		if len(list) != 1 || token != nil {
			t.Fatalf("%d conversations, token %v", len(list), token)
		}
		cv := list[0]
		windowEnd := latest.Time().Add(24 * time.Hour).Format("2006-01-02T15:04:05.0000000Z")
		if cv.ContactID != c.ID || cv.Channel != "whatsapp" || orEmpty(cv.InternalWhatsappNumber) != "15550001234" ||
			orEmpty(cv.PlatformSenderPhone) != "15557654321" || cv.PlatformSenderName != "Lucía Fernández" || cv.WorkspaceName != "Acme" ||
			orEmpty(cv.LastMessage) != whatsapp.Summary(latest) || orEmpty(cv.WindowExpiresAt) != windowEnd {
			t.Fatalf("conversation: %+v", cv)
		}
		alias, _ := ts.conversations(a, "")
		ts.do(req{Method: "GET", Path: "/api/conversation", Token: a.APIKey}).want(t, http.StatusOK, "")
		if diff := cmp.Diff(list, alias); diff != "" {
			t.Fatalf("alias (-want +got):\n%s", diff)
		}

		msgs := ts.messages(a, cv.ID, "")
		if len(msgs) != len(want) {
			t.Fatalf("%d messages, want %d", len(msgs), len(want))
		}
		for _, m := range msgs {
			w, ok := want[orEmpty(m.MessageWhatsappID)]
			if !ok {
				t.Fatalf("unexpected message %+v", m)
			}
			var payload, raw any
			json.Unmarshal(m.Payload, &payload)
			json.Unmarshal(w.Raw, &raw)
			if m.Content != whatsapp.Summary(w) || m.Type != w.Type || m.Direction != "in" || m.From != "15557654321" ||
				orEmpty(m.RecipientPhone) != "15550001234" || m.PlatformID != "2" || m.PlatformType != "whatsapp" ||
				m.ContactID != c.ID || m.ConversationID != cv.ID || m.Status != nil || m.Error != nil ||
				m.Timestamp != w.Time().Format("2006-01-02T15:04:05.0000000Z") || !cmp.Equal(payload, raw) {
				t.Errorf("message %s: %+v", w.ID, m)
			}
		}
		// Spot checks of the summaries, as an agent's inbox shows them.
		byID := map[string]string{}
		for _, m := range msgs {
			byID[orEmpty(m.MessageWhatsappID)] = m.Content
		}
		for wamid, content := range map[string]string{
			"wamid.TEST_IN_TEXT_0001":        "Hola, ¿tienen el sofá Oslo en color azul?",
			"wamid.TEST_IN_UNSUPPORTED_0001": "[unsupported]",
			"wamid.TEST_IN_BURST_0002":       "¿hacen envíos a Arequipa?",
		} {
			if byID[wamid] != content {
				t.Errorf("%s: content %q, want %q", wamid, byID[wamid], content)
			}
		}

		// Search, and its golden shape.
		r := ts.do(req{Method: "GET", Path: "/api/message/get-query-messages?query=OSLO", Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "message_search", r.Body)
		var found []messageJSON
		r.into(t, &found)
		if len(found) != 1 || orEmpty(found[0].MessageWhatsappID) != "wamid.TEST_IN_TEXT_0001" {
			t.Fatalf("search: %+v", found)
		}
		var none []messageJSON
		ts.do(req{Method: "GET", Path: "/api/message/get-query-messages?query=oslo&contactId=other", Token: a.APIKey}).
			want(t, http.StatusOK, "").into(t, &none)
		if len(none) != 0 {
			t.Fatalf("search of another contact: %+v", none)
		}
		r = ts.do(req{Method: "GET", Path: "/api/message/conversation", Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "conversation_list", r.Body)
	})
}

// One person is one contact, whatever variant of the number Meta sends
// and whatever variant it was typed in by hand.
func TestInbound_OneContactPerPerson(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.startInbox()

		// Typed by hand without Mexico's mobile 1; WhatsApp's wa_id has it.
		var created struct{ ID string }
		ts.do(req{Method: "POST", Path: "/api/contact", Token: a.APIKey, Body: map[string]any{
			"name": "Mariana", "platformId": 2, "phone": "+52 55 1234 5678"}}).want(t, http.StatusOK, "").into(t, &created)
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.MX_1", "5215512345678", "Mari", "Hola desde México", 1795791600))
		// Brazil's ninth digit: one customer, both forms.
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.BR_1", "5511987654321", "João", "Olá", 1795791600))
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.BR_2", "551187654321", "João", "Tudo bem?", 1795791660))
		ts.waitInbox()

		contacts := ts.contacts(a)
		if len(contacts) != 2 {
			t.Fatalf("%d contacts, want 2: %+v", len(contacts), contacts)
		}
		var mariana struct {
			Data []struct {
				ID, Name, PlatformSenderName string
				LastMessage                  *string
				IsRead, IsManuallyAdded      bool
			}
		}
		ts.do(req{Method: "GET", Path: "/api/contact/" + created.ID, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &mariana)
		if m := mariana.Data[0]; m.Name != "Mariana" || m.PlatformSenderName != "Mari" || orEmpty(m.LastMessage) != "Hola desde México" || m.IsRead || !m.IsManuallyAdded {
			t.Fatalf("Mariana: %+v", m)
		}
		list, _ := ts.conversations(a, "")
		if len(list) != 2 {
			t.Fatalf("%d conversations", len(list))
		}
		br, _ := ts.conversations(a, "q=joão")
		if len(br) != 1 || orEmpty(br[0].LastMessage) != "Tudo bem?" {
			t.Fatalf("João's conversations: %+v", br)
		}
		if msgs := ts.messages(a, br[0].ID, ""); len(msgs) != 2 || msgs[0].Content != "Olá" || msgs[1].Content != "Tudo bem?" {
			t.Fatalf("João's messages: %+v", msgs)
		}
		if byPhone, _ := ts.conversations(a, "q="+url.QueryEscape("55 1234-5678")); len(byPhone) != 1 || byPhone[0].ContactID != created.ID {
			t.Fatalf("by phone: %+v", byPhone)
		}
		if byContact, _ := ts.conversations(a, "contactId="+created.ID); len(byContact) != 1 || byContact[0].ContactID != created.ID {
			t.Fatalf("by contact: %+v", byContact)
		}

		// The agent reads; an older message delivered late neither replaces
		// the last message nor shortens the window, but leaves it unread.
		ts.do(req{Method: "PUT", Path: "/api/contact?id=" + created.ID, Token: a.APIKey, Body: map[string]any{"isRead": true}}).want(t, http.StatusOK, "")
		ts.postDelivery(appSecretA, textDelivery(t, "wamid.MX_0", "5215512345678", "Mari", "(older)", 1795791000))
		ts.waitInbox()
		ts.do(req{Method: "GET", Path: "/api/contact/" + created.ID, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &mariana)
		if m := mariana.Data[0]; orEmpty(m.LastMessage) != "Hola desde México" || m.IsRead {
			t.Fatalf("after a late message: %+v", m)
		}
		mx, _ := ts.conversations(a, "contactId="+created.ID)
		if orEmpty(mx[0].LastMessage) != "Hola desde México" || orEmpty(mx[0].WindowExpiresAt) != "2026-11-28T15:00:00.0000000Z" {
			t.Fatalf("conversation after a late message: %+v", mx[0])
		}
		if msgs := ts.messages(a, mx[0].ID, ""); len(msgs) != 2 {
			t.Fatalf("%d messages", len(msgs))
		}
	})
}

// outbound stores a message the business sent, as the send path does.
func (ts *testServer) outbound(a tenant, conversationID, contactID, wamid, sendState string) string {
	ts.t.Helper()
	id := fmt.Sprintf("0190f000-0000-7000-8000-%012d", ts.count(`SELECT count(*) FROM messages`)+1)
	var w any
	if wamid != "" {
		w = wamid
	}
	now := time.Now().UTC()
	err := ts.DB.ExecForTest(context.Background(), `INSERT INTO messages (workspace_id, id, conversation_id, contact_id,
		direction, type, content, wamid, recipient_phone, status, send_state, timestamp, creation_date, updated_date)
		VALUES ($1, $2, $3, $4, 'out', 'text', 'Sí, lo tenemos', $5, '15557654321', 'queued', $6, $7, $7, $7)`,
		a.WorkspaceID, id, conversationID, contactID, w, sendState, now)
	if err != nil {
		ts.t.Fatal(err)
	}
	return id
}

// permutations returns every order of s.
func permutations(s []string) [][]string {
	if len(s) <= 1 {
		return [][]string{slices.Clone(s)}
	}
	var out [][]string
	for i := range s {
		rest := append(slices.Clone(s[:i]), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{s[i]}, p...))
		}
	}
	return out
}

// Statuses end in the same state whatever order they arrive in, keep a
// failure's error, and find a message whose send's answer was lost by
// the callback data.
func TestInbound_Statuses(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.startInbox()
		ts.postDelivery(appSecretA, fixture(t, "inbound/text.json"))
		ts.waitInbox()
		list, _ := ts.conversations(a, "")
		cv := list[0]

		var failed map[string]any
		json.Unmarshal([]byte(`{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
			"error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}`), &failed)
		status := func(wamid, s string, at int) map[string]any {
			m := map[string]any{"id": wamid, "status": s, "timestamp": fmt.Sprint(1795791630 + at), "recipient_id": "15557654321"}
			if s == "failed" {
				m["errors"] = []any{failed}
			}
			return m
		}
		want := map[string]string{} // final status by wamid
		n := 0
		for _, set := range [][]string{{"sent", "delivered", "read"}, {"sent", "delivered", "read", "failed"}} {
			for _, order := range permutations(set) {
				n++
				wamid := fmt.Sprintf("wamid.OUT_%03d", n)
				ts.outbound(a, cv.ID, cv.ContactID, wamid, "sent")
				want[wamid] = set[len(set)-1]
				if n%2 == 0 {
					// One delivery, in this order, worked by one job.
					var ss []map[string]any
					for i, s := range order {
						ss = append(ss, status(wamid, s, i))
					}
					ts.postDelivery(appSecretA, statusDelivery(t, ss...))
				} else {
					// One delivery each, worked by concurrent jobs.
					for i, s := range order {
						ts.postDelivery(appSecretA, statusDelivery(t, status(wamid, s, i)))
					}
				}
			}
		}
		// The answer to these sends was lost: the status finds them by the
		// callback data (Plaza's message id, bare or with the fixtures'
		// prefix) and gives them their wamid.
		lost := ts.outbound(a, cv.ID, cv.ContactID, "", "sending")
		lost2 := ts.outbound(a, cv.ID, cv.ContactID, "", "sending")
		withCallback := func(wamid, s, data string) map[string]any {
			m := status(wamid, s, 0)
			m["biz_opaque_callback_data"] = data
			return m
		}
		ts.postDelivery(appSecretA, statusDelivery(t, withCallback("wamid.LOST_1", "delivered", lost)))
		ts.postDelivery(appSecretA, statusDelivery(t, withCallback("wamid.LOST_2", "sent", "plaza:outbox:"+lost2)))
		// Unknown messages are ignored: no callback data, or callback data
		// naming no message, or a message that has another wamid.
		ts.postDelivery(appSecretA, fixture(t, "status/failed_131026.json"))
		ts.postDelivery(appSecretA, fixture(t, "status/sent.json"))
		ts.waitInbox()
		ts.postDelivery(appSecretA, statusDelivery(t, withCallback("wamid.OTHER", "read", lost)))
		ts.waitInbox()

		msgs := ts.messages(a, cv.ID, "&limit=200")
		got := map[string]messageJSON{}
		for _, m := range msgs {
			got[orEmpty(m.MessageWhatsappID)] = m
		}
		for wamid, status := range want {
			m := got[wamid]
			if orEmpty(m.Status) != status {
				t.Errorf("%s: status %q, want %q", wamid, orEmpty(m.Status), status)
			}
			if status == "failed" && (m.Error == nil || m.Error.Code != 131047 || m.Error.Title != "Re-engagement message" ||
				!strings.HasPrefix(m.Error.Details, "Message failed to send because")) {
				t.Errorf("%s: error %+v", wamid, m.Error)
			}
			if status != "failed" && m.Error != nil {
				t.Errorf("%s: error %+v", wamid, m.Error)
			}
		}
		for id, wamid := range map[string]string{lost: "wamid.LOST_1", lost2: "wamid.LOST_2"} {
			m := got[wamid]
			if m.ID != id || m.Direction != "out" || m.From != "15550001234" {
				t.Errorf("lost send %s: %+v", id, m)
			}
			if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'sent'`, id); n != 1 {
				t.Errorf("lost send %s is not sent", id)
			}
		}
		if s := orEmpty(got["wamid.LOST_1"].Status); s != "delivered" {
			t.Errorf("lost send: status %q", s)
		}
		if len(got) != len(want)+3 {
			t.Errorf("%d messages, want %d", len(got), len(want)+3)
		}
	})
}

// Meta's template reviews update the stored template, or record it when
// it has not been synced yet.
func TestInbound_TemplateStatus(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		numberID := ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		now := time.Now().UTC()
		if err := ts.DB.ExecForTest(context.Background(), `INSERT INTO whatsapp_templates (workspace_id, id, whatsapp_number_id,
			name, language, category, status, creation_date, updated_date)
			VALUES ($1, $2, $3, 'black_friday_promo', 'es', 'MARKETING', 'PENDING', $4, $4)`,
			a.WorkspaceID, "0190f000-0000-7000-8000-000000000001", numberID, now); err != nil {
			t.Fatal(err)
		}
		ts.startInbox()
		ts.postDelivery(appSecretA, fixture(t, "other/template_status_update_approved.json"))
		ts.postDelivery(appSecretA, fixture(t, "other/template_status_update_rejected.json"))
		ts.waitInbox()
		type template struct{ name, metaID, category, status, reason string }
		read := func(name string) template {
			var tp template
			err := ts.DB.QueryRowForTest(context.Background(), `SELECT name, COALESCE(meta_id, ''), category, status, COALESCE(reason, '')
				FROM whatsapp_templates WHERE workspace_id = $1 AND whatsapp_number_id = $2 AND name = $3 AND language = 'es'`,
				a.WorkspaceID, numberID, name).Scan(&tp.name, &tp.metaID, &tp.category, &tp.status, &tp.reason)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return tp
		}
		if got, want := read("reservation_confirmation"), (template{"reservation_confirmation", "1000000000000501", "UTILITY", "APPROVED", ""}); got != want {
			t.Errorf("approved: %+v, want %+v", got, want)
		}
		rejected := read("black_friday_promo")
		if rejected.metaID != "1000000000000502" || rejected.status != "REJECTED" ||
			!strings.HasPrefix(rejected.reason, "INVALID_FORMAT: Your template has parameters placed next to each other") {
			t.Errorf("rejected: %+v", rejected)
		}
		if n := ts.count(`SELECT count(*) FROM whatsapp_templates`); n != 2 {
			t.Errorf("%d templates, want 2", n)
		}
	})
}

// One delivery naming two numbers connected to two workspaces (one Meta
// app, one secret) lands each message in its own workspace, and neither
// workspace sees the other's.
func TestInbound_Tenants(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.startInbox()
		// B's number is not connected yet: its part is skipped and logged.
		two := fixture(t, "inbound/two_numbers_one_delivery.json")
		ts.postDelivery(appSecretA, two)
		ts.waitInbox()
		if !strings.Contains(ts.Logs.String(), "no workspace has connected") {
			t.Errorf("the skipped change is not logged:\n%s", ts.Logs)
		}
		if n := ts.count(`SELECT count(*) FROM messages`); n != 1 {
			t.Fatalf("%d messages, want 1", n)
		}

		ts.connectNumber(b, numberB, wabaB, "15550005678", appSecretA)
		ts.postDelivery(appSecretA, two)
		ts.waitInbox()
		for _, c := range []struct {
			tenant        tenant
			name, content string
		}{{a, "Lucía Fernández", "Quiero agendar una visita"}, {b, "Marco Ruiz", "Buenas tardes, ¿siguen abiertos?"}} {
			list, _ := ts.conversations(c.tenant, "")
			if len(list) != 1 || list[0].PlatformSenderName != c.name || orEmpty(list[0].LastMessage) != c.content {
				t.Fatalf("%s: %+v", c.name, list)
			}
			if msgs := ts.messages(c.tenant, list[0].ID, ""); len(msgs) != 1 || msgs[0].Content != c.content {
				t.Fatalf("%s: messages %+v", c.name, msgs)
			}
			if contacts := ts.contacts(c.tenant); len(contacts) != 1 || contacts[0].Name != c.name {
				t.Fatalf("%s: contacts %+v", c.name, contacts)
			}
		}
		// Each workspace is blind to the other's.
		bList, _ := ts.conversations(b, "")
		ts.do(req{Method: "GET", Path: "/api/message/get-all?conversationId=" + bList[0].ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		var found []messageJSON
		ts.do(req{Method: "GET", Path: "/api/message/get-query-messages?query=buenas", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &found)
		if len(found) != 0 {
			t.Fatalf("A finds B's messages: %+v", found)
		}
		if list, _ := ts.conversations(a, "contactId="+bList[0].ContactID); len(list) != 0 {
			t.Fatalf("A lists B's conversation: %+v", list)
		}
	})
}

// Lists page: conversations 20 at a time with newContinuationToken,
// messages with before; bad parameters are 400s naming them.
func TestInbound_Paging(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.startInbox()
		var contacts, messages []any
		for i := range 21 {
			from := fmt.Sprintf("5198765%04d", i)
			contacts = append(contacts, map[string]any{"profile": map[string]any{"name": fmt.Sprintf("Cliente %d", i)}, "wa_id": from})
			messages = append(messages, map[string]any{"from": from, "id": fmt.Sprintf("wamid.PAGE_%d", i),
				"timestamp": fmt.Sprint(1795791600 + i), "type": "text", "text": map[string]any{"body": fmt.Sprintf("mensaje %d", i)}})
		}
		for i := range 4 {
			messages = append(messages, map[string]any{"from": "51987650000", "id": fmt.Sprintf("wamid.MORE_%d", i),
				"timestamp": fmt.Sprint(1795791700 + i), "type": "text", "text": map[string]any{"body": fmt.Sprintf("más %d", i)}})
		}
		ts.postDelivery(appSecretA, messagesDelivery(t, numberA, wabaA, "15550001234", map[string]any{"contacts": contacts, "messages": messages}))
		ts.waitInbox()

		first, token := ts.conversations(a, "")
		if len(first) != 20 || token == nil {
			t.Fatalf("first page: %d, token %v", len(first), token)
		}
		second, last := ts.conversations(a, "continuationToken="+url.QueryEscape(*token))
		if len(second) != 1 || last != nil || second[0].ID >= first[19].ID {
			t.Fatalf("second page: %+v, token %v", second, last)
		}
		ts.do(req{Method: "GET", Path: "/api/conversation?continuationToken=" + url.QueryEscape(*token), Token: b.APIKey}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")

		// Cliente 0 wrote five messages: pages of two, oldest first.
		c0, _ := ts.conversations(a, "q=cliente%200")
		if len(c0) != 1 {
			t.Fatalf("Cliente 0: %+v", c0)
		}
		var seen []string
		before := ""
		for {
			page := ts.messages(a, c0[0].ID, "&limit=2"+before)
			if len(page) == 0 {
				break
			}
			var contents []string
			for _, m := range page {
				contents = append(contents, m.Content)
			}
			seen = append(contents, seen...)
			before = "&before=" + page[0].ID
		}
		if want := []string{"mensaje 0", "más 0", "más 1", "más 2", "más 3"}; !slices.Equal(seen, want) {
			t.Fatalf("paged messages %q, want %q", seen, want)
		}

		for _, c := range []struct{ path, field string }{
			{"/api/message/get-all", "conversationId"},
			{"/api/message/get-all?conversationId=" + c0[0].ID + "&before=nope", "before"},
			{"/api/message/get-all?conversationId=" + c0[0].ID + "&before=" + first[5].ID, "before"},
			{"/api/message/get-all?conversationId=" + c0[0].ID + "&limit=0", "limit"},
			{"/api/message/get-all?conversationId=" + c0[0].ID + "&limit=201", "limit"},
			{"/api/message/get-query-messages", "query"},
			{"/api/message/get-query-messages?query=%20", "query"},
			{"/api/message/conversation?continuationToken=forged", "continuationToken"},
		} {
			r := ts.do(req{Method: "GET", Path: c.path, Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if fs := r.fields(); !slices.Equal(fs, []string{c.field}) {
				t.Errorf("%s: fields %v, want %s", c.path, fs, c.field)
			}
		}
		ts.do(req{Method: "GET", Path: "/api/message/get-all?conversationId=nope", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/message/conversation"}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")

		// A deleted contact's conversation and messages are gone from view.
		ts.do(req{Method: "POST", Path: "/api/contact/delete-batch", Token: a.APIKey, Body: map[string]any{
			"contactIds": []any{map[string]any{"ids": c0[0].ContactID}}}}).want(t, http.StatusOK, "")
		ts.do(req{Method: "GET", Path: "/api/message/get-all?conversationId=" + c0[0].ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		if all, _ := ts.conversations(a, "q=cliente%200"); len(all) != 0 {
			t.Fatalf("deleted contact's conversation listed: %+v", all)
		}
	})
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
