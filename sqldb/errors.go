package sqldb

import (
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/plaza-crm/plaza"
)

// errUnique is what normalize turns any driver's unique-violation into, so
// callers can turn it into a plaza.ECONFLICT with a message of their own.
var errUnique = errors.New("unique constraint violated")

// errForeignKey is a foreign-key violation that got past the reference
// checks: the referenced record was deleted by a concurrent request.
var errForeignKey = plaza.Errorf(plaza.ECONFLICT, "A record this request refers to was changed or deleted at the same time; retry the request.")

// normalize maps driver errors to driver-independent ones: unique-key
// violations to errUnique, foreign-key violations to an ECONFLICT,
// sql.ErrNoRows to ENOTFOUND. Other errors pass
// through and end as EINTERNAL.
func normalize(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return plaza.Errorf(plaza.ENOTFOUND, "Not found.")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return errUnique
		case "23503":
			return errForeignKey
		}
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
	}
	return err
}

// isUnique reports whether err is a unique-key violation.
func isUnique(err error) bool { return errors.Is(normalize(err), errUnique) }
