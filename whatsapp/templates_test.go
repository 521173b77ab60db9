package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// secondTemplatesPage is the page after the fixture's after cursor: the
// last one, so it has no paging.next.
const secondTemplatesPage = `{
  "data": [
    {"name": "hello_world", "parameter_format": "POSITIONAL",
     "components": [{"type": "BODY", "text": "Hola"}],
     "language": "en_US", "status": "PAUSED", "category": "MARKETING", "id": "1000000000000504"}
  ],
  "paging": {"cursors": {"before": "QVFIUTESTsecondBefore", "after": "QVFIUTESTsecondAfter"}}
}`

func TestClient_ListTemplates(t *testing.T) {
	first := fixture(t, "send/message_templates_list_response.json")
	c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, first)
		case "QVFIUTESTafterCursor":
			writeJSON(w, 200, []byte(secondTemplatesPage))
		default:
			writeJSON(w, 400, fixture(t, "send/error_100_invalid_parameter.json"))
		}
	})
	got, err := c.ListTemplates(context.Background(), testWABA, testToken)
	if err != nil {
		t.Fatal(err)
	}
	want := []TemplateInfo{
		{
			ID: "1000000000000501", Name: "reservation_confirmation", Language: "es", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "NAMED",
			Components: []TemplateComponent{
				{Type: "HEADER", Format: "IMAGE", Example: &TemplateExample{HeaderHandle: []string{"https://scontent.whatsapp.net/v/t61.29466-34/TEST_header_handle.jpg"}}},
				{Type: "BODY", Text: "*¡Todo listo, {{first_name}}!*\n\nTu visita a Plaza Muebles {{store}} el {{date}} a las {{time}} está confirmada.",
					Example: &TemplateExample{BodyTextNamedParams: []NamedParamExample{
						{ParamName: "first_name", Example: "Lucía"}, {ParamName: "store", Example: "Miraflores"},
						{ParamName: "date", Example: "sábado 28 de noviembre"}, {ParamName: "time", Example: "10:00"},
					}}},
				{Type: "FOOTER", Text: "Plaza Muebles"},
				{Type: "BUTTONS", Buttons: []TemplateButton{
					{Type: "URL", Text: "Ver mi reserva", URL: "https://example.com/reservas"},
					{Type: "QUICK_REPLY", Text: "Cancelar reserva"},
				}},
			},
		},
		{
			ID: "1000000000000503", Name: "coupon_reminder", Language: "es", Status: "APPROVED", Category: "MARKETING", SubCategory: "CUSTOM", ParameterFormat: "POSITIONAL",
			Components: []TemplateComponent{
				{Type: "HEADER", Format: "TEXT", Text: "¡Aprovecha, {{1}}!", Example: &TemplateExample{HeaderText: []string{"Lucía"}}},
				{Type: "BODY", Text: "Tu cupón {{1}} vence en {{2}} días. Úsalo en cualquier tienda Plaza Muebles.",
					Example: &TemplateExample{BodyText: [][]string{{"PLAZA20", "3"}}}},
				{Type: "FOOTER", Text: "Plaza Muebles"},
				{Type: "BUTTONS", Buttons: []TemplateButton{{Type: "QUICK_REPLY", Text: "Dejar de recibir"}}},
			},
		},
		{
			ID: "1000000000000504", Name: "hello_world", Language: "en_US", Status: "PAUSED", Category: "MARKETING", ParameterFormat: "POSITIONAL",
			Components: []TemplateComponent{{Type: "BODY", Text: "Hola"}},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(TemplateInfo{}, "Raw")); diff != "" {
		t.Errorf("templates mismatch (-want +got):\n%s", diff)
	}

	// Raw keeps each template as Meta sent it (with its \u escapes).
	var page struct{ Data []json.RawMessage }
	if err := json.Unmarshal(first, &page); err != nil {
		t.Fatal(err)
	}
	if string(got[0].Raw) != string(page.Data[0]) || !strings.Contains(string(got[0].Raw), `\u00a1Todo listo`) {
		t.Errorf("Raw = %s, want the fixture's first template", got[0].Raw)
	}

	calls := g.Calls()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2 pages", len(calls))
	}
	checkJSONRequest(t, calls[0], "GET", "/"+testWABA+"/message_templates")
	checkJSONRequest(t, calls[1], "GET", "/"+testWABA+"/message_templates")
	if calls[0].Query != "" || calls[1].Query != "after=QVFIUTESTafterCursor" {
		t.Errorf("queries = %q, %q; want \"\", after=QVFIUTESTafterCursor", calls[0].Query, calls[1].Query)
	}
}

