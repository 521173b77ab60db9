package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"github.com/plaza-crm/plaza"
)

// IdempotencyKeyHeader names the header that makes a POST safe to retry.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotent runs an authenticated POST that carries an Idempotency-Key at
// most once per workspace and key: a retry with the same method, path and
// body gets the first response again (with Idempotent-Replayed: true); the
// same key with another request is a 422. Responses of 500 and above are
// not kept, so a retry after a server failure runs again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, p *plaza.Principal, key string, h handlerFunc) {
	if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		s.writeError(w, r, plaza.Invalid(plaza.FieldError{Field: IdempotencyKeyHeader,
			Message: "The Idempotency-Key header must be 1 to 255 printable ASCII characters."}))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, bodyReadError(err))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n")
	sum.Write(body)
	hash := hex.EncodeToString(sum.Sum(nil))

	ctx := r.Context()
	kept, err := s.Idempotency.Claim(ctx, p.WorkspaceID, key, hash)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if kept != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(kept.Status)
		w.Write(kept.Body)
		return
	}

	rec := &recordingWriter{ResponseWriter: w}
	completed := false
	defer func() {
		// A panic or a server error gives the key up for a retry.
		if !completed {
			if err := s.Idempotency.Release(ctx, p.WorkspaceID, key); err != nil {
				s.logger(r).Error("idempotency key not released", "key", key, "err", err.Error())
			}
		}
	}()
	if err := h(rec, r); err != nil {
		s.writeError(rec, r, err)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 500 {
		return
	}
	if err := s.Idempotency.Complete(ctx, p.WorkspaceID, key, plaza.IdempotentResponse{Status: rec.status, Body: rec.body.Bytes()}); err != nil {
		// The response is already on its way; a retry will run again.
		s.logger(r).Error("idempotency key not completed", "key", key, "err", err.Error())
		return
	}
	completed = true
}

// recordingWriter passes a response through and keeps a copy.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
