package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/api"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// The inbound benchmarks post signed deliveries of one text message each
// (a new wamid each, from 1,000 customers) to /webhooks/whatsapp over 8
// connections per core, with the inbox's drainer as in plaza serve:
//
//	go test ./api -run '^$' -bench Inbound -benchtime 5000x
//	PLAZA_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench Inbound -benchtime 5000x
//
// accepted_msgs/s and p99_accept_ms are the webhook's throughput and
// latency; processed_msgs/s how fast the messages were fully stored
// (contact, conversation, message, delivery marked processed).

// BenchmarkInboundWebhook drains the deliveries while they arrive;
// processed_msgs/s runs from the first request to the last delivery
// processed.
func BenchmarkInboundWebhook(b *testing.B) { benchInbound(b, false) }

// BenchmarkInboundAcceptThenDrain accepts every delivery with the drainer
// stopped (the webhook alone), then starts it: processed_msgs/s is the
// drainer's rate on a backlog.
func BenchmarkInboundAcceptThenDrain(b *testing.B) { benchInbound(b, true) }

func benchInbound(b *testing.B, drain bool) {
	benchDialects(b, func(b *testing.B, d sqldb.Dialect) {
		ctx := context.Background()
		db := sqldbtest.MustOpen(b, sqldbtest.DSN(b, d))
		logger := slog.New(slog.DiscardHandler)
		numbers := sqldb.NewWhatsAppNumberService(db, testSecret)
		inboxStore := sqldb.NewWhatsAppInbox(db)
		if !drain {
			startDrainer(b, db, logger)
		}
		srv := api.NewServer(testSecret)
		srv.WhatsAppNumbers, srv.WhatsAppInbox = numbers, inboxStore
		srv.Logger = logger
		hs := httptest.NewServer(srv)
		b.Cleanup(hs.Close)
		bs, err := db.Bootstrap(ctx, "Acme", plaza.UserCreate{Email: "ana@acme.test", Password: "correct-horse-1"})
		if err != nil {
			b.Fatal(err)
		}
		owner := plaza.NewContextWithPrincipal(ctx, &plaza.Principal{UserID: bs.UserID, WorkspaceID: bs.WorkspaceID, Role: plaza.RoleOwner})
		if _, err := numbers.CreateWhatsAppNumber(owner, plaza.WhatsAppNumberCreate{PhoneNumberID: numberA, WabaID: wabaA,
			DisplayPhoneNumber: "15550001234", AccessToken: "token", AppSecret: appSecretA, VerifyToken: "verify"}); err != nil {
			b.Fatal(err)
		}

		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		var seq atomic.Int64
		var mu sync.Mutex
		var latencies []time.Duration
		b.SetParallelism(8)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				i := seq.Add(1)
				from := fmt.Sprintf("5198700%04d", i%1000)
				body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"%s","changes":[{"field":"messages","value":`+
					`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"%s"},`+
					`"contacts":[{"profile":{"name":"Cliente %d"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"wamid.BENCH_%d",`+
					`"timestamp":"%d","type":"text","text":{"body":"mensaje %d"}}]}}]}]}`,
					wabaA, numberA, i%1000, from, from, i, 1795791600+i, i)
				req, _ := http.NewRequest("POST", hs.URL+"/webhooks/whatsapp", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sign(appSecretA, []byte(body)))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
		accepted := time.Since(start)
		if drain {
			start = time.Now()
			startDrainer(b, db, logger)
		}
		for {
			var left int
			if err := db.QueryRowForTest(ctx, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL`).Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		processed := time.Since(start)
		b.StopTimer()
		slices.Sort(latencies)
		b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted_msgs/s")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99_accept_ms")
		b.ReportMetric(float64(b.N)/processed.Seconds(), "processed_msgs/s")
	})
}

// startDrainer runs the drainer of db's webhook inbox, as plaza serve
// does, until the test ends.
func startDrainer(tb testing.TB, db *sqldb.DB, logger *slog.Logger) {
	tb.Helper()
	inbox := sqldb.NewWhatsAppInbox(db)
	inbox.Logger = logger
	d := &messaging.Drainer{Inbox: inbox, Logger: logger, Workers: messaging.DrainWorkers(string(db.Dialect)),
		Worker: &messaging.InboxWorker{Numbers: sqldb.NewWhatsAppNumberService(db, testSecret), Store: sqldb.NewInboundStore(db), Logger: logger}}
	// BENCH_DRAIN_WORKERS=N compares lane counts in the benchmarks.
	if w, _ := strconv.Atoi(os.Getenv("BENCH_DRAIN_WORKERS")); w > 0 {
		d.Workers = w
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
}
