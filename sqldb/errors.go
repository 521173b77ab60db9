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

// normalize maps driver errors to driver-independent ones: unique-key
// violations to errUnique, sql.ErrNoRows to ENOTFOUND. Other errors pass
// through and end as EINTERNAL.
func normalize(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return plaza.Errorf(plaza.ENOTFOUND, "Not found.")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return errUnique
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		}
	}
	return err
}

// isUnique reports whether err is a unique-key violation.
func isUnique(err error) bool { return errors.Is(normalize(err), errUnique) }
