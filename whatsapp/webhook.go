package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying Meta's signature of a webhook
// body.
const SignatureHeader = "X-Hub-Signature-256"

// ObjectWhatsApp is the object of every WhatsApp Business Account
// notification.
const ObjectWhatsApp = "whatsapp_business_account"

// Webhook fields Parse decodes into typed values; any other field is kept
// raw in Change.Value.
const (
	FieldMessages       = "messages"
	FieldTemplateStatus = "message_template_status_update"
)

// VerifySignature reports whether header ("sha256=<hex>", the
// X-Hub-Signature-256 value) is the HMAC-SHA256 of body under appSecret.
// body must be the raw request bytes exactly as received: Meta escapes
// non-ASCII as \uXXXX, so re-encoded JSON never matches. An empty secret
// and malformed headers are refused. The comparison is constant-time.
func VerifySignature(appSecret string, body []byte, header string) bool {
	if appSecret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// VerifyChallenge answers Meta's subscription check, the GET with
// hub.mode=subscribe, hub.verify_token and hub.challenge. It returns the
// challenge and true when the mode is subscribe and the token matches
// verifyToken (compared in constant time); the handler then answers 200
// with the challenge as a text/plain body, and 403 otherwise. An empty
// verifyToken or challenge never verifies.
func VerifyChallenge(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	if challenge == "" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", false
	}
	return challenge, true
}

// Parse decodes a webhook body (already verified with VerifySignature).
// It fails on malformed JSON, on a shape that contradicts Meta's (a
// number where a string belongs, ...) and on an object other than
// whatsapp_business_account. Fields other than messages and
// message_template_status_update are kept raw only.
func Parse(body []byte) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("whatsapp: parse webhook: %w", err)
	}
	if n.Object != ObjectWhatsApp {
		return nil, fmt.Errorf("whatsapp: parse webhook: object %q is not %s", n.Object, ObjectWhatsApp)
	}
	return &n, nil
}

// Notification is one webhook delivery. Meta batches: a delivery may hold
// several entries (several WABAs) with several changes each.
type Notification struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is the part of a delivery about one WhatsApp Business Account.
type Entry struct {
	ID string `json:"id"` // the WABA id
	// Time is set on some fields (template status updates send it as an
	// integer); zero when absent.
	Time    Timestamp `json:"time"`
	Changes []Change  `json:"changes"`
}

// Change is one change of an entry. Value is the raw value as Meta sent
// it; Messages or TemplateStatus is its typed form for the two fields Plaza
// handles.
type Change struct {
	Field          string
	Value          json.RawMessage
	Messages       *MessagesValue        // Field == "messages"
	TemplateStatus *TemplateStatusUpdate // Field == "message_template_status_update"
}

func (c *Change) UnmarshalJSON(data []byte) error {
	var w struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*c = Change{Field: w.Field, Value: bytes.Clone(w.Value)}
	if len(w.Value) == 0 || string(w.Value) == "null" {
		return nil
	}
	switch w.Field {
	case FieldMessages:
		c.Messages = new(MessagesValue)
		return json.Unmarshal(w.Value, c.Messages)
	case FieldTemplateStatus:
		c.TemplateStatus = new(TemplateStatusUpdate)
		return json.Unmarshal(w.Value, c.TemplateStatus)
	}
	return nil
}

// MessagesValue is the value of a "messages" change: inbound messages,
// statuses of outbound ones, or errors, for the number in Metadata. Route
// on Metadata.PhoneNumberID.
type MessagesValue struct {
	MessagingProduct string         `json:"messaging_product"`
	Metadata         Metadata       `json:"metadata"`
	Contacts         []Contact      `json:"contacts"`
	Messages         []Message      `json:"messages"`
	Statuses         []Status       `json:"statuses"`
	Errors           []WebhookError `json:"errors"`
}

// Metadata names the business number a change is about.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the sender of inbound messages: profile name and wa_id.
// WaID may be empty for users identified by a business-scoped user id.
type Contact struct {
	Profile Profile `json:"profile"`
	WaID    string  `json:"wa_id"`
}

// Profile is what the user shows of themselves.
type Profile struct {
	Name string `json:"name"`
}

