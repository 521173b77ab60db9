package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
)

// listPage is the data of a paged list (Plazbot §1.4; Get Opportunity,
// §3.12): the workspace, the token of the next page (null on the last)
// and the page's records.
type listPage[T any] struct {
	WorkspaceID       string  `json:"workspaceId"`
	ContinuationToken *string `json:"continuationToken"`
	Data              []T     `json:"data"`
}

// pageAfter returns the key a list request continues after, from its
// continuationToken ("" for the first page). list names the list ("contacts",
// "opportunities", ...) so a token of one list is refused by another.
func (s *Server) pageAfter(r *http.Request, list string) (string, error) {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return "", err
	}
	return s.pages.decode(query(r, "continuationToken"), list, p.WorkspaceID)
}

// nextPageToken returns the token of the page after one that ended with the
// record keyed lastKey, or nil when there is no further page (Plazbot sends
// null when a page holds fewer than 20 records).
func (s *Server) nextPageToken(r *http.Request, list string, more bool, lastKey string) *string {
	if !more || lastKey == "" {
		return nil
	}
	p := plaza.PrincipalFromContext(r.Context())
	t := s.pages.encode(list, p.WorkspaceID, lastKey)
	return &t
}

// queryTime parses an optional date query parameter (updatedSince, ...),
// naming it when it is not a date.
func queryTime(r *http.Request, name string) (*plaza.Time, error) {
	v := query(r, name)
	if v == "" {
		return nil, nil
	}
	t, err := plaza.ParseTime(v)
	if err != nil {
		return nil, plaza.Invalid(plaza.FieldError{Field: name, Message: name + " " + plaza.ErrorMessage(err)})
	}
	return &t, nil
}

// queryPresent reports whether the query names the parameter (matched
// case-insensitively), even with an empty value.
func queryPresent(r *http.Request, name string) bool {
	for k := range r.URL.Query() {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// queryIntRange parses an optional integer query parameter between min and
// max, def when absent or empty.
func queryIntRange(r *http.Request, name string, def, min, max int) (int, error) {
	v := query(r, name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return def, plaza.Invalid(plaza.FieldError{Field: name,
			Message: name + " must be an integer from " + strconv.Itoa(min) + " to " + strconv.Itoa(max) + "."})
	}
	return n, nil
}

// queryErrors gathers the field errors of several checks of a list's
// query into one EINVALID.
type queryErrors struct{ fields []plaza.FieldError }

// add keeps err's fields when it is EINVALID and returns any other error.
func (b *queryErrors) add(err error) error {
	var e *plaza.Error
	if err == nil {
		return nil
	} else if errors.As(err, &e) && e.Code == plaza.EINVALID && len(e.Fields) > 0 {
		b.fields = append(b.fields, e.Fields...)
		return nil
	}
	return err
}

func (b *queryErrors) err() error {
	if len(b.fields) == 0 {
		return nil
	}
	return plaza.Invalid(b.fields...)
}
