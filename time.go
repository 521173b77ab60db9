package plaza

import (
	"strings"
	"time"
)

// Time is a UTC instant that renders in JSON the way Plazbot's .NET backend
// does: seven fractional digits and a Z ("2025-04-08T03:52:53.3774876Z").
// It parses RFC 3339 with any precision, unzoned date-times (read as UTC) and
// date-only values.
type Time struct{ time.Time }

// DotNetLayout is the layout of every timestamp Plaza writes.
const DotNetLayout = "2006-01-02T15:04:05.0000000Z"

// Now is the clock; tests replace the service's clock, not this variable.
func Now() Time { return Time{time.Now().UTC()} }

// NewTime wraps t, converting it to UTC.
func NewTime(t time.Time) Time { return Time{t.UTC()} }

// String renders t as .NET does.
func (t Time) String() string { return t.UTC().Format(DotNetLayout) }

func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

func (t *Time) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*t = Time{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return &Error{Code: EINVALID, Message: "a date must be a string."}
	}
	v, err := ParseTime(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTime accepts RFC 3339 (any fractional precision), unzoned date-times
// (taken as UTC) and plain dates.
func ParseTime(s string) (Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return Time{v.UTC()}, nil
		}
	}
	return Time{}, &Error{Code: EINVALID, Message: "'" + s + "' is not a date (use ISO 8601, e.g. 2025-04-08T03:52:53Z or 2025-04-08)."}
}
