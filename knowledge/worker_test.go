package knowledge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/knowledge"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// A name that resolves to a private address passes the check made when
// the file is added (names are not resolved then) and is refused when the
// job dials it: the file fails at once, saying why.
func TestWorker_RefusesPrivateAddressWhenDialling(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the guard let a request through to %s", r.URL)
		}))
		defer srv.Close()
		guard, err := messaging.ParseFetchAllow("")
		if err != nil {
			t.Fatal(err)
		}
		files := sqldb.NewKnowledgeService(db, nil) // no check when added
		workers := river.NewWorkers()
		knowledge.AddWorker(workers, &knowledge.Worker{Store: files, Client: guard.HTTPClient()})
		q, err := db.OpenQueue(sqldb.QueueConfig{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(context.Background())

		b, err := db.Bootstrap(context.Background(), "Clinic", plaza.UserCreate{Email: "ana@clinic.test", Password: "correct-horse-1", Name: "Ana"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := plaza.NewContextWithPrincipal(context.Background(), &plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
		doc, _ := plaza.ParseAgentDocument([]byte(`{"name":"KB"}`))
		a, err := sqldb.NewAgentService(db).CreateAgent(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		f, err := files.AddKnowledgeFile(ctx, plaza.KnowledgeFileCreate{AgentID: a.Agent.ID, FileURL: "http://localhost:" + u.Port() + "/faq.txt"})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			got, err := files.GetKnowledgeFile(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != plaza.KnowledgeProcessing {
				if got.Status != plaza.KnowledgeFailed || got.Error == nil ||
					!strings.Contains(*got.Error, "refused to connect to 127.0.0.1") || !strings.Contains(*got.Error, "PLAZA_FETCH_ALLOW") {
					t.Fatalf("file: %s %v", got.Status, got.Error)
				}
				t.Logf("failed: %s", *got.Error)
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("still processing after a minute")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
