package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/plaza-crm/plaza"
)

// errorStatus is the one mapping from Plaza's error codes to HTTP statuses
// and the envelope's errorCode. Nothing else in Plaza chooses either.
var errorStatus = map[string]struct {
	status int
	code   string
}{
	plaza.EINVALID:       {http.StatusBadRequest, "VALIDATION_FAILED"},
	plaza.EUNAUTHORIZED:  {http.StatusUnauthorized, "UNAUTHORIZED"},
	plaza.EFORBIDDEN:     {http.StatusForbidden, "FORBIDDEN"},
	plaza.ENOTFOUND:      {http.StatusNotFound, "NOT_FOUND"},
	plaza.ECONFLICT:      {http.StatusConflict, "CONFLICT"},
	plaza.ETOOLARGE:      {http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	plaza.EUNPROCESSABLE: {http.StatusUnprocessableEntity, "UNPROCESSABLE"},
	plaza.ERATELIMITED:   {http.StatusTooManyRequests, "RATE_LIMITED"},
	plaza.EWINDOWCLOSED:  {http.StatusConflict, "WINDOW_CLOSED"},
	plaza.EINTERNAL:      {http.StatusInternalServerError, "INTERNAL"},
	plaza.EUNAVAILABLE:   {http.StatusServiceUnavailable, "UNAVAILABLE"},
	errMethodNotAllowed:  {http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
}

// errMethodNotAllowed is the API's own code for a known path asked with the
// wrong method.
const errMethodNotAllowed = "method_not_allowed"

// writeError writes err as an envelope. Errors that are not *plaza.Error
// are internal: they are logged with their detail and the client sees only
// "Internal error.".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := plaza.ErrorCode(err)
	m, ok := errorStatus[code]
	if !ok {
		m = errorStatus[plaza.EINTERNAL]
	}
	if m.status >= 500 {
		s.logger(r).Error("internal error", "err", err.Error())
	}
	var data any
	var e *plaza.Error
	if errors.As(err, &e) {
		switch {
		case e.Data != nil:
			data = e.Data
		case len(e.Fields) > 0:
			data = map[string]any{"errors": e.Fields}
		}
	}
	if m.status == http.StatusTooManyRequests {
		retry := 60
		if e != nil && e.RetryAfter > 0 {
			retry = int(math.Ceil(e.RetryAfter.Seconds()))
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	errorCode := m.code
	writeJSON(w, m.status, envelope{Success: false, Code: m.status, ErrorCode: &errorCode, Message: plaza.ErrorMessage(err), Data: data})
}

// errNotImplemented answers routes whose handler is being written.
var errNotImplemented = plaza.Errorf(plaza.EINTERNAL, "Not implemented yet.")
