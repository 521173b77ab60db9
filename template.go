package plaza

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza/phone"
)

// Message templates: the only messages WhatsApp delivers outside the
// 24-hour customer service window. They belong to a number's WhatsApp
// Business Account; Plaza keeps a copy of each, synced from Meta and
// updated by Meta's review webhooks, so a send names a template Meta has
// approved before Meta is called.

// Template statuses Plaza acts on (Meta has others: PAUSED, DISABLED...).
const (
	TemplateApproved = "APPROVED"
	TemplatePending  = "PENDING"
)

// Template is one message template of a connected number, in Plazbot's
// shape (elementName is the template's name).
type Template struct {
	ID           string `json:"id"`
	ElementName  string `json:"elementName"`
	LanguageCode string `json:"languageCode"`
	Category     string `json:"category"`
	Status       string `json:"status"`
	// Components are the template's parts as Meta lists them (HEADER,
	// BODY, FOOTER, BUTTONS).
	Components json.RawMessage `json:"components"`
	// MetaID is Meta's id of the template; NumberID the connected number
	// whose WABA holds it.
	MetaID       *string `json:"metaId"`
	NumberID     string  `json:"numberId"`
	Reason       *string `json:"reason"`
	CreationDate Time    `json:"creationDate"`
	UpdatedDate  Time    `json:"updatedDate"`
}

// TemplateRecord is a template as Meta describes it, to be stored.
type TemplateRecord struct {
	MetaID     string
	Name       string
	Language   string
	Category   string
	Status     string
	Reason     string
	Components json.RawMessage
}

// TemplateSync is the body of POST /api/template/sync: the number whose
// templates to sync; all the workspace's numbers when empty.
type TemplateSync struct {
	NumberID string `json:"numberId"`
}

// TemplateSynced is the answer of a sync.
type TemplateSynced struct {
	Numbers   int        `json:"numbers"`
	Templates []Template `json:"templates"`
}

// TemplateCreate is the body of Plazbot's POST /api/template (§4).
// Plaza adds numberId, the connected number whose WABA receives the
// template (by default the workspace's only number).
type TemplateCreate struct {
	UserID       string                `json:"userId"`
	ElementName  string                `json:"elementName"`
	LanguageCode string                `json:"languageCode"`
	Category     string                `json:"category"`
	TemplateType string                `json:"templateType"`
	Components   []TemplateComponentIn `json:"components"`
	NumberID     string                `json:"numberId"`
}

// TemplateComponentIn is one component of a template to create, as
// Plazbot's clients send it.
type TemplateComponentIn struct {
	Type      string             `json:"type"`
	Format    string             `json:"format"`
	Text      string             `json:"text"`
	Buttons   []TemplateButtonIn `json:"buttons"`
	Variables []TemplateVariable `json:"variables"`
}

// TemplateButtonIn is one button of a template to create. Plazbot's
// tagIds, segmentationIds, phaseIds and agentIds (its automations) are
// accepted and ignored.
type TemplateButtonIn struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	PhoneNumber string `json:"phone_number"`
	URL         string `json:"url"`
}

// TemplateVariable is a variable of a template to create with its sample
// value ({"variable": "{{1}}", "example": "Lucía"}).
type TemplateVariable struct {
	Variable string `json:"variable"`
	Example  string `json:"example"`
}

// TemplateCreated is the data of POST /api/template's answer (§4).
type TemplateCreated struct {
	Plantilla TemplateCreatedRef `json:"plantilla"`
}

// TemplateCreatedRef is the created template as §4 gives it.
type TemplateCreatedRef struct {
	ID          string `json:"id"`
	ElementName string `json:"elementName"`
	Status      string `json:"status"`
}

var (
	templateNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	templateVarRE  = regexp.MustCompile(`^\{\{\s*([A-Za-z0-9_]+)\s*\}\}$`)
)

