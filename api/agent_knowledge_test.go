package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract/extracttest"
	"github.com/plaza-crm/plaza/knowledge"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
)

// strictGuard allows no private address: production's default.
var strictGuard, _ = messaging.ParseFetchAllow("")

// startKnowledge makes the server accept file URLs the guard allows and
// the queue work the indexing jobs, fetching through the guard.
func (ts *testServer) startKnowledge(guard *messaging.FetchGuard) {
	ts.t.Helper()
	ts.API.Knowledge = sqldb.NewKnowledgeService(ts.DB, guard.CheckURL)
	workers := river.NewWorkers()
	knowledge.AddWorker(workers, &knowledge.Worker{Store: sqldb.NewKnowledgeService(ts.DB, guard.CheckURL),
		Client: guard.HTTPClient(), Logger: slog.New(slog.NewJSONHandler(ts.Logs, nil))})
	q, err := ts.DB.OpenQueue(sqldb.QueueConfig{Workers: workers, Logger: slog.New(slog.NewJSONHandler(ts.Logs, nil))})
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
}

// awaitFile polls validate-file until the file is no longer processing.
func (ts *testServer) awaitFile(t *testing.T, tn tenant, fileID string) plaza.KnowledgeFile {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := ts.do(req{Method: "GET", Path: "/api/agent/validate-file?WorkspaceId=" + tn.WorkspaceID + "&FileId=" + fileID,
			Token: tn.APIKey, Workspace: tn.WorkspaceID}).want(t, 200, "")
		var f plaza.KnowledgeFile
		r.into(t, &f)
		if f.Status != plaza.KnowledgeProcessing {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("file %s still processing after a minute", fileID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// search asks the agent store what the runtime would get.
func (ts *testServer) search(t *testing.T, tn tenant, agentID, q string) []string {
	t.Helper()
	ps, err := sqldb.NewAgentService(ts.DB).SearchKnowledge(context.Background(), tn.WorkspaceID, agentID, q, 5)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range ps {
		texts = append(texts, p.Text)
	}
	return texts
}

// upload posts a multipart add-file-direct.
func (ts *testServer) upload(t *testing.T, tn tenant, agentID, name, contentType string, content []byte) *response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("agentId", agentID)
	mw.WriteField("workspaceId", tn.WorkspaceID)
	mw.WriteField("reference", "Uploaded "+name)
	mw.WriteField("tags", `["kb","`+name+`"]`)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.Close()
	hr, err := http.NewRequest("POST", ts.URL+"/api/agent/add-file-direct", &buf)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", mw.FormDataContentType())
	hr.Header.Set("Authorization", "Bearer "+tn.APIKey)
	hr.Header.Set("x-workspace-id", tn.WorkspaceID)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	checkOpenAPI(t, hr, nil, resp, out.Body)
	if err := json.Unmarshal(out.Body, out); err != nil {
		t.Fatalf("not an envelope: %s", out.Body)
	}
	return out
}

func TestAgent_KnowledgeFiles(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "ana@clinic.test")
		as := func(r req) req { r.Token, r.Workspace = tn.APIKey, tn.WorkspaceID; return r }
		docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/faq.md":
				w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
				io.WriteString(w, "# Preguntas\n\n**Reembolsos**: tardan _cinco_ días hábiles.\n\nLa clínica abre a las ocho.\n")
			case "/moved":
				http.Redirect(w, r, "/faq.md", http.StatusFound)
			case "/image.png":
				w.Header().Set("Content-Type", "image/png")
				w.Write([]byte("\x89PNG\r\n\x1a\n"))
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(docs.Close)

		// By default a private URL is refused, naming the field and the
		// setting that allows it.
		agentID := ts.do(as(req{Method: "POST", Path: "/api/agent/add", Body: map[string]any{"name": "KB"}})).want(t, 200, "").top(t).AgentID
		for _, u := range []string{docs.URL + "/faq.md", "http://localhost:1/x.pdf", "http://169.254.169.254/latest", "http://[::1]/a"} {
			r := ts.do(as(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"WorkspaceId": tn.WorkspaceID,
				"FileUrl": u, "Reference": "FAQ", "AgentId": agentID}})).want(t, 400, "VALIDATION_FAILED")
			if f := r.fields(); len(f) != 1 || f[0] != "fileUrl" || !strings.Contains(r.Message, "PLAZA_FETCH_ALLOW") {
				t.Errorf("%s: %v %s", u, f, r.Message)
			}
		}
		ts.do(as(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"AgentId": agentID}})).want(t, 400, "VALIDATION_FAILED")
		ts.do(as(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"FileUrl": "ftp://x/y", "AgentId": agentID}})).want(t, 400, "VALIDATION_FAILED")

		// Allowed by the operator, the URL is fetched by the job.
		allow, err := messaging.ParseFetchAllow("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		ts.startKnowledge(allow)
		add := ts.do(as(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"WorkspaceId": tn.WorkspaceID,
			"FileUrl": docs.URL + "/faq.md", "Reference": "FAQ", "AgentId": agentID, "Tags": []string{"faq"}}})).want(t, 200, "")
		fileID := add.top(t).FileID
		f := ts.awaitFile(t, tn, fileID)
		if f.Status != plaza.KnowledgeReady || f.Passages != 1 || f.Error != nil || f.FileName != "faq.md" || f.Reference != "FAQ" {
			t.Fatalf("file: %+v", f)
		}
		want := []string{"Preguntas\n\nReembolsos: tardan cinco días hábiles.\n\nLa clínica abre a las ocho."}
		if got := ts.search(t, tn, agentID, "¿cuánto tardan los reembolsos?"); !cmpEqual(want, got) {
			t.Errorf("search: %q", got)
		}

		// Failures are the file's, with the reason.
		for path, reason := range map[string]string{
			"/missing":   "The file URL answered 404 Not Found.",
			"/moved":     "The file URL redirects (302 to /faq.md); give the final URL.",
			"/image.png": "Cannot read text from image/png; send plain text, Markdown, HTML, PDF or DOCX.",
		} {
			r := ts.do(as(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"FileUrl": docs.URL + path, "AgentId": agentID}})).want(t, 200, "")
			f := ts.awaitFile(t, tn, r.top(t).FileID)
			if f.Status != plaza.KnowledgeFailed || f.Error == nil || *f.Error != reason {
				t.Errorf("%s: %s %v", path, f.Status, f.Error)
			}
		}

		// Uploads of each format.
		for _, u := range []struct {
			name, contentType string
			content           []byte
			query, want       string
		}{
			{"horario.md", "text/markdown", []byte("## Horario\n\nAbrimos los *sábados* por la mañana."), "sabados", "Horario\n\nAbrimos los sábados por la mañana."},
			{"precios.html", "text/html", []byte("<html><body><h1>Precios</h1><p>La limpieza cuesta <b>30</b> dólares.</p><script>secreto()</script></body></html>"),
				"limpieza", "Precios\n\nLa limpieza cuesta 30 dólares."},
			{"politica.docx", "application/octet-stream", extracttest.DOCX(`<w:p><w:r><w:t>La garantía dura un año.</w:t></w:r></w:p>`),
				"garantia", "La garantía dura un año."},
			{"manual.pdf", "application/pdf", extracttest.PDF("BT /F1 12 Tf 72 720 Td (Los implantes se revisan cada seis meses.) Tj ET"),
				"implantes", "Los implantes se revisan cada seis meses."},
		} {
			r := ts.upload(t, tn, agentID, u.name, u.contentType, u.content).want(t, 200, "")
			f := ts.awaitFile(t, tn, r.top(t).FileID)
			if f.Status != plaza.KnowledgeReady || f.FileURL != nil || f.Size != int64(len(u.content)) || f.FileName != u.name ||
				!cmpEqual([]string{"kb", u.name}, f.Tags) {
				t.Errorf("%s: %+v %v", u.name, f, f.Error)
			}
			if got := ts.search(t, tn, agentID, u.query); !cmpEqual([]string{u.want}, got) {
				t.Errorf("%s: search %q found %q", u.name, u.query, got)
			}
		}
		ts.upload(t, tn, agentID, "scan.png", "image/png", []byte("\x89PNG\r\n\x1a\n")).want(t, 200, "")
		ts.upload(t, tn, "", "a.txt", "text/plain", []byte("x")).want(t, 400, "VALIDATION_FAILED")
		ts.do(as(req{Method: "POST", Path: "/api/agent/add-file-direct", Body: map[string]any{"agentId": agentID}})).want(t, 400, "VALIDATION_FAILED")

		// get-agent lists the files.
		var a struct {
			Files []plaza.KnowledgeFile `json:"files"`
		}
		ts.do(as(req{Method: "GET", Path: "/api/agent/get-agent?id=" + agentID})).want(t, 200, "").into(t, &a)
		if len(a.Files) != 9 {
			t.Errorf("get-agent lists %d files, want 9", len(a.Files))
		}

		// Another workspace cannot see, index into or delete them.
		other := ts.bootstrap("Other", "bo@other.test")
		them := func(r req) req { r.Token, r.Workspace = other.APIKey, other.WorkspaceID; return r }
		ts.do(them(req{Method: "GET", Path: "/api/agent/validate-file?FileId=" + fileID})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "DELETE", Path: "/api/agent/delete-file", Body: map[string]any{"AgentId": agentID, "FileId": fileID}})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "POST", Path: "/api/agent/add-file", Body: map[string]any{"FileUrl": docs.URL + "/faq.md", "AgentId": agentID}})).want(t, 404, "NOT_FOUND")

		// deleteFile removes its passages.
		ts.do(as(req{Method: "DELETE", Path: "/api/agent/delete-file", Body: map[string]any{"WorkspaceId": tn.WorkspaceID,
			"AgentId": agentID, "FileId": fileID}})).want(t, 200, "")
		if got := ts.search(t, tn, agentID, "reembolsos"); len(got) != 0 {
			t.Errorf("after delete-file: %q", got)
		}
		ts.do(as(req{Method: "GET", Path: "/api/agent/validate-file?FileId=" + fileID})).want(t, 404, "NOT_FOUND")
		ts.do(as(req{Method: "DELETE", Path: "/api/agent/delete-file", Body: map[string]any{"AgentId": agentID, "FileId": fileID}})).want(t, 404, "NOT_FOUND")
	})
}

func cmpEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
