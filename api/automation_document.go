package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract"
)

// Limits of a prompt document (Update Agente IA Prompt's urlDocument).
const (
	// MaxPromptDocumentBytes is the largest document fetched, 5 MiB.
	MaxPromptDocumentBytes = 5 << 20
	// PromptDocumentTimeout bounds the whole fetch, body included, unless
	// Server.DocumentTimeout says otherwise.
	PromptDocumentTimeout = 15 * time.Second
	maxDocumentURLLength  = 2048
)

// fetchPromptDocument returns the text of the document at rawURL, fetched
// through the fetch guard: loopback, private and link-local addresses are
// refused unless PLAZA_FETCH_ALLOW allows them, whether the URL names them
// or its host resolves to them; redirects are not followed. Errors name
// urlDocument: EINVALID for a URL that is malformed or refused, and
// EUNPROCESSABLE for a document that cannot be had or read (no answer,
// not 2xx, too large, a type extract does not read, no text, a text longer
// than a prompt may be).
func (s *Server) fetchPromptDocument(ctx context.Context, rawURL string) (string, error) {
	invalid := func(format string, args ...any) error {
		return plaza.Invalid(plaza.FieldError{Field: "urlDocument", Message: fmt.Sprintf(format, args...)})
	}
	unprocessable := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &plaza.Error{Code: plaza.EUNPROCESSABLE, Message: msg,
			Fields: []plaza.FieldError{{Field: "urlDocument", Message: msg}}}
	}
	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		return "", invalid("urlDocument is required.")
	case len(rawURL) > maxDocumentURLLength:
		return "", invalid("urlDocument must be at most %d characters long.", maxDocumentURLLength)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", invalid("urlDocument must be an absolute http or https URL.")
	case u.User != nil:
		return "", invalid("urlDocument must not carry credentials.")
	}
	if err := s.FetchGuard.CheckURL(u); err != nil {
		return "", invalid("urlDocument is refused: %s.", err)
	}

	timeout := s.DocumentTimeout
	if timeout <= 0 {
		timeout = PromptDocumentTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := s.FetchGuard.HTTPClient()
	client.Timeout = timeout // the guard's default is shorter
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", invalid("urlDocument must be an absolute http or https URL.")
	}
	req.Header.Set("Accept", "text/plain, text/markdown, text/html, application/pdf, application/vnd.openxmlformats-officedocument.wordprocessingml.document;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", "Plaza (prompt document)")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &uerr) && uerr.Timeout():
			return "", unprocessable("urlDocument did not answer in time (the fetch may take at most %s).", timeout)
		// The guard's refusal at dial time, for a name that resolved to a
		// refused address (its error says so; it has no type of its own).
		case strings.Contains(err.Error(), "PLAZA_FETCH_ALLOW"):
			return "", invalid("urlDocument is refused: %s resolves to a private, loopback or link-local address (see PLAZA_FETCH_ALLOW).", u.Hostname())
		}
		return "", unprocessable("urlDocument could not be fetched: %s.", innerError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		note := ""
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			note = " (redirects are not followed: give the document's own URL)"
		}
		return "", unprocessable("urlDocument answered HTTP %d%s.", resp.StatusCode, note)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxPromptDocumentBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return "", unprocessable("urlDocument did not answer in time (the fetch may take at most %s).", timeout)
		}
		return "", unprocessable("urlDocument could not be read: %s.", innerError(err))
	}
	if len(data) > MaxPromptDocumentBytes {
		return "", unprocessable("The document at urlDocument is larger than %d MiB.", MaxPromptDocumentBytes>>20)
	}
	text, err := extract.Text(data, resp.Header.Get("Content-Type"), path.Base(u.Path))
	if err != nil {
		// extract's errors are client-safe; anything else is a bug.
		var e *plaza.Error
		if !errors.As(err, &e) {
			return "", err
		}
		return "", unprocessable("urlDocument: %s", e.Message)
	}
	if n := utf8.RuneCountInString(text); n > plaza.MaxNodePromptLength {
		return "", unprocessable("The text of the document at urlDocument has %d characters; a prompt may have at most %d.", n, plaza.MaxNodePromptLength)
	}
	return text, nil
}

// innerError is what went wrong under a *url.Error, without the URL it
// repeats.
func innerError(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return strings.TrimSuffix(err.Error(), ".")
}
