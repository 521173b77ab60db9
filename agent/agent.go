// Package agent runs Plaza's AI agents: from an agent's configuration
// (plaza.AgentConfig, as Plazbot's SDK writes it) and a customer's new
// messages, one Turn builds the context (prompt, instructions, persona,
// rules, knowledge passages, the last turns), asks the LLM, runs the tools
// it calls (Plazbot's actions and services, Plaza's CRM tools) and returns
// the reply. Without an LLM it answers from the agent's knowledge and
// fallbacks, and asks for a human when nothing matches.
//
// A Turn acts on the CRM as the agent (plaza.AgentPrincipal): every tool
// call is recorded as an activity of the contact attributed to the agent.
// It holds no state of its own, so a queue job can run it; its side
// effects are the tools', so a job must not run the same burst twice.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/messaging"
)

// The services a Turn consumes: narrow views of the root services (the
// sqldb implementations satisfy them), each acting in the workspace of the
// context's principal.

// Contacts is what the agent reads and changes of contacts.
type Contacts interface {
	FindContactByID(ctx context.Context, id string) (*plaza.Contact, error)
	UpdateContact(ctx context.Context, id string, upd plaza.ContactUpdate) (*plaza.Contact, error)
	AddContactActivity(ctx context.Context, contactID, content, categoryType string) (*plaza.ContactActivity, error)
}

// Opportunities is what the agent does with opportunities.
type Opportunities interface {
	CreateOpportunity(ctx context.Context, in plaza.OpportunityCreate) (*plaza.Opportunity, error)
	FindOpportunityByID(ctx context.Context, id string) (*plaza.Opportunity, error)
	FindOpportunities(ctx context.Context, f plaza.OpportunityFilter) ([]plaza.Opportunity, bool, error)
	UpdateOpportunity(ctx context.Context, id string, upd plaza.OpportunityUpdate) (*plaza.Opportunity, error)
}

// Tasks is what the agent does with tasks (and calendar events, which
// Plaza keeps as dated tasks of the contact).
type Tasks interface {
	CreateTask(ctx context.Context, in plaza.TaskCreate) (*plaza.Task, error)
	FindTaskByID(ctx context.Context, id string) (*plaza.Task, error)
	FindTasks(ctx context.Context, f plaza.TaskFilter) ([]plaza.Task, bool, error)
	UpdateTask(ctx context.Context, id string, upd plaza.TaskUpdate) (*plaza.Task, error)
	DeleteTask(ctx context.Context, id string) error
}

// Masters resolves tags and segmentations named in actions.
type Masters interface {
	FindTags(ctx context.Context) ([]plaza.Tag, error)
	CreateTag(ctx context.Context, in plaza.MasterCreate) (*plaza.Tag, error)
	FindSegmentations(ctx context.Context) ([]plaza.Segmentation, error)
}

// Pipelines resolves stages named in actions and tools.
type Pipelines interface {
	FindPipelines(ctx context.Context) ([]plaza.PipelineStages, error)
}

// Passage is a piece of an agent's knowledge found for a question.
type Passage = plaza.Passage

// Knowledge finds the passages of an agent's knowledge files that answer a
// question, best first; any user text is a valid query (plaza.AgentStore).
type Knowledge interface {
	SearchKnowledge(ctx context.Context, workspaceID, agentID, query string, limit int) ([]plaza.Passage, error)
}

// Handoffs records that a conversation's bot asks for a human.
type Handoffs interface {
	RequestHandoff(ctx context.Context, conversationID, reason string) (*plaza.Handoff, error)
}

// Completer is a chat-completions endpoint (*llm.Client).
type Completer interface {
	Configured() bool
	Complete(ctx context.Context, req llm.Request) (*llm.Response, error)
}

// WorkspaceLLMs finds workspaces' own LLM endpoints.
type WorkspaceLLMs interface {
	WorkspaceLLM(ctx context.Context, workspaceID string) (plaza.LLMEndpoint, bool, error)
}

