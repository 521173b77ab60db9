// Package api is Plaza's HTTP API: Plazbot's public API and Plaza's own
// extensions. routes.go holds the whole surface; handlers decode, call a
// service and encode; error.go maps errors to envelopes in one place.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/messaging"
)

// Server serves the HTTP API.
type Server struct {
	Users      plaza.UserService
	Workspaces plaza.WorkspaceService
	Contacts   plaza.ContactService
	Auth       plaza.AuthService
	Tasks      plaza.TaskService
	Masters    plaza.MasterService

	// Opportunities, pipelines and stage histories.
	Opportunities plaza.OpportunityService
	Pipelines     plaza.PipelineService
	History       plaza.HistoryService

	// WhatsAppNumbers are the connected numbers; WhatsAppInbox keeps their
	// webhook deliveries.
	WhatsAppNumbers plaza.WhatsAppNumberService
	WhatsAppInbox   plaza.WhatsAppInbox
	// Webhooks are the numbers' forwarding webhooks.
	Webhooks plaza.WebhookService
	// Outbound sends messages to contacts.
	Outbound plaza.OutboundService
	// Conversations reads conversations and their messages.
	Conversations plaza.ConversationService
	// Media sends files to contacts and serves messages' media.
	Media plaza.MediaService
	// Templates are the WhatsApp message templates.
	Templates plaza.TemplateService
	// Webchat is the web chat channel (the widget's visitors).
	Webchat plaza.WebchatService
	// Events streams the workspace's events (GET /api/events).
	Events plaza.EventStream
	// EventHeartbeat is how often an idle event stream sends a comment.
	EventHeartbeat time.Duration
	// Agents are the AI agents' configurations; Knowledge their knowledge
	// files. PublicURL is the server's URL as browsers reach it, for the
	// widget script ("" derives it from each request).
	Agents    plaza.AgentService
	Knowledge plaza.KnowledgeService
	PublicURL string
	// MaxUploadBytes limits the bodies of upload routes (knowledge files).
	MaxUploadBytes int64

	// Automations are the workspace's flows (Plaza's extension) and their
	// ai_agent nodes' prompts (Plazbot's Update Agente IA Prompt).
	Automations plaza.AutomationService
	// FetchGuard guards the fetch of user-given URLs (prompt documents);
	// nil refuses every loopback, private and link-local address.
	FetchGuard *messaging.FetchGuard
	// DocumentTimeout bounds the fetch of a prompt document; 0 is
	// PromptDocumentTimeout.
	DocumentTimeout time.Duration
	// AgentChat answers questions to AI agents over the API (on-message).
	AgentChat plaza.AgentChatService
	// Handoffs are the agent's handoff states of conversations.
	Handoffs plaza.HandoffService
	// LLMSettings are workspaces' own LLM endpoints.
	LLMSettings plaza.LLMSettingsService
	// Campaigns are the progress of large template sends.
	Campaigns plaza.CampaignService
	// Idempotency keeps Idempotency-Key responses; nil turns the header off.
	Idempotency plaza.IdempotencyStore
	// Ready reports whether the database answers, for /readyz.
	Ready func(context.Context) error

	Logger *slog.Logger
	// AllowSignup lets POST /api/user without credentials create a user
	// with a workspace of their own.
	AllowSignup bool
	// MaxBodyBytes limits request bodies.
	MaxBodyBytes int64
	// MaxFileSendBytes limits the multipart bodies of POST
	// /api/message/files; zero means DefaultMaxFileSendBytes.
	MaxFileSendBytes int64
	// Version is reported by /healthz.
	Version string

	pages    pageCodec
	mux      *http.ServeMux
	handler  http.Handler
	registry *prometheus.Registry
	metrics  *metrics
	// streams ends when CloseStreams is called.
	streams      context.Context
	closeStreams context.CancelFunc
}

// DefaultMaxBodyBytes is the default request body limit, 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxUploadBytes is the default upload body limit: a document of
// extract.MaxDocumentSize (20 MiB) with room for the multipart framing.
const DefaultMaxUploadBytes = 21 << 20

// NewServer returns a server whose continuation tokens are signed with a
// key derived from secretKey. Set the exported fields before serving.
func NewServer(secretKey string) *Server {
	s := &Server{
		EventHeartbeat: DefaultEventHeartbeat,
		Logger:         slog.Default(),
		MaxBodyBytes:   DefaultMaxBodyBytes,
		MaxUploadBytes: DefaultMaxUploadBytes,
		pages:          pageCodec{key: plaza.DeriveKey(secretKey, "page-token")},
		mux:            http.NewServeMux(),
		registry:       prometheus.NewRegistry(),
	}
	s.streams, s.closeStreams = context.WithCancel(context.Background())
	s.metrics = newMetrics(s.registry)
	s.routes()
	s.handler = s.recoverPanics(s.observe(http.HandlerFunc(s.serveMux)))
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// serveMux routes the request, answering unknown paths and wrong methods
// with envelopes instead of the mux's plain text.
func (s *Server) serveMux(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets r.Pattern and the path values
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.writeError(w, r, plaza.Errorf(errMethodNotAllowed, "Method %s is not allowed on %s.", r.Method, r.URL.Path))
	case http.StatusNotFound, 0:
		s.writeError(w, r, plaza.Errorf(plaza.ENOTFOUND, "No endpoint %s %s.", r.Method, r.URL.Path))
	default: // a redirect the mux decided on (a path to be cleaned)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
	}
}

// statusRecorder captures the status and headers the mux's own not-found
// and method-not-allowed handlers would write.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// handlerFunc is the shape of every handler: it writes a success itself
// and returns an error for s.writeError to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// logger returns the server's logger with the request's id.
func (s *Server) logger(r *http.Request) *slog.Logger {
	if id := r.Header.Get("X-Request-Id"); id != "" {
		return s.Logger.With("request_id", id)
	}
	return s.Logger
}

// RegisterMetrics adds collectors to the server's GET /metrics (the
// agents' turns, which the queue's workers observe).
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}
