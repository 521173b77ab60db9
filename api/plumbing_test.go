package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/plaza-crm/plaza"
)

func TestPlumbing_UnknownRoutes(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		ts.do(req{Method: "GET", Path: "/api/nothing-here"}).want(t, http.StatusNotFound, "NOT_FOUND")
		r := ts.do(req{Method: "DELETE", Path: "/api/user/login"}).want(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		if r.Header.Get("Allow") == "" {
			t.Error("405 without Allow")
		}
	})
}

func TestPlumbing_BodyLimit(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.API.MaxBodyBytes = 1024
		big := `{"name": "` + strings.Repeat("x", 2000) + `"}`
		ts.do(req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Body: big}).want(t, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		ts.do(req{Method: "POST", Path: "/api/user/login", Body: big}).want(t, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		var keys []any
		ts.do(req{Method: "GET", Path: "/api/apikey", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &keys)
		if len(keys) != 1 {
			t.Fatalf("%d keys after a refused create, want 1", len(keys))
		}
	})
}

func TestPlumbing_MalformedJSON(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		for _, body := range []string{`{`, `{"name": }`, `not json`, `{"name": "a"} trailing`} {
			r := ts.do(req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Body: body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if !strings.Contains(r.Message, "not valid JSON") {
				t.Errorf("%s: message %q does not give the reason", body, r.Message)
			}
		}
		// A workspaceId of the wrong type is named.
		r := ts.do(req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Body: map[string]any{"name": "k", "workspaceId": 7}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "workspaceId" {
			t.Fatalf("fields = %v", f)
		}
	})
}

// panickyUsers panics in every call, as a bug would.
type panickyUsers struct{ plaza.UserService }

func (panickyUsers) Login(context.Context, string, string, string) (*plaza.Login, error) {
	panic("secret internal detail: connection string postgres://admin:hunter2@db")
}

// failingUsers fails with a driver-level error, as an outage would.
type failingUsers struct{ plaza.UserService }

func (failingUsers) Login(context.Context, string, string, string) (*plaza.Login, error) {
	return nil, errors.New("pq: relation users does not exist at 10.1.2.3")
}

func TestPlumbing_InternalErrors(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		login := req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": "a@b.co", "password": "whatever-1"}}

		ts.API.Users = panickyUsers{ts.Users}
		r := ts.do(login).want(t, http.StatusInternalServerError, "INTERNAL")
		if r.Message != "Internal error." || strings.Contains(string(r.Body), "hunter2") {
			t.Fatalf("body leaks internals: %s", r.Body)
		}
		if logs := ts.Logs.String(); !strings.Contains(logs, "hunter2") || !strings.Contains(logs, "goroutine") {
			t.Fatalf("the log lacks the panic and its stack:\n%s", logs)
		}

		ts.API.Users = failingUsers{ts.Users}
		r = ts.do(login).want(t, http.StatusInternalServerError, "INTERNAL")
		if strings.Contains(string(r.Body), "10.1.2.3") {
			t.Fatalf("body leaks internals: %s", r.Body)
		}
		if !strings.Contains(ts.Logs.String(), "relation users does not exist") {
			t.Fatal("the log lacks the error")
		}
		// The server goes on serving.
		ts.API.Users = ts.Users
		ts.do(req{Method: "GET", Path: "/healthz"}).want(t, http.StatusOK, "")
	})
}

func TestPlumbing_RequestID(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		r := ts.do(req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": "trace-123"}})
		if got := r.Header.Get("X-Request-Id"); got != "trace-123" {
			t.Fatalf("X-Request-Id = %q", got)
		}
		r = ts.do(req{Method: "GET", Path: "/api/nothing"})
		id := r.Header.Get("X-Request-Id")
		if len(id) != 16 || !strings.Contains(ts.Logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("generated id %q not logged", id)
		}
	})
}

func TestPlumbing_HealthAndReadiness(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		ts.do(req{Method: "GET", Path: "/healthz"}).want(t, http.StatusOK, "")
		ts.do(req{Method: "GET", Path: "/readyz"}).want(t, http.StatusOK, "")
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `plaza_http_requests_total{method="GET",route="GET /readyz",status="200"} 1`) {
			t.Fatalf("metrics: %d\n%s", resp.StatusCode, body)
		}
		// With the database gone, the replica is not ready but still alive.
		ts.DB.Close()
		ts.do(req{Method: "GET", Path: "/readyz"}).want(t, http.StatusServiceUnavailable, "UNAVAILABLE")
		ts.do(req{Method: "GET", Path: "/healthz"}).want(t, http.StatusOK, "")
	})
}
