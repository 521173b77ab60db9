package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// These tests run the program as a user would, through run(), on a real
// database (SQLite, and PostgreSQL when PLAZA_TEST_POSTGRES_URL is set) and
// over real HTTP.

const (
	testPassword = "choose-a-good-one1"
	testKey      = "0123456789abcdef0123456789abcdef-test"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// envOf returns a getenv over m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// syncBuffer collects a goroutine's output safely.
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

// records parses the JSON log lines written so far; a line that is not
// JSON fails the test (serve logs only JSON).
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(b.String()) {
		if !strings.HasSuffix(line, "\n") {
			break // being written
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// find returns the first log record with message msg, or nil.
func (b *syncBuffer) find(t *testing.T, msg string) map[string]any {
	t.Helper()
	for _, rec := range b.records(t) {
		if rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

// has reports whether a log record's message contains s.
func (b *syncBuffer) has(t *testing.T, s string) bool {
	t.Helper()
	for _, rec := range b.records(t) {
		if strings.Contains(fmt.Sprint(rec["msg"]), s) {
			return true
		}
	}
	return false
}

// bootstrapped is what bootstrap prints.
type bootstrapped struct {
	WorkspaceID string `json:"workspaceId"`
	UserID      string `json:"userId"`
	APIKey      string `json:"apiKey"`
}

// bootstrapCmd runs bootstrap and returns what it printed.
func bootstrapCmd(t *testing.T, getenv func(string) string, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"bootstrap"}, args...), getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

// mustBootstrap bootstraps a workspace and checks that exactly one JSON
// object with the three ids was printed.
func mustBootstrap(t *testing.T, dsn, workspace, email string) bootstrapped {
	t.Helper()
	out, err := bootstrapCmd(t, noEnv, "--database", dsn, "--workspace", workspace, "--email", email,
		"--password", testPassword, "--name", "Ana", "--last-name", "Pérez")
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return parseBootstrap(t, out)
}

func parseBootstrap(t *testing.T, out string) bootstrapped {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("bootstrap printed %q, want one line", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		t.Fatalf("bootstrap output %q: %v", out, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("bootstrap printed more than one JSON value: %q", out)
	}
	if len(fields) != 3 {
		t.Errorf("bootstrap printed %v, want exactly workspaceId, userId, apiKey", fields)
	}
	var b bootstrapped
	json.Unmarshal([]byte(out), &b)
	if b.WorkspaceID == "" || b.UserID == "" || b.APIKey == "" {
		t.Fatalf("bootstrap printed %q, want non-empty workspaceId, userId and apiKey", out)
	}
	return b
}

// countRows counts a table's rows, reading the database behind Plaza's back.
func countRows(t *testing.T, dsn, table string) int {
	t.Helper()
	driver, name := "pgx", dsn
	if file, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, name = "sqlite", file
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		first := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		if !strings.HasPrefix(first.APIKey, sqldb.APIKeyPrefix) {
			t.Errorf("apiKey %q does not start with %q", first.APIKey, sqldb.APIKeyPrefix)
		}
		counts := func() [4]int {
			return [4]int{countRows(t, dsn, "users"), countRows(t, dsn, "workspaces"),
				countRows(t, dsn, "workspace_members"), countRows(t, dsn, "api_keys")}
		}
		before := counts()
		if before != [4]int{1, 1, 1, 1} {
			t.Fatalf("after one bootstrap: users, workspaces, members, keys = %v", before)
		}

		// The same e-mail again, in another case and for another workspace.
		out, err := bootstrapCmd(t, noEnv, "--database", dsn, "--workspace", "Other", "--email", "Owner@EXAMPLE.com",
			"--password", testPassword)
		if err == nil {
			t.Fatalf("second bootstrap with the same e-mail succeeded: %s", out)
		}
		if !strings.Contains(err.Error(), "Owner@EXAMPLE.com already exists") {
			t.Errorf("error %q does not say the e-mail already exists", err)
		}
		if out != "" {
			t.Errorf("a failed bootstrap printed %q", out)
		}
		if after := counts(); after != before {
			t.Errorf("a failed bootstrap changed the database: %v, then %v", before, after)
		}

		// Other e-mails: more workspaces, each with its own owner and key.
		second := mustBootstrap(t, dsn, "Globex", "second@example.com")
		third := mustBootstrap(t, dsn, "Acme", "third@example.com") // names need not be unique
		ids := map[string]bool{}
		for _, b := range []bootstrapped{first, second, third} {
			ids[b.WorkspaceID], ids[b.UserID], ids[b.APIKey] = true, true, true
		}
		if len(ids) != 9 {
			t.Errorf("bootstraps reused ids or keys: %v %v %v", first, second, third)
		}
		if got := counts(); got != [4]int{3, 3, 3, 3} {
			t.Errorf("after three bootstraps: users, workspaces, members, keys = %v", got)
		}

		// Through the API: the first owner still belongs to one workspace.
		srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
		login := srv.login(t, "owner@example.com", testPassword)
		if len(login.Workspaces) != 1 || login.Workspaces[0].ID != first.WorkspaceID || login.Workspaces[0].Name != "Acme" ||
			login.Workspaces[0].Role != "owner" {
			t.Errorf("login workspaces %+v, want only Acme (%s) as owner", login.Workspaces, first.WorkspaceID)
		}
		srv.stop(t)
	})
}

func TestBootstrapFlags(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--workspace, --email, --password required"},
		{[]string{"--workspace", "Acme"}, "--email, --password required"},
		{[]string{"--email", "a@example.com", "--password", testPassword}, "--workspace required"},
		{[]string{"--workspace", "Acme", "--email", "not-an-email", "--password", testPassword}, "email is not a valid e-mail address"},
		{[]string{"--workspace", "Acme", "--email", "a@example.com", "--password", "short"}, "password must be at least 8 characters long"},
		{[]string{"--workspace", "Acme", "--email", "a@example.com", "--password", testPassword, "extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
	} {
		out, err := bootstrapCmd(t, noEnv, append([]string{"--database", dsn}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bootstrap %q: err = %v, want it to say %q", tc.args, err, tc.want)
		}
		if out != "" {
			t.Errorf("bootstrap %q printed %q", tc.args, out)
		}
	}
	if n := countRows(t, dsn, "users"); n != 0 {
		t.Errorf("failed bootstraps created %d users", n)
	}

	// The database may come from the environment.
	out, err := bootstrapCmd(t, envOf(map[string]string{"PLAZA_DATABASE_URL": dsn}),
		"--workspace", "Acme", "--email", "env@example.com", "--password", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	parseBootstrap(t, out)
	if n := countRows(t, dsn, "users"); n != 1 {
		t.Errorf("bootstrap with PLAZA_DATABASE_URL: %d users in that database, want 1", n)
	}

	// --help prints the flags and does nothing.
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"bootstrap", "--help"}, noEnv, nil, &stdout, &stderr); err != nil {
		t.Errorf("bootstrap --help: %v", err)
	}
	if !strings.Contains(stderr.String(), "-workspace") || !strings.Contains(stderr.String(), "PLAZA_DATABASE_URL") {
		t.Errorf("bootstrap --help printed %q", stderr.String())
	}
}

// TestBootstrapInternalError: when the database fails, the operator sees
// why, not just "Internal error.".
func TestBootstrapInternalError(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	db := sqldbtest.MustOpen(t, dsn)
	db.Close()
	raw, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DROP TABLE api_keys`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out, err := bootstrapCmd(t, noEnv, "--database", dsn, "--workspace", "Acme", "--email", "a@example.com", "--password", testPassword)
	if err == nil || !strings.Contains(err.Error(), "api_keys") {
		t.Errorf("bootstrap on a broken database: err = %v, want the cause", err)
	}
	if out != "" {
		t.Errorf("a failed bootstrap printed %q", out)
	}
	if n := countRows(t, dsn, "users"); n != 0 {
		t.Errorf("a failed bootstrap left %d users", n)
	}
}

// TestDefaultDatabase: with no flag and no variable, the database is
// plaza.db in the current directory.
func TestDefaultDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mustBootstrap(t, "sqlite:plaza.db", "Acme", "a@example.com") // the explicit form first
	out, err := bootstrapCmd(t, noEnv, "--workspace", "Acme", "--email", "a@example.com", "--password", testPassword)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("bootstrap with the default database did not find plaza.db's user: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "plaza.db")); err != nil {
		t.Fatal(err)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		for i := range 2 { // the second run has nothing to do
			var stderr bytes.Buffer
			if err := run(context.Background(), []string{"migrate", "--database", dsn}, noEnv, nil, io.Discard, &stderr); err != nil {
				t.Fatalf("migrate #%d: %v", i+1, err)
			}
			if !strings.Contains(stderr.String(), "migrations applied") {
				t.Errorf("migrate printed %q", stderr.String())
			}
		}
		if n := countRows(t, dsn, "schema_migrations"); n == 0 {
			t.Error("no migration recorded")
		}
	})
	err := run(context.Background(), []string{"migrate", "--database", "mysql://x"}, noEnv, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unsupported database URL") {
		t.Errorf("migrate on mysql://: %v", err)
	}
}

func TestVersionHelpAndUnknownCommands(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"version"}, noEnv, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^plaza \S+\n$`).MatchString(stdout.String()) {
		t.Errorf("version printed %q", stdout.String())
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"help"}, noEnv, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate", "bootstrap", "version"} {
		if !strings.Contains(stdout.String(), "plaza "+cmd) {
			t.Errorf("help does not list %s:\n%s", cmd, stdout.String())
		}
	}

	stderr.Reset()
	err := run(context.Background(), []string{"frobnicate"}, noEnv, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: err = %v", err)
	}
	if !strings.Contains(stderr.String(), "Usage:") {
		t.Errorf("unknown command: stderr %q, want the usage", stderr.String())
	}
	if err := run(context.Background(), nil, noEnv, nil, &stdout, io.Discard); err == nil {
		t.Error("no command: no error")
	}
}

// server is a `plaza serve` running in a goroutine.
type server struct {
	URL    string
	Logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `plaza serve --addr 127.0.0.1:0 args...` and waits until
// it listens.
func startServe(t *testing.T, getenv func(string) string, args ...string) *server {
	t.Helper()
	return startServeArgs(t, getenv, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
}

func startServeArgs(t *testing.T, getenv func(string) string, args []string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, getenv, strings.NewReader(""), io.Discard, s.Logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if rec := s.Logs.find(t, "listening"); rec != nil {
			addr, _ := rec["addr"].(string)
			if addr == "" {
				t.Fatalf("the listening log has no addr: %v", rec)
			}
			s.URL = "http://" + addr
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve ended before listening: %v\n%s", err, s.Logs.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log \"listening\":\n%s", s.Logs.String())
		}
	}
}

// stop cancels serve's context, as SIGTERM does, and checks that it ends
// cleanly.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("serve returned %v after a graceful shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if s.Logs.find(t, "stopped") == nil {
		t.Errorf("serve did not log \"stopped\":\n%s", s.Logs.String())
	}
}

