package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/api"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// Benchmarks of whole requests over loopback HTTP, on each database:
//
//	go test ./api -run '^$' -bench . -benchmem
//	PLAZA_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench . -benchmem
//
// They print numbers; nothing here asserts a speed.

// benchServer serves the API on a fresh database of dialect d, with
// logging off, and bootstraps one workspace.
func benchServer(b *testing.B, d sqldb.Dialect) (url string, a tenant) {
	db := sqldbtest.MustOpen(b, sqldbtest.DSN(b, d))
	auth := sqldb.NewAuthService(db, testSecret)
	srv := api.NewServer(testSecret)
	srv.Users = sqldb.NewUserService(db, auth, &inbox{})
	srv.Workspaces = sqldb.NewWorkspaceService(db)
	srv.Auth = auth
	srv.Idempotency = sqldb.NewIdempotencyStore(db)
	srv.Ready = db.Ping
	srv.Logger = slog.New(slog.DiscardHandler)
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	bs, err := db.Bootstrap(context.Background(), "Acme", plaza.UserCreate{Email: "ana@acme.test", Password: "correct-horse-1"})
	if err != nil {
		b.Fatal(err)
	}
	return hs.URL, tenant{WorkspaceID: bs.WorkspaceID, UserID: bs.UserID, APIKey: bs.APIKey}
}

func benchDialects(b *testing.B, fn func(b *testing.B, d sqldb.Dialect)) {
	for _, d := range sqldbtest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) { fn(b, d) })
	}
}

func benchRequest(b *testing.B, method, url, key, body string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req, _ := http.NewRequest(method, url, rd)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// A read: authenticate an API key, load the workspace with its masters.
func BenchmarkWorkspaceGet(b *testing.B) {
	benchDialects(b, func(b *testing.B, d sqldb.Dialect) {
		url, a := benchServer(b, d)
		benchRequest(b, "GET", url+"/api/workspace/"+a.WorkspaceID, a.APIKey, "")
	})
}

// A write: create an API key (one insert in a transaction).
func BenchmarkAPIKeyCreate(b *testing.B) {
	benchDialects(b, func(b *testing.B, d sqldb.Dialect) {
		url, a := benchServer(b, d)
		benchRequest(b, "POST", url+"/api/apikey", a.APIKey, `{"name":"bench"}`)
	})
}
