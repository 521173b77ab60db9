package plaza

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Automations are Plazbot's flows (its console's "Automatizaciones"): a
// trigger (a message arriving on a channel, for WhatsApp on one number or
// any) followed by a chain of nodes, each naming the next. An "Agente de IA"
// node (ai_agent) asks the LLM with its prompt and keeps the answer in an
// output variable; a "Enviar Mensaje" node (send_message) replies with a
// text whose {{variables}} are filled in. Plazbot's console has no public
// API for flows, so creating and reading them is Plaza's extension; the one
// Plazbot endpoint is Update Agente IA Prompt (POST
// /api/automation/node/{nodeId}/prompt), which finds a node by its id
// alone: node ids are unique within a workspace.

// Automation node types.
const (
	NodeTrigger     = "trigger"
	NodeAIAgent     = "ai_agent"
	NodeSendMessage = "send_message"
)

// Limits of an automation.
const (
	MaxAutomationNameLength = 100
	MaxAutomationNodes      = 100
	MaxNodeNameLength       = 100
	MaxNodeIDLength         = 100
	// MaxNodePromptLength bounds an ai_agent node's prompt, in characters
	// (Unicode code points), whether sent inline or read from a document.
	MaxNodePromptLength = 50000
	// MaxNodeTextLength is WhatsApp's limit on a text message's body.
	MaxNodeTextLength    = 4096
	MaxNodeModelLength   = 100
	MaxNodeAPIKeyLength  = 500
	MaxNodeMemory        = 50
	DefaultNodeMemory    = 10
	MaxNodeMaxTokens     = 128000
	MaxNodeTemperature   = 2
	MaxOutputVariableLen = 64
)

// AutomationVariables are the variables every send_message text may use
// besides the output variables of the automation's ai_agent nodes: the
// text of the message that triggered the automation and the contact's
// fields.
var AutomationVariables = []string{"message", "contact.name", "contact.lastname", "contact.cellphone", "contact.email"}

// Automation is a flow of a workspace. Nodes are in the order the client
// gave them; the flow runs from the trigger node along each node's Next.
type Automation struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	Enabled     bool              `json:"enabled"`
	Trigger     AutomationTrigger `json:"trigger"`
	Nodes       []AutomationNode  `json:"nodes"`

	CreationDate Time `json:"creationDate"`
	UpdatedDate  Time `json:"updatedDate"`
}

// Node returns the automation's node id, or nil.
func (a *Automation) Node(id string) *AutomationNode {
	for i := range a.Nodes {
		if a.Nodes[i].ID == id {
			return &a.Nodes[i]
		}
	}
	return nil
}

// TriggerNode returns the automation's trigger node, where a run starts.
func (a *Automation) TriggerNode() *AutomationNode {
	for i := range a.Nodes {
		if a.Nodes[i].Type == NodeTrigger {
			return &a.Nodes[i]
		}
	}
	return nil
}

// AutomationTrigger is what starts an automation: a message arriving on
// Channel (ChannelWhatsApp or ChannelWebchat). For WhatsApp, Key is the
// display phone number of the connected number it listens on, or "" for
// every number of the workspace; webchat has no key.
type AutomationTrigger struct {
	Channel string `json:"channel"`
	Key     string `json:"key"`
}

// MatchKey is the form of the key triggers are matched and kept unique
// in: for WhatsApp the digits of the number ("+51 987 654 321" and
// "51987654321" are one number), else the key as it is.
func (t AutomationTrigger) MatchKey() string { return TriggerMatchKey(t.Channel, t.Key) }

