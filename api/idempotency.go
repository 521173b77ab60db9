package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"os"
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
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n")
	body, cleanup, err := spoolBody(r.Body, sum)
	defer cleanup()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r.Body = body
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

// spoolMemory is how much of a body spoolBody keeps in memory.
const spoolMemory = 1 << 20

// spoolBody reads body to its end, hashing it into sum, and returns a
// reader of the same bytes: from memory up to spoolMemory, beyond that
// from a temporary file (an upload of 100 MB is not held in memory),
// which cleanup removes. cleanup is never nil.
func spoolBody(body io.Reader, sum hash.Hash) (io.ReadCloser, func(), error) {
	var buf bytes.Buffer
	n, err := io.Copy(io.MultiWriter(&buf, sum), io.LimitReader(body, spoolMemory+1))
	if err != nil {
		return nil, func() {}, bodyReadError(err)
	}
	if n <= spoolMemory {
		return io.NopCloser(&buf), func() {}, nil
	}
	f, err := os.CreateTemp("", "plaza-body-*")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := buf.WriteTo(f); err != nil {
		return nil, cleanup, err
	}
	if _, err := io.Copy(io.MultiWriter(f, sum), body); err != nil {
		var disk *os.PathError
		if errors.As(err, &disk) {
			return nil, cleanup, err
		}
		return nil, cleanup, bodyReadError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, cleanup, err
	}
	return io.NopCloser(f), cleanup, nil
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
