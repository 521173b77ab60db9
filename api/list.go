package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

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
