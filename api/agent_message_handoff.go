package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// The agent's handoff state of a conversation (Plaza's extension): read
// it, and move it as a human does: take the conversation over, or give it
// back to the bot. A request for a human comes from the agent itself.

func (s *Server) handleHandoffGet(w http.ResponseWriter, r *http.Request) error {
	h, err := s.Handoffs.FindHandoff(r.Context(), r.PathValue("conversationId"))
	if err != nil {
		return err
	}
	return ok(w, "Handoff state obtained successfully.", h)
}

func (s *Server) handleHandoffSet(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	state := b.str("state")
	if err := b.err(); err != nil {
		return err
	}
	id := r.PathValue("conversationId")
	var h *plaza.Handoff
	switch {
	case state != nil && plaza.HandoffState(*state) == plaza.HandoffHumanActive:
		h, err = s.Handoffs.HumanTakeOver(r.Context(), id)
	case state != nil && plaza.HandoffState(*state) == plaza.HandoffBotResumed:
		h, err = s.Handoffs.ResumeBot(r.Context(), id)
	default:
		return plaza.Invalid(plaza.FieldError{Field: "state", Message: "state must be human_active (a person takes the conversation) or bot_resumed (the agent answers again)."})
	}
	if err != nil {
		return err
	}
	return ok(w, "Handoff state saved successfully.", h)
}
