package plaza

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/plaza-crm/plaza/phone"
)

// AI agents: an agent is configured by the JSON document Plazbot's SDK
// sends (reference plazbot-sdk/agent.config.json), accepted as it is. The
// document is stored as given, so every key a client sends comes back on
// read, including keys Plaza does not know; AgentConfig is the part Plaza
// reads to run the agent.

// AgentConfig is an agent's configuration as Plazbot's SDK writes it.
type AgentConfig struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Prompt is the agent's system prompt.
	Prompt string `json:"prompt"`
	Zone   string `json:"zone"`
	// Buffer is how many earlier turns of the conversation the agent
	// keeps in its context.
	Buffer   int    `json:"buffer"`
	Color    string `json:"color"`
	Question string `json:"question"`
	// Timezone is an IANA zone name; the rules' hours are in it.
	Timezone   string         `json:"timezone"`
	Enable     *bool          `json:"enable"`
	ShowInChat *bool          `json:"showInChat"`
	Tags       []string       `json:"tags"`
	Examples   []AgentExample `json:"examples"`

	Instructions *AgentInstructions `json:"instructions"`
	Person       *AgentPerson       `json:"person"`
	Fallbacks    *AgentFallbacks    `json:"fallbacks"`
	Rules        *AgentRules        `json:"rules"`

	EnableWidget      bool   `json:"enableWidget"`
	DarkWidget        bool   `json:"darkWidget"`
	NameWidget        string `json:"nameWidget"`
	InitialShowWidget bool   `json:"initialShowWidget"`

	Services []AgentServiceCall `json:"services"`
	Actions  []AgentAction      `json:"actions"`
	Channels []AgentChannel     `json:"channels"`
}

// AgentExample is a suggested question shown to users.
type AgentExample struct {
	Value string `json:"value"`
	Color string `json:"color"`
}

// AgentInstructions shape how the agent writes.
type AgentInstructions struct {
	Tone                        string   `json:"tone"`
	Style                       string   `json:"style"`
	Personality                 string   `json:"personality"`
	Objective                   string   `json:"objective"`
	Language                    string   `json:"language"`
	Emojis                      bool     `json:"emojis"`
	PreferredFormat             string   `json:"preferredFormat"`
	MaxWords                    int      `json:"maxWords"`
	AvoidTopics                 []string `json:"avoidTopics"`
	RespondOnlyIfKnows          bool     `json:"respondOnlyIfKnows"`
	MaintainToneBetweenMessages bool     `json:"maintainToneBetweenMessages"`
	Greeting                    string   `json:"greeting"`
}

// AgentPerson is the persona the agent speaks as.
type AgentPerson struct {
	Name                string `json:"name"`
	Role                string `json:"role"`
	SpeaksInFirstPerson bool   `json:"speaksInFirstPerson"`
	IsHuman             bool   `json:"isHuman"`
}

// AgentFallbacks are the agent's fixed answers when it cannot answer.
type AgentFallbacks struct {
	NoAnswer        string `json:"noAnswer"`
	ServiceError    string `json:"serviceError"`
	DoNotUnderstand string `json:"doNotUnderstand"`
}

// AgentRules are the agent's limits.
type AgentRules struct {
	DoNotMentionPrices bool `json:"doNotMentionPrices"`
	DoNotDiagnose      bool `json:"doNotDiagnose"`
	// DoNotRespondOutsideHours is Plazbot's: the message answered outside
	// the working hours ("" when the agent answers at any hour).
	DoNotRespondOutsideHours string `json:"doNotRespondOutsideHours"`
	// Hours are the working hours, in the agent's timezone (Plaza's
	// extension: Plazbot states them only in the message's words).
	Hours []AgentHours `json:"hours,omitempty"`
}

// AgentHours is one span of working hours: on the given days (0 Sunday ..
// 6 Saturday), from From to To ("08:00", "18:00").
type AgentHours struct {
	Days []int  `json:"days"`
	From string `json:"from"`
	To   string `json:"to"`
}

// AgentServiceCall is an external HTTP API the agent may call as a tool
// (Plazbot's "services").
type AgentServiceCall struct {
	Intent             string                   `json:"intent"`
	Reference          string                   `json:"reference"`
	Enabled            bool                     `json:"enabled"`
	Method             string                   `json:"method"`
	RequiredFields     []AgentServiceField      `json:"requiredFields"`
	Endpoint           string                   `json:"endpoint"`
	Tags               []string                 `json:"tags"`
	Headers            map[string]string        `json:"headers"`
	BodyTemplate       json.RawMessage          `json:"bodyTemplate"`
	ResponseMapping    map[string]string        `json:"responseMapping"`
	ResponseMessage    string                   `json:"responseMessage"`
	ResponseConditions []AgentResponseCondition `json:"responseConditions"`
	Action             string                   `json:"action"`
}

