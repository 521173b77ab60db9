package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// DefaultEventHeartbeat is how often an idle event stream sends a comment,
// so proxies and clients see it is alive.
const DefaultEventHeartbeat = 15 * time.Second

// handleEvents streams the workspace's events as Server-Sent Events, each
// "id: <id>\nevent: <type>\ndata: <Event JSON>\n\n", from the id in
// Last-Event-ID (what a reconnecting EventSource sends) or ?after=, else
// from now. The stream ends when the client goes, when the server shuts
// down, or when the client falls too far behind (it reconnects with the
// last id it saw and misses nothing).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	if s.Events == nil {
		return plaza.Errorf(plaza.EINTERNAL, "Events are not configured.")
	}
	f := plaza.EventFilter{WorkspaceID: p.WorkspaceID, ConversationID: strings.TrimSpace(query(r, "conversationId"))}
	field, after := "after", query(r, "after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		field, after = "Last-Event-ID", id
	}
	if after != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
		if err != nil || n < 0 {
			return plaza.Invalid(plaza.FieldError{Field: field, Message: field + " must be the id of an event (a whole number, 0 or more)."})
		}
		f.After = n
	}
	if f.ConversationID != "" {
		if _, err := s.Conversations.FindConversationByID(r.Context(), f.ConversationID); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	events, err := s.Events.Subscribe(ctx, f)
	if err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests, not for a
	// stream that lasts as long as the client wants.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// From here on the response is under way: failures end the stream.
	if _, err := fmt.Fprint(w, ": events of workspace ", p.WorkspaceID, "\n\n"); err != nil || rc.Flush() != nil {
		return nil
	}
	heartbeat := time.NewTicker(s.EventHeartbeat)
	defer heartbeat.Stop()
	var buf bytes.Buffer
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return nil
			}
			buf.Reset()
			fmt.Fprintf(&buf, "id: %d\nevent: %s\ndata: ", e.ID, e.Type)
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(e); err != nil {
				s.logger(r).Error("events: encode", "error", err.Error(), "event", e.ID)
				return nil
			}
			buf.WriteString("\n") // the encoder ended the data line
			if _, err := w.Write(buf.Bytes()); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// CloseStreams ends every event stream, now and from now on: an
// http.Server's Shutdown waits for requests to finish, and streams never
// do (register it with RegisterOnShutdown).
func (s *Server) CloseStreams() { s.closeStreams() }
