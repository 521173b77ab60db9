package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/llm"
)

// The tools a turn offers the LLM: each enabled AgentAction and
// AgentServiceCall of the configuration as one function named by its
// intent, and the CRM tools the configuration lists (crmTools). The LLM
// may call anything; what is not offered is refused and told so.

type toolKind int

const (
	kindAction toolKind = iota
	kindService
	kindCRM
)

type tool struct {
	name    string
	kind    toolKind
	action  *plaza.AgentAction
	service *plaza.AgentServiceCall
	def     llm.Tool
}

type toolbox struct {
	r   *Runtime
	in  *TurnInput
	res *TurnResult
	// byName holds the offered tools, order their order.
	byName map[string]*tool
	order  []*tool
	// disabled names the configured tools that are switched off.
	disabled map[string]bool
}

// toolName turns an intent into a function name OpenAI accepts
// (^[a-zA-Z0-9_-]{1,64}$).
var badToolChars = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

func toolName(intent string) string {
	s := strings.Trim(badToolChars.ReplaceAllString(strings.TrimSpace(intent), "_"), "_")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func newToolbox(r *Runtime, in *TurnInput, res *TurnResult) *toolbox {
	t := &toolbox{r: r, in: in, res: res, byName: map[string]*tool{}, disabled: map[string]bool{}}
	add := func(tl *tool, enabled bool) {
		if tl.name == "" {
			return
		}
		if !enabled {
			if t.byName[tl.name] == nil {
				t.disabled[tl.name] = true
			}
			return
		}
		if t.byName[tl.name] != nil {
			r.logger().Warn("agent: two tools share a name; the first is kept", "agent", in.AgentID, "tool", tl.name)
			return
		}
		delete(t.disabled, tl.name)
		t.byName[tl.name] = tl
		t.order = append(t.order, tl)
	}
	for i := range in.Agent.Actions {
		a := &in.Agent.Actions[i]
		name := toolName(a.Intent)
		add(&tool{name: name, kind: kindAction, action: a, def: llm.Tool{Type: "function", Function: llm.Function{
			Name: name, Description: describe(a.Reference, a.Tags), Parameters: actionParameters(a)}}}, a.Enabled)
	}
	for i := range in.Agent.Services {
		s := &in.Agent.Services[i]
		name := toolName(s.Intent)
		add(&tool{name: name, kind: kindService, service: s, def: llm.Tool{Type: "function", Function: llm.Function{
			Name: name, Description: describe(s.Reference, s.Tags), Parameters: serviceParameters(*s)}}}, s.Enabled)
	}
	for _, name := range in.Agent.CRMTools {
		if def, ok := crmTools[name]; ok {
			add(&tool{name: name, kind: kindCRM, def: llm.Tool{Type: "function", Function: def}}, true)
		} else {
			r.logger().Warn("agent: unknown CRM tool in the configuration", "agent", in.AgentID, "tool", name)
		}
	}
	return t
}

func describe(ref string, tags []string) string {
	ref = strings.TrimSpace(ref)
	if len(tags) > 0 {
		ref = strings.TrimSpace(ref + " (about: " + strings.Join(tags, ", ") + ")")
	}
	return ref
}

func (t *toolbox) tools() []llm.Tool {
	out := make([]llm.Tool, len(t.order))
	for i, tl := range t.order {
		out[i] = tl.def
	}
	return out
}

func (t *toolbox) offered() []string {
	out := make([]string, len(t.order))
	for i, tl := range t.order {
		out[i] = tl.name
	}
	return out
}

// run executes one tool call and returns what the LLM is told. It never
// fails: errors are results. Each call, refused ones included, is kept in
// the turn's result and recorded on the contact's history.
func (t *toolbox) run(ctx context.Context, call llm.ToolCall) string {
	rec := ToolCallRecord{ID: call.ID, Name: call.Function.Name, Arguments: call.Function.Arguments}
	var summary string
	tl := t.byName[call.Function.Name]
	switch {
	case tl == nil && t.disabled[call.Function.Name]:
		rec.Refused, rec.Result = true, toolError(fmt.Sprintf("The tool %q is disabled for this agent; do not call it.", call.Function.Name))
		summary = "refused: disabled"
	case tl == nil:
		rec.Refused, rec.Result = true, toolError(fmt.Sprintf("The tool %q is not allowed for this agent; use only the tools offered.", call.Function.Name))
		summary = "refused: not allowed"
	default:
		args, err := parseArgs(call.Function.Arguments)
		if err != nil {
			rec.Failed, rec.Result = true, toolError(err.Error())
			summary = "failed: " + err.Error()
			break
		}
		var out any
		switch tl.kind {
		case kindAction:
			out, err = t.runAction(ctx, tl.action, args)
		case kindService:
			o := t.r.callService(ctx, *tl.service, args, t.in)
			out = o
			if !o.OK {
				err = toolErr(o.Error)
			}
		case kindCRM:
			out, err = t.runCRM(ctx, tl.name, args)
		}
		if err != nil {
			rec.Failed = true
			msg := t.errText(tl.name, err)
			summary = "failed: " + msg
			if out == nil {
				out = map[string]any{"ok": false, "error": msg}
			}
		} else {
			summary = "done"
		}
		b, _ := json.Marshal(out)
		rec.Result = string(b)
		if !rec.Failed {
			summary += ": " + clip(rec.Result, 500)
		}
	}
	t.res.ToolCalls = append(t.res.ToolCalls, rec)
	t.record(ctx, rec, summary)
	return rec.Result
}

// record writes the call on the contact's history, attributed to the
// agent (the context's principal). Without a contact there is no history
// to write on; the call is logged.
func (t *toolbox) record(ctx context.Context, rec ToolCallRecord, summary string) {
	content := fmt.Sprintf("AI agent tool %s(%s): %s", rec.Name, clip(rec.Arguments, 1000), summary)
	if t.in.ContactID == "" {
		t.r.logger().Info("agent: tool call", "agent", t.in.AgentID, "tool", rec.Name, "refused", rec.Refused, "failed", rec.Failed)
		return
	}
	if _, err := t.r.Contacts.AddContactActivity(ctx, t.in.ContactID, content, ActivityCategory); err != nil {
		t.r.logger().Error("agent: tool call not recorded", "agent", t.in.AgentID, "tool", rec.Name, "err", err)
	}
}

// errText is the text of a tool's error for the LLM and the history: a
// plaza.Error's message, the text of the errors tools make themselves
// (actions, services); anything else is logged and told as an internal
// error.
func (t *toolbox) errText(tool string, err error) string {
	if isPlazaError(err) {
		return errMessage(err)
	}
	var te toolErr
	if errors.As(err, &te) {
		return string(te)
	}
	t.r.logger().Error("agent: tool failed", "agent", t.in.AgentID, "tool", tool, "err", err)
	return "internal error"
}

// toolErr is an error a tool words for the LLM.
type toolErr string

func (e toolErr) Error() string { return string(e) }

// ActivityCategory is the category of the activities recording an agent's
// tool calls.
const ActivityCategory = "AgentTool"

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// parseArgs decodes the LLM's arguments: a JSON object ("" is none).
// Numbers are kept as written, so they reach services unchanged.
func parseArgs(s string) (map[string]any, error) {
	args := map[string]any{}
	if strings.TrimSpace(s) == "" {
		return args, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&args); err != nil {
		return nil, fmt.Errorf("the arguments are not a JSON object: %v", err)
	}
	return args, nil
}

// str returns args[key] as trimmed text ("" when absent).
func str(args map[string]any, key string) string {
	v, ok := args[key]
	if !ok || v == nil {
		return ""
	}
	return strings.TrimSpace(textOf(v))
}

// schema builds a function's parameters: properties of type string unless
// given as a map, and the required ones.
func schema(props map[string]any, required ...string) json.RawMessage {
	p := map[string]any{}
	for k, v := range props {
		if d, ok := v.(string); ok {
			p[k] = map[string]any{"type": "string", "description": d}
		} else {
			p[k] = v
		}
	}
	if required == nil {
		required = []string{}
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": p, "required": required})
	return b
}

// hasStep reports whether the action has a step of one of the types.
func hasStep(a *plaza.AgentAction, types ...string) bool {
	return slices.ContainsFunc(a.Action, func(s plaza.AgentActionStep) bool { return slices.Contains(types, s.Type) })
}