// Runtime runs turns. Contacts, Opportunities, Tasks, Masters and
// Pipelines are required; Knowledge and Handoffs may be nil (no knowledge;
// handoffs only reported in the result).
type Runtime struct {
	// LLM answers; nil or not configured, the agent answers from its
	// knowledge and fallbacks.
	LLM Completer
	// Model overrides the LLM's default model ("" keeps it).
	Model string
	// WorkspaceLLMs finds a workspace's own LLM, which its agents use
	// instead of LLM; nil when workspaces cannot have one. A workspace's
	// endpoint is user-given: it is called through Guard.
	WorkspaceLLMs WorkspaceLLMs

	Contacts      Contacts
	Opportunities Opportunities
	Tasks         Tasks
	Masters       Masters
	Pipelines     Pipelines
	Knowledge     Knowledge
	Handoffs      Handoffs

	// Guard checks the URLs of services: private addresses are refused
	// unless allow-listed (nil refuses them all). HTTP, when set, is the
	// client services are called with; nil means Guard.HTTPClient().
	Guard *messaging.FetchGuard
	HTTP  *http.Client

	// MaxRounds bounds the LLM calls of a turn (default 5): the last one
	// may call no tool.
	MaxRounds int
	// Passages is how many knowledge passages go into the context
	// (default 3).
	Passages int
	Now      func() time.Time
	Logger   *slog.Logger

	guardOnce   sync.Once
	guardClient *http.Client
}

// TurnInput is one turn: the customer's new messages to an agent.
type TurnInput struct {
	WorkspaceID string
	AgentID     string
	Agent       plaza.AgentConfig
	// ContactID is the customer ("" when there is none, e.g. an API
	// session): tools that act on a contact are then refused.
	ContactID string
	// ConversationID is the conversation the turn answers ("" for an API
	// session): a handoff is recorded on it.
	ConversationID string
	// Messages are the customer's new messages (a burst is one turn).
	Messages []string
	// History is the conversation before them, oldest first; the last
	// Agent.Buffer exchanges go into the context.
	History []HistoryMessage
	// Variables are values services' headers may name ({{apiKey}}).
	Variables map[string]string
	// Attachment is the text of a document the customer sent with the
	// messages; the LLM reads it after them (knowledge search does not).
	Attachment string
	// LLM, when set, answers this turn instead of the workspace's or the
	// server's (an automation node with its own API key). Model, when
	// set, is the model asked for; Temperature and MaxTokens the
	// completion's settings (nil and 0: the endpoint's defaults).
	LLM         Completer
	Model       string
	Temperature *float64
	MaxTokens   int
}

// HistoryMessage is an earlier message: Role is "user" (the customer) or
// "assistant" (the agent or a human answering).
type HistoryMessage struct {
	Role string `json:"role"`
	Text string `json:"text"`
}

// Where a turn's reply came from.
const (
	SourceLLM       = "llm"
	SourceHours     = "outside_hours"
	SourceKnowledge = "knowledge"
	SourceFallback  = "fallback"
)

// TurnResult is what a turn did.
type TurnResult struct {
	Reply     string
	Source    string
	ToolCalls []ToolCallRecord
	// Handoff is set when the agent asks for a human, with the reason.
	Handoff       bool
	HandoffReason string
	// Passages is how many knowledge passages the context held.
	Passages int
	// LLMCalls counts the completions asked for; LLMTime is the time spent
	// waiting for them.
	LLMCalls int
	LLMTime  time.Duration `json:"-"`
	// LLMError is the LLM's failure that made the reply a fallback, when
	// one did.
	LLMError error `json:"-"`
}

// ToolCallRecord is one tool call of a turn and its outcome.
type ToolCallRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	// Result is what the LLM was told (JSON).
	Result string `json:"result"`
	// Refused is set when the agent may not use the tool; Failed when
	// using it failed.
	Refused bool `json:"refused,omitempty"`
	Failed  bool `json:"failed,omitempty"`
}

// Handoff reasons Plaza gives.
const (
	HandoffNoAnswer = "no_answer"       // no LLM, and nothing in the knowledge
	HandoffShutDown = "agent_shut_down" // the agent ran action.agentShutDown
)

// ErrNoMessages is returned for a turn without messages.
var ErrNoMessages = plaza.Invalid(plaza.FieldError{Field: "question", Message: "question is required."})

