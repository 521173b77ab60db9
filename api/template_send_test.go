package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
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

// newTemplateSendServer is a send server whose workspace A has number A
// connected and the fixture's templates synced.
func newTemplateSendServer(t *testing.T, dsn string) (*testServer, *graphServer, *templateGraph, tenant) {
	g := newGraphServer(t)
	tg := newTemplateGraph(t)
	ts := newSendServer(t, dsn, g, messaging.OutboxConfig{})
	ts.withTemplates(tg)
	a := ts.bootstrap("Acme", "ana@acme.test")
	ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
	ts.syncTemplates(a)
	return ts, g, tg, a
}

// reservation is the send whose Graph request is the fixture
// request_template_with_header_image_and_body_params.json.
func reservation(a tenant, sendType any) map[string]any {
	return map[string]any{"workspaceId": a.WorkspaceID, "template": "reservation_confirmation", "destination": lucia,
		"variablesBody": []any{
			map[string]any{"variable": "first_name", "value": "Lucía"},
			map[string]any{"variable": "store", "value": "Miraflores"},
			map[string]any{"variable": "{{date}}", "value": "sábado 28 de noviembre"},
			map[string]any{"variable": "time", "value": "10:00"},
		},
		"file":     map[string]any{"fileUrl": "https://cdn.example.com/plaza/tiendas/miraflores.jpg", "fileName": "miraflores.jpg"},
		"sendType": sendType, "campaignName": "Reservas noviembre", "reference1": "r-1", "agentSendedId": a.UserID}
}

// checkTemplateSend checks that a send is the fixture's template request,
// to number A, carrying messageID as callback data.
func checkTemplateSend(t *testing.T, c graphCall, messageID string) {
	t.Helper()
	if c.Path != "/v23.0/"+numberA+"/messages" || c.Authorization != "Bearer EAAG-token-"+numberA {
		t.Errorf("send to %s with %q", c.Path, c.Authorization)
	}
	var want map[string]any
	if err := json.Unmarshal(fixture(t, "send/request_template_with_header_image_and_body_params.json"), &want); err != nil {
		t.Fatal(err)
	}
	want["biz_opaque_callback_data"] = "plaza:outbox:" + messageID
	if diff := cmp.Diff(want, c.Body); diff != "" {
		t.Errorf("send body (-want +got):\n%s", diff)
	}
}

type conversationSentJSON struct {
	ContactID, MessageID   string
	ContactIDs, MessageIDs []string
}

