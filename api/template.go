package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// handleTemplateCreate is Plazbot's POST /api/template (§4): the template
// is submitted to Meta for review and stored with Meta's status.
func (s *Server) handleTemplateCreate(w http.ResponseWriter, r *http.Request) error {
	var in plaza.TemplateCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.Templates.CreateTemplate(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Template created successfully.", plaza.TemplateCreated{
		Plantilla: plaza.TemplateCreatedRef{ID: t.ID, ElementName: t.ElementName, Status: t.Status}})
}

// handleTemplateActives is Plazbot's GET /api/template/actives: the
// workspace's approved templates.
func (s *Server) handleTemplateActives(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Templates.ActiveTemplates(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "Templates found.", ts)
}

// handleTemplateSync (Plaza's extension) reads the templates of the
// workspace's WABAs from Meta.
func (s *Server) handleTemplateSync(w http.ResponseWriter, r *http.Request) error {
	var in plaza.TemplateSync
	if err := decode(r, &in); err != nil {
		return err
	}
	synced, err := s.Templates.SyncTemplates(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Templates synced successfully.", synced)
}
