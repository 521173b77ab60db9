package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
)

// Limits Meta puts on outbound messages, in characters. Requests beyond
// them are refused here, before any call.
const (
	MaxTextBody            = 4096
	MaxCaption             = 1024
	MaxBizOpaqueData       = 512
	MaxButtons             = 3
	MaxButtonTitle         = 20
	MaxButtonID            = 256
	MaxInteractiveBody     = 1024 // buttons and lists alike, per Meta's Node SDK
	MaxListButton          = 20
	MaxListSections        = 10
	MaxListRows            = 10 // across all sections
	MaxListSectionTitle    = 24
	MaxListRowID           = 200
	MaxListRowTitle        = 24
	MaxListRowDescription  = 72
	MaxInteractiveHeader   = 60
	MaxInteractiveFooter   = 60
	MaxTemplateButtonIndex = 9
)

// SendResult is Meta's answer to an accepted send. MessageID (the wamid)
// is the key every later status webhook carries. WaID is WhatsApp's
// canonical id for the recipient and may differ from Input, the "to" that
// was sent. MessageStatus is set on template sends ("accepted",
// "held_for_quality_assessment", "paused").
type SendResult struct {
	MessageID     string
	WaID          string
	Input         string
	MessageStatus string
}

// TextOptions are the optional parts of a text message.
type TextOptions struct {
	// PreviewURL asks WhatsApp to render a preview of the first URL.
	PreviewURL bool
	// ReplyTo is the wamid of the message this one quotes.
	ReplyTo string
	// BizOpaqueCallbackData is echoed back on every status webhook of the
	// message (at most 512 characters).
	BizOpaqueCallbackData string
}

// MediaRef points at media either by the id UploadMedia returned or by a
// public http(s) link, never both.
type MediaRef struct {
	ID   string
	Link string
	// Filename is shown for documents only.
	Filename string
}

// Media is an image, audio, video, document or sticker message.
type Media struct {
	Type string // "image", "audio", "video", "document" or "sticker"
	ID   string // uploaded media id; exclusive with Link
	Link string // public http(s) URL; exclusive with ID
	// Caption is allowed on image, video and document (at most 1024
	// characters).
	Caption string
	// Filename is allowed on document only.
	Filename string

	ReplyTo               string
	BizOpaqueCallbackData string
}

// Template is a template message: the only kind Meta delivers outside the
// 24 h window. For a NAMED template give each parameter its
// ParameterName; for a POSITIONAL one leave the names empty and keep the
// order.
type Template struct {
	Name       string
	Language   string // the template's language code, e.g. "es" or "en_US"
	Components []Component

	ReplyTo               string
	BizOpaqueCallbackData string
}

// Component fills the parameters of one part of a template.
type Component struct {
	Type string // "header", "body" or "button"
	// SubType and Index are for buttons only: SubType "quick_reply",
	// "url" or "copy_code", Index the button's position (0-9).
	SubType    string
	Index      int
	Parameters []Parameter
}

// Parameter is one template parameter. Type says which field carries the
// value: "text" Text, "currency" Currency, "date_time" DateTime, "image"
// Image, "document" Document, "video" Video, "payload" Payload (a
// quick_reply button), "coupon_code" CouponCode (a copy_code button).
type Parameter struct {
	Type string
	// ParameterName names the parameter of a NAMED template
	// (parameter_name); empty for POSITIONAL templates.
	ParameterName string
	Text          string
	Payload       string
	CouponCode    string
	Currency      *Currency
	DateTime      *DateTime
	Image         *MediaRef
	Document      *MediaRef
	Video         *MediaRef
}

// Currency is a currency parameter: Amount1000 is the amount times 1000
// (10.50 USD is 10500), FallbackValue what older clients show.
type Currency struct {
	FallbackValue string
	Code          string // ISO 4217
	Amount1000    int64
}

// DateTime is a date_time parameter; WhatsApp shows FallbackValue as is.
type DateTime struct {
	FallbackValue string
}

// Header is the optional header of an interactive message: "text" with
// Text, or "image", "video", "document" with Media (reply buttons only).
type Header struct {
	Type  string
	Text  string
	Media *MediaRef
}

// TextHeader returns a text header.
func TextHeader(text string) *Header { return &Header{Type: "text", Text: text} }

// ReplyButton is one reply button; the user's tap comes back as an
// interactive button_reply carrying ID and Title.
type ReplyButton struct {
	ID    string
	Title string
}

// ButtonsMessage is an interactive message with up to three reply
// buttons.
type ButtonsMessage struct {
	Header  *Header
	Body    string
	Footer  string
	Buttons []ReplyButton

	ReplyTo               string
	BizOpaqueCallbackData string
}

// ListMessage is an interactive list: a button that opens up to ten rows
// in up to ten sections. Its header, if any, must be text.
type ListMessage struct {
	Header   *Header
	Body     string
	Footer   string
	Button   string
	Sections []ListSection

	ReplyTo               string
	BizOpaqueCallbackData string
}

// ListSection groups rows; its title is required when there is more than
// one section.
type ListSection struct {
	Title string
	Rows  []ListRow
}

// ListRow is one choice; the user's pick comes back as an interactive
// list_reply carrying ID, Title and Description.
type ListRow struct {
	ID          string
	Title       string
	Description string
}

// SendText sends a free-form text message (1 to 4096 characters). Meta
// refuses it with 131047 (see APIError.WindowClosed) outside the 24 h
// window.
func (c *Client) SendText(ctx context.Context, phoneNumberID, token, to, body string, opts TextOptions) (SendResult, error) {
	msg, err := textMessage(to, body, opts)
	if err != nil {
		return SendResult{}, err
	}
	return c.send(ctx, phoneNumberID, token, msg)
}