func TestClient_ListTemplates_Empty(t *testing.T) {
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"data":[]}`))
	})
	got, err := c.ListTemplates(context.Background(), testWABA, testToken)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("got %#v, want an empty, non-nil list", got)
	}
}

func TestClient_ListTemplates_CursorLoop(t *testing.T) {
	c, g := newFakeGraph(t, respondWith(t, 200, "send/message_templates_list_response.json"))
	if _, err := c.ListTemplates(context.Background(), testWABA, testToken); err == nil {
		t.Fatal("a cursor that repeats forever did not fail")
	}
	if n := len(g.Calls()); n != 2 {
		t.Errorf("stopped after %d calls, want 2", n)
	}
}

func TestClient_ListTemplates_ErrorOnSecondPage(t *testing.T) {
	first := fixture(t, "send/message_templates_list_response.json")
	rate := fixture(t, "send/error_130429_rate_limit.json")
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			writeJSON(w, 200, first)
			return
		}
		writeJSON(w, 400, rate)
	})
	_, err := c.ListTemplates(context.Background(), testWABA, testToken)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.Retryable() {
		t.Errorf("err = %v, want the retryable rate limit", err)
	}
}

func TestClient_CreateTemplate(t *testing.T) {
	c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"id":"1000000000000505","status":"PENDING","category":"MARKETING"}`))
	})
	def := TemplateDefinition{
		Name: "black_friday_promo", Language: "es", Category: "MARKETING", ParameterFormat: "NAMED",
		Components: []TemplateComponent{
			{Type: "HEADER", Format: "IMAGE", Example: &TemplateExample{HeaderHandle: []string{"4::aW1hZ2UvanBlZw==:TESThandle"}}},
			{Type: "BODY", Text: "Hola {{first_name}}, usa {{code}} este viernes.",
				Example: &TemplateExample{BodyTextNamedParams: []NamedParamExample{{ParamName: "first_name", Example: "Lucía"}, {ParamName: "code", Example: "PLAZA20"}}}},
			{Type: "FOOTER", Text: "Plaza Muebles"},
			{Type: "BUTTONS", Buttons: []TemplateButton{
				{Type: "QUICK_REPLY", Text: "Dejar de recibir"},
				{Type: "URL", Text: "Ver ofertas", URL: "https://example.com/ofertas/{{1}}", Example: []string{"https://example.com/ofertas/bf"}},
				{Type: "PHONE_NUMBER", Text: "Llamar", PhoneNumber: "+15550001234"},
				{Type: "COPY_CODE", Example: []string{"PLAZA20"}},
			}},
		},
	}
	id, status, category, err := c.CreateTemplate(context.Background(), testWABA, testToken, def)
	if err != nil {
		t.Fatal(err)
	}
	if id != "1000000000000505" || status != "PENDING" || category != "MARKETING" {
		t.Errorf("got %q, %q, %q", id, status, category)
	}
	call := g.only(t)
	checkJSONRequest(t, call, "POST", "/"+testWABA+"/message_templates")
	diffJSON(t, []byte(`{
	  "name": "black_friday_promo", "language": "es", "category": "MARKETING", "parameter_format": "NAMED",
	  "components": [
	    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBlZw==:TESThandle"]}},
	    {"type": "BODY", "text": "Hola {{first_name}}, usa {{code}} este viernes.",
	     "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Lucía"}, {"param_name": "code", "example": "PLAZA20"}]}},
	    {"type": "FOOTER", "text": "Plaza Muebles"},
	    {"type": "BUTTONS", "buttons": [
	      {"type": "QUICK_REPLY", "text": "Dejar de recibir"},
	      {"type": "URL", "text": "Ver ofertas", "url": "https://example.com/ofertas/{{1}}", "example": ["https://example.com/ofertas/bf"]},
	      {"type": "PHONE_NUMBER", "text": "Llamar", "phone_number": "+15550001234"},
	      {"type": "COPY_CODE", "example": "PLAZA20"}]}
	  ]}`), call.Body)
}

func TestTemplateButton_ExampleForms(t *testing.T) {
	var b []TemplateButton
	if err := json.Unmarshal([]byte(`[{"type":"COPY_CODE","example":"PLAZA20"},{"type":"URL","text":"t","url":"u","example":["e"]}]`), &b); err != nil {
		t.Fatal(err)
	}
	want := []TemplateButton{{Type: "COPY_CODE", Example: []string{"PLAZA20"}}, {Type: "URL", Text: "t", URL: "u", Example: []string{"e"}}}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("buttons mismatch (-want +got):\n%s", diff)
	}
}

func TestClient_CreateTemplate_Invalid(t *testing.T) {
	valid := TemplateDefinition{Name: "ok_name_1", Language: "es", Category: "UTILITY", Components: []TemplateComponent{{Type: "BODY", Text: "Hola"}}}
	tests := []struct {
		name      string
		edit      func(d *TemplateDefinition)
		wantField string
	}{
		{"UppercaseName", func(d *TemplateDefinition) { d.Name = "Black_Friday" }, "name"},
		{"NameWithSpace", func(d *TemplateDefinition) { d.Name = "black friday" }, "name"},
		{"NoLanguage", func(d *TemplateDefinition) { d.Language = "" }, "language"},
		{"BadCategory", func(d *TemplateDefinition) { d.Category = "SERVICE" }, "category"},
		{"BadParameterFormat", func(d *TemplateDefinition) { d.ParameterFormat = "named" }, "parameter_format"},
		{"NoComponents", func(d *TemplateDefinition) { d.Components = nil }, "components"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
			d := valid
			tt.edit(&d)
			_, _, _, err := c.CreateTemplate(context.Background(), testWABA, testToken, d)
			if !isValidation(tt.wantField)(err) {
				t.Errorf("err = %v, want a validation error on %s", err, tt.wantField)
			}
			if n := len(g.Calls()); n != 0 {
				t.Errorf("made %d calls", n)
			}
		})
	}
}
