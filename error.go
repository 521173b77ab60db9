// Package plaza holds Plaza's vocabulary: the domain types, the service
// interfaces the storage layer implements, the Error type every layer speaks,
// and the permission rules. Technology lives in subpackages (sqldb, api, ...)
// that talk to each other only through these types.
package plaza

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to exactly one HTTP status and envelope errorCode in
// api/error.go; storage and services return them, never HTTP details.
const (
	EINVALID       = "invalid"       // 400 VALIDATION_FAILED
	EUNAUTHORIZED  = "unauthorized"  // 401 UNAUTHORIZED
	EFORBIDDEN     = "forbidden"     // 403 FORBIDDEN
	ENOTFOUND      = "not_found"     // 404 NOT_FOUND
	ECONFLICT      = "conflict"      // 409 CONFLICT
	ETOOLARGE      = "too_large"     // 413 PAYLOAD_TOO_LARGE
	EUNPROCESSABLE = "unprocessable" // 422 UNPROCESSABLE
	ERATELIMITED   = "rate_limited"  // 429 RATE_LIMITED
	EWINDOWCLOSED  = "window_closed" // 409 WINDOW_CLOSED: free-form message outside WhatsApp's 24-hour window
	EINTERNAL      = "internal"      // 500 INTERNAL
	EUNAVAILABLE   = "unavailable"   // 503 UNAVAILABLE: a service Plaza depends on (Meta's Graph API) cannot be reached
)

// Error is the one error type of Plaza. Its Message is safe to show to the
// client; anything else (wrapped driver errors, stack traces) is not part of
// it and is only logged.
type Error struct {
	Code    string
	Message string
	// Fields names the offending input fields of an EINVALID error.
	Fields []FieldError
	// Data, when set, is returned to the client as the envelope's data
	// (e.g. the id of the existing record on a conflict).
	Data any
	// RetryAfter, on ERATELIMITED, is how long until the caller may try
	// again.
	RetryAfter time.Duration
}

// FieldError names one offending input field and why it was refused.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("plaza error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the offending fields.
func Invalid(fields ...FieldError) *Error {
	msg := "The request is not valid."
	if len(fields) == 1 {
		msg = fields[0].Message
	} else if len(fields) > 1 {
		msg = fmt.Sprintf("%s (and %d more).", trimDot(fields[0].Message), len(fields)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

func trimDot(s string) string {
	if n := len(s); n > 0 && s[n-1] == '.' {
		return s[:n-1]
	}
	return s
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or "Internal error." for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Validator collects field errors so one response names every bad field.
type Validator struct{ fields []FieldError }

// Check records msg against field when ok is false.
func (v *Validator) Check(ok bool, field, msg string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: msg})
	}
}

// Required records a "field is required." error when s is empty.
func (v *Validator) Required(s, field string) {
	v.Check(s != "", field, field+" is required.")
}

// Err returns the collected errors as one EINVALID *Error, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(v.fields...)
}