// envelope is every API response.
type envelope struct {
	Success   bool            `json:"success"`
	Code      int             `json:"code"`
	ErrorCode *string         `json:"errorCode"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data"`
}

// call sends a request with an optional bearer token and workspace header
// and decodes the envelope.
func (s *server) call(t *testing.T, method, path, token, workspaceID string, body any) envelope {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if workspaceID != "" {
		req.Header.Set("x-workspace-id", workspaceID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %d, body is not an envelope: %v", method, path, resp.StatusCode, err)
	}
	if env.Code != resp.StatusCode {
		t.Errorf("%s %s: status %d but code %d", method, path, resp.StatusCode, env.Code)
	}
	return env
}

// mustCall is call that expects status want.
func (s *server) mustCall(t *testing.T, want int, method, path, token, workspaceID string, body any) envelope {
	t.Helper()
	env := s.call(t, method, path, token, workspaceID, body)
	if env.Code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, env.Code, env.Message, want)
	}
	return env
}

type loginData struct {
	Token      string `json:"token"`
	Workspaces []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Role string `json:"role"`
	} `json:"workspaces"`
}

func (s *server) login(t *testing.T, email, password string) loginData {
	t.Helper()
	env := s.mustCall(t, 200, "POST", "/api/user/login", "", "", map[string]string{"email": email, "password": password})
	var l loginData
	if err := json.Unmarshal(env.Data, &l); err != nil || l.Token == "" {
		t.Fatalf("login data %s: %v", env.Data, err)
	}
	return l
}

