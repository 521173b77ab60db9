package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// recoverPanics turns a panic into a 500 INTERNAL envelope with nothing of
// the panic in the body, and logs it with its stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger(r).Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()),
					"method", r.Method, "path", r.URL.Path)
				if !rw.wroteHeader {
					s.writeError(rw, r, plaza.Errorf(plaza.EINTERNAL, "Internal error."))
				}
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// responseWriter remembers the status written.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id (kept from X-Request-Id when the
// client sends a sane one), logs it and counts it in the metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 100 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
			r.Header.Set("X-Request-Id", id)
		}
		w.Header().Set("X-Request-Id", id)
		rw, ok := w.(*responseWriter)
		if !ok {
			rw = &responseWriter{ResponseWriter: w}
		}
		next.ServeHTTP(rw, r)
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Method, route, status, elapsed)
		if route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" {
			return
		}
		s.logger(r).Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000, "remote", clientAddr(r))
	})
}

// clientAddr is the address the request came from: the connection's peer.
// Forwarding headers are not trusted, since any client can send them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authMode says what credentials a route needs.
type authMode int

const (
	authNone     authMode = iota // public
	authOptional                 // works anonymously, more with credentials
	authRequired                 // a principal acting in one workspace
	// authSigned is public, and the handler checks the body's signature
	// (webhooks); bodies may be up to MaxWebhookBodyBytes.
	authSigned
	// authUpload is authRequired with bodies up to MaxUploadBytes.
	authUpload
)

// endpoint adapts a handler: it limits and buffers the body, works out the
// workspace the request is about, authenticates, and writes a returned
// error as an envelope.
func (s *Server) endpoint(mode authMode, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isFileSend(r) {
			// Ignored where the writer cannot set it (tests' recorders).
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(fileSendReadTimeout))
		}
		if err := s.prepare(r, mode); err != nil {
			s.writeError(w, r, err)
			return
		}
		if key := r.Header.Get(IdempotencyKeyHeader); key != "" && r.Method == http.MethodPost && s.Idempotency != nil {
			if p := plaza.PrincipalFromContext(r.Context()); p != nil && p.WorkspaceID != "" {
				s.idempotent(w, r, p, key, h)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) prepare(r *http.Request, mode authMode) error {
	if mode == authSigned {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxWebhookBodyBytes)
		return nil
	}
	limit := s.MaxBodyBytes
	switch {
	case mode == authUpload:
		limit, mode = s.MaxUploadBytes, authRequired
	case isFileSend(r):
		limit = s.maxFileSendBytes()
	}
	bodyWorkspace := ""
	if r.Body != nil && r.Body != http.NoBody && r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(nil, r.Body, limit)
		if isJSON(r) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return bodyReadError(err)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var peek struct {
				WorkspaceID any `json:"workspaceId"`
			}
			if json.Unmarshal(body, &peek) == nil {
				if id, ok := peek.WorkspaceID.(string); ok {
					bodyWorkspace = id
				} else if peek.WorkspaceID != nil {
					return plaza.Invalid(plaza.FieldError{Field: "workspaceId", Message: "workspaceId must be a string."})
				}
			}
		}
	}
	if mode == authNone {
		return nil
	}
	workspaceID, err := requestedWorkspace(r, bodyWorkspace)
	if err != nil {
		return err
	}
	token, hasAuth, err := bearer(r)
	if err != nil {
		return err
	}
	if !hasAuth {
		if mode == authOptional {
			return nil
		}
		return plaza.Errorf(plaza.EUNAUTHORIZED, "Authentication is required: send Authorization: Bearer <API key or login token>.")
	}
	p, err := s.Auth.Authenticate(r.Context(), token, workspaceID)
	if err != nil {
		return err
	}
	if p.WorkspaceID == "" {
		return plaza.Invalid(plaza.FieldError{Field: "x-workspace-id", Message: "The x-workspace-id header is required with a login token."})
	}
	*r = *r.WithContext(plaza.NewContextWithPrincipal(r.Context(), p))
	return nil
}

// requestedWorkspace is the workspace the request names, in the
// x-workspace-id header, the path, the query or the body. Where it is named
// more than once, every mention must agree.
func requestedWorkspace(r *http.Request, body string) (string, error) {
	sources := []struct{ where, id string }{
		{"x-workspace-id", r.Header.Get("X-Workspace-Id")},
		{"path", r.PathValue("workspaceId")},
		{"query", query(r, "workspaceId")},
		{"body", body},
	}
	var id, from string
	for _, src := range sources {
		if src.id == "" {
			continue
		}
		if id == "" {
			id, from = src.id, src.where
		} else if src.id != id {
			return "", plaza.Invalid(plaza.FieldError{Field: "workspaceId",
				Message: fmt.Sprintf("The workspaceId in the %s (%s) does not match the one in the %s (%s).", src.where, src.id, from, id)})
		}
	}
	return id, nil
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (token string, present bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", true, plaza.Errorf(plaza.EUNAUTHORIZED, "The Authorization header must be \"Bearer <token>\".")
	}
	return strings.TrimSpace(token), true, nil
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "" || strings.HasPrefix(strings.ToLower(ct), "application/json") || strings.Contains(strings.ToLower(ct), "+json")
}