func TestConversationSend(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ts, g, _, a := newTemplateSendServer(t, dsn)

		// Outside any window (Lucía never wrote): a template goes out.
		r := ts.do(req{Method: "POST", Path: "/api/message/conversation", Token: a.APIKey, Body: reservation(a, "3")}).
			want(t, http.StatusOK, "")
		if r.Message != "Conversation sent successfully." {
			t.Errorf("message %q", r.Message)
		}
		var sent conversationSentJSON
		r.into(t, &sent)
		if sent.ContactID == "" || sent.MessageID == "" || sent.ContactIDs != nil {
			t.Fatalf("data %s", r.Data)
		}
		ts.waitSendState(sent.MessageID, "sent")
		calls := g.sends()
		if len(calls) != 1 {
			t.Fatalf("the Graph server got %d sends, want 1", len(calls))
		}
		checkTemplateSend(t, calls[0], sent.MessageID)
		if n := ts.count(`SELECT count(*) FROM messages WHERE id = $1 AND type = 'template' AND template_name = 'reservation_confirmation'
			AND wamid = 'wamid.TEST_OUT_0001' AND attempts = 1 AND reference1 = 'r-1' AND content LIKE '%Lucía%Miraflores%'`, sent.MessageID); n != 1 {
			t.Errorf("the template message is not stored sent")
		}
		list, _ := ts.conversations(a, "")
		if len(list) != 1 || list[0].ContactID != sent.ContactID || list[0].TemplateCode == nil || *list[0].TemplateCode != "reservation_confirmation" {
			t.Fatalf("conversations %+v", list)
		}
		var convs struct {
			Data []struct {
				TemplateType, CampaignName, AgentSenderID *string
				Type                                      *int
			}
		}
		ts.do(req{Method: "GET", Path: "/api/conversation", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &convs)
		if c := convs.Data; len(c) != 1 || c[0].Type == nil || *c[0].Type != 3 || c[0].TemplateType == nil || *c[0].TemplateType != "IMAGE" ||
			c[0].CampaignName == nil || *c[0].CampaignName != "Reservas noviembre" || c[0].AgentSenderID == nil || *c[0].AgentSenderID != a.UserID {
			t.Errorf("conversation template fields %+v", c)
		}

		// Inside the window, by the SDK's path, sendType as a number: the
		// same contact and conversation.
		ts.customerWrites()
		r = ts.do(req{Method: "POST", Path: "/api/conversation", Token: a.APIKey, Body: reservation(a, 2)}).want(t, http.StatusOK, "")
		var second conversationSentJSON
		r.into(t, &second)
		if second.ContactID != sent.ContactID {
			t.Errorf("second send to contact %s, want %s", second.ContactID, sent.ContactID)
		}
		ts.waitSendState(second.MessageID, "sent")
		if calls = g.sends(); len(calls) != 2 {
			t.Fatalf("the Graph server got %d sends, want 2", len(calls))
		}
		checkTemplateSend(t, calls[1], second.MessageID)
		if n := ts.count(`SELECT count(*) FROM conversations WHERE send_type = 2`); n != 1 {
			t.Errorf("the conversation's type is not the last send's")
		}
		if n := ts.count(`SELECT count(*) FROM contacts`); n != 1 {
			t.Errorf("%d contacts, want 1", n)
		}
		ts.do(req{Method: "POST", Path: "/api/conversation", Token: a.APIKey, Body: reservation(a, 3)}).want(t, http.StatusOK, "")
		ts.waitSendJobsDone()
		if n := ts.count(`SELECT count(*) FROM conversations WHERE send_type = 3`); n != 1 {
			t.Errorf("sendType 3 as a number not recorded")
		}
	})
}

func TestConversationSend_Invalid(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ts, g, _, a := newTemplateSendServer(t, dsn)
		if err := ts.DB.ExecForTest(context.Background(), `UPDATE whatsapp_templates SET status = 'PENDING' WHERE name = 'coupon_reminder'`); err != nil {
			t.Fatal(err)
		}
		coupon := map[string]any{"template": "coupon_reminder", "destination": lucia,
			"variablesHeader": []any{map[string]any{"variable": "1", "value": "Lucía"}},
			"variablesBody":   []any{map[string]any{"variable": "1", "value": "PLAZA20"}, map[string]any{"variable": "2", "value": "3"}}}
		for _, tc := range []struct {
			field string
			edit  func(b map[string]any)
		}{
			{"template", func(b map[string]any) { b["template"] = "no_such_template" }},
			{"template", func(b map[string]any) {
				for k, v := range coupon {
					b[k] = v
				}
			}},
			{"template", func(b map[string]any) { b["language"] = "en_US" }},
			{"file", func(b map[string]any) { delete(b, "file") }},
			{"variablesBody", func(b map[string]any) { b["variablesBody"] = b["variablesBody"].([]any)[:3] }},
			{"sendType", func(b map[string]any) { b["sendType"] = "7" }},
			{"destination", func(b map[string]any) { b["destination"] = "not a phone" }},
			{"destination", func(b map[string]any) {
				many := make([]any, 10001)
				for i := range many {
					many[i] = "+1 555 765 4321"
				}
				b["destination"] = many
			}},
		} {
			body := reservation(a, nil)
			tc.edit(body)
			r := ts.do(req{Method: "POST", Path: "/api/message/conversation", Token: a.APIKey, Body: body}).
				want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if f := r.fields(); len(f) != 1 || f[0] != tc.field {
				t.Errorf("%s: fields %v (%s)", tc.field, f, r.Body)
			}
		}
		if n := len(g.sends()); n != 0 {
			t.Errorf("the Graph server got %d sends", n)
		}
		if n := ts.count(`SELECT count(*) FROM messages`) + ts.count(`SELECT count(*) FROM contacts`); n != 0 {
			t.Errorf("%d messages and contacts stored", n)
		}
		if n := ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'`); n != 0 {
			t.Errorf("%d send jobs enqueued", n)
		}
	})
}

