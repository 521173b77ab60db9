// Package sqldbtest opens real databases for tests: a SQLite file in a
// temporary directory, and, when PLAZA_TEST_POSTGRES_URL is set, a fresh
// schema on that PostgreSQL server, dropped when the test ends. Each test
// gets its own, so packages and tests run in parallel.
//
// With PLAZA_TEST_REQUIRE_POSTGRES=1 (as .ci/run sets) a test that cannot
// reach PostgreSQL fails instead of skipping.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make schemas

	"github.com/plaza-crm/plaza/sqldb"
)

// Dialects lists the databases tests run on: SQLite always, PostgreSQL when
// configured.
func Dialects(tb testing.TB) []sqldb.Dialect {
	ds := []sqldb.Dialect{sqldb.SQLite}
	if postgresURL(tb) != "" {
		ds = append(ds, sqldb.Postgres)
	}
	return ds
}

func postgresURL(tb testing.TB) string {
	u := os.Getenv("PLAZA_TEST_POSTGRES_URL")
	if u == "" && os.Getenv("PLAZA_TEST_REQUIRE_POSTGRES") == "1" {
		tb.Fatal("PLAZA_TEST_REQUIRE_POSTGRES=1 but PLAZA_TEST_POSTGRES_URL is not set")
	}
	return u
}

// Each runs fn as a subtest once per dialect, each with a fresh, empty
// database URL.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, d := range Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, DSN(t, d)) })
	}
}

// EachDB runs fn once per dialect with a fresh, migrated database.
func EachDB(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	Each(t, func(t *testing.T, dsn string) { fn(t, MustOpen(t, dsn)) })
}

// DSN returns the URL of a new, empty database of dialect d that lives as
// long as the test.
func DSN(tb testing.TB, d sqldb.Dialect) string {
	tb.Helper()
	if d == sqldb.SQLite {
		return "sqlite:" + filepath.Join(tb.TempDir(), "plaza.db")
	}
	base := postgresURL(tb)
	if base == "" {
		tb.Skip("PLAZA_TEST_POSTGRES_URL is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "plaza_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("postgres: create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("postgres: drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MustOpen opens and migrates the database at dsn, closing it when the test
// ends.
func MustOpen(tb testing.TB, dsn string) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
