package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// maxTemplatePages stops ListTemplates on a cursor that never ends (a WABA
// holds at most a few thousand templates).
const maxTemplatePages = 1000

// TemplateInfo is one message template as GET /{waba-id}/message_templates
// lists it. Raw keeps the whole object as Meta sent it.
type TemplateInfo struct {
	ID              string              `json:"id"` // a string here, an integer in the status webhook
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Status          string              `json:"status"`   // APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...
	Category        string              `json:"category"` // MARKETING, UTILITY, AUTHENTICATION
	SubCategory     string              `json:"sub_category,omitempty"`
	ParameterFormat string              `json:"parameter_format,omitempty"` // POSITIONAL or NAMED
	RejectedReason  string              `json:"rejected_reason,omitempty"`
	Components      []TemplateComponent `json:"components"`
	Raw             json.RawMessage     `json:"-"`
}

// TemplateComponent is one part of a template definition, as listed and as
// created.
type TemplateComponent struct {
	Type    string           `json:"type"`             // HEADER, BODY, FOOTER, BUTTONS
	Format  string           `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string           `json:"text,omitempty"`
	Example *TemplateExample `json:"example,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// TemplateExample holds the sample values Meta requires for review.
type TemplateExample struct {
	HeaderText            []string            `json:"header_text,omitempty"`
	HeaderTextNamedParams []NamedParamExample `json:"header_text_named_params,omitempty"`
	HeaderHandle          []string            `json:"header_handle,omitempty"`
	BodyText              [][]string          `json:"body_text,omitempty"`
	BodyTextNamedParams   []NamedParamExample `json:"body_text_named_params,omitempty"`
}

// NamedParamExample is the sample of one parameter of a NAMED template.
type NamedParamExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// TemplateButton is one button of a BUTTONS component. Example is a list
// on URL buttons and a single string on COPY_CODE buttons; both decode
// into the slice, and a COPY_CODE button encodes its one example as a
// string.
type TemplateButton struct {
	Type        string   `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, ...
	Text        string   `json:"text,omitempty"`
	URL         string   `json:"url,omitempty"`
	PhoneNumber string   `json:"phone_number,omitempty"`
	Example     []string `json:"example,omitempty"`
}

type templateButtonJSON struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

func (b *TemplateButton) UnmarshalJSON(data []byte) error {
	var w templateButtonJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = TemplateButton{Type: w.Type, Text: w.Text, URL: w.URL, PhoneNumber: w.PhoneNumber}
	if len(w.Example) == 0 || string(w.Example) == "null" {
		return nil
	}
	if w.Example[0] == '"' {
		var s string
		if err := json.Unmarshal(w.Example, &s); err != nil {
			return err
		}
		b.Example = []string{s}
		return nil
	}
	return json.Unmarshal(w.Example, &b.Example)
}

func (b TemplateButton) MarshalJSON() ([]byte, error) {
	w := templateButtonJSON{Type: b.Type, Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber}
	var err error
	switch {
	case len(b.Example) == 0:
	case b.Type == "COPY_CODE" && len(b.Example) == 1:
		w.Example, err = json.Marshal(b.Example[0])
	default:
		w.Example, err = json.Marshal(b.Example)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// TemplateDefinition is a template submitted for review
// (POST /{waba-id}/message_templates).
type TemplateDefinition struct {
	Name            string              `json:"name"` // lowercase letters, digits and underscores
	Language        string              `json:"language"`
	Category        string              `json:"category"`                   // MARKETING, UTILITY or AUTHENTICATION
	ParameterFormat string              `json:"parameter_format,omitempty"` // POSITIONAL (default) or NAMED
	Components      []TemplateComponent `json:"components"`
}

// Validate reports the first reason Meta would refuse the definition.
func (d TemplateDefinition) Validate() error {
	if d.Name == "" {
		return invalid("name", "is required")
	}
	if len(d.Name) > 512 {
		return invalid("name", "is longer than 512 characters")
	}
	for _, r := range d.Name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return invalid("name", "may hold only lowercase letters, digits and underscores")
		}
	}
	if d.Language == "" {
		return invalid("language", "is required")
	}
	switch d.Category {
	case "MARKETING", "UTILITY", "AUTHENTICATION":
	default:
		return invalid("category", "must be MARKETING, UTILITY or AUTHENTICATION")
	}
	switch d.ParameterFormat {
	case "", "POSITIONAL", "NAMED":
	default:
		return invalid("parameter_format", "must be POSITIONAL or NAMED")
	}
	if len(d.Components) == 0 {
		return invalid("components", "must hold at least a BODY")
	}
	for i, c := range d.Components {
		if c.Type == "" {
			return invalid(fmt.Sprintf("components[%d].type", i), "is required")
		}
	}
	return nil
}

// ListTemplates returns every template of the WABA, following the paging
// cursors until Meta gives no paging.next. Each next page is asked of
// BaseURL with the after cursor rather than by fetching the absolute next
// URL, so the token only ever goes to BaseURL.
func (c *Client) ListTemplates(ctx context.Context, wabaID, token string) ([]TemplateInfo, error) {
	if err := checkID("waba_id", wabaID); err != nil {
		return nil, err
	}
	if err := checkToken(token); err != nil {
		return nil, err
	}
	all := []TemplateInfo{}
	query := url.Values{}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxTemplatePages {
			return nil, fmt.Errorf("whatsapp: list templates: more than %d pages", maxTemplatePages)
		}
		var resp struct {
			Data   []json.RawMessage `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.call(ctx, "GET", wabaID+"/message_templates", query, token, nil, &resp); err != nil {
			return nil, err
		}
		for _, raw := range resp.Data {
			var t TemplateInfo
			if err := json.Unmarshal(raw, &t); err != nil {
				return nil, fmt.Errorf("whatsapp: list templates: decode template: %w", err)
			}
			t.Raw = bytes.Clone(raw)
			all = append(all, t)
		}
		if resp.Paging.Next == "" {
			return all, nil
		}
		after := resp.Paging.Cursors.After
		if after == "" {
			// Fall back on the cursor inside the next URL.
			if u, err := url.Parse(resp.Paging.Next); err == nil {
				after = u.Query().Get("after")
			}
		}
		if after == "" {
			return nil, errors.New("whatsapp: list templates: paging.next without an after cursor")
		}
		if seen[after] {
			return nil, fmt.Errorf("whatsapp: list templates: cursor %q repeats", after)
		}
		seen[after] = true
		query = url.Values{"after": {after}}
	}
}

// CreateTemplate submits a template for review and returns Meta's id for
// it, its status (usually PENDING) and the category Meta assigned.
func (c *Client) CreateTemplate(ctx context.Context, wabaID, token string, def TemplateDefinition) (id, status, category string, err error) {
	if err := checkID("waba_id", wabaID); err != nil {
		return "", "", "", err
	}
	if err := checkToken(token); err != nil {
		return "", "", "", err
	}
	if err := def.Validate(); err != nil {
		return "", "", "", err
	}
	var resp struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	if err := c.call(ctx, "POST", wabaID+"/message_templates", nil, token, def, &resp); err != nil {
		return "", "", "", err
	}
	if resp.ID == "" {
		return "", "", "", errors.New("whatsapp: create template answered without an id")
	}
	return resp.ID, resp.Status, resp.Category, nil
}
