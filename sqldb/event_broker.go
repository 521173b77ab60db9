package sqldb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plaza-crm/plaza"
)

// EventBroker implements plaza.EventStream: one reader of the events
// table per process, fanning out to its subscribers.
//
// It reads the events committed after the last it read when woken: on
// PostgreSQL by a dedicated connection LISTENing for the NOTIFY the
// events table's trigger sends on commit (from any replica), on both
// databases by this process's own commits, and by a poll as a safety net
// (on SQLite the only news of other processes writing the file).
type EventBroker struct {
	db *DB

	// PollInterval is how often the table is read with no wake-up.
	PollInterval time.Duration
	// Buffer is how many events a subscriber may be behind before it is
	// dropped.
	Buffer int
	// Retention is how long events are kept; PruneEvery how often the
	// older ones are deleted.
	Retention, PruneEvery time.Duration
	Logger                *slog.Logger

	mu      sync.Mutex
	subs    map[*eventSub]struct{}
	last    int64 // every event up to it has been fanned out
	running bool
	started bool
	cancel  context.CancelFunc
	quit    <-chan struct{} // closed by Stop
	wg      sync.WaitGroup
	wake    chan struct{}

	listenerPID atomic.Uint32 // the LISTEN connection's backend, for tests
}

// Default settings of an EventBroker.
const (
	DefaultEventPollSQLite   = 500 * time.Millisecond
	DefaultEventPollPostgres = 2 * time.Second
	DefaultEventBuffer       = 256
	DefaultEventRetention    = 7 * 24 * time.Hour
	DefaultEventPruneEvery   = time.Hour
)

// eventBatch is how many events one read takes.
const eventBatch = 500

// NewEventBroker returns a broker of db's events with the default
// settings; Start it before subscribing.
func NewEventBroker(db *DB, logger *slog.Logger) *EventBroker {
	poll := DefaultEventPollSQLite
	if db.Dialect == Postgres {
		poll = DefaultEventPollPostgres
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &EventBroker{db: db, PollInterval: poll, Buffer: DefaultEventBuffer,
		Retention: DefaultEventRetention, PruneEvery: DefaultEventPruneEvery, Logger: logger,
		subs: map[*eventSub]struct{}{}, wake: make(chan struct{}, 1)}
}

var _ plaza.EventStream = (*EventBroker)(nil)

// eventSub is a subscriber: the broker puts its events in in, without
// ever waiting; its pump hands them to the subscriber.
type eventSub struct {
	f  plaza.EventFilter
	in chan plaza.Event
}

func (s *eventSub) wants(e plaza.Event) bool {
	return e.WorkspaceID == s.f.WorkspaceID && (s.f.ConversationID == "" || e.ConversationID == s.f.ConversationID)
}

// Start begins reading events committed from now on. It returns once the
// broker knows where the table ends; the broker runs until Stop.
func (b *EventBroker) Start(ctx context.Context) error {
	head, err := b.db.eventHead(ctx)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("events: the broker was started before")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.last, b.running, b.started, b.cancel, b.quit = head, true, true, cancel, runCtx.Done()
	signal := b.db.eventsCommitted.subscribe()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer b.db.eventsCommitted.unsubscribe(signal)
		b.loop(runCtx, signal)
	}()
	if b.db.Dialect == Postgres && b.db.pool != nil {
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.listen(runCtx) }()
	}
	return nil
}