// TextRequest is the JSON body SendText posts for the same arguments, for
// callers that keep a record of what they send.
func TextRequest(to, body string, opts TextOptions) ([]byte, error) {
	msg, err := textMessage(to, body, opts)
	if err != nil {
		return nil, err
	}
	return encodeRequest(msg)
}

func textMessage(to, body string, opts TextOptions) (*outbound, error) {
	if body == "" {
		return nil, invalid("text.body", "is required")
	}
	if err := checkLen("text.body", body, MaxTextBody); err != nil {
		return nil, err
	}
	msg := newOutbound(to, "text", opts.ReplyTo, opts.BizOpaqueCallbackData)
	msg.Text = &wireText{PreviewURL: opts.PreviewURL, Body: body}
	return msg, nil
}

// SendTemplate sends an approved template.
func (c *Client) SendTemplate(ctx context.Context, phoneNumberID, token, to string, tpl Template) (SendResult, error) {
	if err := tpl.Validate(); err != nil {
		return SendResult{}, err
	}
	msg := newOutbound(to, "template", tpl.ReplyTo, tpl.BizOpaqueCallbackData)
	msg.Template = tpl.wire()
	return c.send(ctx, phoneNumberID, token, msg)
}

// SendMedia sends an image, audio, video, document or sticker.
func (c *Client) SendMedia(ctx context.Context, phoneNumberID, token, to string, m Media) (SendResult, error) {
	msg, err := mediaMessage(to, m)
	if err != nil {
		return SendResult{}, err
	}
	return c.send(ctx, phoneNumberID, token, msg)
}

// MediaRequest is the JSON body SendMedia posts for the same arguments,
// for callers that keep a record of what they send.
func MediaRequest(to string, m Media) ([]byte, error) {
	msg, err := mediaMessage(to, m)
	if err != nil {
		return nil, err
	}
	return encodeRequest(msg)
}

func mediaMessage(to string, m Media) (*outbound, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := newOutbound(to, m.Type, m.ReplyTo, m.BizOpaqueCallbackData)
	w := &wireMedia{ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}
	switch m.Type {
	case "image":
		msg.Image = w
	case "audio":
		msg.Audio = w
	case "video":
		msg.Video = w
	case "document":
		msg.Document = w
	case "sticker":
		msg.Sticker = w
	}
	return msg, nil
}

// encodeRequest is a request body as the client sends it (HTML
// characters as they are, no trailing newline).
func encodeRequest(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// SendInteractiveButtons sends a reply-buttons message.
func (c *Client) SendInteractiveButtons(ctx context.Context, phoneNumberID, token, to string, m ButtonsMessage) (SendResult, error) {
	if err := m.Validate(); err != nil {
		return SendResult{}, err
	}
	msg := newOutbound(to, "interactive", m.ReplyTo, m.BizOpaqueCallbackData)
	in := &wireInteractive{Type: "button", Header: m.Header.wire(), Body: wireBody{Text: m.Body}, Footer: footer(m.Footer)}
	for _, b := range m.Buttons {
		in.Action.Buttons = append(in.Action.Buttons, wireButton{Type: "reply", Reply: wireReply{ID: b.ID, Title: b.Title}})
	}
	msg.Interactive = in
	return c.send(ctx, phoneNumberID, token, msg)
}

// SendInteractiveList sends a list message.
func (c *Client) SendInteractiveList(ctx context.Context, phoneNumberID, token, to string, m ListMessage) (SendResult, error) {
	if err := m.Validate(); err != nil {
		return SendResult{}, err
	}
	msg := newOutbound(to, "interactive", m.ReplyTo, m.BizOpaqueCallbackData)
	in := &wireInteractive{Type: "list", Header: m.Header.wire(), Body: wireBody{Text: m.Body}, Footer: footer(m.Footer)}
	in.Action.Button = m.Button
	for _, s := range m.Sections {
		ws := wireSection{Title: s.Title, Rows: []wireRow{}}
		for _, r := range s.Rows {
			ws.Rows = append(ws.Rows, wireRow(r))
		}
		in.Action.Sections = append(in.Action.Sections, ws)
	}
	msg.Interactive = in
	return c.send(ctx, phoneNumberID, token, msg)
}

// send validates what every message shares and posts it to
// /{phone-number-id}/messages. A 2xx answer without a message id is an
// error, though Meta may have accepted the message.
func (c *Client) send(ctx context.Context, phoneNumberID, token string, msg *outbound) (SendResult, error) {
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return SendResult{}, err
	}
	if err := checkToken(token); err != nil {
		return SendResult{}, err
	}
	if msg.To == "" {
		return SendResult{}, invalid("to", "is required")
	}
	if err := checkLen("biz_opaque_callback_data", msg.BizOpaqueCallbackData, MaxBizOpaqueData); err != nil {
		return SendResult{}, err
	}
	var resp struct {
		Contacts []struct {
			Input string `json:"input"`
			WaID  string `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			ID            string `json:"id"`
			MessageStatus string `json:"message_status"`
		} `json:"messages"`
	}
	if err := c.call(ctx, "POST", phoneNumberID+"/messages", nil, token, msg, &resp); err != nil {
		return SendResult{}, err
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return SendResult{}, errors.New("whatsapp: send answered without a message id")
	}
	r := SendResult{MessageID: resp.Messages[0].ID, MessageStatus: resp.Messages[0].MessageStatus}
	if len(resp.Contacts) > 0 {
		r.Input, r.WaID = resp.Contacts[0].Input, resp.Contacts[0].WaID
	}
	return r, nil
}