func (s *server) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe is the README's walk-through: bootstrap, serve, log in, read
// the workspace, list its users, stop.
func TestServe(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
		listening := srv.Logs.find(t, "listening")
		wantDialect := "sqlite"
		if strings.HasPrefix(dsn, "postgres") {
			wantDialect = "postgres"
		}
		if listening["database"] != wantDialect || listening["version"] == "" || listening["level"] != "INFO" {
			t.Errorf("listening log %v", listening)
		}
		if strings.Contains(srv.Logs.String(), testKey) {
			t.Error("the secret key is in the log")
		}

		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := srv.get(t, path); code != 200 || !strings.Contains(body, `"success":true`) {
				t.Errorf("GET %s: %d %s", path, code, body)
			}
		}
		if code, body := srv.get(t, "/openapi.json"); code != 200 || !strings.Contains(body, `"openapi"`) {
			t.Errorf("GET /openapi.json: %d", code)
		}

		login := srv.login(t, "OWNER@example.com", testPassword)
		if len(login.Workspaces) != 1 || login.Workspaces[0].ID != b.WorkspaceID {
			t.Fatalf("login workspaces %+v, want %s", login.Workspaces, b.WorkspaceID)
		}

		env := srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, login.Token, b.WorkspaceID, nil)
		var ws struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(env.Data, &ws); err != nil || ws.ID != b.WorkspaceID || ws.Name != "Acme" {
			t.Errorf("workspace %s: %v", env.Data, err)
		}

		env = srv.mustCall(t, 200, "GET", "/api/workspace/usersByWorkspaceId/"+b.WorkspaceID, b.APIKey, "", nil)
		var users []struct {
			ID       string `json:"id"`
			Email    string `json:"email"`
			Name     string `json:"name"`
			LastName string `json:"lastName"`
		}
		if err := json.Unmarshal(env.Data, &users); err != nil {
			t.Fatalf("users %s: %v", env.Data, err)
		}
		if len(users) != 1 || users[0].ID != b.UserID || users[0].Email != "owner@example.com" ||
			users[0].Name != "Ana" || users[0].LastName != "Pérez" {
			t.Errorf("users %s", env.Data)
		}
		if strings.Contains(string(env.Data), "$argon2") {
			t.Error("the users list holds a password hash")
		}

		// Credentials are checked.
		srv.mustCall(t, 401, "GET", "/api/workspace/"+b.WorkspaceID, "", b.WorkspaceID, nil)
		srv.mustCall(t, 401, "GET", "/api/workspace/"+b.WorkspaceID, "plz_not-a-key", b.WorkspaceID, nil)
		srv.mustCall(t, 401, "POST", "/api/user/login", "", "", map[string]string{"email": "owner@example.com", "password": "wrong-password1"})

		// The requests above were counted.
		code, metrics := srv.get(t, "/metrics")
		if code != 200 || !strings.Contains(metrics, "plaza_http_requests_total") ||
			!strings.Contains(metrics, `route="POST /api/user/login"`) {
			t.Errorf("GET /metrics: %d\n%s", code, metrics)
		}

		// Requests are logged, as JSON, without credentials.
		var logged bool
		for _, rec := range srv.Logs.records(t) {
			if rec["msg"] == "request" && rec["route"] == "GET /api/workspace/{workspaceId}" {
				logged = true
			}
		}
		if !logged {
			t.Errorf("no request log for GET /api/workspace/{workspaceId}:\n%s", srv.Logs.String())
		}
		if logs := srv.Logs.String(); strings.Contains(logs, login.Token) || strings.Contains(logs, b.APIKey) ||
			strings.Contains(logs, testPassword) {
			t.Error("a credential is in the log")
		}

		srv.stop(t)
		if srv.Logs.find(t, "shutting down") == nil {
			t.Error("no \"shutting down\" log")
		}
		if _, err := http.Get(srv.URL + "/healthz"); err == nil {
			t.Error("the server still answers after it stopped")
		}
	})
}

