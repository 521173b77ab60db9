package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/api"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// testServer is Plaza's API on a real database behind a real HTTP server.
type testServer struct {
	t      *testing.T
	URL    string
	DB     *sqldb.DB
	API    *api.Server
	Users  *sqldb.UserService
	Mailer *inbox
	Logs   *syncBuffer
	clock  time.Time
	mu     sync.Mutex
}

// inbox keeps the reset codes the server mails.
type inbox struct {
	mu    sync.Mutex
	codes map[string]string
}

func (m *inbox) SendPasswordReset(_ context.Context, to, _, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[string]string{}
	}
	m.codes[strings.ToLower(to)] = code
	return nil
}

func (m *inbox) code(to string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codes[strings.ToLower(to)]
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const testSecret = "test-secret-key-0123456789abcdef-0123"

// newTestServer serves the API on a fresh database at dsn.
func newTestServer(t *testing.T, dsn string) *testServer {
	t.Helper()
	db := sqldbtest.MustOpen(t, dsn)
	ts := &testServer{t: t, DB: db, Mailer: &inbox{}, Logs: &syncBuffer{}}
	srv := newAPIServer(t, db, ts.Mailer, slog.New(slog.NewJSONHandler(ts.Logs, nil)))
	ts.Users = srv.Users.(*sqldb.UserService)
	ts.API = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	ts.URL = hs.URL
	return ts
}

// newAPIServer wires every service of db into an API server, as
// cmd/plaza does, with an insert-only job queue (tests that need workers
// start them).
func newAPIServer(tb testing.TB, db *sqldb.DB, mailer plaza.Mailer, logger *slog.Logger) *api.Server {
	tb.Helper()
	if _, err := db.OpenQueue(sqldb.QueueConfig{}); err != nil {
		tb.Fatal(err)
	}
	auth := sqldb.NewAuthService(db, testSecret)
	srv := api.NewServer(testSecret)
	srv.Users = sqldb.NewUserService(db, auth, mailer)
	srv.Workspaces = sqldb.NewWorkspaceService(db)
	srv.Opportunities = sqldb.NewOpportunityService(db)
	srv.Pipelines = sqldb.NewPipelineService(db)
	srv.History = sqldb.NewHistoryService(db)
	srv.Contacts = sqldb.NewContactService(db)
	srv.Auth = auth
	srv.Tasks = sqldb.NewTaskService(db)
	srv.Masters = sqldb.NewMasterService(db)
	srv.Idempotency = sqldb.NewIdempotencyStore(db)
	srv.WhatsAppNumbers = sqldb.NewWhatsAppNumberService(db, testSecret)
	srv.WhatsAppInbox = sqldb.NewWhatsAppInbox(db)
	srv.Webhooks = sqldb.NewWebhookService(db, testSecret, forwardGuard.CheckURL)
	srv.Conversations = sqldb.NewConversationService(db)
	srv.Agents = sqldb.NewAgentService(db)
	srv.Knowledge = sqldb.NewKnowledgeService(db, strictGuard.CheckURL)
	srv.Automations = sqldb.NewAutomationService(db, testSecret)
	srv.Webchat = sqldb.NewWebchatService(db, testSecret)
	srv.Campaigns = sqldb.NewCampaignService(db)
	srv.Ready = db.Ping
	srv.Logger = logger
	srv.Version = "test"
	return srv
}

// eachServer runs fn once per database with a fresh server.
func eachServer(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) { fn(t, newTestServer(t, dsn)) })
}

// tenant is a bootstrapped workspace with its owner.
type tenant struct {
	WorkspaceID, UserID, APIKey, Email, Password string
}

func (ts *testServer) bootstrap(workspace, email string) tenant {
	ts.t.Helper()
	const password = "correct-horse-1"
	b, err := ts.DB.Bootstrap(context.Background(), workspace, plaza.UserCreate{Email: email, Password: password, Name: "Owner"})
	if err != nil {
		ts.t.Fatal(err)
	}
	return tenant{WorkspaceID: b.WorkspaceID, UserID: b.UserID, APIKey: b.APIKey, Email: email, Password: password}
}

// response is a decoded envelope with its status and raw body.
type response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Success   bool            `json:"success"`
	Code      int             `json:"code"`
	ErrorCode *string         `json:"errorCode"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data"`
}

// errorCode is the envelope's errorCode, "" when null.
func (r *response) errorCode() string {
	if r.ErrorCode == nil {
		return ""
	}
	return *r.ErrorCode
}

// fields lists the fields a validation error names.
func (r *response) fields() []string {
	var d struct {
		Errors []plaza.FieldError `json:"errors"`
	}
	json.Unmarshal(r.Data, &d)
	var fs []string
	for _, e := range d.Errors {
		fs = append(fs, e.Field)
	}
	return fs
}

// into decodes the envelope's data into v.
func (r *response) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// req describes one request; Body is JSON-encoded unless it is a string
// (sent as is) or nil.
type req struct {
	Method, Path string
	Token        string // Authorization: Bearer
	Workspace    string // x-workspace-id
	Header       map[string]string
	Body         any
}

// do sends r and decodes the envelope. Every response is checked against
// the OpenAPI document.
func (ts *testServer) do(r req) *response {
	ts.t.Helper()
	var body io.Reader
	var raw []byte
	switch b := r.Body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			ts.t.Fatal(err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(r.Method, ts.URL+r.Path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if raw != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Workspace != "" {
		hr.Header.Set("x-workspace-id", r.Workspace)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, Header: resp.Header}
	if out.Body, err = io.ReadAll(resp.Body); err != nil {
		ts.t.Fatal(err)
	}
	checkOpenAPI(ts.t, hr, raw, resp, out.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && r.Path != "/openapi.json" {
		if err := json.Unmarshal(out.Body, out); err != nil {
			ts.t.Fatalf("%s %s: body is not an envelope: %v\n%s", r.Method, r.Path, err, out.Body)
		}
		if out.Code != out.Status {
			ts.t.Errorf("%s %s: envelope code %d != HTTP status %d", r.Method, r.Path, out.Code, out.Status)
		}
		if out.Success != (out.Status < 300) || out.Success != (out.ErrorCode == nil) {
			ts.t.Errorf("%s %s: success=%v errorCode=%v for status %d", r.Method, r.Path, out.Success, out.ErrorCode, out.Status)
		}
	}
	return out
}

// want fails the test unless the response has the status and errorCode.
func (r *response) want(t *testing.T, status int, errorCode string) *response {
	t.Helper()
	if r.Status != status || r.errorCode() != errorCode {
		t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.errorCode(), status, errorCode, r.Body)
	}
	return r
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	goldenID   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	goldenTime = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z`)
	goldenCode = regexp.MustCompile(`"(plz_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_.-]+)"`)
)

// assertGolden compares a JSON body with testdata/golden/NAME.json, after
// replacing what changes from run to run: ids become <id-1>, <id-2>... in
// order of first appearance, .NET timestamps <time>, secrets <secret>.
// The same file serves both databases. go test -update rewrites it.
func assertGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("golden %s: %v\n%s", name, err, body)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	ids := map[string]string{}
	got := goldenID.ReplaceAllStringFunc(string(pretty), func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = fmt.Sprintf("<id-%d>", len(ids)+1)
		}
		return ids[id]
	})
	got = goldenTime.ReplaceAllString(got, "<time>")
	got = goldenCode.ReplaceAllString(got, `"<secret>"`) + "\n"
	file := filepath.Join("testdata", "golden", name+".json")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", name, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("golden %s (-want +got):\n%s", name, diff)
	}
}
