package api

import (
	"context"
	"net/http"
	"time"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	return ok(w, "OK", map[string]string{"status": "ok", "version": s.Version})
}

// handleReadyz answers 200 when the database answers within two seconds,
// else 503, so a load balancer stops sending requests to this replica.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.logger(r).Warn("not ready", "err", err.Error())
		code := "UNAVAILABLE"
		writeJSON(w, http.StatusServiceUnavailable, envelope{Success: false, Code: http.StatusServiceUnavailable,
			ErrorCode: &code, Message: "The database does not answer.", Data: map[string]string{"status": "unavailable"}})
		return nil
	}
	return ok(w, "OK", map[string]string{"status": "ready"})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDocument)
	return nil
}
