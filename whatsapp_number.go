package plaza

import (
	"context"
	"strings"
	"time"
)

// WhatsAppNumber is a WhatsApp Business number connected to a workspace.
// Its secrets are never part of it: they are stored sealed and only the
// adapters that call Meta read them, as WhatsAppCredentials.
type WhatsAppNumber struct {
	ID                 string `json:"id"`
	WorkspaceID        string `json:"workspaceId"`
	PhoneNumberID      string `json:"phoneNumberId"`
	WabaID             string `json:"wabaId"`
	DisplayPhoneNumber string `json:"displayPhoneNumber"`
	CreationDate       Time   `json:"creationDate"`
}

// WhatsAppNumberCreate connects a number: the ids Meta gave it, and the
// secrets Plaza needs to call the Graph API (accessToken), check webhook
// signatures (appSecret) and answer Meta's webhook verification
// (verifyToken).
type WhatsAppNumberCreate struct {
	PhoneNumberID      string `json:"phoneNumberId"`
	WabaID             string `json:"wabaId"`
	DisplayPhoneNumber string `json:"displayPhoneNumber"`
	AccessToken        string `json:"accessToken"`
	AppSecret          string `json:"appSecret"`
	VerifyToken        string `json:"verifyToken"`
}

// Validate checks that every field is there and that the Graph ids are
// numeric (they are put in Graph API paths).
func (in *WhatsAppNumberCreate) Validate() error {
	var v Validator
	for _, f := range []struct {
		value *string
		name  string
	}{
		{&in.PhoneNumberID, "phoneNumberId"}, {&in.WabaID, "wabaId"}, {&in.DisplayPhoneNumber, "displayPhoneNumber"},
		{&in.AccessToken, "accessToken"}, {&in.AppSecret, "appSecret"}, {&in.VerifyToken, "verifyToken"},
	} {
		*f.value = strings.TrimSpace(*f.value)
		v.Required(*f.value, f.name)
	}
	v.Check(in.PhoneNumberID == "" || isDigits(in.PhoneNumberID), "phoneNumberId", "phoneNumberId must be the numeric id Meta gives the number.")
	v.Check(in.WabaID == "" || isDigits(in.WabaID), "wabaId", "wabaId must be the numeric id of the WhatsApp Business Account.")
	v.Check(len(in.VerifyToken) <= 200, "verifyToken", "verifyToken must be at most 200 characters long.")
	return v.Err()
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// WhatsAppCredentials are a connected number with its opened secrets.
type WhatsAppCredentials struct {
	WhatsAppNumber
	AccessToken string
	AppSecret   string
}

// WhatsAppNumberService manages the caller's connected numbers, and finds
// numbers for the webhook, which has no caller.
type WhatsAppNumberService interface {
	// CreateWhatsAppNumber connects a number to the caller's workspace
	// (owners and admins). ECONFLICT when the phone number id is already
	// connected, here or anywhere.
	CreateWhatsAppNumber(ctx context.Context, in WhatsAppNumberCreate) (*WhatsAppNumber, error)
	// FindWhatsAppNumbers lists the caller's numbers, without secrets.
	FindWhatsAppNumbers(ctx context.Context) ([]WhatsAppNumber, error)
	// DeleteWhatsAppNumber disconnects one of the caller's numbers
	// (owners and admins); its conversations stay.
	DeleteWhatsAppNumber(ctx context.Context, id string) error

	// WhatsAppCredentialsByPhoneNumberID finds any workspace's number by
	// Meta's phone number id, for webhook routing. ENOTFOUND if none.
	WhatsAppCredentialsByPhoneNumberID(ctx context.Context, phoneNumberID string) (*WhatsAppCredentials, error)
	// WhatsAppAppSecrets lists every connected number's app secret, so a
	// webhook's signature is checked before its body is parsed.
	WhatsAppAppSecrets(ctx context.Context) ([]WhatsAppCredentials, error)
	// WhatsAppVerifyTokenExists reports whether any connected number has
	// this verify token (Meta's subscription check).
	WhatsAppVerifyTokenExists(ctx context.Context, token string) (bool, error)
}

// WhatsAppInboxJob is the River job that processed one stored delivery
// before the inbox became its own queue (migration 0018). Jobs of this kind
// still queued at the upgrade are completed without work: their deliveries
// are unprocessed inbox rows, which the drainer takes like any other.
type WhatsAppInboxJob struct {
	InboxID string `json:"inboxId"`
}

// Kind names the job on the queue.
func (WhatsAppInboxJob) Kind() string { return "whatsapp_inbox" }

// WhatsAppDelivery is a stored webhook delivery claimed for processing.
type WhatsAppDelivery struct {
	ID   string
	Body []byte
	// Attempt counts the claims of the delivery, this one included.
	Attempt int
}

// WhatsAppInboxClaim asks for a batch of deliveries to process.
type WhatsAppInboxClaim struct {
	// Owner names the claiming process (for inspection and release).
	Owner string
	// Limit is the most deliveries claimed.
	Limit int
	// Lease is how long the claim holds: past it, a delivery not marked
	// processed (its process died) may be claimed again.
	Lease time.Duration
}

// WhatsAppInbox keeps webhook deliveries as Meta sent them, and is the
// durable queue of their processing: a stored delivery stays unprocessed
// until a drainer claims it, applies it and marks it processed.
type WhatsAppInbox interface {
	// StoreWhatsAppDelivery stores a delivery whose signature was checked:
	// once it returns nil the delivery is durable and will be processed.
	StoreWhatsAppDelivery(ctx context.Context, body []byte) error
	// ClaimWhatsAppDeliveries claims up to claim.Limit deliveries that are
	// due (unprocessed, not given up, not claimed under a live lease, past
	// their retry time), oldest first, counting an attempt on each. A
	// delivery is never held by two live claims.
	ClaimWhatsAppDeliveries(ctx context.Context, claim WhatsAppInboxClaim) ([]WhatsAppDelivery, error)
	// MarkWhatsAppDeliveriesProcessed records that deliveries were applied.
	MarkWhatsAppDeliveriesProcessed(ctx context.Context, ids []string) error
	// RetryWhatsAppDelivery records a failed attempt: the delivery is due
	// again at retryAt, or, when retryAt is zero, given up (kept, never
	// claimed again).
	RetryWhatsAppDelivery(ctx context.Context, id, lastError string, retryAt time.Time) error
	// ReleaseWhatsAppDeliveries gives back the owner's claims of
	// deliveries it did not start, uncounting their attempt.
	ReleaseWhatsAppDeliveries(ctx context.Context, owner string, ids []string) error
	// WatchWhatsAppDeliveries returns a channel that receives a value
	// (coalesced) after deliveries are stored: by this process, and, on a
	// database shared by replicas, by another one. It ends with ctx.
	WatchWhatsAppDeliveries(ctx context.Context) <-chan struct{}
	// PruneWhatsAppDeliveries deletes deliveries processed before
	// processedBefore and deliveries given up before failedBefore, at most
	// limit of them; it returns how many it deleted.
	PruneWhatsAppDeliveries(ctx context.Context, processedBefore, failedBefore time.Time, limit int) (int, error)
}
