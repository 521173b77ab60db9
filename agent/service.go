package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/plaza-crm/plaza"
)

// An agent's services are external HTTP APIs it calls as tools (Plazbot's
// "services"): the LLM fills the requiredFields, Plaza builds the request
// from endpoint, headers and bodyTemplate, and reads the answer with
// responseMapping and responseConditions.

// maxServiceResponse bounds the body read from a service.
const maxServiceResponse = 1 << 20

// fieldSchema is the JSON schema of one required field, by its type.
func fieldSchema(f plaza.AgentServiceField) map[string]any {
	desc := strings.TrimSpace(f.Description)
	if f.PromptHint != "" {
		if desc != "" {
			desc += " "
		}
		desc += "Ask: " + f.PromptHint
	}
	s := map[string]any{}
	switch strings.ToLower(f.Type) {
	case "email":
		s["type"], s["format"] = "string", "email"
	case "phone":
		s["type"] = "string"
		desc = strings.TrimSpace(desc + " Phone number in international format, e.g. +51987654321.")
	case "date":
		s["type"], s["format"] = "string", "date"
		desc = strings.TrimSpace(desc + " Date as YYYY-MM-DD.")
	case "datetime":
		s["type"], s["format"] = "string", "date-time"
		desc = strings.TrimSpace(desc + " Date and time as YYYY-MM-DD HH:MM.")
	case "number":
		s["type"] = "number"
	case "integer":
		s["type"] = "integer"
	case "boolean":
		s["type"] = "boolean"
	case "array":
		s["type"], s["items"] = "array", map[string]any{"type": "string"}
	case "arrayobject":
		props := map[string]any{}
		var req []string
		for _, p := range f.Properties {
			props[p.Name] = fieldSchema(p)
			req = append(req, p.Name)
		}
		item := map[string]any{"type": "object", "properties": props}
		if len(req) > 0 {
			item["required"] = req
		}
		s["type"], s["items"] = "array", item
	default:
		s["type"] = "string"
	}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// serviceParameters is the JSON schema of a service's arguments.
func serviceParameters(svc plaza.AgentServiceCall) json.RawMessage {
	props := map[string]any{}
	req := []string{}
	for _, f := range svc.RequiredFields {
		if f.Name == "" {
			continue
		}
		props[f.Name] = fieldSchema(f)
		req = append(req, f.Name)
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": req})
	return b
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// interpolate replaces each {{name}} in s by vars[name] as text (strings
// as they are, other values as compact JSON); a name vars lacks becomes "".
func interpolate(s string, vars map[string]any) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		return textOf(vars[placeholder.FindStringSubmatch(m)[1]])
	})
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fillTemplate walks a bodyTemplate: a string that is exactly one
// placeholder takes the value itself (so arrays, objects, numbers and
// booleans go in as JSON, not as text); any other string is interpolated.
func fillTemplate(t any, vars map[string]any) any {
	switch x := t.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(x); m != nil && m[0] == strings.TrimSpace(x) {
			if v, ok := vars[m[1]]; ok {
				return v
			}
			return ""
		}
		return interpolate(x, vars)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = fillTemplate(v, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = fillTemplate(v, vars)
		}
		return out
	}
	return t
}

