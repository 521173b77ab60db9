package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// handleMessageSend is Plazbot's Send Message Whatsapp (§3.9): a
// free-form text inside the contact's 24-hour window. The answer carries
// the message with its messageWhatsappId when Meta accepted it during the
// request, else with status "queued": it is durable and goes out later.
func (s *Server) handleMessageSend(w http.ResponseWriter, r *http.Request) error {
	var in plaza.MessageSend
	if err := decode(r, &in); err != nil {
		return err
	}
	sent, err := s.Outbound.SendWhatsAppText(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Message sent successfully.", sent)
}

// handleConversationSend is Plazbot's Send Conversation (§3.11): an
// approved template to one destination or a list of them, queued; the
// queue sends them.
func (s *Server) handleConversationSend(w http.ResponseWriter, r *http.Request) error {
	var in plaza.ConversationSend
	if err := decode(r, &in); err != nil {
		return err
	}
	sent, err := s.Outbound.SendWhatsAppTemplates(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Conversation sent successfully.", sent)
}
