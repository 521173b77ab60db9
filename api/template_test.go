package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// templateGraph is a local Graph API for templates: GET
// /{waba-id}/message_templates answers the list fixture in two pages (its
// first template, then with the fixture's after cursor its second), POST
// creates a template PENDING. Each call is recorded.
type templateGraph struct {
	t   *testing.T
	URL string

	mu    sync.Mutex
	calls []templateCall
}

type templateCall struct {
	Method, Path, Query, Authorization string
	Body                               map[string]any
}

func newTemplateGraph(t *testing.T) *templateGraph {
	g := &templateGraph{t: t}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/v23.0"
	return g
}

const createdTemplateID = "1000000000000777"

func (g *templateGraph) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v23.0/") || !strings.HasSuffix(r.URL.Path, "/message_templates") {
		http.Error(w, "not a template call", http.StatusNotFound)
		return
	}
	c := templateCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization")}
	if r.Method == "POST" {
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &c.Body); err != nil {
			g.t.Errorf("create template: body is not JSON: %v\n%s", err, raw)
		}
	}
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case "GET":
		var list map[string]any
		if err := json.Unmarshal(fixture(g.t, "send/message_templates_list_response.json"), &list); err != nil {
			g.t.Fatal(err)
		}
		data := list["data"].([]any)
		if r.URL.Query().Get("after") == "QVFIUTESTafterCursor" {
			list = map[string]any{"data": data[1:]}
		} else {
			list["data"] = data[:1]
		}
		json.NewEncoder(w).Encode(list)
	case "POST":
		io.WriteString(w, `{"id":"`+createdTemplateID+`","status":"PENDING","category":"UTILITY"}`)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (g *templateGraph) sent() []templateCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]templateCall(nil), g.calls...)
}

// withTemplates gives the test server its template service, over tg.
func (ts *testServer) withTemplates(tg *templateGraph) {
	ts.API.Templates = &messaging.Templates{Store: sqldb.NewTemplateStore(ts.DB),
		Numbers: sqldb.NewWhatsAppNumberService(ts.DB, testSecret), Graph: &whatsapp.Client{BaseURL: tg.URL}}
}

type templateJSON struct {
	ID, ElementName, LanguageCode, Category, Status, NumberID string
	MetaID                                                    *string
	Components                                                []map[string]any
}

func (ts *testServer) syncTemplates(a tenant) []templateJSON {
	ts.t.Helper()
	var synced struct {
		Numbers   int
		Templates []templateJSON
	}
	ts.do(req{Method: "POST", Path: "/api/template/sync", Token: a.APIKey, Body: map[string]any{"workspaceId": a.WorkspaceID}}).
		want(ts.t, http.StatusOK, "").into(ts.t, &synced)
	if synced.Numbers != 1 {
		ts.t.Errorf("synced %d numbers", synced.Numbers)
	}
	return synced.Templates
}