// AgentServiceField is a value the agent collects before calling a service.
// Type is one of string, email, phone, date, datetime, number, integer,
// boolean, array, arrayObject (with Properties).
type AgentServiceField struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	PromptHint  string              `json:"promptHint"`
	Type        string              `json:"type"`
	Properties  []AgentServiceField `json:"properties,omitempty"`
}

// AgentResponseCondition picks a service's answer by its response:
// Condition is a JSONPath comparison such as "$.response.status == 'ok'".
type AgentResponseCondition struct {
	Condition string `json:"condition"`
	Message   string `json:"message"`
}

// AgentAction is a set of CRM actions the agent may take as a tool
// (Plazbot's "actions": action.asign, action.tag, action.stage, ...).
type AgentAction struct {
	Intent          string            `json:"intent"`
	Reference       string            `json:"reference"`
	Tags            []string          `json:"tags"`
	Enabled         bool              `json:"enabled"`
	ResponseMessage string            `json:"responseMessage"`
	ResponseJSON    bool              `json:"responseJson"`
	Action          []AgentActionStep `json:"action"`
}

// AgentActionStep is one CRM action of an AgentAction.
type AgentActionStep struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Agent action types (Plazbot's).
const (
	ActionAssign       = "action.asign" // sic
	ActionTag          = "action.tag"
	ActionStage        = "action.stage"
	ActionSolved       = "action.solved"
	ActionShutDown     = "action.agentShutDown"
	ActionSegmentation = "action.segmentation"
	ActionEventAdd     = "action.event.add"
	ActionEventUpdate  = "action.event.update"
	ActionEventDelete  = "action.event.delete"
	ActionEventList    = "action.event.list"
)

// AgentChannel attaches an agent where it answers: {"channel": "whatsapp",
// "key": "<display phone number>"} for a connected number, {"channel":
// "webchat"} for the workspace's widget.
type AgentChannel struct {
	Channel string `json:"channel"`
	Key     string `json:"key,omitempty"`
}

// Agent channels Plaza answers on.
const (
	ChannelWhatsApp = "whatsapp"
	ChannelWebchat  = "webchat"
)

// AgentRecord is a stored agent: the configuration document as the client
// sent it (Raw, every key kept), the part Plaza reads (Config), and what
// Plaza keeps beside it.
type AgentRecord struct {
	ID          string
	WorkspaceID string
	Config      AgentConfig
	// Raw is the configuration document as stored: the keys the client
	// sent, with its values, except the request's own addressing keys
	// (id, agentId, workspaceId).
	Raw          json.RawMessage
	CreationDate Time
	UpdatedDate  Time
}

// Enabled reports whether the agent answers: "enable" absent counts as
// true, as Plazbot's dashboard creates agents enabled.
func (c *AgentConfig) Enabled() bool { return c.Enable == nil || *c.Enable }

// MarshalJSON renders the agent as Plazbot's get-agent does: the
// configuration's keys, flat, with id, workspaceId, creationDate and
// updatedDate (Plaza's, winning over any the document has).
func (a AgentRecord) MarshalJSON() ([]byte, error) {
	doc := map[string]json.RawMessage{}
	if len(a.Raw) > 0 {
		if err := json.Unmarshal(a.Raw, &doc); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]any{"id": a.ID, "workspaceId": a.WorkspaceID,
		"creationDate": a.CreationDate, "updatedDate": a.UpdatedDate} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		doc[k] = b
	}
	return json.Marshal(doc)
}

// agentAddressKeys are keys of a request body that address the agent or
// the workspace; they are not part of the configuration document.
var agentAddressKeys = []string{"id", "agentid", "workspaceid"}

// AgentDocument is an agent's configuration document, key by key.
type AgentDocument map[string]json.RawMessage

// ParseAgentDocument reads a configuration document: a JSON object whose
// addressing keys (id, agentId, workspaceId, in any case) are dropped.
// EINVALID naming "body" when it is not an object.
func ParseAgentDocument(raw []byte) (AgentDocument, error) {
	var doc AgentDocument
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, Invalid(FieldError{Field: "body", Message: "The agent configuration must be a JSON object."})
	}
	for k := range doc {
		if slices.Contains(agentAddressKeys, strings.ToLower(k)) {
			delete(doc, k)
		}
	}
	return doc, nil
}

