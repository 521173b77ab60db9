package api

import (
	"net/http"
	"strings"

	"github.com/plaza-crm/plaza"
)

// Automations: Plaza's extension for the flows themselves (any member reads
// them; owners and admins write them), and Plazbot's Update Agente IA
// Prompt (§3.1).

func (s *Server) handleAutomationList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Automations.FindAutomations(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", list)
}

func (s *Server) handleAutomationGet(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Automations.FindAutomationByID(r.Context(), r.PathValue("automationId"))
	if err != nil {
		return err
	}
	return ok(w, "Automation obtained successfully.", a)
}

func (s *Server) handleAutomationCreate(w http.ResponseWriter, r *http.Request) error {
	var in plaza.AutomationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.Automations.CreateAutomation(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Automation created successfully.", a)
}

// handleAutomationUpdate changes the parts of an automation the body sends
// (name, enabled, trigger, nodes); nodes sent replace them all.
func (s *Server) handleAutomationUpdate(w http.ResponseWriter, r *http.Request) error {
	var upd plaza.AutomationUpdate
	if err := decode(r, &upd); err != nil {
		return err
	}
	a, err := s.Automations.UpdateAutomation(r.Context(), r.PathValue("automationId"), upd)
	if err != nil {
		return err
	}
	return ok(w, "Automation updated successfully.", a)
}

func (s *Server) handleAutomationDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("automationId")
	if err := s.Automations.DeleteAutomation(r.Context(), id); err != nil {
		return err
	}
	return ok(w, "Automation deleted successfully.", map[string]string{"id": id})
}

// handleNodePromptUpdate is Plazbot's Update Agente IA Prompt: the body's
// urlDocument names a document (plain text, Markdown, HTML, PDF, DOCX)
// whose text becomes the ai_agent node's prompt; Plaza also takes the
// prompt inline, as prompt. Exactly one of the two. The caller's rights and
// the node are checked before anything is fetched.
func (s *Server) handleNodePromptUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	urlDocument, prompt := b.str("urlDocument"), b.str("prompt")
	if err := b.err(); err != nil {
		return err
	}
	switch {
	case urlDocument != nil && prompt != nil:
		return plaza.Invalid(
			plaza.FieldError{Field: "urlDocument", Message: "Send either urlDocument or prompt, not both."},
			plaza.FieldError{Field: "prompt", Message: "Send either urlDocument or prompt, not both."})
	case urlDocument == nil && prompt == nil:
		return plaza.Invalid(plaza.FieldError{Field: "urlDocument",
			Message: "urlDocument is required: the URL of the document whose text becomes the prompt (or send the text as prompt)."})
	}
	ctx := r.Context()
	nodeID := r.PathValue("nodeId")
	if urlDocument != nil {
		if _, err := plaza.RequireManager(ctx); err != nil {
			return err
		}
		node, err := s.Automations.FindAutomationNode(ctx, nodeID)
		if err != nil {
			return err
		}
		if err := node.AcceptsPrompt(); err != nil {
			return err
		}
		text, err := s.fetchPromptDocument(ctx, strings.TrimSpace(*urlDocument))
		if err != nil {
			return err
		}
		prompt = &text
	}
	node, err := s.Automations.UpdateNodePrompt(ctx, nodeID, *prompt)
	if err != nil {
		return err
	}
	return ok(w, "Prompt updated successfully.", node)
}
