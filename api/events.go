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
	f := plaza.EventFilter{WorkspaceID: p.WorkspaceID, ConversationID: strings.TrimSpace(query(r, "conversationId"))}
	if f.After, err = eventAfter(r); err != nil {
		return err
	}
	if f.ConversationID != "" {
		if _, err := s.Conversations.FindConversationByID(r.Context(), f.ConversationID); err != nil {
			return err
		}
	}
	return s.serveEventStream(w, r, f, ": events of workspace "+p.WorkspaceID+"\n\n", func(e plaza.Event) ([]byte, error) {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "id: %d\nevent: %s\ndata: ", e.ID, e.Type)
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
		buf.WriteString("\n") // the encoder ended the data line
		return buf.Bytes(), nil
	})
}

// eventAfter reads where a stream resumes: the Last-Event-ID header a
// reconnecting EventSource sends, else ?after=; 0 when neither is given.
func eventAfter(r *http.Request) (int64, error) {
	field, after := "after", query(r, "after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		field, after = "Last-Event-ID", id
	}
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
	if err != nil || n < 0 {
		return 0, plaza.Invalid(plaza.FieldError{Field: field, Message: field + " must be the id of an event (a whole number, 0 or more)."})
	}
	return n, nil
}

// serveEventStream streams f's events as Server-Sent Events: hello first,
// then frame(e) of each event (nil skips it), and a heartbeat comment when
// idle. It ends when the client goes, when the server shuts down, or when
// the subscriber falls too far behind (the client reconnects with the last
// id it saw and misses nothing).
func (s *Server) serveEventStream(w http.ResponseWriter, r *http.Request, f plaza.EventFilter, hello string, frame func(plaza.Event) ([]byte, error)) error {
	if s.Events == nil {
		return plaza.Errorf(plaza.EINTERNAL, "Events are not configured.")
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
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// From here on the response is under way: failures end the stream.
	write := func(b []byte) bool {
		_, err := w.Write(b)
		return err == nil && rc.Flush() == nil
	}
	if !write([]byte(hello)) {
		return nil
	}
	heartbeat := time.NewTicker(s.EventHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return nil
			}
			b, err := frame(e)
			if err != nil {
				s.logger(r).Error("events: encode", "error", err.Error(), "event", e.ID)
				return nil
			}
			if b != nil && !write(b) {
				return nil
			}
		case <-heartbeat.C:
			if !write([]byte(": heartbeat\n\n")) {
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