// AgentUpdate changes an agent's document. Set replaces top-level keys
// (POST /api/agent/update sends the keys it changes, as the SDK's
// updateAgent does); Section, with SectionSet, sets keys inside one object
// of the document, keeping its others (the set-instructions, set-persona,
// set-fallbacks, set-rules and set-greeting calls), creating it when
// absent.
type AgentUpdate struct {
	Set        AgentDocument
	Section    string
	SectionSet AgentDocument
}

// Apply applies u to doc. EINVALID when the section is there but is not
// an object.
func (u AgentUpdate) Apply(doc AgentDocument) error {
	for k, v := range u.Set {
		doc[k] = v
	}
	if u.Section == "" {
		return nil
	}
	section := map[string]json.RawMessage{}
	if raw, ok := doc[u.Section]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &section); err != nil || section == nil {
			return Invalid(FieldError{Field: u.Section, Message: u.Section + " must be an object."})
		}
	}
	for k, v := range u.SectionSet {
		section[k] = v
	}
	b, err := json.Marshal(section)
	if err != nil {
		return err
	}
	doc[u.Section] = b
	return nil
}

// Config reads the part of the document Plaza runs the agent by, and
// checks it (see AgentConfig.Validate). A value of the wrong type is
// EINVALID naming its path ("services[0].method" reads
// "services.method").
func (doc AgentDocument) Config() (*AgentConfig, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var c AgentConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return nil, Invalid(FieldError{Field: typ.Field, Message: fmt.Sprintf("%s must be %s, not %s.", typ.Field, jsonKind(typ.Type.Kind()), typ.Value)})
		}
		return nil, Invalid(FieldError{Field: "body", Message: "The agent configuration cannot be read: " + err.Error()})
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// Limits of an agent's configuration. Buffer: Plazbot's SDK documents 3 to
// 10 turns, yet its own sample configuration uses 50, so Plaza accepts 1
// to 100.
const (
	AgentMinBuffer = 1
	AgentMaxBuffer = 100
)

// Service field types of requiredFields (and of an arrayObject's
// properties, which take the first four).
var (
	agentFieldTypes    = []string{"string", "number", "integer", "boolean", "email", "phone", "date", "datetime", "array", "arrayObject"}
	agentPropertyTypes = agentFieldTypes[:4]
	agentMethods       = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	agentActionTypes   = []string{ActionAssign, ActionTag, ActionStage, ActionSolved, ActionShutDown, ActionSegmentation,
		ActionEventAdd, ActionEventUpdate, ActionEventDelete, ActionEventList}
)

// Validate checks what Plaza runs the agent by: a name, the buffer's
// range, the services' methods, endpoints and field types, the actions'
// types, and the channels' shape. Channels Plaza does not answer on
// (instagram, facebook) are kept: configurations are portable, and Plazbot
// lists them as coming.
func (c *AgentConfig) Validate() error {
	var v Validator
	v.Check(strings.TrimSpace(c.Name) != "", "name", "name is required.")
	v.Check(c.Buffer == 0 || c.Buffer >= AgentMinBuffer && c.Buffer <= AgentMaxBuffer, "buffer",
		fmt.Sprintf("buffer must be between %d and %d turns.", AgentMinBuffer, AgentMaxBuffer))
	if c.Timezone != "" {
		_, err := time.LoadLocation(c.Timezone)
		v.Check(err == nil, "timezone", "timezone must be an IANA time zone name such as America/Lima.")
	}
	for i, s := range c.Services {
		f := fmt.Sprintf("services[%d]", i)
		v.Check(strings.TrimSpace(s.Intent) != "", f+".intent", f+".intent is required.")
		v.Check(slices.Contains(agentMethods, strings.ToUpper(s.Method)), f+".method",
			f+".method must be one of "+strings.Join(agentMethods, ", ")+".")
		u, err := url.Parse(s.Endpoint)
		v.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", f+".endpoint",
			f+".endpoint must be an absolute http or https URL.")
		for j, rf := range s.RequiredFields {
			g := fmt.Sprintf("%s.requiredFields[%d]", f, j)
			v.Check(strings.TrimSpace(rf.Name) != "", g+".name", g+".name is required.")
			v.Check(slices.Contains(agentFieldTypes, rf.Type), g+".type", g+".type must be one of "+strings.Join(agentFieldTypes, ", ")+".")
			v.Check(rf.Type == "arrayObject" || len(rf.Properties) == 0, g+".properties", g+".properties are only for the arrayObject type.")
			for k, p := range rf.Properties {
				h := fmt.Sprintf("%s.properties[%d]", g, k)
				v.Check(strings.TrimSpace(p.Name) != "", h+".name", h+".name is required.")
				v.Check(slices.Contains(agentPropertyTypes, p.Type), h+".type", h+".type must be one of "+strings.Join(agentPropertyTypes, ", ")+".")
			}
		}
	}
	for i, a := range c.Actions {
		f := fmt.Sprintf("actions[%d]", i)
		v.Check(strings.TrimSpace(a.Intent) != "", f+".intent", f+".intent is required.")
		for j, step := range a.Action {
			g := fmt.Sprintf("%s.action[%d].type", f, j)
			v.Check(slices.Contains(agentActionTypes, step.Type), g, g+" must be one of "+strings.Join(agentActionTypes, ", ")+".")
		}
	}
	for i, ch := range c.Channels {
		f := fmt.Sprintf("channels[%d]", i)
		v.Check(strings.TrimSpace(ch.Channel) != "", f+".channel", f+".channel is required.")
		if ch.Channel == ChannelWhatsApp {
			_, err := ChannelKey(ch)
			v.Check(err == nil, f+".key", fmt.Sprintf("%s.key must be the WhatsApp number's display phone number: %v.", f, err))
		}
	}
	return v.Err()
}

