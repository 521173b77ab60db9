package api

// route is one entry of the API's surface.
type route struct {
	pattern string
	auth    authMode
	handler handlerFunc
}

// routeTable is the whole HTTP surface of Plaza. Every pattern here is in
// the OpenAPI document (openapi.json), and a test keeps the two equal.
func (s *Server) routeTable() []route {
	return []route{
		// Operations.
		{"GET /healthz", authNone, s.handleHealthz},
		{"GET /readyz", authNone, s.handleReadyz},
		{"GET /openapi.json", authNone, s.handleOpenAPI},

		// Users (Plazbot §3.20–§3.24).
		{"POST /api/user", authOptional, s.handleUserCreate},
		{"GET /api/user/email", authRequired, s.handleUserByEmail},
		{"POST /api/user/login", authNone, s.handleUserLogin},
		{"POST /api/user/sendEmailToResetPassword", authNone, s.handleUserSendReset},
		{"POST /api/user/resetPassword", authNone, s.handleUserResetPassword},

		// Workspaces (Plazbot §3.25 and list-users).
		{"GET /api/workspace/{workspaceId}", authRequired, s.handleWorkspaceGet},
		{"GET /api/workspace/usersByWorkspaceId/{workspaceId}", authRequired, s.handleWorkspaceUsers},

		// API keys (Plaza's extension).
		// The workspace is the request's (x-workspace-id or the key's own).
		{"POST /api/apikey", authRequired, s.handleAPIKeyCreate},
		{"GET /api/apikey", authRequired, s.handleAPIKeyList},
		{"DELETE /api/apikey/{keyId}", authRequired, s.handleAPIKeyRevoke},
	}
}

// Patterns returns the pattern of every route the server serves, for the
// test that keeps the OpenAPI document equal to the surface.
func (s *Server) Patterns() []string {
	var ps []string
	for _, rt := range s.routeTable() {
		ps = append(ps, rt.pattern)
	}
	return append(ps, "GET /metrics")
}

func (s *Server) routes() {
	for _, rt := range s.routeTable() {
		s.mux.Handle(rt.pattern, s.endpoint(rt.auth, rt.handler))
	}
	// Prometheus's text format, not an envelope.
	s.mux.Handle("GET /metrics", s.metrics.handler)
}