// serviceOutcome is what a service call tells the LLM.
type serviceOutcome struct {
	OK     bool           `json:"ok"`
	Status int            `json:"status,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
	// Message is the answer for the customer: the first matching
	// condition's message, else responseMessage, filled with the mapped
	// values; the agent's serviceError fallback when the call failed.
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// callService performs one service call with the LLM's arguments. Only a
// refused or failed call is reported with OK false; the error is for the
// LLM (and the activity), never a Go error, so the turn goes on.
func (r *Runtime) callService(ctx context.Context, svc plaza.AgentServiceCall, args map[string]any, in *TurnInput) serviceOutcome {
	fail := func(format string, a ...any) serviceOutcome {
		o := serviceOutcome{Error: fmt.Sprintf(format, a...)}
		if in.Agent.Fallbacks != nil {
			o.Message = in.Agent.Fallbacks.ServiceError
		}
		return o
	}
	for _, f := range svc.RequiredFields {
		if v, ok := args[f.Name]; f.Name != "" && (!ok || v == nil || v == "") {
			return fail("missing required field %q: ask the customer for it first", f.Name)
		}
	}
	method := strings.ToUpper(strings.TrimSpace(svc.Method))
	if method == "" {
		method = http.MethodGet
	}
	raw := strings.TrimSpace(placeholder.ReplaceAllStringFunc(svc.Endpoint, func(m string) string {
		return url.PathEscape(textOf(args[placeholder.FindStringSubmatch(m)[1]]))
	}))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("the service's endpoint %q is not an http(s) URL", svc.Endpoint)
	}
	if err := r.Guard.CheckURL(u); err != nil {
		return fail("refused: %v", err)
	}
	var body io.Reader
	switch method {
	case http.MethodGet, http.MethodDelete:
		// The arguments the endpoint does not name go in the query.
		used := map[string]bool{}
		for _, m := range placeholder.FindAllStringSubmatch(svc.Endpoint, -1) {
			used[m[1]] = true
		}
		q := u.Query()
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !used[k] {
				q.Set(k, textOf(args[k]))
			}
		}
		u.RawQuery = q.Encode()
	default:
		var payload any = args
		if len(svc.BodyTemplate) > 0 && string(svc.BodyTemplate) != "null" {
			var tmpl any
			if err := json.Unmarshal(svc.BodyTemplate, &tmpl); err != nil {
				return fail("the service's bodyTemplate is not JSON: %v", err)
			}
			payload = fillTemplate(tmpl, args)
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return fail("encode body: %v", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fail("build request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Headers may name the workspace's variables ({{apiKey}}) as well as
	// the arguments.
	hvars := make(map[string]any, len(args)+len(in.Variables))
	for k, v := range in.Variables {
		hvars[k] = v
	}
	for k, v := range args {
		hvars[k] = v
	}
	for k, v := range svc.Headers {
		req.Header.Set(k, interpolate(v, hvars))
	}
	client := r.HTTP
	if client == nil {
		client = r.Guard.HTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail("call failed: %v", err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxServiceResponse+1))
	if err != nil {
		return fail("read response: %v", err)
	}
	if len(rb) > maxServiceResponse {
		return fail("the response is larger than %d bytes", maxServiceResponse)
	}
	var parsed any
	if len(bytes.TrimSpace(rb)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(rb))
		dec.UseNumber()
		if dec.Decode(&parsed) != nil {
			parsed = string(rb) // not JSON: the text itself
		}
	}
	if resp.StatusCode/100 != 2 {
		o := fail("the service answered HTTP %d", resp.StatusCode)
		o.Status = resp.StatusCode
		return o
	}
	out := serviceOutcome{OK: true, Status: resp.StatusCode, Data: map[string]any{}}
	if len(svc.ResponseMapping) == 0 {
		if parsed != nil {
			out.Data["response"] = parsed
		}
	}
	for name, path := range svc.ResponseMapping {
		v, found, err := lookupResponse(parsed, path)
		if err != nil {
			return fail("responseMapping %q: %v", name, err)
		}
		if found {
			out.Data[name] = v
		}
	}
	vars := make(map[string]any, len(args)+len(out.Data))
	for k, v := range args {
		vars[k] = v
	}
	for k, v := range out.Data {
		vars[k] = v
	}
	msg := svc.ResponseMessage
	for _, c := range svc.ResponseConditions {
		ok, err := evalCondition(parsed, c.Condition)
		if err != nil {
			return fail("%v", err)
		}
		if ok {
			msg = c.Message
			break
		}
	}
	out.Message = interpolate(msg, vars)
	return out
}