func TestTemplates_SyncAndActives(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		tg := newTemplateGraph(t)
		ts := newTestServer(t, dsn)
		ts.withTemplates(tg)
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")

		// No number yet.
		r := ts.do(req{Method: "POST", Path: "/api/template/sync", Token: a.APIKey, Body: map[string]any{}}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "numberId" {
			t.Errorf("fields %v", f)
		}
		numberID := ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)

		got := ts.syncTemplates(a)
		if len(got) != 2 || got[0].ElementName != "coupon_reminder" || got[1].ElementName != "reservation_confirmation" {
			t.Fatalf("templates %+v", got)
		}
		res := got[1]
		if res.LanguageCode != "es" || res.Category != "UTILITY" || res.Status != "APPROVED" || res.MetaID == nil ||
			*res.MetaID != "1000000000000501" || res.NumberID != numberID || len(res.Components) != 4 || res.Components[1]["type"] != "BODY" {
			t.Errorf("template %+v", res)
		}
		calls := tg.sent()
		if len(calls) != 2 || calls[0].Query != "" || !strings.Contains(calls[1].Query, "after=QVFIUTESTafterCursor") {
			t.Fatalf("calls %+v", calls)
		}
		for _, c := range calls {
			if c.Method != "GET" || c.Path != "/v23.0/"+wabaA+"/message_templates" || c.Authorization != "Bearer EAAG-token-"+numberA {
				t.Errorf("call %+v", c)
			}
		}

		// A second sync updates: no duplicates, Meta's changes applied.
		if err := ts.DB.ExecForTest(t.Context(), `UPDATE whatsapp_templates SET status = 'PAUSED'`); err != nil {
			t.Fatal(err)
		}
		ts.syncTemplates(a)
		if n := ts.count(`SELECT count(*) FROM whatsapp_templates WHERE status = 'APPROVED'`); n != 2 {
			t.Errorf("%d approved templates after the second sync", n)
		}

		var actives []templateJSON
		ts.do(req{Method: "GET", Path: "/api/template/actives?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).
			want(t, http.StatusOK, "").into(t, &actives)
		if len(actives) != 2 {
			t.Errorf("actives %+v", actives)
		}
		// Only APPROVED templates are active.
		if err := ts.DB.ExecForTest(t.Context(), `UPDATE whatsapp_templates SET status = 'REJECTED' WHERE name = 'coupon_reminder'`); err != nil {
			t.Fatal(err)
		}
		ts.do(req{Method: "GET", Path: "/api/template/actives", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &actives)
		if len(actives) != 1 || actives[0].ElementName != "reservation_confirmation" {
			t.Errorf("actives %+v", actives)
		}
		// Another workspace sees none of them.
		ts.do(req{Method: "GET", Path: "/api/template/actives", Token: b.APIKey}).want(t, http.StatusOK, "").into(t, &actives)
		if len(actives) != 0 {
			t.Errorf("workspace B sees %+v", actives)
		}
		ts.do(req{Method: "POST", Path: "/api/template/sync", Token: b.APIKey, Body: map[string]any{"numberId": numberID}}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
	})
}

func TestTemplates_Create(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		tg := newTemplateGraph(t)
		ts := newTestServer(t, dsn)
		ts.withTemplates(tg)
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)

		body := map[string]any{"workspaceId": a.WorkspaceID, "userId": a.UserID, "elementName": "coupon_reminder",
			"languageCode": "es", "category": "MARKETING", "templateType": "STANDARD",
			"components": []any{
				map[string]any{"type": "HEADER", "format": "TEXT", "text": "¡Aprovecha, {{1}}!",
					"variables": []any{map[string]any{"variable": "{{1}}", "example": "Lucía"}}},
				map[string]any{"type": "BODY", "text": "Tu cupón {{1}} vence en {{2}} días. Úsalo en cualquier tienda Plaza Muebles.",
					"variables": []any{map[string]any{"variable": "{{2}}", "example": "3"}, map[string]any{"variable": "{{1}}", "example": "PLAZA20"}}},
				map[string]any{"type": "FOOTER", "text": "Plaza Muebles"},
				map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Dejar de recibir",
					"tagIds": []any{}, "agentIds": []any{}}}},
			}}
		var created struct {
			Plantilla struct{ ID, ElementName, Status string }
		}
		r := ts.do(req{Method: "POST", Path: "/api/template", Token: a.APIKey, Body: body}).want(t, http.StatusOK, "")
		r.into(t, &created)
		if created.Plantilla.ID == "" || created.Plantilla.ElementName != "coupon_reminder" || created.Plantilla.Status != "PENDING" {
			t.Errorf("created %+v", created)
		}
		calls := tg.sent()
		if len(calls) != 1 || calls[0].Method != "POST" || calls[0].Path != "/v23.0/"+wabaA+"/message_templates" ||
			calls[0].Authorization != "Bearer EAAG-token-"+numberA {
			t.Fatalf("calls %+v", calls)
		}
		// What Meta receives is the fixture's template, as Meta lists it.
		var list struct{ Data []map[string]any }
		if err := json.Unmarshal(fixture(t, "send/message_templates_list_response.json"), &list); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"name": "coupon_reminder", "language": "es", "category": "MARKETING",
			"components": list.Data[1]["components"]}
		if diff := cmp.Diff(want, calls[0].Body); diff != "" {
			t.Errorf("create body (-want +got):\n%s", diff)
		}
		if n := ts.count(`SELECT count(*) FROM whatsapp_templates WHERE name = 'coupon_reminder' AND status = 'PENDING'
			AND meta_id = $1`, createdTemplateID); n != 1 {
			t.Errorf("template not stored pending")
		}
		// Pending is not active.
		var actives []templateJSON
		ts.do(req{Method: "GET", Path: "/api/template/actives", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &actives)
		if len(actives) != 0 {
			t.Errorf("actives %+v", actives)
		}
		// Meta's sync then approves it: one row.
		ts.syncTemplates(a)
		if n := ts.count(`SELECT count(*) FROM whatsapp_templates WHERE name = 'coupon_reminder'`); n != 1 {
			t.Errorf("%d rows of coupon_reminder", n)
		}

		// Bad input: nothing reaches Meta.
		for field, edit := range map[string]func(map[string]any){
			"category":    func(b map[string]any) { b["category"] = "PROMO" },
			"elementName": func(b map[string]any) { b["elementName"] = "Cupón" },
			"components":  func(b map[string]any) { b["components"] = []any{} },
			"numberId":    func(b map[string]any) { b["numberId"] = "nope" },
		} {
			bad := map[string]any{}
			for k, v := range body {
				bad[k] = v
			}
			edit(bad)
			r := ts.do(req{Method: "POST", Path: "/api/template", Token: a.APIKey, Body: bad}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if f := r.fields(); len(f) != 1 || f[0] != field {
				t.Errorf("%s: fields %v", field, f)
			}
		}
		if n := len(tg.sent()); n != 3 {
			t.Errorf("%d Graph calls, want 3", n)
		}
	})
}