// Message is one inbound message. Type says which of the typed fields is
// set; Raw is the message object exactly as Meta sent it, to be stored.
type Message struct {
	From      string          `json:"from"`
	ID        string          `json:"id"`
	Timestamp Timestamp       `json:"timestamp"`
	Type      string          `json:"type"`
	Context   *MessageContext `json:"context,omitempty"`

	Text        *Text             `json:"text,omitempty"`
	Image       *Attachment       `json:"image,omitempty"`
	Audio       *Attachment       `json:"audio,omitempty"`
	Video       *Attachment       `json:"video,omitempty"`
	Document    *Attachment       `json:"document,omitempty"`
	Sticker     *Attachment       `json:"sticker,omitempty"`
	Location    *Location         `json:"location,omitempty"`
	Contacts    []ContactCard     `json:"contacts,omitempty"`
	Reaction    *Reaction         `json:"reaction,omitempty"`
	Button      *QuickReply       `json:"button,omitempty"`
	Interactive *InteractiveReply `json:"interactive,omitempty"`
	Unsupported *Unsupported      `json:"unsupported,omitempty"`
	// Errors comes with unsupported (and older "unknown") messages.
	Errors []WebhookError `json:"errors,omitempty"`

	Raw json.RawMessage `json:"-"`
}

func (m *Message) UnmarshalJSON(data []byte) error {
	type plain Message
	if err := json.Unmarshal(data, (*plain)(m)); err != nil {
		return err
	}
	m.Raw = bytes.Clone(data)
	return nil
}

// Time is when the user sent the message.
func (m Message) Time() time.Time { return m.Timestamp.Time() }

// Attachment returns the media of an image, audio, video, document or
// sticker message, or nil.
func (m Message) Attachment() *Attachment {
	switch m.Type {
	case "image":
		return m.Image
	case "audio":
		return m.Audio
	case "video":
		return m.Video
	case "document":
		return m.Document
	case "sticker":
		return m.Sticker
	}
	return nil
}

// IsUnsupported reports a message the Cloud API cannot render:
// type "unsupported", or "unknown" in older payloads.
func (m Message) IsUnsupported() bool { return m.Type == "unsupported" || m.Type == "unknown" }

// MessageContext is set on replies: the quoted message's sender and id.
type MessageContext struct {
	From                string `json:"from"`
	ID                  string `json:"id"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

// Text is a text message's content.
type Text struct {
	Body string `json:"body"`
}

// Attachment is inbound media. Fetch it with Client.MediaURL(ID) and
// DownloadMedia; URL, when present (rolled out from 2025-11), is the same
// kind of authenticated, short-lived link. SHA256 is base64.
type Attachment struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"` // documents
	URL      string `json:"url,omitempty"`
	Voice    bool   `json:"voice,omitempty"`    // audio recorded as a voice note
	Animated bool   `json:"animated,omitempty"` // stickers
}

// Location is a shared location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// ContactCard is a shared contact card.
type ContactCard struct {
	Name      ContactName      `json:"name"`
	Org       *ContactOrg      `json:"org,omitempty"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	Addresses []ContactAddress `json:"addresses,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
}

// ContactName is the name on a contact card; FormattedName is always set.
type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
}

