package plaza_test

import (
	"encoding/json"
	"testing"

	"github.com/plaza-crm/plaza"
)

func TestConversationSend_Decode(t *testing.T) {
	for _, tc := range []struct {
		body     string
		sendType plaza.SendType
		phones   int
		list     bool
		files    int
	}{
		{`{"sendType": 3, "destination": "51987654321"}`, 3, 1, false, 0},
		{`{"sendType": "3", "destination": ["51987654321", "+1 555 765 4321"]}`, 3, 2, true, 0},
		{`{"sendType": null, "file": {"fileUrl": "https://x.test/a.pdf", "fileName": "a.pdf"}}`, 0, 0, false, 1},
		{`{"sendType": "", "file": [{"fileUrl": "https://x.test/a.pdf"}]}`, 0, 0, false, 1},
		{`{"file": {}}`, 0, 0, false, 0},
	} {
		var in plaza.ConversationSend
		if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if in.SendType != tc.sendType || len(in.Destination.Phones) != tc.phones || in.Destination.List != tc.list || len(in.File) != tc.files {
			t.Errorf("%s: decoded %+v", tc.body, in)
		}
	}
	for _, body := range []string{`{"sendType": 4}`, `{"sendType": "campaign"}`, `{"destination": 5}`} {
		var in plaza.ConversationSend
		if err := json.Unmarshal([]byte(body), &in); plaza.ErrorCode(err) != plaza.EINVALID {
			t.Errorf("%s: err %v, want EINVALID", body, err)
		}
	}
}

func TestBuildTemplateMessage(t *testing.T) {
	tpl := plaza.Template{ElementName: "coupon_reminder", LanguageCode: "es", Components: json.RawMessage(`[
		{"type": "HEADER", "format": "TEXT", "text": "¡Aprovecha, {{1}}!"},
		{"type": "BODY", "text": "Tu cupón {{1}} vence en {{2}} días. {{1}} es tuyo."},
		{"type": "FOOTER", "text": "Plaza Muebles"}]`)}
	in := plaza.ConversationSend{
		VariablesHeader: []plaza.TemplateValue{{Variable: "{{1}}", Value: "Lucía"}},
		VariablesBody:   []plaza.TemplateValue{{Variable: "2", Value: "3"}, {Variable: "1", Value: "PLAZA20"}},
	}
	msg, content, typ, err := plaza.BuildTemplateMessage(tpl, in)
	if err != nil {
		t.Fatal(err)
	}
	if content != "Tu cupón PLAZA20 vence en 3 días. PLAZA20 es tuyo." || typ != "TEXT" {
		t.Errorf("content %q, type %q", content, typ)
	}
	got, _ := json.Marshal(msg)
	want := `{"name":"coupon_reminder","language":{"code":"es"},"components":[` +
		`{"type":"header","parameters":[{"type":"text","text":"Lucía"}]},` +
		`{"type":"body","parameters":[{"type":"text","text":"PLAZA20"},{"type":"text","text":"3"}]}]}`
	if string(got) != want {
		t.Errorf("template\n got %s\nwant %s", got, want)
	}

	// A document header takes the file, with its name.
	doc := plaza.Template{ElementName: "invoice", LanguageCode: "es", Components: json.RawMessage(`[
		{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Tu factura, {{name}}."}]`)}
	in = plaza.ConversationSend{VariablesBody: []plaza.TemplateValue{{Variable: "1", Value: "Lucía"}},
		File: plaza.TemplateFiles{{FileURL: "https://x.test/f.pdf", FileName: "f.pdf"}}}
	msg, _, typ, err = plaza.BuildTemplateMessage(doc, in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(msg.Components)
	want = `[{"type":"header","parameters":[{"type":"document","document":{"link":"https://x.test/f.pdf","filename":"f.pdf"}}]},` +
		`{"type":"body","parameters":[{"type":"text","parameter_name":"name","text":"Lucía"}]}]`
	if string(got) != want || typ != "DOCUMENT" {
		t.Errorf("components %s, type %s", got, typ)
	}
	in.File = nil
	if _, _, _, err := plaza.BuildTemplateMessage(doc, in); plaza.ErrorCode(err) != plaza.EINVALID {
		t.Errorf("no file: err %v", err)
	}
}