func TestConversationSend_Bulk(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ts, g, _, a := newTemplateSendServer(t, dsn)
		phones := []any{"+51 987 654 321", "+1 555 765 4321", "15557654322", "1 (555) 765-4321"} // one repeat
		r := ts.do(req{Method: "POST", Path: "/api/message/conversation", Token: a.APIKey, Body: map[string]any{
			"template": "coupon_reminder", "destination": phones, "sendType": 1, "campaignName": "Cupones",
			"variablesHeader": []any{map[string]any{"variable": "{{1}}", "value": "amigo"}},
			"variablesBody":   []any{map[string]any{"variable": "2", "value": "3"}, map[string]any{"variable": "1", "value": "PLAZA20"}},
		}}).want(t, http.StatusOK, "")
		var sent conversationSentJSON
		r.into(t, &sent)
		if len(sent.ContactIDs) != 3 || len(sent.MessageIDs) != 3 || sent.ContactID != "" {
			t.Fatalf("data %s", r.Data)
		}
		for _, id := range sent.MessageIDs {
			ts.waitSendState(id, "sent")
		}
		calls := g.sends()
		if len(calls) != 3 {
			t.Fatalf("the Graph server got %d sends, want 3", len(calls))
		}
		var to []string
		for _, c := range calls {
			to = append(to, c.Body["to"].(string))
			want := map[string]any{"name": "coupon_reminder", "language": map[string]any{"code": "es"}, "components": []any{
				map[string]any{"type": "header", "parameters": []any{map[string]any{"type": "text", "text": "amigo"}}},
				map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "PLAZA20"},
					map[string]any{"type": "text", "text": "3"}}},
			}}
			if diff := cmp.Diff(want, c.Body["template"]); diff != "" {
				t.Errorf("template (-want +got):\n%s", diff)
			}
		}
		sort.Strings(to)
		if strings.Join(to, ",") != "15557654321,15557654322,51987654321" {
			t.Errorf("sent to %v", to)
		}
		if n := ts.count(`SELECT count(*) FROM conversations WHERE campaign_name = 'Cupones' AND send_type = 1 AND template_type = 'TEXT'`); n != 3 {
			t.Errorf("%d campaign conversations", n)
		}
	})
}

