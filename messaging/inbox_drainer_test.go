package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// textDelivery is a delivery of one text message from a customer to
// number A of the fixtures.
func textDelivery(i int, from, text string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"100200300400500","changes":[{"field":"messages","value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100200300400501"},`+
		`"contacts":[{"profile":{"name":"Cliente"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"wamid.DRAIN_%d",`+
		`"timestamp":"%d","type":"text","text":{"body":"%s"}}]}}]}]}`, from, from, i, 1795791600+i, text)
}

// trackingStore is the real inbound store with a check on every message:
// it counts how often each wamid is stored, fails while fail says so, and
// reports a message stored while the same one is being stored elsewhere.
type trackingStore struct {
	plaza.InboundStore
	mu         sync.Mutex
	calls      map[string]int
	inFlight   map[string]bool
	concurrent []string
	fail       func(wamid string, call int) error
}

func newTrackingStore(s plaza.InboundStore) *trackingStore {
	return &trackingStore{InboundStore: s, calls: map[string]int{}, inFlight: map[string]bool{}}
}

// track records the start of a store of wamid; the returned func records
// its end.
func (s *trackingStore) track(wamid string) (call int, fail func(string, int) error, done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[wamid]++
	if s.inFlight[wamid] {
		s.concurrent = append(s.concurrent, wamid)
	}
	s.inFlight[wamid] = true
	return s.calls[wamid], s.fail, func() {
		s.mu.Lock()
		delete(s.inFlight, wamid)
		s.mu.Unlock()
	}
}

func (s *trackingStore) StoreInboundMessage(ctx context.Context, m plaza.InboundMessage) (*plaza.InboundResult, error) {
	call, fail, done := s.track(m.WAMID)
	defer done()
	if fail != nil {
		if err := fail(m.WAMID, call); err != nil {
			return nil, err
		}
	}
	return s.InboundStore.StoreInboundMessage(ctx, m)
}

func (s *trackingStore) count(wamid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[wamid]
}

// runDrainer runs d until the test ends.
func runDrainer(t *testing.T, d *messaging.Drainer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitCount polls a count until it is want, failing after a minute (a
// bound on a hung test, not a measure of speed).
func (e *inboxEnv) waitCount(t *testing.T, want int, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.count(t, query, args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d after a minute, want %d\n%s", query, got, want, e.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The drainer applies what the webhook stores, woken by the store (its
// poll is an hour), in arrival order: the conversation's last message is
// the last one sent.
func TestDrainer_AppliesInArrivalOrder(t *testing.T) {
	t.Parallel()
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		runDrainer(t, &messaging.Drainer{Inbox: e.inbox, Worker: e.worker, Logger: e.worker.Logger, PollInterval: time.Hour, BatchSize: 4})
		ctx := context.Background()
		for i := range 10 {
			if err := e.inbox.StoreWhatsAppDelivery(ctx, textDelivery(i, "51987000001", fmt.Sprintf("mensaje %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		e.waitCount(t, 10, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`)
		for query, want := range map[string]int{
			`SELECT count(*) FROM messages`:                                               10,
			`SELECT count(*) FROM contacts`:                                               1,
			`SELECT count(*) FROM conversations WHERE last_message = 'mensaje 9'`:         1,
			`SELECT count(*) FROM whatsapp_inbox WHERE attempts = 1 AND claimed_by <> ''`: 10,
		} {
			if got := e.count(t, query); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
	})
}

