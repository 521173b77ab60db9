package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Graph API error codes Plaza branches on. Meta advises building error
// handling on code and error_data.details, never on the HTTP status or the
// title inside message.
const (
	CodeAPIUnknown         = 1      // "Invalid request or possible server error"
	CodeAPIService         = 2      // temporary downtime or overload
	CodeTooManyCalls       = 4      // app-level rate limit
	CodeInvalidParameter   = 100    // malformed request
	CodeAccessTokenExpired = 190    // the number's access token must be renewed
	CodeRateLimit613       = 613    // "Calls to this api have exceeded the rate limit"
	CodeRateLimitIssues    = 80007  // WABA-level rate limit
	CodeThroughput         = 130429 // Cloud API throughput reached
	CodeSomethingWentWrong = 131000 // unknown error; Meta says retry
	CodeServiceUnavailable = 131016 // a service is temporarily unavailable
	CodeReengagement       = 131047 // outside the 24 h customer-service window
	CodeSpamRateLimit      = 131048 // quality-based limit; not retried
	CodePairRateLimit      = 131056 // too many messages to the same user
	CodeServerUnavailable  = 133004 // server temporarily unavailable
)

// APIError is an error answered by the Graph API: Meta's envelope
// {"error":{message,type,code,error_subcode,error_data:{messaging_product,
// details},fbtrace_id}} together with the HTTP status it came with. A
// response that is not an envelope (a proxy's HTML 502, say) still becomes
// an *APIError, with Code 0 and a short excerpt of the body as Message.
//
// Network failures, timeouts and context cancellation are never an
// *APIError: they are returned as ordinary (wrapped) errors, and the caller
// decides, knowing that the request may or may not have reached Meta.
type APIError struct {
	HTTPStatus int
	Code       int
	// Subcode is Meta's error_subcode, deprecated since v16.0 but still
	// present in some answers; 0 when absent.
	Subcode int
	Type    string
	Message string
	// Details is error_data.details, the most specific explanation.
	Details   string
	FBTraceID string
	// Transient is Graph's is_transient hint, when it is given.
	Transient bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "whatsapp: graph api error (http %d", e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
	}
	if e.Subcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", e.Subcode)
	}
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	if e.FBTraceID != "" {
		b.WriteString(" (fbtrace_id " + e.FBTraceID + ")")
	}
	return b.String()
}

// Retryable reports whether sending the same request again later may
// succeed: HTTP 5xx and 429, Graph's is_transient hint, the rate limits
// (see RateLimited) and the codes Meta documents as temporary (2, 131000,
// 131016, 133004). Everything else, 131047 and 131048 included, needs a
// change (a template, a new token, a fixed request) before a retry.
func (e *APIError) Retryable() bool {
	if e.HTTPStatus >= 500 || e.Transient || e.RateLimited() {
		return true
	}
	switch e.Code {
	case CodeAPIService, CodeSomethingWentWrong, CodeServiceUnavailable, CodeServerUnavailable:
		return true
	}
	return false
}

// RateLimited reports whether Meta refused the request because a rate
// limit was hit: throughput (130429), pair rate (131056), the Graph
// limits 4, 613 and 80007, or HTTP 429. Such a request should be retried
// with backoff; the caller may map it to RATE_LIMITED.
func (e *APIError) RateLimited() bool {
	switch e.Code {
	case CodeTooManyCalls, CodeRateLimit613, CodeRateLimitIssues, CodeThroughput, CodePairRateLimit:
		return true
	}
	return e.HTTPStatus == http.StatusTooManyRequests
}

// WindowClosed reports whether Meta refused a free-form message because
// the 24 h customer-service window is closed (131047): only a template can
// reach the user now.
func (e *APIError) WindowClosed() bool { return e.Code == CodeReengagement }

// Unauthorized reports whether the number's access token was refused
// (code 190, or HTTP 401): the number must be reconnected, retrying is
// useless.
func (e *APIError) Unauthorized() bool {
	return e.Code == CodeAccessTokenExpired || e.HTTPStatus == http.StatusUnauthorized
}

// parseAPIError turns a non-2xx Graph response into an *APIError.
func parseAPIError(status int, body []byte) *APIError {
	var env struct {
		Error *struct {
			Message      string          `json:"message"`
			Type         string          `json:"type"`
			Code         int             `json:"code"`
			ErrorSubcode int             `json:"error_subcode"`
			IsTransient  bool            `json:"is_transient"`
			ErrorData    json.RawMessage `json:"error_data"`
			FBTraceID    string          `json:"fbtrace_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		return &APIError{HTTPStatus: status, Message: excerpt(status, body)}
	}
	e := env.Error
	return &APIError{
		HTTPStatus: status,
		Code:       e.Code,
		Subcode:    e.ErrorSubcode,
		Type:       e.Type,
		Message:    e.Message,
		Details:    errorDetails(e.ErrorData),
		FBTraceID:  e.FBTraceID,
		Transient:  e.IsTransient,
	}
}

// errorDetails reads error_data, an object {messaging_product, details} in
// Cloud API answers but a plain string in some template-management ones.
func errorDetails(raw json.RawMessage) string {
	var obj struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Details
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// excerpt describes a response body that is not a Graph error envelope.
func excerpt(status int, body []byte) string {
	const max = 200
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	if s == "" {
		return http.StatusText(status)
	}
	return http.StatusText(status) + ": " + s
}

// ValidationError reports a message Meta would refuse, found before any
// request is made. Field names the offending field the way Meta's request
// spells it, e.g. "interactive.action.buttons[3]".
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	return "whatsapp: invalid " + e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrMediaTooLarge is returned (wrapped) when a download or upload passes
// its size limit.
var ErrMediaTooLarge = errors.New("whatsapp: media exceeds the size limit")