// A Send Conversation of 5,000 destinations is a campaign: checked, stored
// and answered before any message is; the queue fans it out, resuming
// after a run cut short, and every destination gets exactly one message
// and one send job. The send jobs are held, to be counted, not sent.
func TestConversationSend_Campaign(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		g, tg := newGraphServer(t), newTemplateGraph(t)
		ts := newTestServer(t, dsn)
		ts.withTemplates(tg)
		logger := slog.New(slog.NewJSONHandler(ts.Logs, nil))
		outbound := sqldb.NewOutboundService(ts.DB)
		outbox, err := messaging.NewOutbox(outbound, sqldb.NewWhatsAppNumberService(ts.DB, testSecret),
			&whatsapp.Client{BaseURL: g.URL}, messaging.OutboxConfig{}, logger)
		if err != nil {
			t.Fatal(err)
		}
		ts.API.Outbound = outbox
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.syncTemplates(a)

		const n = 5000
		phones := make([]any, 0, n+1)
		for i := range n {
			phones = append(phones, fmt.Sprintf("+51 9%08d", i))
		}
		phones = append(phones, "51900000007") // a repeat
		body := map[string]any{"template": "coupon_reminder", "destination": phones, "sendType": 1, "campaignName": "Cupones",
			"variablesHeader": []any{map[string]any{"variable": "1", "value": "amigo"}},
			"variablesBody":   []any{map[string]any{"variable": "1", "value": "PLAZA20"}, map[string]any{"variable": "2", "value": "3"}}}
		start := time.Now()
		r := ts.do(req{Method: "POST", Path: "/api/conversation", Token: a.APIKey, Body: body}).want(t, http.StatusOK, "")
		t.Logf("%s: %d destinations accepted in %v", ts.DB.Dialect, n, time.Since(start))
		var sent struct {
			CampaignID string
			Total      int
			MessageIDs []string
		}
		r.into(t, &sent)
		if sent.CampaignID == "" || sent.Total != n || sent.MessageIDs != nil {
			t.Fatalf("data %s", r.Data)
		}
		if m := ts.count(`SELECT count(*) FROM messages`); m != 0 {
			t.Fatalf("%d messages stored during the request", m)
		}
		type campaignJSON struct {
			ID, Name, Template                           string
			Total, Queued, Sent, Delivered, Read, Failed int
			FannedOutDate                                *string
		}
		progress := func() campaignJSON {
			var c campaignJSON
			ts.do(req{Method: "GET", Path: "/api/conversation/campaign/" + sent.CampaignID, Token: a.APIKey}).
				want(t, http.StatusOK, "").into(t, &c)
			return c
		}
		if c := progress(); c.Total != n || c.Queued != 0 || c.Name != "Cupones" || c.Template != "coupon_reminder" || c.FannedOutDate != nil {
			t.Fatalf("campaign before the fan-out %+v", c)
		}
		ts.do(req{Method: "GET", Path: "/api/conversation/campaign/" + sent.CampaignID, Token: b.APIKey}).
			want(t, http.StatusNotFound, "NOT_FOUND")

		// A first run queued 700 and stopped (its process died); the job
		// resumes there.
		if done, err := outbound.FanOutWhatsAppCampaign(ctx, a.WorkspaceID, sent.CampaignID, 700); err != nil || done {
			t.Fatalf("first batch: done %v, %v", done, err)
		}
		workers := river.NewWorkers()
		messaging.AddCampaignWorker(workers, &messaging.CampaignWorker{Store: outbound, Logger: logger, Batch: 500})
		// The send jobs are held (snoozed for an hour), to be counted.
		river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[plaza.WhatsAppSendJob]) error {
			return river.JobSnooze(time.Hour)
		}))
		q, err := ts.DB.OpenQueue(sqldb.QueueConfig{Workers: workers, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			q.Stop(ctx)
		})
		deadline := time.Now().Add(3 * time.Minute)
		for c := progress(); c.FannedOutDate == nil; c = progress() {
			if time.Now().After(deadline) {
				var state, errs string
				ts.DB.QueryRowForTest(ctx, `SELECT state, COALESCE(CAST(errors AS TEXT), '') FROM river_job WHERE kind = 'whatsapp_campaign'`).
					Scan(&state, &errs)
				t.Fatalf("campaign not fanned out in three minutes: %+v; job %s %s", c, state, errs)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s: fanned out %v after the request", ts.DB.Dialect, time.Since(start))
		// A job run again after it finished (its completion was lost)
		// queues nothing.
		if done, err := outbound.FanOutWhatsAppCampaign(ctx, a.WorkspaceID, sent.CampaignID, 500); err != nil || !done {
			t.Fatalf("run after the end: done %v, %v", done, err)
		}
		if c := progress(); c.Queued != n {
			t.Errorf("campaign after the fan-out %+v", c)
		}
		for query, want := range map[string]int{
			`SELECT count(*) FROM messages WHERE type = 'template' AND template_name = 'coupon_reminder'`: n,
			`SELECT count(DISTINCT recipient_phone) FROM messages`:                                        n,
			`SELECT count(DISTINCT contact_id) FROM messages`:                                             n,
			`SELECT count(*) FROM contacts`:                                                               n,
			`SELECT count(*) FROM conversations WHERE campaign_name = 'Cupones'`:                          n,
			`SELECT count(DISTINCT message_id) FROM campaign_destinations`:                                n,
			`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'`:                                 n,
		} {
			if got := ts.count(query); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
		if calls := len(g.sends()); calls != 0 {
			t.Errorf("the Graph server got %d sends", calls)
		}
	})
}