// Validate checks the template and normalises its fields.
func (in *TemplateCreate) Validate() error {
	var v Validator
	in.ElementName = strings.TrimSpace(in.ElementName)
	v.Required(in.ElementName, "elementName")
	if in.ElementName != "" {
		v.Check(templateNameRE.MatchString(in.ElementName), "elementName",
			"elementName may hold only lowercase letters, digits and underscores (at most 512).")
	}
	in.LanguageCode = strings.TrimSpace(in.LanguageCode)
	v.Required(in.LanguageCode, "languageCode")
	in.Category = strings.ToUpper(strings.TrimSpace(in.Category))
	v.Required(in.Category, "category")
	if in.Category != "" {
		v.Check(in.Category == "MARKETING" || in.Category == "UTILITY" || in.Category == "AUTHENTICATION", "category",
			"category must be MARKETING, UTILITY or AUTHENTICATION.")
	}
	in.NumberID = strings.TrimSpace(in.NumberID)
	body := 0
	for i := range in.Components {
		c := &in.Components[i]
		c.Type, c.Format = strings.ToUpper(strings.TrimSpace(c.Type)), strings.ToUpper(strings.TrimSpace(c.Format))
		f := fmt.Sprintf("components[%d]", i)
		switch c.Type {
		case "BODY":
			body++
			v.Check(strings.TrimSpace(c.Text) != "", f+".text", "The BODY component needs its text.")
		case "HEADER", "FOOTER", "BUTTONS":
		default:
			v.Check(false, f+".type", "A component's type is HEADER, BODY, FOOTER or BUTTONS.")
		}
		for j, b := range c.Variables {
			v.Check(templateVarRE.MatchString(strings.TrimSpace(b.Variable)), fmt.Sprintf("%s.variables[%d].variable", f, j),
				"A variable is written {{1}} or {{name}}.")
		}
	}
	v.Check(len(in.Components) > 0, "components", "components must hold at least a BODY.")
	if len(in.Components) > 0 {
		v.Check(body == 1, "components", "components must hold exactly one BODY.")
	}
	return v.Err()
}

// VariableName returns the name inside a variable's braces ("1" of
// "{{1}}").
func VariableName(variable string) string {
	m := templateVarRE.FindStringSubmatch(strings.TrimSpace(variable))
	if m == nil {
		return ""
	}
	return m[1]
}

// SortVariables orders positional variables by their number, named
// ones as given after them.
func SortVariables(vars []TemplateVariable) []TemplateVariable {
	out := append([]TemplateVariable(nil), vars...)
	sort.SliceStable(out, func(i, j int) bool {
		a, aerr := strconv.Atoi(VariableName(out[i].Variable))
		b, berr := strconv.Atoi(VariableName(out[j].Variable))
		if aerr != nil || berr != nil {
			return aerr == nil && berr != nil
		}
		return a < b
	})
	return out
}

// TemplateService manages the caller's message templates.
type TemplateService interface {
	// SyncTemplates reads the templates of the number's WABA from Meta
	// (every number of the workspace when numberID is empty) and stores
	// them; it returns the workspace's templates after the sync.
	SyncTemplates(ctx context.Context, in TemplateSync) (*TemplateSynced, error)
	// ActiveTemplates lists the workspace's APPROVED templates.
	ActiveTemplates(ctx context.Context) ([]Template, error)
	// CreateTemplate submits a template to Meta for review and stores it
	// with the status Meta gave (PENDING, usually).
	CreateTemplate(ctx context.Context, in TemplateCreate) (*Template, error)
}

// TemplateStore stores templates, for the caller in ctx.
type TemplateStore interface {
	// StoreTemplates upserts the number's templates (by Meta's id, else
	// by name and language).
	StoreTemplates(ctx context.Context, numberID string, ts []TemplateRecord) error
	// FindTemplates lists the caller's templates, those with the status
	// when status is not empty.
	FindTemplates(ctx context.Context, status string) ([]Template, error)
}

// Send types of a template send (Plazbot §3.11).
const (
	SendTypeCampaign   = 1
	SendTypeIndividual = 2
	SendTypeAPI        = 3
)

// MaxConversationDestinations is the most destinations one Send
// Conversation takes; more are sent in several requests. Beyond
// SyncSendLimit the send is a campaign, answered before it is fanned out.
const MaxConversationDestinations = 10000

// ConversationSend is the body of Plazbot's Send Conversation (§3.11):
// an approved template to one phone or, for a bulk send, a list of
// phones. Plaza adds language (by default the template's only approved
// language) and numberId (the connected number that sends it; by default
// the one whose WABA holds the template).
type ConversationSend struct {
	Template        string          `json:"template"`
	Destination     Destinations    `json:"destination"`
	VariablesBody   []TemplateValue `json:"variablesBody"`
	VariablesHeader []TemplateValue `json:"variablesHeader"`
	File            TemplateFiles   `json:"file"`
	SendType        SendType        `json:"sendType"`
	CampaignName    string          `json:"campaignName"`
	Reference1      string          `json:"reference1"`
	Reference2      string          `json:"reference2"`
	Reference3      string          `json:"reference3"`
	Language        string          `json:"language"`
	NumberID        string          `json:"numberId"`
	AgentSendedID   string          `json:"agentSendedId"` // sic, Plazbot's spelling

	// Recipients are the destinations normalised by Validate, in order,
	// without repeats.
	Recipients []phone.Number `json:"-"`
}

// Destinations is one phone or a list of them.
type Destinations struct {
	Phones []string
	List   bool // given as a list
}

