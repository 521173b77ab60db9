package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
)

// The web chat channel: the widget script a site embeds and the public
// endpoints its visitors call. Visitors hold no API key: a visitor token
// (from POST /widget/session) names their one conversation. Sites embed
// the widget anywhere, so these endpoints allow any origin (CORS, without
// credentials: the token travels in a header, never in a cookie).

//go:embed widget/widget.js
var widgetJS []byte

// authVisitor marks the visitor endpoints in the route table: public, with
// CORS for any origin (routes() wraps them in visitorCORS), and their own
// token check in the handler.
const authVisitor authMode = 100

// webchatMaxBody bounds a visitor's request body: a message is at most
// plaza.MaxMessageContent characters.
const webchatMaxBody = 32 << 10

// visitorCORS lets any site's pages call the visitor endpoints, and
// answers their preflight requests.
func visitorCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Visitor-Token, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "86400")
		}
		next.ServeHTTP(w, r)
	})
}

// handleWebchatPreflight answers a CORS preflight (visitorCORS wrote the
// headers that matter).
func (s *Server) handleWebchatPreflight(w http.ResponseWriter, r *http.Request) error {
	return ok(w, "Any origin may call this endpoint.", nil)
}

// handleWidgetJS serves the widget script. The script is the same for
// every workspace (it reads workspaceId and its options from its own URL),
// so browsers and proxies may keep it a while; an unknown workspace is a
// 404 whose body is a JavaScript comment saying so.
func (s *Server) handleWidgetJS(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	fail := func(status int, msg string) error {
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprintf(w, "/* Plaza web chat: %s */\nconsole.error(%q);\n", msg, "Plaza web chat: "+msg)
		return nil
	}
	ws := strings.TrimSpace(query(r, "workspaceId"))
	if ws == "" {
		return fail(http.StatusBadRequest, "workspaceId is required: embed /widget.js?workspaceId=<your workspace id>.")
	}
	if err := s.Webchat.CheckWebchatWorkspace(r.Context(), ws); plaza.ErrorCode(err) == plaza.ENOTFOUND {
		return fail(http.StatusNotFound, "workspace "+strconv.Quote(ws)+" not found.")
	} else if err != nil {
		return err
	}
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(widgetJS)
	}
	return nil
}

// visitorToken is the token a visitor request carries: Authorization:
// Bearer or X-Visitor-Token; with query true, ?token= too (EventSource
// cannot send headers).
func visitorToken(r *http.Request, query bool) string {
	if t := strings.TrimSpace(r.Header.Get("X-Visitor-Token")); t != "" {
		return t
	}
	if scheme, t, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(t)
	}
	if query {
		return strings.TrimSpace(r.URL.Query().Get("token"))
	}
	return ""
}

// visitor authenticates a visitor request.
func (s *Server) visitor(r *http.Request, query bool) (*plaza.WebchatVisitor, error) {
	t := visitorToken(r, query)
	if t == "" {
		return nil, plaza.Errorf(plaza.EUNAUTHORIZED, "A web chat token is required: send Authorization: Bearer <token> from POST /widget/session.")
	}
	return s.Webchat.WebchatVisitor(r.Context(), t)
}

// handleWebchatSession starts a visitor's session, or resumes it from the
// token in the body (or the Authorization header).
func (s *Server) handleWebchatSession(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, webchatMaxBody)
	var in plaza.WebchatSessionStart
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Token == "" {
		in.Token = visitorToken(r, false)
	}
	in.ClientAddr = clientAddr(r)
	sess, err := s.Webchat.StartWebchatSession(r.Context(), in)
	if err != nil {
		return err
	}
	if sess.Resumed {
		return ok(w, "Web chat session resumed.", sess)
	}
	return ok(w, "Web chat session started.", sess)
}

// handleWebchatMessagePost stores a visitor's message.
func (s *Server) handleWebchatMessagePost(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visitor(r, false)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, webchatMaxBody)
	var in struct {
		Content *string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Content == nil {
		return plaza.Invalid(plaza.FieldError{Field: "content", Message: "content is required."})
	}
	m, err := s.Webchat.PostWebchatMessage(r.Context(), *v, *in.Content, clientAddr(r))
	if err != nil {
		return err
	}
	return ok(w, "Message sent.", plaza.VisitorMessageOf(*m))
}

// handleWebchatMessageList returns the visitor's conversation, oldest
// first, a page at a time (?before=<message id>&limit=).
func (s *Server) handleWebchatMessageList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visitor(r, false)
	if err != nil {
		return err
	}
	page := plaza.MessagePage{Before: query(r, "before")}
	if l := query(r, "limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > plaza.MaxMessagePageSize {
			return plaza.Invalid(plaza.FieldError{Field: "limit", Message: fmt.Sprintf("limit must be an integer from 1 to %d.", plaza.MaxMessagePageSize)})
		}
		page.Limit = n
	}
	msgs, err := s.Webchat.WebchatMessages(r.Context(), *v, page)
	if err != nil {
		return err
	}
	out := make([]plaza.VisitorMessage, len(msgs))
	for i, m := range msgs {
		out[i] = plaza.VisitorMessageOf(m)
	}
	return ok(w, "Messages.", out)
}

// handleWebchatEvents streams the visitor's conversation as server-sent
// events: each message stored in it, the visitor's own and the replies,
// as `event: message` with a VisitorMessage; nothing else of the
// workspace. Every event of the conversation advances the stream's id, so
// a reconnecting EventSource (Last-Event-ID) resumes after it.
func (s *Server) handleWebchatEvents(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visitor(r, true)
	if err != nil {
		return err
	}
	after, err := eventAfter(r)
	if err != nil {
		return err
	}
	// Events the visitor may not see still pass as a bare id, so that a
	// reconnecting EventSource resumes after them.
	f := plaza.EventFilter{WorkspaceID: v.WorkspaceID, ConversationID: v.ConversationID, After: after}
	return s.serveEventStream(w, r, f, "retry: 3000\n: connected\n\n", func(e plaza.Event) ([]byte, error) {
		m, ok := visibleMessage(e, v)
		if !ok {
			return fmt.Appendf(nil, "id: %d\n\n", e.ID), nil
		}
		data, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		return fmt.Appendf(nil, "id: %d\nevent: message\ndata: %s\n\n", e.ID, data), nil
	})
}

// visibleMessage is what the visitor may see of an event: the messages of
// their conversation, in the visitor's view.
func visibleMessage(e plaza.Event, v *plaza.WebchatVisitor) (plaza.VisitorMessage, bool) {
	if e.WorkspaceID != v.WorkspaceID || (e.Type != plaza.EventMessageCreated && e.Type != plaza.EventMessageUpdated) {
		return plaza.VisitorMessage{}, false
	}
	var m plaza.Message
	if err := json.Unmarshal(e.Data, &m); err != nil || m.ConversationID != v.ConversationID || m.WorkspaceID != v.WorkspaceID {
		return plaza.VisitorMessage{}, false
	}
	return plaza.VisitorMessageOf(m), true
}