// TestServeFinishesInFlightRequests: on shutdown, a request under way is
// answered before serve returns.
func TestServeFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	mustBootstrap(t, dsn, "Acme", "owner@example.com")
	srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)

	// A login whose body is only half sent: the handler is reading it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"owner@example.com","password":"` + testPassword + `"}`
	fmt.Fprintf(conn, "POST /api/user/login HTTP/1.1\r\nHost: plaza\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body[:10])
	time.Sleep(50 * time.Millisecond) // let the server read the headers

	srv.cancel()
	for srv.Logs.find(t, "shutting down") == nil {
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-srv.done:
		t.Fatalf("serve returned (%v) with a request under way", err)
	case <-time.After(200 * time.Millisecond):
	}

	io.WriteString(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request under way got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the request under way got %d", resp.StatusCode)
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after the last request")
	}
	if srv.Logs.find(t, "stopped") == nil {
		t.Error("no \"stopped\" log")
	}
}

// TestServeShutdownTimeout: a request that never finishes does not hold
// serve past --shutdown-timeout.
func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	srv := startServe(t, envOf(map[string]string{"PLAZA_SHUTDOWN_TIMEOUT": "300ms"}), "--database", dsn, "--secret-key", testKey)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /api/user/login HTTP/1.1\r\nHost: plaza\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	srv.cancel()
	select {
	case err := <-srv.done:
		srv.done <- err
		if err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Errorf("serve returned %v, want a shutdown error", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("serve took %v to give up", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not give up on the request under way")
	}
	// The connection was cut, not left to a handler on a closed database.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the request under way: read %d bytes, %v; want the connection closed", n, err)
	}
	if rec := srv.Logs.find(t, "shutting down"); rec == nil || rec["timeout"] != "300ms" {
		t.Errorf("shutting down log %v, want timeout 300ms", rec)
	}
}