func (d *Destinations) UnmarshalJSON(b []byte) error {
	*d = Destinations{}
	if string(b) == "null" {
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		d.Phones = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return Invalid(FieldError{Field: "destination", Message: "destination must be a phone number or a list of phone numbers."})
	}
	d.Phones, d.List = many, true
	return nil
}

// TemplateValue is a variable's value ({"variable": "1", "value":
// "Lucía"}); variable may be written "1", "{{1}}" or, for a NAMED
// template, the parameter's name.
type TemplateValue struct {
	Variable string `json:"variable"`
	Value    string `json:"value"`
}

// TemplateFile is the media of a template's header, by link.
type TemplateFile struct {
	FileURL  string `json:"fileUrl"`
	FileName string `json:"fileName"`
}

// TemplateFiles is the file of a send: one object or (as one of
// Plazbot's schemas says) a list holding it.
type TemplateFiles []TemplateFile

func (f *TemplateFiles) UnmarshalJSON(b []byte) error {
	*f = nil
	if string(b) == "null" {
		return nil
	}
	var one TemplateFile
	if err := json.Unmarshal(b, &one); err == nil {
		if one != (TemplateFile{}) {
			*f = TemplateFiles{one}
		}
		return nil
	}
	var many []TemplateFile
	if err := json.Unmarshal(b, &many); err != nil {
		return Invalid(FieldError{Field: "file", Message: "file must be an object {fileUrl, fileName}."})
	}
	*f = many
	return nil
}

// SendType is sendType, given as a number or a string; 0 when absent.
type SendType int

func (s *SendType) UnmarshalJSON(b []byte) error {
	*s = 0
	raw := strings.TrimSpace(string(b))
	if raw == "null" {
		return nil
	}
	if str, err := strconv.Unquote(raw); err == nil {
		raw = strings.TrimSpace(str)
		if raw == "" {
			return nil
		}
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 3 {
		return Invalid(FieldError{Field: "sendType", Message: "sendType must be 1 (Campaign), 2 (Individual) or 3 (API), as a number or a string."})
	}
	*s = SendType(n)
	return nil
}

// Validate checks the send and normalises its destinations.
func (in *ConversationSend) Validate() error {
	var v Validator
	in.Template = strings.TrimSpace(in.Template)
	v.Required(in.Template, "template")
	in.Language = strings.TrimSpace(in.Language)
	in.NumberID = strings.TrimSpace(in.NumberID)
	in.CampaignName = strings.TrimSpace(in.CampaignName)
	in.AgentSendedID = strings.TrimSpace(in.AgentSendedID)
	if in.SendType == 0 {
		in.SendType = SendTypeCampaign
	}
	v.Check(len(in.CampaignName) <= 256, "campaignName", "campaignName must be at most 256 characters long.")
	for _, r := range []struct{ v, f string }{{in.Reference1, "reference1"}, {in.Reference2, "reference2"}, {in.Reference3, "reference3"}} {
		v.Check(len(r.v) <= 256, r.f, r.f+" must be at most 256 characters long.")
	}
	v.Check(len(in.Destination.Phones) > 0, "destination", "destination is required.")
	v.Check(len(in.Destination.Phones) <= MaxConversationDestinations, "destination",
		fmt.Sprintf("destination may list at most %d phones; send larger campaigns in several requests.", MaxConversationDestinations))
	in.Recipients = nil
	seen := map[string]bool{}
	if len(in.Destination.Phones) <= MaxConversationDestinations {
		for i, raw := range in.Destination.Phones {
			n, err := phone.Normalize(strings.TrimSpace(raw))
			if err != nil {
				f := "destination"
				if in.Destination.List {
					f = fmt.Sprintf("destination[%d]", i)
				}
				v.Check(false, f, fmt.Sprintf("%q is not a valid phone number: %v.", raw, err))
				continue
			}
			if !seen[n.Key] {
				seen[n.Key] = true
				in.Recipients = append(in.Recipients, n)
			}
		}
	}
	for i, f := range in.File {
		u := strings.TrimSpace(f.FileURL)
		in.File[i].FileURL = u
		v.Check(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"), "file",
			"file.fileUrl must be an http(s) link to the header's media.")
	}
	return v.Err()
}

// ConversationSent is the data of Send Conversation's answer: for one
// destination the contact (and the queued message), for a list of up to
// SyncSendLimit the contacts and messages in the order of the
// destinations (repeats sent once); for a longer list the campaign that
// queues them, with its number of destinations (repeats counted once).
type ConversationSent struct {
	ContactID  string   `json:"contactId,omitempty"`
	MessageID  string   `json:"messageId,omitempty"`
	ContactIDs []string `json:"contactIds,omitempty"`
	MessageIDs []string `json:"messageIds,omitempty"`
	CampaignID string   `json:"campaignId,omitempty"`
	Total      int      `json:"total,omitempty"`
}

// TemplateMessage is the template object of Meta's send request, as a
// template message's payload stores it.
type TemplateMessage struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []TemplateMessageComponent `json:"components,omitempty"`
}

