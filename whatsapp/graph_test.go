package whatsapp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixture tenant (testdata/README: tenant A).
const (
	testToken   = "EAATESTaccessTOKEN0001"
	testPhoneID = "100200300400501"
	testWABA    = "100200300400500"
	testVersion = "/v23.0"
)

// fixture reads a file copied from the shared fixtures into testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON decodes JSON into generic values, so two documents compare
// semantically (key order and whitespace ignored).
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return v
}

// graphCall is one request the fake Graph API received.
type graphCall struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// fakeGraph is an httptest server that speaks the Graph API as the
// fixtures show: it refuses any token but testToken with the recorded
// code 190 answer, and otherwise lets the test's handler answer.
type fakeGraph struct {
	*httptest.Server
	mu    sync.Mutex
	calls []graphCall
}

func newFakeGraph(t *testing.T, h http.HandlerFunc) (*Client, *fakeGraph) {
	t.Helper()
	expired := fixture(t, "send/error_190_token_expired.json")
	g := &fakeGraph{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// The client went away (cancellation tests).
			return
		}
		g.mu.Lock()
		g.calls = append(g.calls, graphCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeJSON(w, http.StatusUnauthorized, expired)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(g.Close)
	return &Client{BaseURL: g.URL + testVersion, HTTP: g.Client()}, g
}

func (g *fakeGraph) Calls() []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.calls...)
}

// only returns the single call the test expected.
func (g *fakeGraph) only(t *testing.T) graphCall {
	t.Helper()
	calls := g.Calls()
	if len(calls) != 1 {
		t.Fatalf("Graph API got %d calls, want 1", len(calls))
	}
	return calls[0]
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// respondWith answers every request with a fixture file.
func respondWith(t *testing.T, status int, name string) http.HandlerFunc {
	body := fixture(t, name)
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, body) }
}

// checkJSONRequest checks what every JSON call to the Graph API carries.
func checkJSONRequest(t *testing.T, c graphCall, method, path string) {
	t.Helper()
	if c.Method != method || c.Path != testVersion+path {
		t.Errorf("request = %s %s, want %s %s", c.Method, c.Path, method, testVersion+path)
	}
	if got := c.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if method == "POST" {
		if got := c.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
	}
	if strings.Contains(c.Query, testToken) {
		t.Errorf("token leaked into the query %q", c.Query)
	}
}

// diffJSON reports how got differs from want, both JSON documents.
func diffJSON(t *testing.T, want, got []byte) {
	t.Helper()
	if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, got)); diff != "" {
		t.Errorf("request body mismatch (-want +got):\n%s", diff)
	}
}