// TriggerMatchKey is AutomationTrigger.MatchKey of a channel and key.
func TriggerMatchKey(channel, key string) string {
	if channel != ChannelWhatsApp {
		return strings.TrimSpace(key)
	}
	var b strings.Builder
	for _, c := range key {
		if '0' <= c && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// NodePosition is where the console draws a node.
type NodePosition struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// AutomationNode is one node of a flow. Which fields apply depends on Type:
// ai_agent nodes have Prompt, Model, Temperature, MaxTokens, Memory,
// OutputVariable and an API key; send_message nodes have Text. It renders
// the common fields and those of its type only.
type AutomationNode struct {
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Name     string        `json:"name"`
	Position *NodePosition `json:"position"`
	// Next is the id of the node that runs after this one; "" ends the
	// flow.
	Next string `json:"next"`

	// Prompt is an ai_agent node's system prompt.
	Prompt string `json:"prompt"`
	// Model is the LLM model; "" is the workspace's or server's default.
	Model string `json:"model"`
	// Temperature and MaxTokens are the LLM's settings; nil is the
	// default.
	Temperature *float64 `json:"temperature"`
	MaxTokens   *int     `json:"maxTokens"`
	// Memory is how many earlier turns of the conversation go with the
	// question (0-50).
	Memory int `json:"memory"`
	// OutputVariable names the variable the answer is kept in, for later
	// nodes' {{variables}}; "" keeps it nowhere.
	OutputVariable string `json:"outputVariable"`
	// APIKey is the node's own key of the LLM provider (Plazbot's "OpenAI
	// key"). It is write-only: stored sealed, never rendered; only
	// AutomationStore.AutomationForTrigger opens it, for the runtime.
	// HasAPIKey tells clients whether one is stored.
	APIKey    string `json:"-"`
	HasAPIKey bool   `json:"hasApiKey"`

	// Text is a send_message node's message, with {{variables}}.
	Text string `json:"text"`
}

// AcceptsPrompt returns EINVALID naming "nodeId" unless the node is an
// ai_agent node, the only kind with a prompt.
func (n *AutomationNode) AcceptsPrompt() error {
	if n.Type == NodeAIAgent {
		return nil
	}
	return Invalid(FieldError{Field: "nodeId", Message: fmt.Sprintf("Node %s is a %s node; only ai_agent nodes have a prompt.", n.ID, n.Type)})
}

// MarshalJSON renders the common fields and those of the node's type, so
// a send_message node shows no prompt and an ai_agent node no text.
func (n AutomationNode) MarshalJSON() ([]byte, error) {
	m := map[string]any{"id": n.ID, "type": n.Type, "name": n.Name, "position": n.Position, "next": nil}
	if n.Next != "" {
		m["next"] = n.Next
	}
	switch n.Type {
	case NodeAIAgent:
		m["prompt"] = n.Prompt
		m["model"] = n.Model
		m["temperature"] = n.Temperature
		m["maxTokens"] = n.MaxTokens
		m["memory"] = n.Memory
		m["outputVariable"] = n.OutputVariable
		m["hasApiKey"] = n.HasAPIKey
	case NodeSendMessage:
		m["text"] = n.Text
	}
	return json.Marshal(m)
}

// AutomationInput is the definition of an automation as a client sends it,
// to create one or to replace one's definition.
type AutomationInput struct {
	Name string `json:"name"`
	// Enabled is true when not sent.
	Enabled *bool             `json:"enabled"`
	Trigger AutomationTrigger `json:"trigger"`
	Nodes   []NodeInput       `json:"nodes"`
}

// NodeInput is a node as a client sends it. ID may be left out: Plaza
// then gives the node one in Plazbot's format, node-<digits>-<digits>.
type NodeInput struct {
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Name     string        `json:"name"`
	Position *NodePosition `json:"position"`
	Next     string        `json:"next"`

	Prompt         string   `json:"prompt"`
	Model          string   `json:"model"`
	Temperature    *float64 `json:"temperature"`
	MaxTokens      *int     `json:"maxTokens"`
	Memory         *int     `json:"memory"`
	OutputVariable string   `json:"outputVariable"`
	// APIKey sets the node's key; "" removes it; nil (left out) keeps the
	// key stored for a node of the same id in the automation updated, and
	// means none on create.
	APIKey *string `json:"apiKey"`

	Text string `json:"text"`
}

// AutomationUpdate changes an automation; nil leaves a part alone. Nodes,
// when sent, replace every node (apiKeys left out are kept by node id).
type AutomationUpdate struct {
	Name    *string            `json:"name"`
	Enabled *bool              `json:"enabled"`
	Trigger *AutomationTrigger `json:"trigger"`
	Nodes   []NodeInput        `json:"nodes"`
}

// Empty reports whether the update changes nothing.
func (u AutomationUpdate) Empty() bool {
	return u.Name == nil && u.Enabled == nil && u.Trigger == nil && u.Nodes == nil
}

var (
	nodeIDPattern     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	variablePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	placeholder       = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
)

// defaultNodeNames are the names the console gives new nodes.
var defaultNodeNames = map[string]string{NodeTrigger: "Trigger", NodeAIAgent: "Agente de IA", NodeSendMessage: "Enviar Mensaje"}

// Validate normalises the definition (trims, default node names, memory
// and enabled, ids for nodes without one) and checks it, naming every bad
// field: the name; the trigger's channel and key; each node's id (its
// format, unique in the automation), type, fields of its type and none of
// another's; exactly one trigger node; next naming another node of the
// automation, never the trigger, with no cycle; output variables valid
// identifiers used once; the {{variables}} of texts known.
func (in *AutomationInput) Validate() error {
	var v Validator
	in.Name = strings.TrimSpace(in.Name)
	v.Required(in.Name, "name")
	v.Check(utf8.RuneCountInString(in.Name) <= MaxAutomationNameLength, "name", "name must be at most 100 characters long.")
	if in.Enabled == nil {
		in.Enabled = new(bool)
		*in.Enabled = true
	}
	in.Trigger.Channel = strings.ToLower(strings.TrimSpace(in.Trigger.Channel))
	in.Trigger.Key = strings.TrimSpace(in.Trigger.Key)
	switch in.Trigger.Channel {
	case "":
		v.Required("", "trigger.channel")
	case ChannelWhatsApp:
		digits := len(TriggerMatchKey(ChannelWhatsApp, in.Trigger.Key))
		v.Check(in.Trigger.Key == "" || digits >= 7 && digits <= 15, "trigger.key",
			"trigger.key must be the display phone number of a connected WhatsApp number (7 to 15 digits), or empty for any number.")
	case ChannelWebchat:
		v.Check(in.Trigger.Key == "", "trigger.key", "trigger.key must be empty for the webchat channel.")
	default:
		v.Check(false, "trigger.channel", fmt.Sprintf("trigger.channel %q is not a channel: whatsapp or webchat.", in.Trigger.Channel))
	}

	if in.Nodes == nil {
		in.Nodes = []NodeInput{}
	}
	v.Check(len(in.Nodes) <= MaxAutomationNodes, "nodes", "An automation has at most 100 nodes.")
	ids := map[string]int{}
	for i := range in.Nodes {
		n := &in.Nodes[i]
		f := func(name string) string { return fmt.Sprintf("nodes[%d].%s", i, name) }
		n.ID = strings.TrimSpace(n.ID)
		if n.ID == "" {
			n.ID = NewNodeID()
		}
		if !nodeIDPattern.MatchString(n.ID) || len(n.ID) > MaxNodeIDLength {
			v.Check(false, f("id"), "A node id is 1 to 100 letters, digits, '-' and '_', like node-7330301234-2637712345.")
		} else if j, dup := ids[n.ID]; dup {
			v.Check(false, f("id"), fmt.Sprintf("Node id %q is already the id of nodes[%d].", n.ID, j))
		} else {
			ids[n.ID] = i
		}
		n.validate(&v, f)
	}
	triggers := 0
	for _, n := range in.Nodes {
		if n.Type == NodeTrigger {
			triggers++
		}
	}
	v.Check(triggers == 1, "nodes", fmt.Sprintf("An automation has exactly one trigger node; this one has %d.", triggers))

	// Edges: next names another node, never the trigger; no cycles (each
	// node has one next at most, so walking from each node finds them).
	edgesOK := true
	for i, n := range in.Nodes {
		if n.Next == "" {
			continue
		}
		j, ok := ids[n.Next]
		field := fmt.Sprintf("nodes[%d].next", i)
		switch {
		case !ok:
			v.Check(false, field, fmt.Sprintf("next %q is not the id of a node of this automation.", n.Next))
		case j == i:
			v.Check(false, field, "A node cannot be its own next.")
		case in.Nodes[j].Type == NodeTrigger:
			v.Check(false, field, "next cannot be the trigger node: the trigger starts the flow.")
		default:
			continue
		}
		edgesOK = false
	}
	if edgesOK {
		if i, ok := in.cycle(ids); ok {
			v.Check(false, fmt.Sprintf("nodes[%d].next", i), fmt.Sprintf("Node %q is part of a cycle: a flow must end.", in.Nodes[i].ID))
		}
	}

	// Output variables are set once, and texts use only known variables.
	known := map[string]bool{}
	for _, name := range AutomationVariables {
		known[name] = true
	}
	outputs := map[string]int{}
	for i, n := range in.Nodes {
		if n.Type != NodeAIAgent || n.OutputVariable == "" {
			continue
		}
		if j, dup := outputs[n.OutputVariable]; dup {
			v.Check(false, fmt.Sprintf("nodes[%d].outputVariable", i), fmt.Sprintf("outputVariable %q is already set by nodes[%d].", n.OutputVariable, j))
			continue
		}
		outputs[n.OutputVariable] = i
		known[n.OutputVariable] = true
	}
	for i, n := range in.Nodes {
		if n.Type != NodeSendMessage {
			continue
		}
		for _, name := range TextVariables(n.Text) {
			if !variablePattern.MatchString(name) {
				v.Check(false, fmt.Sprintf("nodes[%d].text", i), fmt.Sprintf("{{%s}} is not a variable name.", name))
			} else if !known[name] {
				v.Check(false, fmt.Sprintf("nodes[%d].text", i), fmt.Sprintf(
					"{{%s}} is neither an outputVariable of this automation's ai_agent nodes nor one of %s.", name, strings.Join(AutomationVariables, ", ")))
			}
		}
	}
	return v.Err()
}

// cycle returns a node on a cycle of next links.
func (in *AutomationInput) cycle(ids map[string]int) (int, bool) {
	done := make([]bool, len(in.Nodes))
	for start := range in.Nodes {
		onPath := map[int]bool{}
		for i := start; !done[i]; {
			if onPath[i] {
				return i, true
			}
			onPath[i] = true
			next, ok := ids[in.Nodes[i].Next]
			if in.Nodes[i].Next == "" || !ok {
				break
			}
			i = next
		}
		for i := range onPath {
			done[i] = true
		}
	}
	return 0, false
}

// validate normalises and checks one node's own fields; f names them.
func (n *NodeInput) validate(v *Validator, f func(string) string) {
	n.Type = strings.ToLower(strings.TrimSpace(n.Type))
	n.Name = strings.TrimSpace(n.Name)
	n.Next = strings.TrimSpace(n.Next)
	def, known := defaultNodeNames[n.Type]
	switch {
	case n.Type == "":
		v.Required("", f("type"))
	case !known:
		v.Check(false, f("type"), fmt.Sprintf("type %q is not a node type: trigger, ai_agent or send_message.", n.Type))
	}
	if n.Name == "" {
		n.Name = def
	}
	v.Check(utf8.RuneCountInString(n.Name) <= MaxNodeNameLength, f("name"), "A node's name must be at most 100 characters long.")
	if n.Position != nil {
		v.Check(finite(n.Position.X) && finite(n.Position.Y), f("position"), "position must have finite x and y.")
	}

	// A field of another type's node is refused rather than dropped, so a
	// client that put it on the wrong node learns so.
	only := func(set bool, name, typ string) {
		v.Check(!set, f(name), fmt.Sprintf("%s is only for %s nodes.", name, typ))
	}
	if n.Type != NodeAIAgent {
		only(n.Prompt != "", "prompt", NodeAIAgent)
		only(n.Model != "", "model", NodeAIAgent)
		only(n.Temperature != nil, "temperature", NodeAIAgent)
		only(n.MaxTokens != nil, "maxTokens", NodeAIAgent)
		only(n.Memory != nil, "memory", NodeAIAgent)
		only(n.OutputVariable != "", "outputVariable", NodeAIAgent)
		only(n.APIKey != nil && *n.APIKey != "", "apiKey", NodeAIAgent)
	}
	if n.Type != NodeSendMessage {
		only(n.Text != "", "text", NodeSendMessage)
	}
	switch n.Type {
	case NodeAIAgent:
		n.Model = strings.TrimSpace(n.Model)
		n.OutputVariable = strings.TrimSpace(n.OutputVariable)
		v.Check(utf8.RuneCountInString(n.Prompt) <= MaxNodePromptLength, f("prompt"),
			fmt.Sprintf("prompt must be at most %d characters long.", MaxNodePromptLength))
		v.Check(utf8.RuneCountInString(n.Model) <= MaxNodeModelLength, f("model"), "model must be at most 100 characters long.")
		if n.Temperature != nil {
			v.Check(*n.Temperature >= 0 && *n.Temperature <= MaxNodeTemperature, f("temperature"), "temperature must be between 0 and 2.")
		}
		if n.MaxTokens != nil {
			v.Check(*n.MaxTokens >= 1 && *n.MaxTokens <= MaxNodeMaxTokens, f("maxTokens"), "maxTokens must be between 1 and 128000.")
		}
		if n.Memory == nil {
			n.Memory = new(int)
			*n.Memory = DefaultNodeMemory
		}
		v.Check(*n.Memory >= 0 && *n.Memory <= MaxNodeMemory, f("memory"), "memory must be between 0 and 50 turns.")
		v.Check(n.OutputVariable == "" || identifierPattern.MatchString(n.OutputVariable) && len(n.OutputVariable) <= MaxOutputVariableLen,
			f("outputVariable"), "outputVariable must be an identifier: a letter or '_', then letters, digits or '_' (at most 64).")
		if n.APIKey != nil {
			*n.APIKey = strings.TrimSpace(*n.APIKey)
			v.Check(len(*n.APIKey) <= MaxNodeAPIKeyLength, f("apiKey"), "apiKey must be at most 500 characters long.")
		}
	case NodeSendMessage:
		v.Check(strings.TrimSpace(n.Text) != "", f("text"), f("text")+" is required.")
		v.Check(utf8.RuneCountInString(n.Text) <= MaxNodeTextLength, f("text"), "text must be at most 4096 characters long.")
	}
}

// ValidateNodePrompt checks a prompt given alone (Update Agente IA
// Prompt): not blank, at most MaxNodePromptLength characters.
func ValidateNodePrompt(prompt string) error {
	var v Validator
	v.Check(strings.TrimSpace(prompt) != "", "prompt", "prompt is required (it is empty).")
	v.Check(utf8.RuneCountInString(prompt) <= MaxNodePromptLength, "prompt",
		fmt.Sprintf("prompt must be at most %d characters long; it has %d.", MaxNodePromptLength, utf8.RuneCountInString(prompt)))
	return v.Err()
}

func finite(f float64) bool { return f-f == 0 }

// TextVariables lists the names of the {{variables}} in text, trimmed, in
// order, each once.
func TextVariables(text string) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		name := strings.TrimSpace(m[1])
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// RenderText fills in the {{variables}} of a send_message node's text
// from vars; a variable vars lacks becomes "".
func RenderText(text string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		return vars[strings.TrimSpace(m[2:len(m)-2])]
	})
}

