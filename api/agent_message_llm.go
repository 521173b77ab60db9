package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// A workspace's own LLM for its agents (Plaza's extension, Plazbot's
// "custom AI config"). The key is write-only.

func (s *Server) handleLLMSettingsGet(w http.ResponseWriter, r *http.Request) error {
	st, err := s.LLMSettings.FindLLMSettings(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "LLM settings obtained successfully.", st)
}

func (s *Server) handleLLMSettingsSet(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	var upd plaza.LLMSettingsUpdate
	if v := b.str("baseUrl"); v != nil {
		upd.BaseURL = *v
	}
	if v := b.str("model"); v != nil {
		upd.Model = *v
	}
	if b.has("apiKey") {
		upd.APIKey = b.clearable("apiKey")
	}
	if err := b.err(); err != nil {
		return err
	}
	st, err := s.LLMSettings.SetLLMSettings(r.Context(), upd)
	if err != nil {
		return err
	}
	return ok(w, "LLM settings saved successfully.", st)
}

func (s *Server) handleLLMSettingsDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.LLMSettings.DeleteLLMSettings(r.Context()); err != nil {
		return err
	}
	return ok(w, "LLM settings removed; the workspace's agents use the server's LLM.", nil)
}
