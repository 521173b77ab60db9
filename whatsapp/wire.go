package whatsapp

import "strconv"

// The wire shapes of POST /{phone-number-id}/messages.

type outbound struct {
	MessagingProduct      string           `json:"messaging_product"`
	RecipientType         string           `json:"recipient_type"`
	To                    string           `json:"to"`
	Type                  string           `json:"type"`
	Context               *wireContext     `json:"context,omitempty"`
	BizOpaqueCallbackData string           `json:"biz_opaque_callback_data,omitempty"`
	Text                  *wireText        `json:"text,omitempty"`
	Image                 *wireMedia       `json:"image,omitempty"`
	Audio                 *wireMedia       `json:"audio,omitempty"`
	Video                 *wireMedia       `json:"video,omitempty"`
	Document              *wireMedia       `json:"document,omitempty"`
	Sticker               *wireMedia       `json:"sticker,omitempty"`
	Template              *wireTemplate    `json:"template,omitempty"`
	Interactive           *wireInteractive `json:"interactive,omitempty"`
}

func newOutbound(to, typ, replyTo, bizOpaque string) *outbound {
	m := &outbound{
		MessagingProduct:      "whatsapp",
		RecipientType:         "individual",
		To:                    to,
		Type:                  typ,
		BizOpaqueCallbackData: bizOpaque,
	}
	if replyTo != "" {
		m.Context = &wireContext{MessageID: replyTo}
	}
	return m
}

type wireContext struct {
	MessageID string `json:"message_id"`
}

type wireText struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type wireMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

func (m *MediaRef) wire() *wireMedia {
	if m == nil {
		return nil
	}
	return &wireMedia{ID: m.ID, Link: m.Link, Filename: m.Filename}
}

type wireTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []wireComponent `json:"components,omitempty"`
}

type wireComponent struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []wireParam `json:"parameters"`
}

type wireParam struct {
	Type          string        `json:"type"`
	ParameterName string        `json:"parameter_name,omitempty"`
	Text          string        `json:"text,omitempty"`
	Payload       string        `json:"payload,omitempty"`
	CouponCode    string        `json:"coupon_code,omitempty"`
	Currency      *wireCurrency `json:"currency,omitempty"`
	DateTime      *wireDateTime `json:"date_time,omitempty"`
	Image         *wireMedia    `json:"image,omitempty"`
	Document      *wireMedia    `json:"document,omitempty"`
	Video         *wireMedia    `json:"video,omitempty"`
}

type wireCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type wireDateTime struct {
	FallbackValue string `json:"fallback_value"`
}

func (t Template) wire() *wireTemplate {
	w := &wireTemplate{Name: t.Name}
	w.Language.Code = t.Language
	for _, c := range t.Components {
		wc := wireComponent{Type: c.Type, SubType: c.SubType, Parameters: []wireParam{}}
		if c.Type == "button" {
			// Meta's examples send the index as a string.
			wc.Index = strconv.Itoa(c.Index)
		}
		for _, p := range c.Parameters {
			wp := wireParam{
				Type:          p.Type,
				ParameterName: p.ParameterName,
				Text:          p.Text,
				Payload:       p.Payload,
				CouponCode:    p.CouponCode,
				Image:         p.Image.wire(),
				Document:      p.Document.wire(),
				Video:         p.Video.wire(),
			}
			if p.Currency != nil {
				wp.Currency = &wireCurrency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code, Amount1000: p.Currency.Amount1000}
			}
			if p.DateTime != nil {
				wp.DateTime = &wireDateTime{FallbackValue: p.DateTime.FallbackValue}
			}
			wc.Parameters = append(wc.Parameters, wp)
		}
		w.Components = append(w.Components, wc)
	}
	return w
}

type wireInteractive struct {
	Type   string      `json:"type"`
	Header *wireHeader `json:"header,omitempty"`
	Body   wireBody    `json:"body"`
	Footer *wireBody   `json:"footer,omitempty"`
	Action wireAction  `json:"action"`
}

type wireHeader struct {
	Type     string     `json:"type"`
	Text     string     `json:"text,omitempty"`
	Image    *wireMedia `json:"image,omitempty"`
	Video    *wireMedia `json:"video,omitempty"`
	Document *wireMedia `json:"document,omitempty"`
}

func (h *Header) wire() *wireHeader {
	if h == nil {
		return nil
	}
	w := &wireHeader{Type: h.Type, Text: h.Text}
	switch h.Type {
	case "image":
		w.Image = h.Media.wire()
	case "video":
		w.Video = h.Media.wire()
	case "document":
		w.Document = h.Media.wire()
	}
	return w
}

type wireBody struct {
	Text string `json:"text"`
}

func footer(s string) *wireBody {
	if s == "" {
		return nil
	}
	return &wireBody{Text: s}
}

type wireAction struct {
	Button   string        `json:"button,omitempty"`
	Buttons  []wireButton  `json:"buttons,omitempty"`
	Sections []wireSection `json:"sections,omitempty"`
}

type wireButton struct {
	Type  string    `json:"type"`
	Reply wireReply `json:"reply"`
}

type wireReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type wireSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []wireRow `json:"rows"`
}

type wireRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}
