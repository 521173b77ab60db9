package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// Forwarding webhooks of connected numbers (Plazbot §4, §4.1, and Plaza's
// extensions: read, deliveries, replay). {number} is the number's display
// phone number in any format, or its Plaza id.

type webhookBody struct {
	Webhook string `json:"webhook"`
}

func (s *Server) handleWebhookSet(w http.ResponseWriter, r *http.Request) error {
	var in webhookBody
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.Webhooks.SetWebhook(r.Context(), r.PathValue("number"), in.Webhook)
	if err != nil {
		return err
	}
	return ok(w, "Webhook registered successfully.", e)
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.DeleteWebhook(r.Context(), r.PathValue("number")); err != nil {
		return err
	}
	return ok(w, "Webhook removed successfully.", nil)
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Webhooks.FindWebhook(r.Context(), r.PathValue("number"))
	if err != nil {
		return err
	}
	return ok(w, "Webhook obtained successfully.", e)
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	after, err := s.pageAfter(r, "webhook_deliveries")
	if err != nil {
		return err
	}
	list, more, err := s.Webhooks.FindWebhookDeliveries(r.Context(), r.PathValue("number"), plaza.Page{After: after})
	if err != nil {
		return err
	}
	last := ""
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	p := plaza.PrincipalFromContext(r.Context())
	return ok(w, "List obtained successfully.", listPage[plaza.WebhookDelivery]{WorkspaceID: p.WorkspaceID,
		ContinuationToken: s.nextPageToken(r, "webhook_deliveries", more, last), Data: list})
}

func (s *Server) handleWebhookReplay(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.ReplayWebhookDelivery(r.Context(), r.PathValue("number"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	return ok(w, "Webhook delivery queued again.", d)
}
