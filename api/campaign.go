package api

import "net/http"

// handleCampaignGet (Plaza's extension) is the progress of a campaign, the
// Send Conversation of more than plaza.SyncSendLimit destinations.
func (s *Server) handleCampaignGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Campaigns.FindCampaignByID(r.Context(), r.PathValue("campaignId"))
	if err != nil {
		return err
	}
	return ok(w, "Campaign found.", c)
}