func TestServeSecretKey(t *testing.T) {
	t.Parallel()
	const warning = "no --secret-key given"
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")

		// First start without a key: one is generated, with a warning.
		srv := startServe(t, noEnv, "--database", dsn)
		if !srv.Logs.has(t, warning) {
			t.Errorf("no warning about the generated key:\n%s", srv.Logs.String())
		}
		for _, rec := range srv.Logs.records(t) {
			if strings.Contains(fmt.Sprint(rec["msg"]), warning) && rec["level"] != "WARN" {
				t.Errorf("the generated-key warning is logged at %v", rec["level"])
			}
		}
		token := srv.login(t, "owner@example.com", testPassword).Token
		srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, token, b.WorkspaceID, nil)
		srv.stop(t)

		// Second start: the stored key is used, silently, and the first
		// run's login token still works.
		srv = startServe(t, noEnv, "--database", dsn)
		if srv.Logs.has(t, warning) {
			t.Errorf("the second start warned again:\n%s", srv.Logs.String())
		}
		srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, token, b.WorkspaceID, nil)
		srv.stop(t)

		// A key given explicitly replaces the stored one: the token, signed
		// with the stored key, no longer works; API keys do.
		srv = startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
		if srv.Logs.has(t, warning) {
			t.Error("warned about a generated key when one was given")
		}
		srv.mustCall(t, 401, "GET", "/api/workspace/"+b.WorkspaceID, token, b.WorkspaceID, nil)
		srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, b.APIKey, "", nil)
		srv.stop(t)
	})
}

func TestServeSecretKeyErrors(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--secret-key", "too-short-0123456789"}, "--secret-key must be at least 32 characters long"},
		{map[string]string{"PLAZA_SECRET_KEY": "short"}, nil, "--secret-key must be at least 32 characters long"},
		{map[string]string{"PLAZA_SECRET_KEY_FILE": filepath.Join(t.TempDir(), "missing")}, nil, "PLAZA_SECRET_KEY_FILE"},
		{nil, []string{"--log-level", "loud"}, "--log-level"},
		{nil, []string{"--smtp-url", "http://mail.example.com"}, "scheme must be smtp or smtps"},
		{nil, []string{"--database", "mysql://x"}, "unsupported database URL"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", dsn}, tc.args...)
		err := run(context.Background(), args, envOf(tc.env), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v %v: err = %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}

// TestServeHelpHidesSecrets: --help lists every flag with its variable and
// shows built-in defaults, never a value from the environment.
func TestServeHelpHidesSecrets(t *testing.T) {
	t.Parallel()
	secretDSN := "postgres://plaza:db-password-123@db.invalid/plaza"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"},
		envOf(map[string]string{"PLAZA_SECRET_KEY": testKey, "PLAZA_DATABASE_URL": secretDSN, "PLAZA_SMTP_URL": "smtp://u:smtp-password@mail.invalid"}),
		nil, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	help := stderr.String()
	for _, secret := range []string{testKey, "db-password-123", "smtp-password"} {
		if strings.Contains(help, secret) {
			t.Errorf("--help shows %q from the environment:\n%s", secret, help)
		}
	}
	for _, want := range []string{
		"-addr", "PLAZA_ADDR", `":8080"`, "-database", "PLAZA_DATABASE_URL", `"sqlite:plaza.db"`,
		"-secret-key", "PLAZA_SECRET_KEY", "-allow-signup", "PLAZA_ALLOW_SIGNUP", "-smtp-url", "PLAZA_SMTP_URL",
		"-smtp-from", "PLAZA_SMTP_FROM", "-log-level", "PLAZA_LOG_LEVEL", "-shutdown-timeout", "PLAZA_SHUTDOWN_TIMEOUT",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %s:\n%s", want, help)
		}
	}
}

func TestServeBadEnvironmentValues(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	for name, value := range map[string]string{"PLAZA_ALLOW_SIGNUP": "yes", "PLAZA_SHUTDOWN_TIMEOUT": "30"} {
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--database", dsn},
			envOf(map[string]string{name: value}), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want it to name the variable", name, value, err)
		}
	}
}

