package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// The durable job queue is River, in Plaza's own database: a job is
// inserted in the same transaction as the domain write that asks for it,
// so both commit or neither does, and a job survives a crash or restart.
// River has drivers for SQLite and PostgreSQL; both run on *sql.DB here, so
// jobs are inserted with the *sql.Tx of a Tx on either database.

// riverDriver returns River's driver for db: on SQLite the single writer
// connection (River's SQLite driver wants one), on PostgreSQL the pool
// with LISTEN/NOTIFY through pgx, so new jobs start within milliseconds.
func (db *DB) riverDriver() riverdriver.Driver[*sql.Tx] {
	if db.Dialect == Postgres {
		return riverdatabasesql.NewWithPgxListener(db.write, db.pool)
	}
	return riversqlite.New(db.write)
}

// migrateQueue applies River's migrations. On SQLite they run in one
// write transaction, which BEGIN IMMEDIATE already serialises across
// processes. On PostgreSQL some must commit one by one (a new enum value
// cannot be used in the transaction that adds it), so replicas starting
// together are serialised by a session advisory lock instead.
func (db *DB) migrateQueue(ctx context.Context) error {
	m, err := rivermigrate.New(db.riverDriver(), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if db.Dialect != Postgres {
		return db.inTx(ctx, func(tx *Tx) error {
			_, err := m.MigrateTx(ctx, tx.Tx, rivermigrate.DirectionUp, nil)
			return err
		})
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7270013)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7270013)`)
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// QueueConfig configures the queue's workers.
type QueueConfig struct {
	// Workers are the job kinds this process works; nil makes a client
	// that only inserts.
	Workers *river.Workers
	// MaxWorkers is how many jobs run at once (default 20).
	MaxWorkers int
	Logger     *slog.Logger
	// RetryPolicy overrides River's (exponential backoff over ~3 weeks).
	RetryPolicy river.ClientRetryPolicy
}

// Queue is the durable job queue of a DB.
type Queue struct {
	client *river.Client[*sql.Tx]
	db     *DB
}

// OpenQueue makes the queue of db and attaches it, so services enqueue in
// their transactions. Start it to work jobs.
func (db *DB) OpenQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rc := &river.Config{Logger: cfg.Logger, RetryPolicy: cfg.RetryPolicy}
	if cfg.Workers != nil {
		n := cfg.MaxWorkers
		if n <= 0 {
			n = 20
		}
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}}
		// River fetches at most once per cooldown, so a busy queue works at
		// most MaxWorkers jobs per cooldown: River's 100 ms held the
		// webhook's inbox to ~200 deliveries/s. Idle, nothing is fetched
		// more often (fetches follow notifications and the poll interval).
		rc.FetchCooldown = 10 * time.Millisecond
		// A job left running by a process that died is retried after five
		// minutes (River's default is an hour). Every job here is safe to
		// run again, also beside a run still alive: a campaign's fan-out
		// (15-minute timeout) locks its campaign per batch, sends are
		// fenced by their attempts, turns by their pending messages.
		rc.RescueStuckJobsAfter = 5 * time.Minute
		// Jobs that finish are kept a day for inspection, then pruned.
		rc.CompletedJobRetentionPeriod = 24 * time.Hour
	}
	client, err := river.NewClient(db.riverDriver(), rc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{client: client, db: db}
	db.queue = q
	return q, nil
}

// Start starts working jobs; it returns at once.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop waits for running jobs to finish, up to ctx's deadline, then
// cancels them; an interrupted job runs again after a restart.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return q.client.StopAndCancel(context.Background())
	}
	return err
}

// Client is River's client, for tests and for subscribing to job events.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// errNoQueue is returned when a write asks for a job but no queue is open.
var errNoQueue = errors.New("sqldb: no job queue is open (call OpenQueue)")

// enqueue inserts a job in the transaction: it is worked only if the
// transaction commits.
func (tx *Tx) enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if tx.db.queue == nil {
		return errNoQueue
	}
	if _, err := tx.db.queue.client.InsertTx(ctx, tx.Tx, args, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// EnqueueForTest inserts args in a transaction that rolls back when
// rollback is non-nil, for tests of the queue.
func (db *DB) EnqueueForTest(ctx context.Context, args river.JobArgs, rollback error) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if err := tx.enqueue(ctx, args, nil); err != nil {
			return err
		}
		return rollback
	})
}
