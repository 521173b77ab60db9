package plaza

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/plaza-crm/plaza/phone"
)

// Outbound messaging: what the workspace sends to its contacts, and how a
// send reaches Meta exactly once.
//
// A send is a message row plus a job on the durable queue, written in one
// transaction. The row's send state is the truth the job works from:
//
//	queued ──▶ sending ──▶ sent
//	   ▲          │  └───▶ failed
//	   └──────────┘ (Meta answered with an error that proves it refused)
//
// "sending" is committed before Meta is called. A job that finds a message
// "sending" does not call Meta again blindly: Meta's answer was lost (a
// crash, a timeout), and Meta may have accepted the message. Plaza sends
// its message id as biz_opaque_callback_data, which Meta echoes in every
// status webhook; a status naming it marks the message sent (the inbound
// side attaches the wamid). Only when no such status has come for a while
// (the reconcile window) is the message taken to be unknown to Meta and
// sent again.

// Send states of an outbound message.
const (
	SendQueued  = "queued"
	SendSending = "sending"
	SendSent    = "sent"
	SendFailed  = "failed"
)

// MaxMessageContent is the longest free-form text, in characters (Meta's
// limit on a text body).
const MaxMessageContent = 4096

// WhatsAppSendJob asks for one outbound message to be sent to Meta. It
// carries ids only: the message row says what to send and how far the send
// got, so any number of jobs for one message send it once.
type WhatsAppSendJob struct {
	WorkspaceID string `json:"workspaceId"`
	MessageID   string `json:"messageId"`
	// Recovers is the id of the send job this one takes over from: that
	// job was still running when its process died.
	Recovers int64 `json:"recovers,omitempty"`
}

// Kind names the job on the queue.
func (WhatsAppSendJob) Kind() string { return "whatsapp_send" }

// callbackPrefix marks Plaza's biz_opaque_callback_data;
// MessageIDFromCallbackData reads it back.
const callbackPrefix = "plaza:outbox:"

// OutboundCallbackData is the biz_opaque_callback_data Plaza sends with a
// message: its own id, which Meta echoes in the message's status webhooks.
func OutboundCallbackData(messageID string) string { return callbackPrefix + messageID }

// MessageSend is the body of Plazbot's Send Message Whatsapp (§3.9): a
// free-form text to the contact with recipientPhone. A web chat contact
// (platformId 1), named by contactId, is answered on its web chat
// conversation instead: no recipientPhone, no number, no 24-hour window. Plaza adds the choice
// of the connected number that sends it, by its display number
// (internalWhatsappNumber) or its id (numberId); by default it is the
// number of the contact's WhatsApp conversation whose window closes last.
// The conversationId some clients send (as null) is ignored: the
// conversation is the contact's on the sending number.
type MessageSend struct {
	RecipientPhone         string `json:"recipientPhone"`
	Content                string `json:"content"`
	ContactID              string `json:"contactId"`
	ExternalReferenceID    string `json:"externalReferenceId"`
	AgentSendedID          string `json:"agentSendedId"` // sic, Plazbot's spelling
	InternalWhatsappNumber string `json:"internalWhatsappNumber"`
	NumberID               string `json:"numberId"`

	// Recipient and SenderDigits are set by Validate: the normalised
	// recipientPhone and internalWhatsappNumber.
	Recipient    phone.Number `json:"-"`
	SenderDigits string       `json:"-"`
}

// Validate checks the send and normalises its numbers. recipientPhone
// may be left out only with a contactId: the store requires it when that
// contact is not a web chat contact (ErrRecipientPhoneRequired).
func (in *MessageSend) Validate() error {
	var v Validator
	in.validateAddress(&v)
	CheckMessageContent(&v, "content", in.Content)
	return v.Err()
}

// validateAddress checks and normalises what every send has besides its
// content: who it goes to, from which number, and the references.
func (in *MessageSend) validateAddress(v *Validator) {
	in.RecipientPhone = strings.TrimSpace(in.RecipientPhone)
	in.ContactID = strings.TrimSpace(in.ContactID)
	if in.ContactID == "" {
		v.Required(in.RecipientPhone, "recipientPhone")
	}
	if in.RecipientPhone != "" {
		n, err := phone.Normalize(in.RecipientPhone)
		v.Check(err == nil, "recipientPhone", fmt.Sprintf("recipientPhone is not a valid phone number: %v.", err))
		in.Recipient = n
	}
	in.ExternalReferenceID = strings.TrimSpace(in.ExternalReferenceID)
	v.Check(len(in.ExternalReferenceID) <= 256, "externalReferenceId", "externalReferenceId must be at most 256 characters long.")
	in.AgentSendedID = strings.TrimSpace(in.AgentSendedID)
	v.Check(len(in.AgentSendedID) <= 100, "agentSendedId", "agentSendedId must be at most 100 characters long.")
	in.NumberID = strings.TrimSpace(in.NumberID)
	in.InternalWhatsappNumber = strings.TrimSpace(in.InternalWhatsappNumber)
	if in.InternalWhatsappNumber != "" {
		n, err := phone.Normalize(in.InternalWhatsappNumber)
		v.Check(err == nil, "internalWhatsappNumber", fmt.Sprintf("internalWhatsappNumber is not a valid phone number: %v.", err))
		in.SenderDigits = n.Digits
	}
}