func TestServeSecretKeyFile(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, envOf(map[string]string{"PLAZA_SECRET_KEY_FILE": file}), "--database", dsn)
	if srv.Logs.has(t, "no --secret-key given") {
		t.Error("warned about a generated key when PLAZA_SECRET_KEY_FILE gave one")
	}
	token := srv.login(t, "owner@example.com", testPassword).Token
	srv.stop(t)

	// The file's content, without its newline, is the key.
	srv = startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
	srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, token, b.WorkspaceID, nil)
	srv.stop(t)
}

func TestServeEnvironment(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		env := envOf(map[string]string{
			"PLAZA_DATABASE_URL": dsn,
			"PLAZA_ADDR":         "127.0.0.1:0",
			"PLAZA_SECRET_KEY":   testKey,
			"PLAZA_LOG_LEVEL":    "debug",
		})
		srv := startServeArgs(t, env, []string{"serve"})
		login := srv.login(t, "owner@example.com", testPassword)
		srv.mustCall(t, 200, "GET", "/api/workspace/"+b.WorkspaceID, login.Token, b.WorkspaceID, nil)
		srv.stop(t)

		// Flags win over the environment.
		bad := envOf(map[string]string{"PLAZA_DATABASE_URL": "mysql://nowhere", "PLAZA_ADDR": "not an address"})
		srv = startServeArgs(t, bad, []string{"serve", "--addr", "127.0.0.1:0", "--database", dsn, "--secret-key", testKey})
		srv.login(t, "owner@example.com", testPassword)
		srv.stop(t)
	})
}

func TestServeAllowSignup(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	body := map[string]string{"email": "new@example.com", "password": testPassword, "name": "New"}

	srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
	srv.mustCall(t, 401, "POST", "/api/user", "", "", body)
	srv.stop(t)

	srv = startServe(t, envOf(map[string]string{"PLAZA_ALLOW_SIGNUP": "true"}), "--database", dsn, "--secret-key", testKey)
	srv.mustCall(t, 200, "POST", "/api/user", "", "", body)
	if l := srv.login(t, "new@example.com", testPassword); len(l.Workspaces) != 1 || l.Workspaces[0].Role != "owner" {
		t.Errorf("signed-up user's workspaces %+v", l.Workspaces)
	}
	srv.stop(t)
}

func TestServeAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"serve", "--addr", ln.Addr().String(), "--database", sqldbtest.DSN(t, sqldb.SQLite),
		"--secret-key", testKey}, noEnv, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("serve on a busy address: %v", err)
	}
}

// mailbox is a minimal SMTP server (no TLS, no AUTH) that delivers each
// message's data on a channel.
type mailbox struct {
	Addr string
	msgs chan string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailbox{Addr: ln.Addr().String(), msgs: make(chan string, 10)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				tp := textproto.NewConn(c)
				tp.PrintfLine("220 mailbox ready")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					switch verb, _, _ := strings.Cut(strings.ToUpper(line), " "); verb {
					case "EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP":
						tp.PrintfLine("250 ok")
					case "DATA":
						tp.PrintfLine("354 go ahead")
						b, err := tp.ReadDotBytes()
						if err != nil {
							return
						}
						m.msgs <- string(b)
						tp.PrintfLine("250 queued")
					case "QUIT":
						tp.PrintfLine("221 bye")
						return
					default:
						tp.PrintfLine("502 unknown")
					}
				}
			})
		}
	})
	return m
}

