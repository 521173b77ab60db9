package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
)

func TestIdempotencyKey(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		create := func(tenant tenant, key, name string) *response {
			return ts.do(req{Method: "POST", Path: "/api/apikey", Token: tenant.APIKey,
				Header: map[string]string{"Idempotency-Key": key}, Body: map[string]any{"name": name}})
		}
		countKeys := func(tenant tenant) int {
			var keys []any
			ts.do(req{Method: "GET", Path: "/api/apikey", Token: tenant.APIKey}).want(t, http.StatusOK, "").into(t, &keys)
			return len(keys)
		}
		type created struct{ ID, Key string }

		var first, again created
		r1 := create(a, "k-1", "zapier").want(t, http.StatusOK, "")
		r1.into(t, &first)
		if r1.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a first response marked as replayed")
		}
		r2 := create(a, "k-1", "zapier").want(t, http.StatusOK, "")
		r2.into(t, &again)
		if again != first || !bytes.Equal(r1.Body, r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry answered %s, first %s", r2.Body, r1.Body)
		}
		if n := countKeys(a); n != 2 {
			t.Fatalf("%d keys after a retried create, want 2", n)
		}

		// Another request with the same key: 422, nothing written.
		create(a, "k-1", "another name").want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		if n := countKeys(a); n != 2 {
			t.Fatalf("%d keys, want 2", n)
		}
		// Keys are per workspace.
		create(b, "k-1", "zapier").want(t, http.StatusOK, "")
		// A refused request is kept too: the same answer, no write.
		create(a, "k-2", "").want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		create(a, "k-2", "").want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		// A malformed key.
		r := create(a, strings.Repeat("x", 256), "n").want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "Idempotency-Key" {
			t.Fatalf("fields = %v", f)
		}
		// After 24 hours the key is forgotten and runs again.
		ts.DB.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		var later created
		create(a, "k-1", "zapier").want(t, http.StatusOK, "").into(t, &later)
		if later.ID == first.ID {
			t.Fatal("an expired key was replayed")
		}
	})
}

// flakyKeys fails its first CreateAPIKey as an outage would.
type flakyKeys struct {
	plaza.AuthService
	mu     sync.Mutex
	failed bool
}

func (f *flakyKeys) CreateAPIKey(ctx context.Context, name string) (*plaza.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return nil, errors.New("database is down")
	}
	return f.AuthService.CreateAPIKey(ctx, name)
}

func TestIdempotencyKey_ServerErrorsAreNotKept(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.API.Auth = &flakyKeys{AuthService: ts.API.Auth}
		r := req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Header: map[string]string{"Idempotency-Key": "retry-me"}, Body: map[string]any{"name": "n"}}
		ts.do(r).want(t, http.StatusInternalServerError, "INTERNAL")
		ts.do(r).want(t, http.StatusOK, "")
		if got := ts.do(r).want(t, http.StatusOK, "").Header.Get("Idempotent-Replayed"); got != "true" {
			t.Fatal("the successful retry was not kept")
		}
	})
}

// Concurrent requests with one key run once; every one gets the response.
func TestIdempotencyKey_Concurrent(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		const n = 12
		bodies := make([]string, n)
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hr, _ := http.NewRequest("POST", ts.URL+"/api/apikey", strings.NewReader(`{"name":"race"}`))
				hr.Header.Set("Authorization", "Bearer "+a.APIKey)
				hr.Header.Set("Content-Type", "application/json")
				hr.Header.Set("Idempotency-Key", "same-key")
				<-start
				resp, err := http.DefaultClient.Do(hr)
				if err != nil {
					bodies[i] = err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				statuses[i], bodies[i] = resp.StatusCode, string(b)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if statuses[i] != http.StatusOK || bodies[i] != bodies[0] {
				t.Fatalf("request %d: %d %s\nrequest 0: %d %s", i, statuses[i], bodies[i], statuses[0], bodies[0])
			}
		}
		var keys []struct{ Name string }
		ts.do(req{Method: "GET", Path: "/api/apikey", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &keys)
		races := 0
		for _, k := range keys {
			if k.Name == "race" {
				races++
			}
		}
		if races != 1 {
			t.Fatalf("%d keys created by %d requests with one Idempotency-Key, want 1", races, n)
		}
		var env struct{ Data struct{ ID string } }
		json.Unmarshal([]byte(bodies[0]), &env)
		if env.Data.ID == "" {
			t.Fatalf("no id in %s", bodies[0])
		}
	})
}
