package plaza

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Inbound messaging: what Meta's webhooks report (customers' messages,
// statuses of the messages Plaza sent, template reviews) applied to the
// workspace of the connected number they name, and the conversations and
// messages read back through the API.

// ActorWhatsApp is the actor of what an inbound WhatsApp message does on
// its own, such as creating the contact of a new customer; its id is the
// connected number's id.
const ActorWhatsApp = "whatsapp"

// WindowDuration is WhatsApp's customer service window: free-form
// messages may be sent until this long after the customer's last message.
const WindowDuration = 24 * time.Hour

// InboundMessage is one customer message received on a connected number.
type InboundMessage struct {
	// Number is the connected number that received it; its workspace is
	// where the message lands.
	Number WhatsAppNumber
	// From is the sender's WhatsApp id (wa_id: the number's digits).
	From string
	// ProfileName is the name the sender shows on WhatsApp, "" if unknown.
	ProfileName string
	// WAMID is WhatsApp's message id, unique per message: a delivery
	// repeated by Meta carries the same one.
	WAMID string
	Type  string
	// Content is the message as one line of text (the contact's and the
	// conversation's lastMessage).
	Content string
	// Payload is the message object exactly as Meta sent it.
	Payload json.RawMessage
	// Timestamp is when the customer sent it (zero: unknown, use now).
	Timestamp time.Time
}

// InboundResult says what storing an inbound message did.
type InboundResult struct {
	ContactID      string
	ConversationID string
	MessageID      string
	// Duplicate reports a message already stored (same wamid): nothing
	// was written, and the ids are those of the stored message.
	Duplicate bool
	// NewContact reports that the sender became a new contact.
	NewContact bool
}

// MessageStatusUpdate is a status webhook about a message Plaza sent.
type MessageStatusUpdate struct {
	// Number is the connected number that sent the message.
	Number WhatsAppNumber
	// WAMID is WhatsApp's id of the message.
	WAMID string
	// Status is Meta's: sent, delivered, read or failed.
	Status string
	// CallbackData is the biz_opaque_callback_data the send carried: Plaza
	// puts its own message id there, so a status finds its message even
	// when the send's answer (with the wamid) was never recorded.
	CallbackData string
	Timestamp    time.Time
	// Error is Meta's error of a failed message.
	Error *MessageError
}

// StatusAdvance decides the status a message moves to when next is
// reported while it is at current, and whether that is a change (the
// messaging package gives whatsapp.Advance: sent < delivered < read,
// failed from any state and terminal).
type StatusAdvance func(current, next string) (string, bool)

// MessageIDFromCallbackData returns the Plaza message id a status's
// biz_opaque_callback_data names (see OutboundCallbackData); a bare id is
// taken as is. "" when the data is empty.
func MessageIDFromCallbackData(data string) string {
	return strings.TrimSpace(strings.TrimPrefix(data, callbackPrefix))
}

// TemplateStatusChange is Meta's review of a message template of a
// number's WhatsApp Business Account (message_template_status_update).
type TemplateStatusChange struct {
	Number   WhatsAppNumber
	MetaID   string // Meta's template id
	Name     string
	Language string
	Category string // "" when Meta did not say
	// Status is Meta's event: APPROVED, REJECTED, PENDING, PAUSED,
	// DISABLED, ...
	Status string
	// Reason explains a rejection, pause or disabling; "" when none.
	Reason string
}

// InboundStore applies webhook reports to the workspace of the number they
// name. It has no caller: the webhook was authenticated by its signature.
// Every method is idempotent, so a job retried after a crash changes
// nothing twice.
type InboundStore interface {
	// StoreInboundMessage stores a customer's message in one transaction:
	// the contact, found by any variant of the sender's number among the
	// workspace's live contacts or else created; the conversation of that
	// contact on that number, created if missing; the message; and the
	// contact's and conversation's last message, unread flag and 24-hour
	// window. A message already stored (same wamid) writes nothing and is
	// reported Duplicate.
	StoreInboundMessage(ctx context.Context, m InboundMessage) (*InboundResult, error)
	// ApplyMessageStatus moves an outbound message's status as advance
	// says, keeping Meta's error when it fails. A message that has no
	// wamid yet but whose id is the callback data gets the wamid (its send
	// was accepted by Meta though its answer was lost). It reports whether
	// a message was found; a status of an unknown message changes nothing.
	ApplyMessageStatus(ctx context.Context, u MessageStatusUpdate, advance StatusAdvance) (found bool, err error)
	// ApplyTemplateStatus records Meta's review on the number's template
	// (found by Meta's id, or by name and language), creating the template
	// when it has not been synced yet.
	ApplyTemplateStatus(ctx context.Context, c TemplateStatusChange) error
	// WhatsAppNumbersByWabaID lists the connected numbers, of any
	// workspace, of a WhatsApp Business Account.
	WhatsAppNumbersByWabaID(ctx context.Context, wabaID string) ([]WhatsAppNumber, error)
}

// ConversationFilter narrows a conversation list; zero fields do not
// filter.
type ConversationFilter struct {
	ContactID string
	// Query matches, case-insensitively, part of the contact's name, last
	// name or WhatsApp profile name, the conversation's last message, or
	// (when it looks like a phone number) the digits of the contact's
	// phone.
	Query string
}

// MessagePage asks for a page of a conversation's messages: the Limit
// newest ones sent before the message Before ("" for the newest).
type MessagePage struct {
	Before string
	Limit  int
}

// MessagePageSize is how many messages a page holds by default, and
// MaxMessagePageSize at most.
const (
	MessagePageSize    = 50
	MaxMessagePageSize = 200
)

// Size is the page's limit, MessagePageSize when unset.
func (p MessagePage) Size() int {
	if p.Limit <= 0 {
		return MessagePageSize
	}
	return min(p.Limit, MaxMessagePageSize)
}

// MessageSearch is a search of the workspace's messages.
type MessageSearch struct {
	// Query matches part of a message's content, case-insensitively.
	Query     string
	ContactID string
	Limit     int
}

// ConversationService reads the conversations and messages of the caller's
// workspace. Records of another workspace are ENOTFOUND.
type ConversationService interface {
	// FindConversations lists conversations, newest first (by creation),
	// one page at a time; more reports whether another page follows.
	FindConversations(ctx context.Context, filter ConversationFilter, page Page) (conversations []Conversation, more bool, err error)
	// FindConversationByID returns one conversation.
	FindConversationByID(ctx context.Context, id string) (*Conversation, error)
	// FindMessages returns a page of a conversation's messages in the
	// order they were sent, oldest first: the newest page.Size() sent
	// before page.Before. ENOTFOUND
	// when the conversation does not exist; EINVALID naming "before" when
	// Before is not one of its messages.
	FindMessages(ctx context.Context, conversationID string, page MessagePage) ([]Message, error)
	// SearchMessages returns the newest messages (at most
	// MessagePageSize, or search.Limit up to MaxMessagePageSize) whose
	// content contains the query, newest first.
	SearchMessages(ctx context.Context, search MessageSearch) ([]Message, error)
}
