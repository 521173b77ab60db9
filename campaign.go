package plaza

import "context"

// Campaigns: a Send Conversation to more than SyncSendLimit destinations
// is stored as a campaign (the send, built and checked, and its list of
// destinations, in one transaction) and answered at once; a job on the
// durable queue then fans it out in batches, each batch's messages and
// send jobs committed with the destinations they serve, so a crash loses
// no destination and queues none twice.

// SyncSendLimit is the most destinations a Send Conversation queues during
// the request (answering with the contacts' and messages' ids); more make
// a campaign.
const SyncSendLimit = 100

// WhatsAppCampaignJob asks for a campaign's destinations to be fanned out
// into messages and their send jobs.
type WhatsAppCampaignJob struct {
	WorkspaceID string `json:"workspaceId"`
	CampaignID  string `json:"campaignId"`
	// Recovers is the id of the fan-out job this one takes over from:
	// that job was still running when its process died.
	Recovers int64 `json:"recovers,omitempty"`
}

// Kind names the job on the queue.
func (WhatsAppCampaignJob) Kind() string { return "whatsapp_campaign" }

// Campaign is a campaign's progress (GET /api/conversation/campaign/{id}).
// Queued counts the destinations whose message is stored and queued; the
// others count those messages by their status as Meta reports it.
type Campaign struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Template     string `json:"template"`
	NumberID     string `json:"numberId"`
	Total        int    `json:"total"`
	Queued       int    `json:"queued"`
	Sent         int    `json:"sent"`
	Delivered    int    `json:"delivered"`
	Read         int    `json:"read"`
	Failed       int    `json:"failed"`
	CreationDate Time   `json:"creationDate"`
	// FannedOutDate is when the last destination was queued; nil before.
	FannedOutDate *Time `json:"fannedOutDate"`
}

// CampaignService reads the caller's campaigns.
type CampaignService interface {
	// FindCampaignByID returns a campaign's progress; ENOTFOUND when the
	// workspace has no such campaign.
	FindCampaignByID(ctx context.Context, id string) (*Campaign, error)
}

// CampaignFanOut is what the campaign job needs of storage.
type CampaignFanOut interface {
	// FanOutWhatsAppCampaign queues the messages of up to limit of the
	// campaign's destinations not yet queued, in their order, in one
	// transaction; done reports that none is left.
	FanOutWhatsAppCampaign(ctx context.Context, workspaceID, campaignID string, limit int) (done bool, err error)
}
