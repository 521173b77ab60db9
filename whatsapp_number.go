package plaza

import (
	"context"
	"strings"
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

// WhatsAppInboxJob asks for one stored webhook delivery to be processed:
// its messages, statuses and template updates applied to the workspaces
// they belong to. It is a job on the durable queue.
type WhatsAppInboxJob struct {
	InboxID string `json:"inboxId"`
}

// Kind names the job on the queue.
func (WhatsAppInboxJob) Kind() string { return "whatsapp_inbox" }

// WhatsAppInbox keeps webhook deliveries as Meta sent them.
type WhatsAppInbox interface {
	// StoreWhatsAppDelivery stores a delivery whose signature was checked
	// and enqueues its processing, in one transaction: once it returns nil
	// the delivery is durable and will be processed.
	StoreWhatsAppDelivery(ctx context.Context, body []byte) error
	// WhatsAppDelivery returns a stored delivery's body.
	WhatsAppDelivery(ctx context.Context, inboxID string) ([]byte, error)
	// MarkWhatsAppDeliveryProcessed records that a delivery was applied.
	MarkWhatsAppDeliveryProcessed(ctx context.Context, inboxID string) error
}
