package sqldb

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// setList is the SET list of an UPDATE that writes only the columns a
// request changes.
type setList struct {
	cols []string
	args []any
}

// add sets col to v.
func (s *setList) add(col string, v any) {
	s.cols = append(s.cols, col)
	s.args = append(s.args, v)
}

// empty reports whether nothing was added.
func (s *setList) empty() bool { return len(s.cols) == 0 }

// render returns the list as "col1 = $k+1, col2 = $k+2, ..." for a
// statement whose k fixed arguments ($1..$k, in its WHERE) come first, and
// the statement's arguments: fixed, then the list's values.
func (s *setList) render(fixed ...any) (string, []any) {
	parts := make([]string, len(s.cols))
	for i, col := range s.cols {
		parts[i] = col + " = $" + strconv.Itoa(len(fixed)+i+1)
	}
	return strings.Join(parts, ", "), slices.Concat(fixed, s.args)
}

// placeholders returns "$first, $first+1, ..., $first+n-1", the
// parameters of an IN list.
func placeholders(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

// cutPage takes a page of size items from what a query asked size+1 of:
// more reports whether the extra one came, so that another page follows.
func cutPage[T any](items []T, size int) (page []T, more bool) {
	if len(items) > size {
		return items[:size], true
	}
	return items, false
}

// storedTime is t as the database keeps it, to the microsecond, so what is
// written equals what is read back on both databases.
func storedTime(t plaza.Time) plaza.Time { return plaza.NewTime(t.Truncate(time.Microsecond)) }

// nullTime is a nullable timestamp as a query argument: NULL for nil, else
// its storedTime.
func nullTime(t *plaza.Time) any {
	if t == nil {
		return nil
	}
	return storedTime(*t).Time
}

// nilIfEmpty is nil, which a query writes as NULL, for "", else &s.
func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// likePattern escapes s for a LIKE ... ESCAPE '\' match anywhere, in the
// lower case of plaza_lower: a search compares plaza_lower(column) LIKE it.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// conditions builds a WHERE clause and its arguments together, so a
// condition and the placeholder of its value cannot drift apart. The
// first argument, $1, is the workspace every query filters by.
type conditions struct {
	conds []string
	args  []any
}

// newConditions starts with the workspace as $1 and the given fixed
// conditions (which may refer to $1).
func newConditions(workspaceID string, fixed ...string) *conditions {
	return &conditions{conds: fixed, args: []any{workspaceID}}
}

// arg adds a value and returns its placeholder.
func (c *conditions) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// add adds a condition.
func (c *conditions) add(cond string) { c.conds = append(c.conds, cond) }

// sql returns the conditions joined by AND.
func (c *conditions) sql() string { return strings.Join(c.conds, " AND ") }

// likeAny is the condition that any of the expressions matches the LIKE
// pattern placeholder pat (see likePattern).
func likeAny(pat string, exprs ...string) string {
	or := make([]string, len(exprs))
	for i, e := range exprs {
		or[i] = e + ` LIKE ` + pat + ` ESCAPE '\'`
	}
	return "(" + strings.Join(or, " OR ") + ")"
}
