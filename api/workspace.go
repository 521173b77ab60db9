package api

import (
	"net/http"
)

func (s *Server) handleWorkspaceGet(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.Workspaces.FindWorkspaceByID(r.Context(), r.PathValue("workspaceId"))
	if err != nil {
		return err
	}
	return ok(w, "Workspace obtained successfully.", ws)
}

func (s *Server) handleWorkspaceUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.Workspaces.FindWorkspaceUsers(r.Context(), r.PathValue("workspaceId"))
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", users)
}

func (s *Server) handleAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, err := s.Auth.CreateAPIKey(r.Context(), in.Name)
	if err != nil {
		return err
	}
	return ok(w, "API key created. Store the key now: it is not shown again.", k)
}

func (s *Server) handleAPIKeyList(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Auth.FindAPIKeys(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", keys)
}

func (s *Server) handleAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Auth.RevokeAPIKey(r.Context(), r.PathValue("keyId")); err != nil {
		return err
	}
	return ok(w, "API key revoked.", nil)
}
