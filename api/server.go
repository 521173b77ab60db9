// Package api is Plaza's HTTP API: Plazbot's public API and Plaza's own
// extensions. routes.go holds the whole surface; handlers decode, call a
// service and encode; error.go maps errors to envelopes in one place.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plaza-crm/plaza"
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
	// Templates are the WhatsApp message templates.
	Templates plaza.TemplateService
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
	// Version is reported by /healthz.
	Version string

	pages    pageCodec
	mux      *http.ServeMux
	handler  http.Handler
	registry *prometheus.Registry
	metrics  *metrics
}

// DefaultMaxBodyBytes is the default request body limit, 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// NewServer returns a server whose continuation tokens are signed with a
// key derived from secretKey. Set the exported fields before serving.
func NewServer(secretKey string) *Server {
	s := &Server{
		Logger:       slog.Default(),
		MaxBodyBytes: DefaultMaxBodyBytes,
		pages:        pageCodec{key: plaza.DeriveKey(secretKey, "page-token")},
		mux:          http.NewServeMux(),
		registry:     prometheus.NewRegistry(),
	}
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
