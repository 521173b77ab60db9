package agent

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
)

func TestTrimWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"Short answer.", 5, "Short answer."},
		{"One two three. Four five six. Seven.", 5, "One two three."},
		{"One two three. Four five six. Seven.", 6, "One two three. Four five six."},
		{"Él dijo «sí». ¿Vienes? Claro que sí, mañana.", 4, "Él dijo «sí». ¿Vienes?"},
		{"A very long first sentence without an end", 4, "A very long first…"},
		{"Version 2.5 is out, and more words follow here", 3, "Version 2.5 is…"},
		{"any", 0, "any"},
	} {
		if got := trimWords(c.in, c.max); got != c.want {
			t.Errorf("trimWords(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestWithinHours(t *testing.T) {
	week := []plaza.AgentHours{{Days: []int{1, 2, 3, 4, 5}, From: "08:00", To: "18:00"}, {Days: []int{6}, From: "22:00", To: "02:00"}}
	lima := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h+5, m, 0, 0, time.UTC) } // Lima is UTC-5
	for _, c := range []struct {
		t    time.Time
		want bool
	}{
		{lima(30, 8, 0), true},   // Monday 08:00
		{lima(30, 17, 59), true}, // Monday 17:59
		{lima(30, 18, 0), false}, // Monday 18:00
		{lima(29, 12, 0), false}, // Sunday
		{lima(28, 23, 0), true},  // Saturday night
		{lima(29, 1, 30), true},  // ... past midnight, Sunday
		{lima(29, 2, 0), false},
	} {
		got, err := withinHours(c.t, "America/Lima", week)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.t, got, err, c.want)
		}
	}
	if _, err := withinHours(time.Now(), "Mars/Base", week); err == nil {
		t.Error("unknown zone accepted")
	}
	if _, err := withinHours(time.Now(), "", []plaza.AgentHours{{From: "8am", To: "18:00"}}); err == nil {
		t.Error("bad hour accepted")
	}
}

func decode(t *testing.T, s string) any {
	var v any
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSONPathAndConditions(t *testing.T) {
	body := decode(t, `{"data":{"status":"accepted","items":[{"n":1},{"n":2,"ok":true}],"a b":"x","count":3},"flag":false}`)
	for path, want := range map[string]any{
		"$.data.status": "accepted", "$.data.items[1].n": json.Number("2"), "$.data.items[-1].ok": true, "$['data']['a b']": "x",
	} {
		got, ok, err := lookup(body, path)
		if err != nil || !ok || got != want {
			t.Errorf("%s = %v, %v, %v; want %v", path, got, ok, err, want)
		}
	}
	if _, ok, _ := lookup(body, "$.data.items[5].n"); ok {
		t.Error("out of range found")
	}
	if _, _, err := lookup(body, "data.status"); err == nil {
		t.Error("path without $ accepted")
	}
	// "$.response.x" reads the body itself when it has no "response" key.
	if v, ok, _ := lookupResponse(body, "$.response.data.status"); !ok || v != "accepted" {
		t.Errorf("$.response fallback: %v %v", v, ok)
	}
	for cond, want := range map[string]bool{
		"$.data.status == 'accepted'": true, `$.data.status != "accepted"`: false, "$.data.count >= 3": true,
		"$.data.count < 3": false, "$.flag == false": true, "$.data.missing == null": true, "$.data.items[1].ok": true,
		"$.flag": false, "$.data.status == 'a == b'": false,
	} {
		got, err := evalCondition(body, cond)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", cond, got, err, want)
		}
	}
	if _, err := evalCondition(body, "$.data.status == accepted"); err == nil {
		t.Error("unquoted literal accepted")
	}
}

func TestFillTemplate(t *testing.T) {
	args := map[string]any{"name": "Ana", "n": json.Number("3"), "list": []any{map[string]any{"k": "v"}}}
	got := fillTemplate(decode(t, `{"who":"{{name}}","count":"{{n}}","items":"{{ list }}","text":"{{name}} x{{n}}","none":"{{missing}}","fixed":7}`), args)
	b, _ := json.Marshal(got)
	if want := `{"count":3,"fixed":7,"items":[{"k":"v"}],"none":"","text":"Ana x3","who":"Ana"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