func (m *mailbox) next(t *testing.T) string {
	t.Helper()
	select {
	case msg := <-m.msgs:
		return msg
	case <-time.After(20 * time.Second):
		t.Fatal("no e-mail arrived")
		return ""
	}
}

// resetCode is the code on its own indented line of a reset e-mail.
var resetCode = regexp.MustCompile(`(?m)^    (\S+)$`)

// testReset resets owner@example.com's password with the code that
// codeOf finds, and checks old and new credentials.
func testReset(t *testing.T, srv *server, workspaceID string, codeOf func() string) {
	t.Helper()
	oldToken := srv.login(t, "owner@example.com", testPassword).Token

	env := srv.mustCall(t, 200, "POST", "/api/user/sendEmailToResetPassword", "", "", map[string]string{"email": "Owner@example.com"})
	if !env.Success {
		t.Fatalf("sendEmailToResetPassword: %+v", env)
	}
	// An unknown e-mail gets the same answer.
	unknown := srv.mustCall(t, 200, "POST", "/api/user/sendEmailToResetPassword", "", "", map[string]string{"email": "nobody@example.com"})
	if unknown.Message != env.Message {
		t.Errorf("an unknown e-mail is answered %q, a known one %q", unknown.Message, env.Message)
	}
	code := codeOf()

	const newPassword = "a-new-password-2"
	srv.mustCall(t, 400, "POST", "/api/user/resetPassword", "", "",
		map[string]string{"email": "owner@example.com", "newPassword": newPassword, "verificationId": code + "x"})
	srv.mustCall(t, 200, "POST", "/api/user/resetPassword", "", "",
		map[string]string{"email": "owner@example.com", "newPassword": newPassword, "verificationId": code})
	// The code works once.
	srv.mustCall(t, 400, "POST", "/api/user/resetPassword", "", "",
		map[string]string{"email": "owner@example.com", "newPassword": "yet-another-one3", "verificationId": code})

	srv.mustCall(t, 401, "POST", "/api/user/login", "", "", map[string]string{"email": "owner@example.com", "password": testPassword})
	newToken := srv.login(t, "owner@example.com", newPassword).Token
	srv.mustCall(t, 401, "GET", "/api/workspace/"+workspaceID, oldToken, workspaceID, nil)
	srv.mustCall(t, 200, "GET", "/api/workspace/"+workspaceID, newToken, workspaceID, nil)
}

func TestPasswordResetBySMTP(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		box := newMailbox(t)
		env := envOf(map[string]string{"PLAZA_SMTP_URL": "smtp://" + box.Addr, "PLAZA_SMTP_FROM": "Acme CRM <crm@example.com>"})
		srv := startServe(t, env, "--database", dsn, "--secret-key", testKey)
		testReset(t, srv, b.WorkspaceID, func() string {
			msg := box.next(t)
			for _, want := range []string{"To: owner@example.com\n", "From: \"Acme CRM\" <crm@example.com>\n", "Hello Ana,"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the e-mail lacks %q:\n%s", want, msg)
				}
			}
			m := resetCode.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("no code in the e-mail:\n%s", msg)
			}
			return m[1]
		})
		srv.stop(t)
		select {
		case msg := <-box.msgs:
			t.Errorf("an e-mail went to an unknown address:\n%s", msg)
		default:
		}
		if srv.Logs.has(t, "password reset code logged") {
			t.Error("the code was logged although SMTP is configured")
		}
	})
}

func TestPasswordResetLoggedWithoutSMTP(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
		testReset(t, srv, b.WorkspaceID, func() string {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				for _, rec := range srv.Logs.records(t) {
					if code, ok := rec["verificationId"].(string); ok && rec["to"] == "owner@example.com" {
						return code
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Fatalf("no reset code in the log:\n%s", srv.Logs.String())
			return ""
		})
		srv.stop(t)
	})
}