// Stop ends the broker: every subscriber's channel closes, and every
// goroutine of the broker has returned when Stop does.
func (b *EventBroker) Stop() {
	b.mu.Lock()
	if !b.running {
		b.mu.Unlock()
		return
	}
	b.running = false
	b.cancel()
	for s := range b.subs {
		delete(b.subs, s)
		close(s.in)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// poke wakes the loop.
func (b *EventBroker) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *EventBroker) loop(ctx context.Context, signal <-chan struct{}) {
	prune := time.NewTicker(b.PruneEvery)
	defer prune.Stop()
	b.prune(ctx)
	wait := b.PollInterval
	for {
		held, err := b.catchUp(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			b.Logger.Error("events: read", "error", err.Error())
			wait = b.PollInterval
		case held:
			// Events wait behind a transaction under way, which may write
			// no event and so send no news when it ends: look again soon,
			// less often the longer it takes.
			if wait >= b.PollInterval {
				wait = 2 * time.Millisecond
			} else {
				wait = min(2*wait, b.PollInterval)
			}
		default:
			wait = b.PollInterval
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-b.wake:
		case <-signal:
		case <-timer.C:
		case <-prune.C:
			b.prune(ctx)
		}
		timer.Stop()
	}
}

// catchUp fans out every event a reader may take now.
func (b *EventBroker) catchUp(ctx context.Context) (held bool, err error) {
	for {
		b.mu.Lock()
		after := b.last
		b.mu.Unlock()
		events, held, err := b.db.tailEvents(ctx, after, eventBatch)
		if err != nil {
			return false, err
		}
		b.fanOut(events)
		if held || len(events) < eventBatch {
			return held, nil
		}
	}
}

// fanOut hands events to the subscribers that want them, dropping a
// subscriber whose buffer is full, and moves the broker past them. It is
// one step for Subscribe: a subscriber starts either before or after it.
func (b *EventBroker) fanOut(events []plaza.Event) {
	if len(events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range events {
		for s := range b.subs {
			if !s.wants(e) {
				continue
			}
			select {
			case s.in <- e:
			default:
				b.Logger.Warn("events: a subscriber fell behind and was dropped", "workspace", s.f.WorkspaceID, "event", e.ID)
				delete(b.subs, s)
				close(s.in)
			}
		}
		b.last = e.ID
	}
}

func (b *EventBroker) prune(ctx context.Context) {
	n, err := b.db.PruneEvents(ctx, b.db.Now().Add(-b.Retention), 1000, 20)
	if err != nil && ctx.Err() == nil {
		b.Logger.Error("events: prune", "error", err.Error())
	} else if n > 0 {
		b.Logger.Info("events: pruned", "deleted", n)
	}
}

// listen keeps a connection LISTENing to the events channel, connecting
// again when it drops; each (re)connection wakes the loop to read what
// came meanwhile.
func (b *EventBroker) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		b.Logger.Warn("events: listener disconnected; reconnecting", "error", err.Error(), "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (b *EventBroker) listenOnce(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, b.db.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `LISTEN plaza_events`); err != nil {
		return err
	}
	b.listenerPID.Store(conn.PgConn().PID())
	connected()
	b.poke()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == schema {
			b.poke()
		}
	}
}

// Subscribe implements plaza.EventStream. The filter's workspace is
// required; After > 0 first delivers the stored events after it.
func (b *EventBroker) Subscribe(ctx context.Context, f plaza.EventFilter) (<-chan plaza.Event, error) {
	if f.WorkspaceID == "" {
		return nil, plaza.Errorf(plaza.EINVALID, "A subscription needs its workspace.")
	}
	if f.After < 0 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "after", Message: "after must be an event id, 0 or more."})
	}
	b.mu.Lock()
	if !b.running {
		b.mu.Unlock()
		return nil, errors.New("events: the broker is not running")
	}
	s := &eventSub{f: f, in: make(chan plaza.Event, b.Buffer)}
	b.subs[s] = struct{}{}
	upto := b.last
	b.wg.Add(1)
	b.mu.Unlock()
	out := make(chan plaza.Event)
	go b.pump(ctx, s, upto, out)
	return out, nil
}

// pump delivers a subscriber's backlog, the stored events in (After,
// upto], then what the broker hands it, until ctx ends, the broker stops
// or drops it.
func (b *EventBroker) pump(ctx context.Context, s *eventSub, upto int64, out chan<- plaza.Event) {
	defer b.wg.Done()
	defer close(out)
	defer b.unsubscribe(s)
	send := func(e plaza.Event) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
		case <-b.quit:
		}
		return false
	}
	pos := s.f.After
	if pos == 0 {
		pos = upto
	}
	for pos < upto {
		events, err := b.db.backlogEvents(ctx, s.f, pos, upto, eventBatch)
		if err != nil {
			if ctx.Err() == nil {
				b.Logger.Error("events: backlog", "error", err.Error())
			}
			return
		}
		for _, e := range events {
			if !send(e) {
				return
			}
		}
		if len(events) < eventBatch {
			break
		}
		pos = events[len(events)-1].ID
	}
	pos = max(pos, upto)
	for {
		select {
		case e, ok := <-s.in:
			if !ok {
				return
			}
			if e.ID <= pos {
				continue
			}
			if !send(e) {
				return
			}
			pos = e.ID
		case <-ctx.Done():
			return
		case <-b.quit:
			return
		}
	}
}

func (b *EventBroker) unsubscribe(s *eventSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.in)
	}
}