// TestTemplates_MetaFailing: Meta throttling or failing on its side is a
// 503 the client may retry, Meta refusing the request (an expired token) a
// 422 with Meta's words; nothing is synced either way.
func TestTemplates_MetaFailing(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		var status int
		var body []byte
		graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(body)
		}))
		t.Cleanup(graph.Close)
		ts := newTestServer(t, dsn)
		ts.API.Templates = &messaging.Templates{Store: sqldb.NewTemplateStore(ts.DB),
			Numbers: sqldb.NewWhatsAppNumberService(ts.DB, testSecret), Graph: &whatsapp.Client{BaseURL: graph.URL + "/v23.0"}}
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		sync := map[string]any{"workspaceId": a.WorkspaceID}

		status, body = http.StatusBadGateway, []byte(`<html>bad gateway</html>`)
		ts.do(req{Method: "POST", Path: "/api/template/sync", Token: a.APIKey, Body: sync}).
			want(t, http.StatusServiceUnavailable, "UNAVAILABLE")
		status, body = http.StatusTooManyRequests, fixture(t, "send/error_130429_rate_limit.json")
		ts.do(req{Method: "POST", Path: "/api/template/sync", Token: a.APIKey, Body: sync}).
			want(t, http.StatusServiceUnavailable, "UNAVAILABLE")
		status, body = http.StatusUnauthorized, fixture(t, "send/error_190_token_expired.json")
		r := ts.do(req{Method: "POST", Path: "/api/template/sync", Token: a.APIKey, Body: sync}).
			want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		if !strings.Contains(r.Message, "(code 190)") {
			t.Errorf("message %q does not carry Meta's code", r.Message)
		}
		ts.do(req{Method: "GET", Path: "/api/template/actives?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).
			want(t, http.StatusOK, "")
	})
}