// ChannelKey is the key a channel is matched by: a WhatsApp number's
// digits with country code ("57123456789"), "" for web chat (one widget per
// workspace), the key as given for other channels.
func ChannelKey(ch AgentChannel) (string, error) {
	switch ch.Channel {
	case ChannelWhatsApp:
		n, err := phone.Normalize(ch.Key)
		if err != nil {
			return "", err
		}
		return n.Digits, nil
	case ChannelWebchat:
		return "", nil
	}
	return strings.TrimSpace(ch.Key), nil
}

// AgentChannelStatus tells, after a save, whether a channel of the agent
// is attached: a whatsapp channel is when the workspace has connected a
// number with that display number, webchat always is, other channels
// never are (Plaza does not answer there). An unattached channel is kept,
// and a WhatsApp number connected later is answered by the agent.
type AgentChannelStatus struct {
	Channel  string `json:"channel"`
	Key      string `json:"key"`
	Attached bool   `json:"attached"`
	Message  string `json:"message,omitempty"`
}

// AgentSaved is an agent after a create or an update, with its channels'
// status.
type AgentSaved struct {
	Agent    *AgentRecord
	Channels []AgentChannelStatus
}

// AgentService manages the caller's agents (POST /api/agent/...). Another
// workspace's agent is never found (ENOTFOUND).
type AgentService interface {
	// CreateAgent stores a configuration document as given. EINVALID
	// naming the field (see AgentConfig.Validate); ECONFLICT naming
	// "channels" when another enabled agent of the workspace already
	// answers on one of its channels.
	CreateAgent(ctx context.Context, doc AgentDocument) (*AgentSaved, error)
	// UpdateAgent changes an agent's document; its errors are
	// CreateAgent's, and ENOTFOUND.
	UpdateAgent(ctx context.Context, id string, u AgentUpdate) (*AgentSaved, error)
	// GetAgent returns one of the caller's agents.
	GetAgent(ctx context.Context, id string) (*AgentRecord, error)
	// ListAgents lists the caller's agents, oldest first.
	ListAgents(ctx context.Context) ([]AgentRecord, error)
	// DeleteAgent deletes an agent with its knowledge files and passages.
	DeleteAgent(ctx context.Context, id string) error
	// CopyAgent makes a new agent from one's document, named "<name>
	// (copy)", without its channels (an enabled copy on the same channels
	// would conflict), with copies of its ready knowledge files.
	CopyAgent(ctx context.Context, id string) (*AgentRecord, error)
}

// AgentStore is what the agent runtime reads: agents by channel or id and
// their knowledge, for any workspace (the runtime has no caller; it names
// the workspace of the message it answers).
type AgentStore interface {
	// AgentForChannel returns the enabled agent of the workspace that
	// answers on the channel (ChannelWhatsApp with the number's display
	// phone number in any format, or ChannelWebchat with ""). ENOTFOUND
	// when none does.
	AgentForChannel(ctx context.Context, workspaceID, channel, key string) (*AgentRecord, error)
	// FindAgent returns an agent of the workspace. ENOTFOUND.
	FindAgent(ctx context.Context, workspaceID, id string) (*AgentRecord, error)
	// SearchKnowledge returns the agent's passages that best match the
	// query, best first, at most limit. Any text is a valid query (its
	// words are matched, punctuation and operators ignored); a query with
	// no words finds nothing.
	SearchKnowledge(ctx context.Context, workspaceID, agentID, query string, limit int) ([]Passage, error)
}
