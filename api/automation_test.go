package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
)

// documentGuard lets the tests' prompt documents come from 127.0.0.1.
var documentGuard, _ = messaging.ParseFetchAllow("127.0.0.1")

// shoeFlow is a WhatsApp automation: trigger -> ai_agent (with its own
// API key) -> send_message.
func shoeFlow(wsID string) map[string]any {
	return map[string]any{
		"workspaceId": wsID,
		"name":        "Shoe shop",
		"trigger":     map[string]any{"channel": "whatsapp", "key": "+51 987 654 321"},
		"nodes": []any{
			map[string]any{"id": "node-7330300001-2637700001", "type": "trigger", "position": map[string]any{"x": 0, "y": 0},
				"next": "node-7330300002-2637700002"},
			map[string]any{"id": "node-7330300002-2637700002", "type": "ai_agent", "name": "Seller", "prompt": "You sell shoes.",
				"model": "gpt-4o-mini", "temperature": 0.3, "maxTokens": 400, "memory": 6, "outputVariable": "answer",
				"apiKey": "sk-test-secret-key", "next": "node-7330300003-2637700003"},
			map[string]any{"id": "node-7330300003-2637700003", "type": "send_message", "text": "Hi {{contact.name}}! {{answer}}"},
		},
	}
}

func TestAutomations_CRUD(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")

		r := ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: shoeFlow(a.WorkspaceID)}).want(t, http.StatusOK, "")
		if r.Message != "Automation created successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "automation_create", r.Body)
		if bytes.Contains(r.Body, []byte("sk-test")) || bytes.Contains(bytes.ToLower(r.Body), []byte(`"apikey"`)) {
			t.Fatalf("the API key is in the response: %s", r.Body)
		}
		var created struct {
			ID    string
			Nodes []struct {
				ID        string
				HasAPIKey bool `json:"hasApiKey"`
			}
		}
		r.into(t, &created)
		byID := "/api/automation/" + created.ID

		// Ids left out are generated in Plazbot's format; a webchat flow.
		r = ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: map[string]any{
			"Name": "Web", "Trigger": map[string]any{"Channel": "webchat"}, "Nodes": []any{map[string]any{"Type": "trigger"}}}}).want(t, http.StatusOK, "")
		var web struct{ Nodes []struct{ ID string } }
		r.into(t, &web)
		if len(web.Nodes) != 1 || !strings.HasPrefix(web.Nodes[0].ID, "node-") || len(web.Nodes[0].ID) != len("node-7330300001-2637700001") {
			t.Errorf("generated node id: %s", r.Data)
		}

		r = ts.do(req{Method: "GET", Path: byID, Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "automation_get", r.Body)
		r = ts.do(req{Method: "GET", Path: "/api/automation?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		var list []struct{ Name string }
		r.into(t, &list)
		if diff := cmp.Diff([]struct{ Name string }{{"Shoe shop"}, {"Web"}}, list); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}

		// Another workspace sees nothing of it.
		ts.do(req{Method: "GET", Path: byID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: byID, Token: b.APIKey, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "DELETE", Path: byID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		r = ts.do(req{Method: "GET", Path: "/api/automation", Token: b.APIKey}).want(t, http.StatusOK, "")
		if string(r.Data) != "[]" {
			t.Errorf("b's list = %s", r.Data)
		}

		// One enabled automation per trigger: the same number spelled
		// otherwise is the same trigger.
		again := shoeFlow(a.WorkspaceID)
		again["trigger"] = map[string]any{"channel": "whatsapp", "key": "51987654321"}
		again["nodes"] = []any{map[string]any{"type": "trigger"}}
		r = ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: again}).want(t, http.StatusConflict, "CONFLICT")
		if want := fmt.Sprintf(`{"field":"trigger","id":%q}`, created.ID); string(r.Data) != want {
			t.Errorf("conflict data = %s, want %s", r.Data, want)
		}
		// Node ids are unique in the workspace.
		again["enabled"] = false
		again["nodes"] = []any{map[string]any{"id": "node-7330300001-2637700001", "type": "trigger"}}
		r = ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: again}).want(t, http.StatusConflict, "CONFLICT")
		if want := fmt.Sprintf(`{"field":"nodes[0].id","id":%q}`, created.ID); string(r.Data) != want {
			t.Errorf("conflict data = %s, want %s", r.Data, want)
		}

		// Update: the parts sent; nodes without apiKey keep theirs.
		flow := shoeFlow(a.WorkspaceID)
		nodes := flow["nodes"].([]any)
		delete(nodes[1].(map[string]any), "apiKey")
		nodes[1].(map[string]any)["prompt"] = "You sell boots."
		r = ts.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"name": "Boot shop", "enabled": false, "nodes": nodes}}).want(t, http.StatusOK, "")
		if r.Message != "Automation updated successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "automation_update", r.Body)
		ts.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"workspaceId": a.WorkspaceID}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")

		// Bad input names every offending field and writes nothing.
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty", map[string]any{}, []string{"name", "trigger.channel", "nodes"}},
			{"wrong types", `{"name": "x", "trigger": {"channel": "webchat"}, "nodes": [{"type": "ai_agent", "memory": "ten"}]}`, []string{"nodes.memory"}},
			{"graph", map[string]any{"name": "G", "trigger": map[string]any{"channel": "sms"}, "nodes": []any{
				map[string]any{"id": "t", "type": "trigger", "next": "a"},
				map[string]any{"id": "a", "type": "ai_agent", "outputVariable": "my answer", "memory": 80, "next": "s"},
				map[string]any{"id": "s", "type": "send_message", "text": "{{reply}}", "next": "a"},
			}}, []string{"trigger.channel", "nodes[1].memory", "nodes[1].outputVariable", "nodes[1].next", "nodes[2].text"}},
		} {
			r := ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s\n%s", c.name, diff, r.Body)
			}
		}
		r = ts.do(req{Method: "GET", Path: "/api/automation", Token: a.APIKey}).want(t, http.StatusOK, "")
		r.into(t, &list)
		if len(list) != 2 {
			t.Errorf("%d automations after refused creates, want 2", len(list))
		}

		r = ts.do(req{Method: "DELETE", Path: byID, Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "automation_delete", r.Body)
		ts.do(req{Method: "GET", Path: byID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

// promptDocuments serves the documents the prompt tests fetch.
func promptDocuments(t *testing.T) *httptest.Server {
	docs := map[string]struct{ contentType, body string }{
		"/prompt.txt":  {"text/plain; charset=utf-8", "You are Lucía, the shop's assistant.\n\nAnswer in Spanish."},
		"/prompt.md":   {"text/markdown", "# Lucía\n\nYou are **Lucía**, the shop's assistant.\n\n- Answer in Spanish."},
		"/prompt.html": {"text/html; charset=utf-8", "<html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Lucía</h1><p>You are the shop's assistant.</p></body></html>"},
		"/prompt.pdf":  {"application/pdf", string(onePagePDF("You are Lucia, the assistant."))},
		"/empty.txt":   {"text/plain", "  \n\n "},
		"/logo.png":    {"image/png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
		"/long.txt":    {"text/plain", strings.Repeat("word ", plaza.MaxNodePromptLength/5+1)},
		"/huge.txt":    {"text/plain", strings.Repeat("x", 5<<20+1)},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stalled" { // answers only when the client gives up
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/prompt.txt", http.StatusFound)
			return
		}
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", d.contentType)
		w.Write([]byte(d.body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAutomations_NodePrompt(t *testing.T) {
	docs := promptDocuments(t)
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.do(req{Method: "POST", Path: "/api/automation", Token: a.APIKey, Body: shoeFlow(a.WorkspaceID)}).want(t, http.StatusOK, "")
		const agent, send = "node-7330300002-2637700002", "node-7330300003-2637700003"
		path := "/api/automation/node/" + agent + "/prompt"
		setPrompt := func(tn tenant, body map[string]any) *response {
			t.Helper()
			// As Plazbot's documented call: no x-workspace-id, the
			// workspace in the body.
			body["workspaceId"] = tn.WorkspaceID
			return ts.do(req{Method: "POST", Path: path, Token: tn.APIKey, Body: body})
		}

		// Inline prompt.
		r := setPrompt(a, map[string]any{"prompt": "You sell sandals."}).want(t, http.StatusOK, "")
		if r.Message != "Prompt updated successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "automation_node_prompt", r.Body)

		// Without the allow-list, the loopback document server is refused
		// before anything is fetched.
		for _, u := range []string{docs.URL + "/prompt.txt", strings.Replace(docs.URL, "127.0.0.1", "localhost", 1) + "/prompt.txt",
			"http://[::1]/x", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x"} {
			r := setPrompt(a, map[string]any{"urlDocument": u}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff([]string{"urlDocument"}, r.fields()); diff != "" || !strings.Contains(r.Message, "PLAZA_FETCH_ALLOW") {
				t.Errorf("%s: %s", u, r.Body)
			}
		}

		ts.API.FetchGuard = documentGuard
		for _, c := range []struct{ path, want string }{
			{"/prompt.txt", "You are Lucía, the shop's assistant.\n\nAnswer in Spanish."},
			{"/prompt.md", "Lucía\n\nYou are Lucía, the shop's assistant.\n\nAnswer in Spanish."},
			{"/prompt.html", "Lucía\n\nYou are the shop's assistant."},
			{"/prompt.pdf", "You are Lucia, the assistant."},
		} {
			r := setPrompt(a, map[string]any{"urlDocument": docs.URL + c.path}).want(t, http.StatusOK, "")
			var node struct{ ID, Prompt string }
			r.into(t, &node)
			if node.ID != agent || node.Prompt != c.want {
				t.Errorf("%s: node %s prompt %q, want %q", c.path, node.ID, node.Prompt, c.want)
			}
		}
		// Documents that cannot be had or read: 422 naming urlDocument.
		for _, c := range []struct{ path, message string }{
			{"/missing.txt", "urlDocument answered HTTP 404."},
			{"/moved", "urlDocument answered HTTP 302 (redirects are not followed: give the document's own URL)."},
			{"/empty.txt", "urlDocument: The document has no text to read."},
			{"/logo.png", "urlDocument: Cannot read text from image/png; send plain text, Markdown, HTML, PDF or DOCX."},
			{"/huge.txt", "The document at urlDocument is larger than 5 MiB."},
			{"/long.txt", fmt.Sprintf("The text of the document at urlDocument has %d characters; a prompt may have at most 50000.", plaza.MaxNodePromptLength+4)},
		} {
			r := setPrompt(a, map[string]any{"urlDocument": docs.URL + c.path}).want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
			if r.Message != c.message || !cmp.Equal([]string{"urlDocument"}, r.fields()) {
				t.Errorf("%s: %s", c.path, r.Body)
			}
		}
		// A document that never ends is given up at the time limit.
		ts.API.DocumentTimeout = 300 * time.Millisecond
		r = setPrompt(a, map[string]any{"urlDocument": docs.URL + "/stalled"}).want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		if r.Message != "urlDocument did not answer in time (the fetch may take at most 300ms)." {
			t.Errorf("stalled: %s", r.Body)
		}
		ts.API.DocumentTimeout = 0

		// The automation shows the last document's text: the refused ones
		// wrote nothing.
		var list []struct {
			Nodes []struct{ ID, Prompt string }
		}
		ts.do(req{Method: "GET", Path: "/api/automation", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &list)
		if len(list) != 1 || list[0].Nodes[1].Prompt != "You are Lucia, the assistant." {
			t.Errorf("automation after prompt updates: %+v", list)
		}

		// Bad requests.
		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"neither", map[string]any{}, []string{"urlDocument"}},
			{"both", map[string]any{"prompt": "p", "urlDocument": docs.URL + "/prompt.txt"}, []string{"urlDocument", "prompt"}},
			{"not http", map[string]any{"urlDocument": "ftp://example.com/p.txt"}, []string{"urlDocument"}},
			{"relative", map[string]any{"urlDocument": "/prompt.txt"}, []string{"urlDocument"}},
			{"empty prompt", map[string]any{"prompt": " "}, []string{"prompt"}},
			{"prompt too long", map[string]any{"prompt": strings.Repeat("a", plaza.MaxNodePromptLength+1)}, []string{"prompt"}},
			{"wrong type", map[string]any{"urlDocument": 7}, []string{"urlDocument"}},
		} {
			r := setPrompt(a, c.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s\n%s", c.name, diff, r.Body)
			}
		}
		r = ts.do(req{Method: "POST", Path: "/api/automation/node/" + send + "/prompt", Token: a.APIKey,
			Body: map[string]any{"urlDocument": docs.URL + "/prompt.txt"}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"nodeId"}, r.fields()); diff != "" {
			t.Errorf("send_message node: %s", r.Body)
		}
		// The workspace in the body must agree with the header.
		ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Workspace: a.WorkspaceID,
			Body: map[string]any{"workspaceId": b.WorkspaceID, "prompt": "x"}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")

		// Another workspace's node is not found, with either source.
		setPrompt(b, map[string]any{"prompt": "Hijacked"}).want(t, http.StatusNotFound, "NOT_FOUND")
		setPrompt(b, map[string]any{"urlDocument": docs.URL + "/prompt.txt"}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "POST", Path: "/api/automation/node/node-0000000000-0000000000/prompt", Token: a.APIKey,
			Body: map[string]any{"prompt": "x"}}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

// onePagePDF returns a valid one-page PDF showing line in Helvetica.
func onePagePDF(line string) []byte {
	content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", line)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