// TemplateMessageComponent fills one component's parameters.
type TemplateMessageComponent struct {
	Type       string                 `json:"type"`
	Parameters []TemplateMessageParam `json:"parameters"`
}

// TemplateMessageParam is one parameter: text, or a header's media.
type TemplateMessageParam struct {
	Type          string         `json:"type"`
	ParameterName string         `json:"parameter_name,omitempty"`
	Text          string         `json:"text,omitempty"`
	Image         *TemplateMedia `json:"image,omitempty"`
	Document      *TemplateMedia `json:"document,omitempty"`
	Video         *TemplateMedia `json:"video,omitempty"`
}

// TemplateMedia is a header's media by link.
type TemplateMedia struct {
	Link     string `json:"link"`
	Filename string `json:"filename,omitempty"`
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// placeholders lists the variables of a component's text, in order of
// first appearance.
func placeholders(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// fill returns the parameters of a text with placeholders, from the
// values given (by "1", "{{1}}" or name); field names the values in
// errors.
func fill(text string, values []TemplateValue, field string, v *Validator) ([]TemplateMessageParam, string) {
	byName := map[string]string{}
	for _, val := range values {
		name := strings.TrimSpace(val.Variable)
		if n := VariableName(name); n != "" {
			name = n
		}
		byName[name] = val.Value
	}
	names := placeholders(text)
	var params []TemplateMessageParam
	for i, name := range names {
		value, ok := byName[name]
		if !ok && !isNumber(name) {
			// A client may number a NAMED template's variables in order.
			value, ok = byName[strconv.Itoa(i+1)]
		}
		if !ok || strings.TrimSpace(value) == "" {
			v.Check(false, field, fmt.Sprintf("%s has no value for the template's variable {{%s}}.", field, name))
			continue
		}
		p := TemplateMessageParam{Type: "text", Text: value}
		if !isNumber(name) {
			p.ParameterName = name
		}
		params = append(params, p)
	}
	rendered := placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		for i, n := range names {
			if n == name && i < len(params) {
				return params[i].Text
			}
		}
		return m
	})
	return params, rendered
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// BuildTemplateMessage fills the template's components with the send's
// variables and file: Meta's template object, the body as the customer
// reads it (the message's content), and the template's type (its
// header's format: TEXT, IMAGE, VIDEO or DOCUMENT). EINVALID naming
// variablesBody, variablesHeader or file when one is missing.
func BuildTemplateMessage(t Template, in ConversationSend) (TemplateMessage, string, string, error) {
	var msg TemplateMessage
	msg.Name = t.ElementName
	msg.Language.Code = t.LanguageCode
	var components []struct {
		Type, Format, Text string
	}
	if err := json.Unmarshal(t.Components, &components); err != nil {
		return msg, "", "", fmt.Errorf("template %s: components: %w", t.ElementName, err)
	}
	var v Validator
	content, templateType := "", "TEXT"
	for _, c := range components {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			format := strings.ToUpper(c.Format)
			switch format {
			case "IMAGE", "VIDEO", "DOCUMENT":
				templateType = format
				if len(in.File) == 0 {
					v.Check(false, "file", fmt.Sprintf("Template %s has a %s header: file {fileUrl, fileName} is required.", t.ElementName, strings.ToLower(format)))
					continue
				}
				media := &TemplateMedia{Link: in.File[0].FileURL}
				p := TemplateMessageParam{Type: strings.ToLower(format)}
				switch format {
				case "IMAGE":
					p.Image = media
				case "VIDEO":
					p.Video = media
				case "DOCUMENT":
					media.Filename = strings.TrimSpace(in.File[0].FileName)
					p.Document = media
				}
				msg.Components = append(msg.Components, TemplateMessageComponent{Type: "header", Parameters: []TemplateMessageParam{p}})
			case "", "TEXT":
				params, _ := fill(c.Text, in.VariablesHeader, "variablesHeader", &v)
				if len(params) > 0 {
					msg.Components = append(msg.Components, TemplateMessageComponent{Type: "header", Parameters: params})
				}
			}
		case "BODY":
			params, rendered := fill(c.Text, in.VariablesBody, "variablesBody", &v)
			content = rendered
			if len(params) > 0 {
				msg.Components = append(msg.Components, TemplateMessageComponent{Type: "body", Parameters: params})
			}
		}
	}
	if content == "" {
		content = t.ElementName
	}
	return msg, content, templateType, v.Err()
}
