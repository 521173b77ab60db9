package whatsapp

import (
	"fmt"
	"net/url"
	"unicode/utf8"
)

// Validate reports the first reason Meta would refuse the template send.
func (t Template) Validate() error {
	if t.Name == "" {
		return invalid("template.name", "is required")
	}
	if t.Language == "" {
		return invalid("template.language.code", "is required")
	}
	for i, comp := range t.Components {
		f := fmt.Sprintf("template.components[%d]", i)
		switch comp.Type {
		case "header", "body":
		case "button":
			if comp.SubType == "" {
				return invalid(f+".sub_type", "is required on a button component")
			}
			if comp.Index < 0 || comp.Index > MaxTemplateButtonIndex {
				return invalid(f+".index", "must be between 0 and %d", MaxTemplateButtonIndex)
			}
		case "":
			return invalid(f+".type", "is required")
		}
		if len(comp.Parameters) == 0 {
			// A part without parameters is left out of the request.
			return invalid(f+".parameters", "must hold at least one parameter")
		}
		for j, p := range comp.Parameters {
			if err := p.validate(fmt.Sprintf("%s.parameters[%d]", f, j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p Parameter) validate(f string) error {
	switch p.Type {
	case "text":
		if p.Text == "" {
			return invalid(f+".text", "is required for a text parameter")
		}
	case "payload":
		if p.Payload == "" {
			return invalid(f+".payload", "is required for a payload parameter")
		}
	case "coupon_code":
		if p.CouponCode == "" {
			return invalid(f+".coupon_code", "is required for a coupon_code parameter")
		}
	case "currency":
		if p.Currency == nil || p.Currency.FallbackValue == "" || p.Currency.Code == "" {
			return invalid(f+".currency", "needs fallback_value and code")
		}
	case "date_time":
		if p.DateTime == nil || p.DateTime.FallbackValue == "" {
			return invalid(f+".date_time", "needs fallback_value")
		}
	case "image":
		return p.Image.validate(f + ".image")
	case "document":
		return p.Document.validate(f + ".document")
	case "video":
		return p.Video.validate(f + ".video")
	case "":
		return invalid(f+".type", "is required")
	default:
		return invalid(f+".type", "%q is not a parameter type this client sends", p.Type)
	}
	return nil
}

func (m *MediaRef) validate(f string) error {
	if m == nil {
		return invalid(f, "is required")
	}
	return checkMediaSource(f, m.ID, m.Link)
}

func checkMediaSource(f, id, link string) error {
	switch {
	case id != "" && link != "":
		return invalid(f, "give id or link, not both")
	case id == "" && link == "":
		return invalid(f, "needs an id or a link")
	case link != "":
		u, err := url.Parse(link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid(f+".link", "must be an absolute http(s) URL")
		}
	}
	return nil
}

// Validate reports the first reason Meta would refuse the media message.
func (m Media) Validate() error {
	f := m.Type
	switch m.Type {
	case "image", "video":
		if m.Filename != "" {
			return invalid(f+".filename", "is only allowed on documents")
		}
	case "document":
	case "audio", "sticker":
		if m.Caption != "" {
			return invalid(f+".caption", "is not allowed on %s", m.Type)
		}
		if m.Filename != "" {
			return invalid(f+".filename", "is only allowed on documents")
		}
	case "":
		return invalid("type", "is required")
	default:
		return invalid("type", "%q is not a media type (image, audio, video, document, sticker)", m.Type)
	}
	if err := checkLen(f+".caption", m.Caption, MaxCaption); err != nil {
		return err
	}
	return checkMediaSource(f, m.ID, m.Link)
}

// Validate reports the first reason Meta would refuse the buttons message.
func (m ButtonsMessage) Validate() error {
	if err := checkInteractive(m.Header, m.Body, m.Footer, false); err != nil {
		return err
	}
	if len(m.Buttons) == 0 || len(m.Buttons) > MaxButtons {
		return invalid("interactive.action.buttons", "must hold 1 to %d buttons, not %d", MaxButtons, len(m.Buttons))
	}
	ids := make(map[string]bool)
	for i, b := range m.Buttons {
		f := fmt.Sprintf("interactive.action.buttons[%d].reply", i)
		if err := checkRequired(f+".id", b.ID, MaxButtonID); err != nil {
			return err
		}
		if err := checkRequired(f+".title", b.Title, MaxButtonTitle); err != nil {
			return err
		}
		if ids[b.ID] {
			return invalid(f+".id", "%q is used twice", b.ID)
		}
		ids[b.ID] = true
	}
	return nil
}

// Validate reports the first reason Meta would refuse the list message.
func (m ListMessage) Validate() error {
	if err := checkInteractive(m.Header, m.Body, m.Footer, true); err != nil {
		return err
	}
	if err := checkRequired("interactive.action.button", m.Button, MaxListButton); err != nil {
		return err
	}
	if len(m.Sections) == 0 || len(m.Sections) > MaxListSections {
		return invalid("interactive.action.sections", "must hold 1 to %d sections, not %d", MaxListSections, len(m.Sections))
	}
	rows := 0
	ids := make(map[string]bool)
	for i, s := range m.Sections {
		f := fmt.Sprintf("interactive.action.sections[%d]", i)
		if len(m.Sections) > 1 && s.Title == "" {
			return invalid(f+".title", "is required when there is more than one section")
		}
		if err := checkLen(f+".title", s.Title, MaxListSectionTitle); err != nil {
			return err
		}
		if len(s.Rows) == 0 {
			return invalid(f+".rows", "must hold at least one row")
		}
		for j, r := range s.Rows {
			rf := fmt.Sprintf("%s.rows[%d]", f, j)
			if err := checkRequired(rf+".id", r.ID, MaxListRowID); err != nil {
				return err
			}
			if err := checkRequired(rf+".title", r.Title, MaxListRowTitle); err != nil {
				return err
			}
			if err := checkLen(rf+".description", r.Description, MaxListRowDescription); err != nil {
				return err
			}
			if ids[r.ID] {
				return invalid(rf+".id", "%q is used twice", r.ID)
			}
			ids[r.ID] = true
		}
		rows += len(s.Rows)
	}
	if rows > MaxListRows {
		return invalid("interactive.action.sections", "must hold at most %d rows in all, not %d", MaxListRows, rows)
	}
	return nil
}

func checkInteractive(h *Header, body, foot string, textHeaderOnly bool) error {
	if err := checkRequired("interactive.body.text", body, MaxInteractiveBody); err != nil {
		return err
	}
	if err := checkLen("interactive.footer.text", foot, MaxInteractiveFooter); err != nil {
		return err
	}
	if h == nil {
		return nil
	}
	switch h.Type {
	case "text":
		if h.Media != nil {
			return invalid("interactive.header", "a text header has no media")
		}
		return checkRequired("interactive.header.text", h.Text, MaxInteractiveHeader)
	case "image", "video", "document":
		if textHeaderOnly {
			return invalid("interactive.header.type", "must be text on a list message")
		}
		if h.Text != "" {
			return invalid("interactive.header.text", "is only allowed on a text header")
		}
		return h.Media.validate("interactive.header." + h.Type)
	case "":
		return invalid("interactive.header.type", "is required")
	default:
		return invalid("interactive.header.type", "%q is not a header type (text, image, video, document)", h.Type)
	}
}

func checkRequired(field, s string, max int) error {
	if s == "" {
		return invalid(field, "is required")
	}
	return checkLen(field, s, max)
}

// checkLen counts characters as Unicode code points.
func checkLen(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters long, at most %d are allowed", n, max)
	}
	return nil
}