// NewNodeID returns a node id in Plazbot's format: "node-", ten digits,
// "-", ten digits.
func NewNodeID() string {
	return "node-" + randomDigits(10) + "-" + randomDigits(10)
}

func randomDigits(n int) string {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	x, err := rand.Int(rand.Reader, max)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%0*d", n, x)
}

// AutomationService manages the caller's workspace's automations. Every
// member may read them; owners and admins create, change and delete them
// (else EFORBIDDEN). Another workspace's automation or node is ENOTFOUND.
// At most one enabled automation of a workspace has a given trigger
// (channel and MatchKey): another is ECONFLICT naming "trigger", with
// Data {"field": "trigger", "id": <the enabled one's id>}. A node id
// already used by another automation of the workspace is ECONFLICT naming
// the node.
type AutomationService interface {
	// FindAutomations lists the automations, sorted by name.
	FindAutomations(ctx context.Context) ([]Automation, error)
	FindAutomationByID(ctx context.Context, id string) (*Automation, error)
	CreateAutomation(ctx context.Context, in AutomationInput) (*Automation, error)
	// UpdateAutomation changes what upd sets; EINVALID when it sets
	// nothing.
	UpdateAutomation(ctx context.Context, id string, upd AutomationUpdate) (*Automation, error)
	DeleteAutomation(ctx context.Context, id string) error
	// FindAutomationNode returns a node of the workspace by its id alone.
	FindAutomationNode(ctx context.Context, nodeID string) (*AutomationNode, error)
	// UpdateNodePrompt replaces the prompt of the ai_agent node nodeID;
	// EINVALID naming "prompt" when it is empty or too long, naming
	// "nodeId" when the node is not an ai_agent node (AcceptsPrompt).
	UpdateNodePrompt(ctx context.Context, nodeID, prompt string) (*AutomationNode, error)
}

// AutomationStore is what the runtime reads: it runs with no caller.
type AutomationStore interface {
	// AutomationForTrigger returns the enabled automation of the workspace
	// a message on channel (and, for WhatsApp, the display number key)
	// starts: the one on that number, else the one on any number. Its
	// ai_agent nodes' APIKey are opened. ENOTFOUND when there is none.
	AutomationForTrigger(ctx context.Context, workspaceID, channel, key string) (*Automation, error)
}
