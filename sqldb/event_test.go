package sqldb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// testEvent is an event of workspace ws whose data names it.
func testEvent(ws, name string) plaza.Event {
	return plaza.Event{WorkspaceID: ws, Type: plaza.EventMessageCreated, ConversationID: "cv-" + name,
		Data: json.RawMessage(fmt.Sprintf(`{"name":%q}`, name))}
}

func eventName(t *testing.T, e plaza.Event) string {
	t.Helper()
	var d struct{ Name string }
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatalf("event %d data %s: %v", e.ID, e.Data, err)
	}
	return d.Name
}

func names(t *testing.T, events []plaza.Event) []string {
	t.Helper()
	out := []string{}
	for _, e := range events {
		out = append(out, eventName(t, e))
	}
	return out
}

// writeEvents commits one transaction writing the named events.
func writeEvents(t *testing.T, db *sqldb.DB, ws string, names ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginEventTxForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := tx.InsertEvent(ctx, testEvent(ws, n)); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// receive takes n events from c, failing after a minute.
func receive(t *testing.T, c <-chan plaza.Event, n int) []plaza.Event {
	t.Helper()
	var got []plaza.Event
	deadline := time.After(time.Minute)
	for len(got) < n {
		select {
		case e, ok := <-c:
			if !ok {
				t.Fatalf("the channel closed after %d events, want %d", len(got), n)
			}
			got = append(got, e)
		case <-deadline:
			t.Fatalf("%d events within a minute, want %d", len(got), n)
		}
	}
	return got
}

// quiet fails if c delivers anything before a write made after the call
// is seen: it writes a marker event and expects it to come first.
func expectNext(t *testing.T, db *sqldb.DB, c <-chan plaza.Event, ws, want string) {
	t.Helper()
	if got := eventName(t, receive(t, c, 1)[0]); got != want {
		t.Fatalf("next event %q, want %q", got, want)
	}
}

func startBroker(t *testing.T, db *sqldb.DB, configure func(b *sqldb.EventBroker)) *sqldb.EventBroker {
	t.Helper()
	b := sqldb.NewEventBroker(db, nil)
	if configure != nil {
		configure(b)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

func subscribe(t *testing.T, b *sqldb.EventBroker, f plaza.EventFilter) <-chan plaza.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, err := b.Subscribe(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEvents_PostgresCommitOrder provokes the two ways ids drawn at insert
// become visible out of order on PostgreSQL, and checks that a reader
// asking for ids above the last it took skips nothing.
func TestEvents_PostgresCommitOrder(t *testing.T) {
	db := sqldbtest.MustOpen(t, sqldbtest.DSN(t, sqldb.Postgres))
	ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
	ctx := context.Background()
	begin := func() *sqldb.EventTxForTest {
		tx, err := db.BeginEventTxForTest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
		return tx
	}
	insert := func(tx *sqldb.EventTxForTest, name string) {
		if err := tx.InsertEvent(ctx, testEvent(ws, name)); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(tx *sqldb.EventTxForTest) {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	last, err := db.EventHeadForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// read is the broker's read: what it takes, and moves past.
	// Transactions of other tests on the server hold events back too:
	// read again until none is held (wantHeld: our own running
	// transaction holds them, read once).
	read := func(wantNames []string, wantHeld bool) {
		t.Helper()
		var got []string
		deadline := time.Now().Add(time.Minute)
		for {
			events, held, err := db.TailEventsForTest(ctx, last)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, names(t, events)...)
			for _, e := range events {
				if e.ID <= last {
					t.Fatalf("event %d after %d", e.ID, last)
				}
				last = e.ID
			}
			if wantHeld || !held {
				if fmt.Sprint(got) != fmt.Sprint(wantNames) || held != wantHeld {
					t.Fatalf("read %v (held %v), want %v (held %v)", got, held, wantNames, wantHeld)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("events still held after a minute; read %v", got)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A broker beside the reads gets the same events in the same order.
	broker := startBroker(t, db, nil)
	live := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})

	// 1. The transaction that wrote first commits last: the later one's
	// event waits for it.
	a, b := begin(), begin()
	insert(a, "a1")
	insert(b, "b1")
	commit(b)
	read(nil, true)
	commit(a)
	read([]string{"a1", "b1"}, false)

	// 2. An older transaction writes its event after a younger one did:
	// with ids from a sequence and a filter on xids, the older one's
	// (larger) id would be taken first and the younger one's skipped.
	older, younger := begin(), begin()
	if err := older.TakeXID(ctx); err != nil {
		t.Fatal(err)
	}
	if err := younger.TakeXID(ctx); err != nil {
		t.Fatal(err)
	}
	insert(younger, "young1")
	insert(older, "old1")
	insert(younger, "young2")
	commit(older)
	read([]string{"old1"}, false)
	commit(younger)
	read([]string{"young1", "young2"}, false)

	// 3. A rolled-back transaction leaves nothing and holds nothing back.
	rb, c := begin(), begin()
	insert(rb, "rolled-back")
	insert(c, "c1")
	if err := rb.Rollback(); err != nil {
		t.Fatal(err)
	}
	commit(c)
	read([]string{"c1"}, false)

	got := names(t, receive(t, live, 6))
	if want := "[a1 b1 old1 young1 young2 c1]"; fmt.Sprint(got) != want {
		t.Fatalf("the broker delivered %v, want %s", got, want)
	}
}

// TestEvents_ConcurrentWriters: transactions writing events side by side
// and committing in any order; one subscriber gets each event once, in
// increasing id order.
func TestEvents_ConcurrentWriters(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
		broker := startBroker(t, db, nil)
		c := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
		const writers, txs = 6, 20
		want := map[string]bool{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range writers {
			for i := range txs {
				n := 1 + (w+i)%3
				for k := range n {
					want[fmt.Sprintf("w%d-t%d-e%d", w, i, k)] = true
				}
			}
			wg.Go(func() {
				ctx := context.Background()
				for i := range txs {
					tx, err := db.BeginEventTxForTest(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					for k := range 1 + (w+i)%3 {
						if err := tx.InsertEvent(ctx, testEvent(ws, fmt.Sprintf("w%d-t%d-e%d", w, i, k))); err != nil {
							t.Error(err)
						}
						runtime.Gosched() // let other writers in between
					}
					if rand.IntN(4) == 0 {
						runtime.Gosched()
					}
					mu.Lock()
					err = tx.Commit()
					mu.Unlock()
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		got := receive(t, c, len(want))
		seen := map[string]bool{}
		for i, e := range got {
			if i > 0 && e.ID <= got[i-1].ID {
				t.Fatalf("event %d came after %d", e.ID, got[i-1].ID)
			}
			n := eventName(t, e)
			if !want[n] || seen[n] {
				t.Fatalf("event %q unexpected or twice", n)
			}
			seen[n] = true
		}
	})
}

// TestEventBroker_Subscribe: live events from Subscribe on, the backlog
// after an id, one conversation's events, one workspace's only.
func TestEventBroker_Subscribe(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
		b := mustBootstrap(t, db, "Beta", "bob@beta.test").WorkspaceID
		writeEvents(t, db, a, "before-1", "before-2")
		broker := startBroker(t, db, nil)
		ctx := context.Background()
		if _, err := broker.Subscribe(ctx, plaza.EventFilter{}); plaza.ErrorCode(err) != plaza.EINVALID {
			t.Fatalf("a subscription with no workspace: %v", err)
		}
		fromNow := subscribe(t, broker, plaza.EventFilter{WorkspaceID: a})
		writeEvents(t, db, b, "beta-1")
		writeEvents(t, db, a, "one", "two")
		// Events written before may still come, when another transaction
		// on the server held them back as the broker started; then "one"
		// and "two", and never Beta's.
		var got []plaza.Event
		for len(got) < 2 {
			e := receive(t, fromNow, 1)[0]
			if n := eventName(t, e); len(got) > 0 || (n != "before-1" && n != "before-2") {
				got = append(got, e)
			}
		}
		if n := names(t, got); fmt.Sprint(n) != "[one two]" {
			t.Fatalf("from now: %v", n)
		}

		// Resuming after "one" gets "two" from the backlog, then live
		// events, with nothing twice.
		resumed := subscribe(t, broker, plaza.EventFilter{WorkspaceID: a, After: got[0].ID})
		expectNext(t, db, resumed, a, "two")
		stored, _, err := db.TailEventsForTest(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		first := stored[0].ID
		all := subscribe(t, broker, plaza.EventFilter{WorkspaceID: a, After: first})
		if n := names(t, receive(t, all, 3)); fmt.Sprint(n) != "[before-2 one two]" {
			t.Fatalf("from the first: %v", n)
		}
		conv := subscribe(t, broker, plaza.EventFilter{WorkspaceID: a, ConversationID: "cv-three", After: first})
		writeEvents(t, db, b, "beta-2")
		writeEvents(t, db, a, "three", "four")
		expectNext(t, db, resumed, a, "three")
		expectNext(t, db, resumed, a, "four")
		expectNext(t, db, all, a, "three")
		expectNext(t, db, fromNow, a, "three")
		expectNext(t, db, conv, a, "three")
		// Beta's events reached no subscriber of Acme: the next of each is
		// Acme's next.
		writeEvents(t, db, a, "five")
		expectNext(t, db, all, a, "four")
		expectNext(t, db, fromNow, a, "four")
		for _, c := range []<-chan plaza.Event{fromNow, resumed, all} {
			expectNext(t, db, c, a, "five")
		}
		betas := subscribe(t, broker, plaza.EventFilter{WorkspaceID: b, After: first})
		if n := names(t, receive(t, betas, 2)); fmt.Sprint(n) != "[beta-1 beta-2]" {
			t.Fatalf("beta: %v", n)
		}
	})
}

// TestEventBroker_SlowSubscriber: a subscriber that stops reading is
// dropped (its channel closes) and the others get every event.
func TestEventBroker_SlowSubscriber(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
		broker := startBroker(t, db, func(b *sqldb.EventBroker) { b.Buffer = 2 })
		slow := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
		fast := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
		for i := range 8 {
			writeEvents(t, db, ws, fmt.Sprint(i))
			receive(t, fast, 1)
		}
		n := 0
		deadline := time.After(time.Minute)
		for {
			select {
			case _, ok := <-slow:
				if !ok {
					if n >= 8 {
						t.Fatalf("the slow subscriber got all %d events", n)
					}
					return
				}
				n++
			case <-deadline:
				t.Fatal("the slow subscriber was not dropped")
			}
		}
	})
}

// TestEventBroker_Stop: cancelled subscriptions and Stop leave no
// goroutine behind, and Stop closes every channel.
func TestEventBroker_Stop(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
		writeEvents(t, db, ws, "old")
		before := runtime.NumGoroutine()
		broker := sqldb.NewEventBroker(db, nil)
		if err := broker.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		var open []<-chan plaza.Event
		for i := range 10 {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := broker.Subscribe(ctx, plaza.EventFilter{WorkspaceID: ws, After: int64(i % 2)})
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				cancel()
				for range c { // closes
				}
			} else {
				open = append(open, c)
			}
		}
		broker.Stop()
		for _, c := range open {
			for range c {
			}
		}
		if _, err := broker.Subscribe(context.Background(), plaza.EventFilter{WorkspaceID: ws}); err == nil {
			t.Fatal("subscribed to a stopped broker")
		}
		deadline := time.Now().Add(time.Minute)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, %d before the broker:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	})
}

// TestEventBroker_OtherHandle: an event written through one handle on the
// database (another replica) reaches a subscriber of a broker on another.
func TestEventBroker_OtherHandle(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		writer, reader := sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)
		ws := mustBootstrap(t, writer, "Acme", "ana@acme.test").WorkspaceID
		broker := startBroker(t, reader, nil)
		c := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
		for i := range 3 {
			writeEvents(t, writer, ws, fmt.Sprint(i))
			expectNext(t, reader, c, ws, fmt.Sprint(i))
		}
	})
}

// TestEventBroker_ListenerReconnects: when the LISTEN connection drops,
// the broker connects again and hears the next commits (its poll is an
// hour here, so only NOTIFY can bring them).
func TestEventBroker_ListenerReconnects(t *testing.T) {
	dsn := sqldbtest.DSN(t, sqldb.Postgres)
	db, other := sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)
	ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
	broker := startBroker(t, db, func(b *sqldb.EventBroker) { b.PollInterval = time.Hour })
	c := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
	waitPID := func(not uint32) uint32 {
		deadline := time.Now().Add(time.Minute)
		for {
			if pid := broker.ListenerPID(); pid != 0 && pid != not {
				return pid
			}
			if time.Now().After(deadline) {
				t.Fatal("the listener did not connect")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	pid := waitPID(0)
	writeEvents(t, other, ws, "first")
	expectNext(t, db, c, ws, "first")
	var killed bool
	if err := db.QueryRowForTest(context.Background(), `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listener: %v %v", killed, err)
	}
	waitPID(pid)
	writeEvents(t, other, ws, "after-reconnect")
	expectNext(t, db, c, ws, "after-reconnect")
}

// TestPruneEvents: events older than the horizon go, in bounded batches;
// newer ones stay.
func TestPruneEvents(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ws := mustBootstrap(t, db, "Acme", "ana@acme.test").WorkspaceID
		now := time.Now()
		db.Now = func() time.Time { return now.Add(-8 * 24 * time.Hour) }
		for i := range 5 {
			writeEvents(t, db, ws, fmt.Sprint("old", i))
		}
		db.Now = func() time.Time { return now }
		writeEvents(t, db, ws, "new")
		ctx := context.Background()
		n, err := db.PruneEvents(ctx, now.Add(-7*24*time.Hour), 2, 2)
		if err != nil || n != 4 {
			t.Fatalf("pruned %d (%v), want 4 in two batches of 2", n, err)
		}
		if n, err = db.PruneEvents(ctx, now.Add(-7*24*time.Hour), 2, 10); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want the last old one", n, err)
		}
		var left int
		db.QueryRowForTest(ctx, `SELECT count(*) FROM events`).Scan(&left)
		if left != 1 {
			t.Fatalf("%d events left, want the new one", left)
		}
	})
}

// TestEvents_Inbound: storing an inbound message writes message.created
// and conversation.updated, with the message and conversation as the reads
// render them; a status writes message.updated.
func TestEvents_Inbound(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		env := newInboundEnv(t, db)
		ws := env.number.WorkspaceID
		broker := startBroker(t, db, nil)
		c := subscribe(t, broker, plaza.EventFilter{WorkspaceID: ws})
		ctx := context.Background()
		res, err := env.store.StoreInboundMessage(ctx, plaza.InboundMessage{Number: env.number, WAMID: "wamid.in1",
			From: "5215512345678", ProfileName: "Lucía", Type: "text", Content: "Hola", Timestamp: time.Unix(1712546000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, c, 2)
		if got[0].Type != plaza.EventMessageCreated || got[1].Type != plaza.EventConversationUpdated {
			t.Fatalf("types %s, %s", got[0].Type, got[1].Type)
		}
		pctx := plaza.NewContextWithPrincipal(ctx, &plaza.Principal{WorkspaceID: ws, Role: plaza.RoleOwner})
		conversations := sqldb.NewConversationService(db)
		msgs, err := conversations.FindMessages(pctx, res.ConversationID, plaza.MessagePage{})
		if err != nil {
			t.Fatal(err)
		}
		cv, err := conversations.FindConversationByID(pctx, res.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []any{msgs[0], cv} {
			w, _ := json.Marshal(want)
			var a, b any
			json.Unmarshal(w, &a)
			json.Unmarshal(got[i].Data, &b)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("event %s data\n%s\nwant\n%s", got[i].Type, got[i].Data, w)
			}
			if got[i].ConversationID != res.ConversationID || got[i].ContactID != res.ContactID || got[i].WorkspaceID != ws {
				t.Errorf("event %s names %s/%s/%s", got[i].Type, got[i].WorkspaceID, got[i].ConversationID, got[i].ContactID)
			}
		}
		// A duplicate delivery writes nothing; a status writes
		// message.updated.
		if _, err := env.store.StoreInboundMessage(ctx, plaza.InboundMessage{Number: env.number, WAMID: "wamid.in1",
			From: "5215512345678", Type: "text", Content: "Hola"}); err != nil {
			t.Fatal(err)
		}
		if err := db.ExecForTest(ctx, `INSERT INTO messages (workspace_id, id, conversation_id, contact_id, direction, type,
			content, payload, wamid, status, send_state, timestamp, creation_date, updated_date)
			VALUES ($1, 'out-1', $2, $3, 'out', 'text', 'Sí', '{}', 'wamid.out1', 'sent', 'sent', $4, $4, $4)`,
			ws, res.ConversationID, res.ContactID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := env.store.ApplyMessageStatus(ctx, plaza.MessageStatusUpdate{Number: env.number, WAMID: "wamid.out1",
			Status: "delivered"}, whatsapp.Advance); err != nil {
			t.Fatal(err)
		}
		e := receive(t, c, 1)[0]
		var m plaza.Message
		json.Unmarshal(e.Data, &m)
		if e.Type != plaza.EventMessageUpdated || m.ID != "out-1" || m.Status == nil || *m.Status != "delivered" {
			t.Fatalf("after the status: %s %s", e.Type, e.Data)
		}
	})
}
