package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/plaza-crm/plaza"
)

// scanner is a row to scan: *sql.Row or *sql.Rows, so one scan function
// serves a single-row read and a list.
type scanner interface{ Scan(...any) error }

// sqlTime scans a timestamp column on either database. PostgreSQL and
// SQLite's declared TIMESTAMP columns give time.Time; SQLite gives text for
// computed values, which is parsed in the format the driver writes.
type sqlTime struct{ t time.Time }

func (s *sqlTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		s.t = v
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	}
	return fmt.Errorf("sqlTime: cannot scan %T", v)
}

func (s *sqlTime) parse(v string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			s.t = t
			return nil
		}
	}
	return fmt.Errorf("sqlTime: cannot parse %q", v)
}

func (s sqlTime) plaza() plaza.Time { return plaza.NewTime(s.t) }

// sqlNullTime is sqlTime for nullable columns.
type sqlNullTime struct {
	t     sqlTime
	valid bool
}

func (s *sqlNullTime) Scan(v any) error {
	if v == nil {
		s.valid = false
		return nil
	}
	s.valid = true
	return s.t.Scan(v)
}

func (s sqlNullTime) plaza() *plaza.Time {
	if !s.valid {
		return nil
	}
	t := s.t.plaza()
	return &t
}

// closeRows closes rows and returns the error that ended the iteration.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	rows.Close()
	return err
}

// queryAll runs query on q and scans every row with scan, in order; an
// empty result is an empty, non-nil slice, so it renders as [] in JSON.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, *v)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return list, nil
}