// Turn answers the input's messages. It fails (and changed nothing) when
// the input is bad or the LLM fails before any tool ran: such a turn may
// be retried. Once a tool has run, an LLM failure is answered with the
// agent's serviceError fallback instead (LLMError says why), so a retry
// never repeats a tool's effect.
func (r *Runtime) Turn(ctx context.Context, in TurnInput) (*TurnResult, error) {
	if in.WorkspaceID == "" || in.AgentID == "" {
		return nil, fmt.Errorf("agent: turn without workspace or agent")
	}
	var msgs []string
	for _, m := range in.Messages {
		if m = strings.TrimSpace(m); m != "" {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return nil, ErrNoMessages
	}
	in.Messages = msgs
	ctx = plaza.NewContextWithPrincipal(ctx, plaza.AgentPrincipal(in.WorkspaceID, in.AgentID))
	res := &TurnResult{}

	if rules := in.Agent.Rules; rules != nil && rules.DoNotRespondOutsideHours != "" && len(rules.Hours) > 0 {
		open, err := withinHours(r.now(), in.Agent.Timezone, rules.Hours)
		if err != nil {
			r.logger().Warn("agent: hours not checked", "agent", in.AgentID, "err", err)
		} else if !open {
			res.Reply, res.Source = rules.DoNotRespondOutsideHours, SourceHours
			return res, nil
		}
	}

	question := strings.Join(in.Messages, "\n")
	passages, err := r.search(ctx, in, question)
	if err != nil {
		return nil, err
	}
	res.Passages = len(passages)

	completer, model, err := r.completer(ctx, in.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if in.LLM != nil {
		completer = in.LLM
	}
	if in.Model != "" {
		model = in.Model
	}
	if completer == nil || !completer.Configured() {
		r.answerFromKnowledge(ctx, in, passages, res)
		return res, nil
	}

	t := newToolbox(r, &in, res)
	messages := append([]llm.Message{llm.System(systemPrompt(in.Agent, passages, len(in.History) == 0, t.offered()))},
		historyMessages(in.Agent.Buffer, in.History)...)
	for i, m := range in.Messages {
		if i == len(in.Messages)-1 && in.Attachment != "" {
			m += "\n\n[Attached document]\n" + in.Attachment
		}
		messages = append(messages, llm.User(m))
	}
	rounds := r.MaxRounds
	if rounds <= 0 {
		rounds = 5
	}
	tools := t.tools()
	var reply string
	for round := 1; ; round++ {
		req := llm.Request{Model: model, Messages: messages, Temperature: in.Temperature, MaxTokens: in.MaxTokens}
		if len(tools) > 0 {
			req.Tools = tools
			req.ToolChoice = "auto"
			if round == rounds {
				req.ToolChoice = "none"
			}
		}
		res.LLMCalls++
		asked := time.Now()
		completion, err := completer.Complete(ctx, req)
		res.LLMTime += time.Since(asked)
		if err != nil {
			if len(res.ToolCalls) == 0 {
				return nil, fmt.Errorf("agent: %w", err)
			}
			r.logger().Error("agent: LLM failed after tool calls", "agent", in.AgentID, "err", err)
			res.LLMError = err
			res.Reply, res.Source = fallback(in.Agent, func(f *plaza.AgentFallbacks) string { return f.ServiceError }), SourceFallback
			return res, nil
		}
		msg := completion.Message()
		if len(msg.ToolCalls) == 0 || round == rounds {
			reply = strings.TrimSpace(msg.Text())
			break
		}
		messages = append(messages, llm.Message{Role: llm.RoleAssistant, Content: msg.Content, ToolCalls: msg.ToolCalls})
		for _, call := range msg.ToolCalls {
			messages = append(messages, llm.ToolResult(call.ID, t.run(ctx, call)))
		}
	}
	res.Source = SourceLLM
	switch {
	case in.Agent.Instructions != nil && in.Agent.Instructions.RespondOnlyIfKnows && len(passages) == 0 && len(res.ToolCalls) == 0:
		// Nothing known and no tool asked: the agent does not answer from
		// the model's own knowledge.
		reply, res.Source = fallback(in.Agent, func(f *plaza.AgentFallbacks) string { return f.NoAnswer }), SourceFallback
	case reply == "":
		reply, res.Source = fallback(in.Agent, func(f *plaza.AgentFallbacks) string { return f.DoNotUnderstand }), SourceFallback
	}
	if in.Agent.Instructions != nil {
		reply = trimWords(reply, in.Agent.Instructions.MaxWords)
	}
	res.Reply = reply
	return res, nil
}

// completer is the LLM of the workspace: its own when it has one, else
// the server's (nil when there is none), and the model to ask for ("" for
// the client's default).
func (r *Runtime) completer(ctx context.Context, workspaceID string) (Completer, string, error) {
	if r.WorkspaceLLMs != nil {
		e, found, err := r.WorkspaceLLMs.WorkspaceLLM(ctx, workspaceID)
		if err != nil {
			return nil, "", fmt.Errorf("agent: the workspace's LLM: %w", err)
		}
		if found {
			u, err := url.Parse(e.BaseURL)
			if err != nil {
				return nil, "", fmt.Errorf("agent: the workspace's LLM URL: %w", err)
			}
			if err := r.Guard.CheckURL(u); err != nil {
				return nil, "", fmt.Errorf("agent: the workspace's LLM is refused: %w", err)
			}
			return &llm.Client{BaseURL: e.BaseURL, APIKey: e.APIKey, Model: e.Model, HTTP: r.guardedHTTP()}, "", nil
		}
	}
	if r.LLM == nil {
		return nil, "", nil
	}
	return r.LLM, r.Model, nil
}

// guardedHTTP is the client for workspaces' LLM endpoints: the guard's
// dialer, without its 10-second limits (a completion takes longer; the
// llm client bounds each attempt).
func (r *Runtime) guardedHTTP() *http.Client {
	r.guardOnce.Do(func() {
		c := r.Guard.HTTPClient()
		if tr, ok := c.Transport.(*http.Transport); ok {
			tr = tr.Clone()
			tr.ResponseHeaderTimeout = 0
			c.Transport = tr
		}
		c.Timeout = 0
		r.guardClient = c
	})
	return r.guardClient
}

// search finds the passages for the question; a failing search is an
// error (retryable), no knowledge is none.
func (r *Runtime) search(ctx context.Context, in TurnInput, question string) ([]Passage, error) {
	if r.Knowledge == nil {
		return nil, nil
	}
	n := r.Passages
	if n <= 0 {
		n = 3
	}
	ps, err := r.Knowledge.SearchKnowledge(ctx, in.WorkspaceID, in.AgentID, question, n)
	if err != nil {
		return nil, fmt.Errorf("agent: search knowledge: %w", err)
	}
	return ps, nil
}

// answerFromKnowledge answers without an LLM: the best passage, trimmed
// to maxWords (80 when unset); with none, the noAnswer fallback and a
// request for a human.
func (r *Runtime) answerFromKnowledge(ctx context.Context, in TurnInput, passages []Passage, res *TurnResult) {
	if len(passages) > 0 {
		limit := 80
		if in.Agent.Instructions != nil && in.Agent.Instructions.MaxWords > 0 {
			limit = in.Agent.Instructions.MaxWords
		}
		res.Reply, res.Source = trimWords(strings.Join(strings.Fields(passages[0].Text), " "), limit), SourceKnowledge
		return
	}
	res.Reply, res.Source = fallback(in.Agent, func(f *plaza.AgentFallbacks) string { return f.NoAnswer }), SourceFallback
	r.requestHandoff(ctx, &in, res, HandoffNoAnswer)
}

// requestHandoff marks the turn as asking for a human and records it on
// the conversation, when there is one.
func (r *Runtime) requestHandoff(ctx context.Context, in *TurnInput, res *TurnResult, reason string) error {
	res.Handoff, res.HandoffReason = true, reason
	if r.Handoffs == nil || in.ConversationID == "" {
		return nil
	}
	if _, err := r.Handoffs.RequestHandoff(ctx, in.ConversationID, reason); err != nil {
		r.logger().Error("agent: handoff not recorded", "conversation", in.ConversationID, "err", err)
		return err
	}
	return nil
}

// Default fallbacks, for an agent that configured none.
var defaultFallbacks = plaza.AgentFallbacks{
	NoAnswer:        "Sorry, I don't have information on that topic. A person from our team will help you.",
	ServiceError:    "There was a problem processing your request. Please try again later.",
	DoNotUnderstand: "Could you please say it another way?",
}

func fallback(a plaza.AgentConfig, pick func(*plaza.AgentFallbacks) string) string {
	if a.Fallbacks != nil {
		if s := strings.TrimSpace(pick(a.Fallbacks)); s != "" {
			return s
		}
	}
	return pick(&defaultFallbacks)
}

func (r *Runtime) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runtime) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// toolError is a tool's failure told to the LLM.
func toolError(msg string) string {
	b, _ := json.Marshal(map[string]any{"ok": false, "error": msg})
	return string(b)
}

// errMessage is the text of err safe to tell the LLM: a plaza.Error's
// message, else a generic one.
func errMessage(err error) string {
	var e *plaza.Error
	if errors.As(err, &e) {
		msg := e.Message
		for _, f := range e.Fields {
			if f.Message != msg {
				msg += " " + f.Message
			}
		}
		return msg
	}
	return "internal error"
}
