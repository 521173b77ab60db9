// Package sqldb is Plaza's one storage implementation, for SQLite (embedded,
// through modernc.org/sqlite) and PostgreSQL (through pgx) alike. The SQL is
// shared; the few places the dialects differ are switched on DB.Dialect, and
// each dialect has its own numbered migrations.
//
// Public service methods open the transaction; unexported helpers take the
// *Tx so they compose. Every query on a workspace-owned table filters by
// workspace_id.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL dialect of a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrationsFS embed.FS

// plaza_lower is the lower case searches compare in: LOWER with Unicode
// case folding. SQLite's own LOWER folds ASCII only ("É" stays "É"), so
// Plaza registers plaza_lower for every connection the sqlite driver opens;
// PostgreSQL gets a function of the same name from migration 0006.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("plaza_lower", 1, sqliteLower)
}

func sqliteLower(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch v := args[0].(type) {
	case string:
		return strings.ToLower(v), nil
	case []byte:
		return strings.ToLower(string(v)), nil
	}
	return args[0], nil // NULL, or a number: nothing to fold
}

// DB is a handle on Plaza's database.
type DB struct {
	Dialect Dialect
	// write takes every transaction that writes. On SQLite it is a single
	// connection with BEGIN IMMEDIATE, so writers queue instead of failing
	// with SQLITE_BUSY; on PostgreSQL it is the same pool as read.
	write *sql.DB
	// read serves reads; on SQLite a pool of query-only connections (WAL
	// lets them run beside the writer).
	read *sql.DB
	pool *pgxpool.Pool

	// Now is the clock; tests set it.
	Now func() time.Time

	// queue, once opened, takes the jobs transactions enqueue.
	queue *Queue
	// agentDebounce, when set, makes customers' messages queue agent
	// turns (agent_turn.go).
	agentDebounce time.Duration

	// eventsCommitted wakes this process's event brokers after a
	// transaction that wrote events commits (see event.go).
	eventsCommitted eventSignal
	// inboxStored wakes this process's inbox drainers after a webhook
	// delivery is stored.
	inboxStored inboxHub
}

// Open opens the database named by dsn: "sqlite:plaza.db",
// "sqlite:/abs/path.db" or "postgres://...". It does not migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{Now: time.Now}
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		file := strings.TrimPrefix(dsn, "sqlite:")
		file = strings.TrimPrefix(file, "//") // sqlite:///abs/path.db
		if file == "" {
			return nil, fmt.Errorf("sqlite: the database URL names no file (want sqlite:plaza.db)")
		}
		if i := strings.IndexByte(file, '?'); i >= 0 {
			file = file[:i]
		}
		db.Dialect = SQLite
		pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
		w, err := sql.Open("sqlite", "file:"+file+"?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetConnMaxIdleTime(0)
		// The writer sets WAL (it persists in the file) before any reader
		// opens it.
		if err := setWAL(ctx, w); err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %w", file, err)
		}
		r, err := sql.Open("sqlite", "file:"+file+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		db.write, db.read = w, r
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db.Dialect = Postgres
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		// pgx's default (4 on a small machine) starves the job queue's
		// workers and the HTTP handlers; pool_max_conns in the URL wins.
		if !strings.Contains(dsn, "pool_max_conns") {
			cfg.MaxConns = 25
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: %s: %w", redactURL(dsn), err)
		}
		db.pool = pool
		db.write = stdlib.OpenDBFromPool(pool)
		db.read = db.write
	default:
		return nil, fmt.Errorf("unsupported database URL %q: want sqlite:FILE or postgres://...", redactURL(dsn))
	}
	return db, nil
}

// setWAL switches the file to WAL. Switching needs the file to itself, and
// SQLite answers SQLITE_BUSY at once, without its busy timeout, while
// another process is opening the same new file, so it is retried for a
// while.
func setWAL(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal_mode is %s, not wal", mode)
			}
			return nil
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redactURL hides a password in a database URL, for messages and logs.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Close closes every connection.
func (db *DB) Close() error {
	var err error
	if db.read != nil && db.read != db.write {
		err = db.read.Close()
	}
	if db.write != nil {
		err = errors.Join(err, db.write.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	return db.write.PingContext(ctx)
}

// now is the clock as a plaza.Time, truncated to microseconds so what is
// written equals what PostgreSQL gives back.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Tx is a write transaction with the time it started; every row it writes
// carries that one instant.
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
	// afterCommit runs once the transaction has committed.
	afterCommit []func()
}

// querier is what reads run on: the read pool (*sql.DB) or a write
// transaction (*Tx), so one read helper serves a public method's plain read
// and a write that reads inside its transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ querier = (*sql.DB)(nil)
	_ querier = (*Tx)(nil)
)

// inTx runs fn in a write transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, db: db, now: db.now()}
	if err := tx.markEventWriter(ctx); err != nil {
		sqlTx.Rollback()
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
			if normalize(err) == errForeignKey {
				err = errForeignKey
			}
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("commit: %w", normalize(cerr))
			return
		}
		for _, fn := range tx.afterCommit {
			fn()
		}
	}()
	return fn(tx)
}

// softDelete marks the live row id of the workspace's table deleted by
// userID, at the transaction's time; the row keeps its data and is not
// found any more. deleted is false when there was no such live row. table
// is a table name written in Plaza's code, never input.
func (tx *Tx) softDelete(ctx context.Context, table, workspaceID, id, userID string) (deleted bool, err error) {
	res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET deletion_date = $3, user_deletion = $4
		WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id, tx.now, userID)
	if err != nil {
		return false, fmt.Errorf("delete from %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// Migrate applies every migration not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock keeps replicas starting
// together from racing.
func (db *DB) Migrate(ctx context.Context) error {
	dir := path.Join("migrations", string(db.Dialect))
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return err
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("migration %s: name must be NNNN_what.sql", e.Name())
		}
		ms = append(ms, migration{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })

	// Under the lock too: PostgreSQL's CREATE TABLE IF NOT EXISTS is not
	// safe against a concurrent one.
	err = db.inTx(ctx, func(tx *Tx) error {
		if err := tx.migrationLock(ctx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		body, err := migrationsFS.ReadFile(path.Join(dir, m.name))
		if err != nil {
			return err
		}
		err = db.inTx(ctx, func(tx *Tx) error {
			if err := tx.migrationLock(ctx); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, tx.now.Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := db.migrateQueue(ctx); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// QueryRowForTest runs a query on the read pool, for tests that check what
// was (or was not) stored.
func (db *DB) QueryRowForTest(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, query, args...)
}

// migrationLock serialises migrations across processes. On SQLite the
// write transaction (BEGIN IMMEDIATE) already does.
func (tx *Tx) migrationLock(ctx context.Context) error {
	if tx.db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7270012)`)
	return err
}