// A delivery that fails is retried with backoff, its attempts and last
// error stored, until it is applied; one that keeps failing is given up
// after MaxAttempts and kept; one that cannot be parsed is given up at
// once. The others are applied meanwhile.
func TestDrainer_RetriesAndGivesUp(t *testing.T) {
	t.Parallel()
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newInboxEnv(t, db)
		store := newTrackingStore(e.store)
		store.fail = func(wamid string, call int) error {
			switch {
			case wamid == "wamid.DRAIN_1" && call <= 2:
				return errors.New("database hiccup")
			case wamid == "wamid.DRAIN_2":
				return fmt.Errorf("broken for good (call %d)", call)
			}
			return nil
		}
		worker := &messaging.InboxWorker{Numbers: e.worker.Numbers, Store: store, Logger: e.worker.Logger}
		runDrainer(t, &messaging.Drainer{Inbox: e.inbox, Worker: worker, Logger: e.worker.Logger, MaxAttempts: 4,
			Backoff: func(int) time.Duration { return 5 * time.Millisecond }, PollInterval: time.Hour})
		ctx := context.Background()
		for i := range 4 {
			if err := e.inbox.StoreWhatsAppDelivery(ctx, textDelivery(i, fmt.Sprintf("5198700000%d", i), "hola")); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.inbox.StoreWhatsAppDelivery(ctx, []byte(`{"object":"whatsapp_business_account","entry":"not a list"}`)); err != nil {
			t.Fatal(err)
		}
		e.waitCount(t, 3, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`)
		e.waitCount(t, 2, `SELECT count(*) FROM whatsapp_inbox WHERE failed_at IS NOT NULL`)
		for query, want := range map[string]int{
			`SELECT count(*) FROM messages`: 3,
			`SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL AND attempts = 3 AND last_error LIKE '%database hiccup%'`: 1,
			`SELECT count(*) FROM whatsapp_inbox WHERE failed_at IS NOT NULL AND processed_at IS NULL AND attempts = 4
				AND last_error LIKE '%broken for good (call 4)%' AND body LIKE '%DRAIN_2%'`: 1,
			`SELECT count(*) FROM whatsapp_inbox WHERE failed_at IS NOT NULL AND attempts = 1 AND last_error LIKE '%unparsable%'`: 1,
		} {
			if got := e.count(t, query); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
		if n := store.count("wamid.DRAIN_2"); n != 4 {
			t.Errorf("the broken delivery was tried %d times, want 4", n)
		}
		logs := e.logs.String()
		if strings.Count(logs, "delivery given up") != 2 || !strings.Contains(logs, "will retry") {
			t.Errorf("logs:\n%s", logs)
		}
	})
}

// Two replicas on one database, each with its own handle and drainer,
// share the deliveries both store: each is applied exactly once, never by
// both at the same time, and on PostgreSQL a delivery stored by one wakes
// the other (polls are an hour).
func TestDrainer_TwoReplicas(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		db1, db2 := sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)
		e := newInboxEnv(t, db1)
		store := newTrackingStore(sqldb.NewInboundStore(db1))
		inbox2 := sqldb.NewWhatsAppInbox(db2)
		for _, r := range []struct {
			db    *sqldb.DB
			inbox plaza.WhatsAppInbox
			owner string
		}{{db1, e.inbox, "replica-1"}, {db2, inbox2, "replica-2"}} {
			// Both replicas' workers report to one tracker, each storing
			// through its own handle.
			s := &replicaStore{trackingStore: store, own: sqldb.NewInboundStore(r.db)}
			w := &messaging.InboxWorker{Numbers: sqldb.NewWhatsAppNumberService(r.db, inboxSecretKey), Store: s, Logger: e.worker.Logger}
			runDrainer(t, &messaging.Drainer{Inbox: r.inbox, Worker: w, Logger: e.worker.Logger, Owner: r.owner,
				BatchSize: 7, Workers: 3, PollInterval: time.Hour})
		}
		const n = 300
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					in := plaza.WhatsAppInbox(e.inbox)
					if i%2 == 1 {
						in = inbox2
					}
					if err := in.StoreWhatsAppDelivery(context.Background(), textDelivery(i, fmt.Sprintf("519870%05d", i%37), "hola")); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		e.waitCount(t, n, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`)
		if got := e.count(t, `SELECT count(*) FROM messages`); got != n {
			t.Errorf("%d messages, want %d", got, n)
		}
		store.mu.Lock()
		defer store.mu.Unlock()
		if len(store.concurrent) > 0 {
			t.Errorf("applied by both replicas at once: %v", store.concurrent)
		}
		for i := range n {
			if c := store.calls[fmt.Sprintf("wamid.DRAIN_%d", i)]; c != 1 {
				t.Errorf("delivery %d applied %d times", i, c)
			}
		}
		t.Logf("replica-1 applied %d, replica-2 %d",
			e.count(t, `SELECT count(*) FROM whatsapp_inbox WHERE claimed_by = 'replica-1'`),
			e.count(t, `SELECT count(*) FROM whatsapp_inbox WHERE claimed_by = 'replica-2'`))
	})
}

// replicaStore stores through its replica's handle and reports to the
// shared tracker.
type replicaStore struct {
	*trackingStore
	own plaza.InboundStore
}

func (s *replicaStore) StoreInboundMessage(ctx context.Context, m plaza.InboundMessage) (*plaza.InboundResult, error) {
	_, _, done := s.track(m.WAMID)
	defer done()
	return s.own.StoreInboundMessage(ctx, m)
}

// On PostgreSQL a delivery stored by another replica wakes the drainer
// through LISTEN/NOTIFY; its poll is an hour, so nothing else could.
func TestDrainer_WokenByOtherReplica(t *testing.T) {
	t.Parallel()
	// Replicas share PostgreSQL only: SQLite has no other process to hear
	// from.
	if !slices.Contains(sqldbtest.Dialects(t), sqldb.Postgres) {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := sqldbtest.DSN(t, sqldb.Postgres)
		db1, db2 := sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)
		e := newInboxEnv(t, db1)
		listening := make(chan struct{}, 1)
		e.inbox.Listening = func() { signalTest(listening) }
		runDrainer(t, &messaging.Drainer{Inbox: e.inbox, Worker: e.worker, Logger: e.worker.Logger, PollInterval: time.Hour})
		select {
		case <-listening:
		case <-time.After(time.Minute):
			t.Fatal("the drainer did not LISTEN within a minute")
		}
		// The drainer's first round (at start) found nothing.
		if err := e.inbox.StoreWhatsAppDelivery(context.Background(), textDelivery(0, "51987000001", "hola")); err != nil {
			t.Fatal(err)
		}
		e.waitCount(t, 1, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`)
		other := sqldb.NewWhatsAppInbox(db2)
		if err := other.StoreWhatsAppDelivery(context.Background(), textDelivery(1, "51987000001", "otra vez")); err != nil {
			t.Fatal(err)
		}
		e.waitCount(t, 2, `SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NOT NULL`)
	})
}

func signalTest(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
