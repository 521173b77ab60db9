package plaza

import "encoding/json"

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

	// CRMTools are the Plaza CRM tools the agent may call (Plaza's
	// extension; names in AgentCRMTools). None when absent.
	CRMTools []string `json:"crmTools,omitempty"`
}

// Plaza's CRM tools an agent may be given (AgentConfig.CRMTools), as the
// LLM sees them.
const (
	ToolUpdateContact        = "update_contact"
	ToolCreateOpportunity    = "create_opportunity"
	ToolMoveOpportunityStage = "move_opportunity_stage"
	ToolCreateTask           = "create_task"
	ToolAddActivity          = "add_activity"
)

// AgentCRMTools lists the CRM tools, in the order they are offered.
var AgentCRMTools = []string{ToolUpdateContact, ToolCreateOpportunity, ToolMoveOpportunityStage, ToolCreateTask, ToolAddActivity}

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
