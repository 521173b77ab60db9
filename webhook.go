package plaza

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
)

// Forwarding webhooks (Plazbot's POST|DELETE
// /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook): a URL
// registered on a connected number receives each inbound message of that
// number as Plazbot sends it, {recipientPhone, content, reference}, where
// recipientPhone is the customer's number (the sender's digits: the phone a
// reply goes to with POST /api/message), content the message as one line
// of text, and reference Meta's webhook payload of the message (object,
// entry, changes, value with metadata, contacts and that one message).
//
// Plaza signs each delivery as the Standard Webhooks 1.0 specification
// says: webhook-id (the delivery's id, the same on every attempt and
// replay), webhook-timestamp (Unix seconds of the attempt) and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed
// with the endpoint's secret, "whsec_<base64 key>", returned once when the
// webhook is registered. A 2xx answer ends a delivery; other answers and
// network errors are retried with backoff for about a day, then the
// delivery is left failed; 410 Gone disables the endpoint.

// WebhookEndpoint is the forwarding webhook of a connected number; its
// secret is never part of it.
type WebhookEndpoint struct {
	ID                 string `json:"id"`
	WorkspaceID        string `json:"workspaceId"`
	WhatsAppNumberID   string `json:"whatsappNumberId"`
	DisplayPhoneNumber string `json:"displayPhoneNumber"`
	Webhook            string `json:"webhook"`
	// Disabled is set when the receiver answered 410 Gone; register the
	// webhook again to enable it.
	Disabled       bool    `json:"disabled"`
	DisabledReason *string `json:"disabledReason"`
	CreationDate   Time    `json:"creationDate"`
}

// WebhookEndpointSecret is a just-registered endpoint with its signing
// secret, the only time the secret is returned.
type WebhookEndpointSecret struct {
	WebhookEndpoint
	Secret string `json:"secret"`
}

// WebhookAttempt is one attempt of a delivery.
type WebhookAttempt struct {
	ID          string `json:"id"`
	AttemptedAt Time   `json:"attemptedAt"`
	// StatusCode is the receiver's HTTP status, nil when none came.
	StatusCode *int    `json:"statusCode"`
	Error      *string `json:"error"`
	DurationMs int64   `json:"durationMs"`
}

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
	WebhookCancelled = "cancelled"
)

// WebhookDelivery is one inbound message forwarded to an endpoint, with
// its attempts, oldest first.
type WebhookDelivery struct {
	ID           string           `json:"id"`
	EndpointID   string           `json:"endpointId"`
	MessageID    string           `json:"messageId"`
	Status       string           `json:"status"`
	Attempts     []WebhookAttempt `json:"attempts"`
	CreationDate Time             `json:"creationDate"`
	UpdatedDate  Time             `json:"updatedDate"`
}

// WebhookForwardBody is what an endpoint receives, in Plazbot's shape.
type WebhookForwardBody struct {
	RecipientPhone string          `json:"recipientPhone"`
	Content        string          `json:"content"`
	Reference      json.RawMessage `json:"reference"`
}

// WebhookForwardJob is the durable job of one delivery (River's job args).
type WebhookForwardJob struct {
	WorkspaceID string `json:"workspaceId"`
	DeliveryID  string `json:"deliveryId"`
}

// Kind is the job's kind in the queue.
func (WebhookForwardJob) Kind() string { return "webhook_forward" }

// WebhookURLCheck refuses a URL the server will not call (e.g. a private
// address not allow-listed); nil accepts every URL.
type WebhookURLCheck func(u *url.URL) error

// ParseWebhookURL checks a webhook URL: absolute http(s) with a host, at
// most 2048 characters; check adds the server's policy. Errors name the
// field "webhook".
func ParseWebhookURL(raw string, check WebhookURLCheck) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	bad := func(msg string) error { return Invalid(FieldError{Field: "webhook", Message: msg}) }
	if raw == "" {
		return nil, bad("webhook is required.")
	}
	if len(raw) > 2048 {
		return nil, bad("webhook must be at most 2048 characters long.")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, bad("webhook must be an absolute http or https URL without credentials.")
	}
	u.Fragment = ""
	if check != nil {
		if err := check(u); err != nil {
			return nil, bad("webhook is not allowed: " + err.Error())
		}
	}
	return u, nil
}

// WebhookService manages the forwarding webhooks of the caller's numbers.
// number is a connected number's display phone number in any format, or
// its Plaza id; an unknown number (or another workspace's) is ENOTFOUND.
type WebhookService interface {
	// SetWebhook registers the number's webhook (owners and admins),
	// replacing any previous one, and returns it with its new secret.
	SetWebhook(ctx context.Context, number, webhook string) (*WebhookEndpointSecret, error)
	// DeleteWebhook removes it (owners and admins): pending deliveries are
	// not attempted again. ENOTFOUND when there is none.
	DeleteWebhook(ctx context.Context, number string) error
	// FindWebhook returns the number's webhook; ENOTFOUND when none.
	FindWebhook(ctx context.Context, number string) (*WebhookEndpoint, error)
	// FindWebhookDeliveries lists the number's deliveries, newest first,
	// with their attempts.
	FindWebhookDeliveries(ctx context.Context, number string, page Page) ([]WebhookDelivery, bool, error)
	// ReplayWebhookDelivery sends a delivery again to the number's current
	// webhook (owners and admins), under the same webhook-id.
	ReplayWebhookDelivery(ctx context.Context, number, deliveryID string) (*WebhookDelivery, error)
}

// WebhookSend is what one attempt of a delivery needs.
type WebhookSend struct {
	WorkspaceID string
	DeliveryID  string
	URL         string
	Secret      string
	Body        []byte
}

// WebhookForwardStore is the forwarding worker's storage.
type WebhookForwardStore interface {
	// WebhookSendOf returns a pending delivery with its endpoint's URL and
	// secret; nil when the delivery is no longer pending or its endpoint
	// was replaced, removed or disabled (it is then marked cancelled).
	WebhookSendOf(ctx context.Context, workspaceID, deliveryID string) (*WebhookSend, error)
	// RecordWebhookAttempt logs an attempt and sets the delivery's status
	// (pending while it will be retried); disable, when not "", disables
	// the endpoint with that reason.
	RecordWebhookAttempt(ctx context.Context, workspaceID, deliveryID string, a WebhookAttempt, status, disable string) error
}

// WebhookMaxAttempts is how many times a delivery is attempted before it
// is left failed (the retry schedule spans about a day).
const WebhookMaxAttempts = 8
