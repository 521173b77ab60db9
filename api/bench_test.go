package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plaza-crm/plaza"
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
	hs := httptest.NewServer(newAPIServer(b, db, &inbox{}, slog.New(slog.DiscardHandler)))
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
	benchRequestFunc(b, method, url, key, func() string { return body })
}

// benchRequestFunc sends method url from parallel clients, each request
// with the body body() gives.
func benchRequestFunc(b *testing.B, method, url, key string, body func() string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var rd io.Reader
			if s := body(); s != "" {
				rd = strings.NewReader(s)
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

// A CRM write: create a contact (phone normalisation, uniqueness checks,
// default stage, stage history, one transaction).
func BenchmarkContactCreate(b *testing.B) {
	benchDialects(b, func(b *testing.B, d sqldb.Dialect) {
		url, a := benchServer(b, d)
		var n atomic.Int64
		benchRequestFunc(b, "POST", url+"/api/contact", a.APIKey, func() string {
			return fmt.Sprintf(`{"name":"Bench","platformId":1,"email":"c%d@bench.test"}`, n.Add(1))
		})
	})
}

// A CRM read: the first page (20) of a list of 200 contacts.
func BenchmarkContactList(b *testing.B) {
	benchDialects(b, func(b *testing.B, d sqldb.Dialect) {
		url, a := benchServer(b, d)
		for i := range 200 {
			req, _ := http.NewRequest("POST", url+"/api/contact", strings.NewReader(fmt.Sprintf(`{"name":"Bench","platformId":1,"email":"l%d@bench.test"}`, i)))
			req.Header.Set("Authorization", "Bearer "+a.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err, resp.StatusCode)
			}
			resp.Body.Close()
		}
		benchRequest(b, "GET", url+"/api/contact", a.APIKey, "")
	})
}