// ContactOrg is the organization on a contact card.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactPhone is a phone on a contact card; WaID is set when it is on WhatsApp.
type ContactPhone struct {
	Phone string `json:"phone"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactEmail is an e-mail address on a contact card.
type ContactEmail struct {
	Email string `json:"email"`
	Type  string `json:"type,omitempty"`
}

// ContactAddress is a postal address on a contact card.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ContactURL is a web address on a contact card.
type ContactURL struct {
	URL  string `json:"url"`
	Type string `json:"type,omitempty"`
}

// Reaction is a reaction to MessageID. Meta sends the same shape without
// an emoji when the user removes the reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
}

// Removed reports a reaction the user took back.
func (r Reaction) Removed() bool { return r.Emoji == "" }

// QuickReply is a tap on a template's quick-reply button (type "button").
type QuickReply struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// InteractiveReply is a tap on a reply button (Type "button_reply") or a
// pick from a list (Type "list_reply").
type InteractiveReply struct {
	Type        string `json:"type"`
	ButtonReply *Reply `json:"button_reply,omitempty"`
	ListReply   *Reply `json:"list_reply,omitempty"`
}

// Reply returns the button or list reply, whichever is set, or nil.
func (r InteractiveReply) Reply() *Reply {
	if r.ButtonReply != nil {
		return r.ButtonReply
	}
	return r.ListReply
}

// Reply carries the id and title the business gave the button or row.
type Reply struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Unsupported names the kind of message the Cloud API could not render.
type Unsupported struct {
	Type string `json:"type"`
}

// WebhookError is an error reported in a webhook (value.errors,
// messages[].errors, statuses[].errors). Title and Message carry the same
// text.
type WebhookError struct {
	Code      int       `json:"code"`
	Title     string    `json:"title"`
	Message   string    `json:"message,omitempty"`
	ErrorData ErrorData `json:"error_data"`
	Href      string    `json:"href,omitempty"`
}

// ErrorData carries an error's details, the most specific explanation.
type ErrorData struct {
	Details string `json:"details"`
}

// Status is a status update of an outbound message (ID is its wamid).
// Statuses arrive out of order and repeat: apply them with Advance.
type Status struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"` // sent, delivered, read, failed
	Timestamp             Timestamp      `json:"timestamp"`
	RecipientID           string         `json:"recipient_id"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *Conversation  `json:"conversation,omitempty"` // legacy, absent from v24.0
	Pricing               *Pricing       `json:"pricing,omitempty"`
	Errors                []WebhookError `json:"errors,omitempty"` // on failed

	Raw json.RawMessage `json:"-"`
}

func (s *Status) UnmarshalJSON(data []byte) error {
	type plain Status
	if err := json.Unmarshal(data, (*plain)(s)); err != nil {
		return err
	}
	s.Raw = bytes.Clone(data)
	return nil
}

// Time is when the status happened.
func (s Status) Time() time.Time { return s.Timestamp.Time() }

// Conversation is the legacy conversation-based pricing window.
type Conversation struct {
	ID                  string             `json:"id"`
	ExpirationTimestamp Timestamp          `json:"expiration_timestamp"`
	Origin              ConversationOrigin `json:"origin"`
}

// ConversationOrigin says who opened the conversation and so its category.
type ConversationOrigin struct {
	Type string `json:"type"`
}

// Pricing is the per-message pricing (pricing_model "PMP" since July 2025).
type Pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category"`
}

// TemplateStatusUpdate is the value of a message_template_status_update
// change. MessageTemplateID is an integer on this webhook but a string in
// the Graph API's template list (TemplateInfo.ID).
type TemplateStatusUpdate struct {
	Event                   string         `json:"event"` // APPROVED, REJECTED, PENDING, PAUSED, DISABLED, ...
	MessageTemplateID       int64          `json:"message_template_id"`
	MessageTemplateName     string         `json:"message_template_name"`
	MessageTemplateLanguage string         `json:"message_template_language"`
	Reason                  string         `json:"reason,omitempty"`
	MessageTemplateCategory string         `json:"message_template_category,omitempty"`
	RejectionInfo           *RejectionInfo `json:"rejection_info,omitempty"`
	DisableInfo             *DisableInfo   `json:"disable_info,omitempty"`
	OtherInfo               *OtherInfo     `json:"other_info,omitempty"`
}

// RejectionInfo explains a REJECTED template.
type RejectionInfo struct {
	Reason         string `json:"reason"`
	Recommendation string `json:"recommendation"`
}

// DisableInfo says when a template is disabled.
type DisableInfo struct {
	DisableDate Timestamp `json:"disable_date"`
}

// OtherInfo explains other events (e.g. a pause).
type OtherInfo struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// TemplateID returns MessageTemplateID spelled as the Graph API spells
// template ids.
func (u TemplateStatusUpdate) TemplateID() string {
	return strconv.FormatInt(u.MessageTemplateID, 10)
}

// Timestamp is an instant Meta sends as unix seconds: a JSON string
// ("1795791600") in messages and statuses, a number in entry.time. Both
// decode; null, "" and absence leave it zero.
type Timestamp int64

// Time returns t in UTC, or the zero time.Time when t is zero.
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t), 0).UTC()
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*t = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("whatsapp: timestamp %s is not unix seconds", b)
	}
	*t = Timestamp(v)
	return nil
}