// ErrRecipientPhoneRequired is the 400 of a send to a contact that is not
// on the web chat without recipientPhone.
var ErrRecipientPhoneRequired = Invalid(FieldError{Field: "recipientPhone",
	Message: "recipientPhone is required: the contact is not a web chat contact (platformId 1), so the message goes by WhatsApp."})

// MessageSent is the data of Send Message Whatsapp's answer.
type MessageSent struct {
	ContactID string   `json:"contactId"`
	Message   *Message `json:"message"`
}

// OutboundService sends messages to the caller's contacts.
type OutboundService interface {
	// SendWhatsAppText sends a free-form text inside the contact's 24-hour
	// window. It returns once the send is durable (stored and queued) and,
	// within a short wait, Meta has answered: the message then carries its
	// wamid; else it is still queued and goes out later. EWINDOWCLOSED
	// when the window is closed (Meta is not called), EINVALID for bad
	// input or when no number is connected; when Meta refuses the message
	// within the wait, EWINDOWCLOSED (131047) or EUNPROCESSABLE, with the
	// stored, failed message as the error's data.
	SendWhatsAppText(ctx context.Context, in MessageSend) (*MessageSent, error)
	// SendWhatsAppTemplates queues an approved template to one or more
	// destinations (Send Conversation), inside or outside their 24-hour
	// windows; the queue sends them. EINVALID naming template, before
	// Meta is called or anything written, when the template is unknown or
	// not approved.
	SendWhatsAppTemplates(ctx context.Context, in ConversationSend) (*ConversationSent, error)
}

// OutboundSend is what the send job needs of an outbound message.
type OutboundSend struct {
	WorkspaceID string
	MessageID   string
	Type        string
	Content     string
	// Payload is Meta's request as stored (a template's parameters).
	Payload string
	// To is the recipient, in E.164.
	To        string
	SendState string
	// Attempts counts the times the message was marked sending; it fences
	// one job's claim of the call from another's.
	Attempts int
	// ReconcileUntil, while sending, is when the wait for a status webhook
	// ends; nil when no wait has started.
	ReconcileUntil *time.Time
	// PhoneNumberID is Meta's id of the number that sends it; "" when the
	// number was disconnected.
	PhoneNumberID string
}

// OutboundStore stores outbound messages and their send state. The
// methods taking a workspace id serve the send job, which acts for no
// caller; the others act for the caller in ctx.
type OutboundStore interface {
	// QueueWhatsAppText checks the send (EINVALID, EWINDOWCLOSED) and, in
	// one transaction, stores the message queued and enqueues its
	// WhatsAppSendJob.
	QueueWhatsAppText(ctx context.Context, in MessageSend) (*MessageSent, error)
	// FindOutboundMessage returns one of the caller's messages.
	FindOutboundMessage(ctx context.Context, id string) (*Message, error)

	// OutboundSend returns a message's send; ENOTFOUND if there is none.
	OutboundSend(ctx context.Context, workspaceID, messageID string) (*OutboundSend, error)
	// BeginWhatsAppSend marks the message sending and commits, if it is
	// still as seen (same state and attempts) and, when sending, its
	// reconcile window is over. It reports whether the caller now owns
	// the call to Meta.
	BeginWhatsAppSend(ctx context.Context, seen OutboundSend) (bool, error)
	// StartWhatsAppReconcile opens the wait for a status webhook of a
	// message left sending (attempts as seen): it ends after d. It returns
	// when the wait ends, which is later when one was already open.
	StartWhatsAppReconcile(ctx context.Context, seen OutboundSend, d time.Duration) (time.Time, error)
	// RecordWhatsAppSent records Meta's acceptance: the wamid, send state
	// sent, and status sent unless a webhook moved it further.
	RecordWhatsAppSent(ctx context.Context, workspaceID, messageID, wamid string) error
	// RecordWhatsAppRefused records that Meta refused the message: back to
	// queued when retryable (a later attempt may succeed), else failed
	// with Meta's error.
	RecordWhatsAppRefused(ctx context.Context, workspaceID, messageID string, e MessageError, retryable bool) error
	// RecoverWhatsAppSends enqueues a job taking over each send job and
	// each campaign fan-out job that has been running longer than
	// stuckAfter: its process died. It returns how many it enqueued.
	RecoverWhatsAppSends(ctx context.Context, stuckAfter time.Duration) (int, error)
	// QueueWhatsAppTemplates checks a template send (EINVALID, before
	// anything is written) and queues it to each destination.
	QueueWhatsAppTemplates(ctx context.Context, in ConversationSend) (*ConversationSent, error)
}
