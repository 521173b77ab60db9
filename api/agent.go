package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/plaza-crm/plaza"
)

// The agent API as Plazbot's SDK calls it. Its answers are the envelope,
// plus the top-level keys the SDK reads: agentId (add), script
// (enable-widget), agent (get-agents), fileId (add-file).

// agentEnvelope is the envelope with the SDK's top-level keys.
type agentEnvelope struct {
	envelope
	AgentID string               `json:"agentId,omitempty"`
	Script  string               `json:"script,omitempty"`
	FileID  string               `json:"fileId,omitempty"`
	Agent   *[]plaza.AgentRecord `json:"agent,omitempty"`
}

func okAgent(w http.ResponseWriter, message string, data any, extra agentEnvelope) error {
	extra.envelope = envelope{Success: true, Code: http.StatusOK, Message: message, Data: data}
	writeJSON(w, http.StatusOK, extra)
	return nil
}

// agentJSON is an agent as the API shows it: its document's keys with
// Plaza's (see plaza.AgentRecord), and, when given, its knowledge files
// and its channels' status after a save.
func agentJSON(a *plaza.AgentRecord, files []plaza.KnowledgeFile, channels []plaza.AgentChannelStatus) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if files != nil {
		if m["files"], err = json.Marshal(files); err != nil {
			return nil, err
		}
	}
	if channels != nil {
		if m["channelStatus"], err = json.Marshal(channels); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readAgentBody reads a JSON object body, keeping its raw keys.
func readAgentBody(r *http.Request) (map[string]json.RawMessage, []byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, bodyReadError(err)
	}
	var m map[string]json.RawMessage
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is required (a JSON object)."})
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, jsonError(err)
	}
	if m == nil {
		return nil, nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must be a JSON object, not null."})
	}
	return m, raw, nil
}

// bodyString returns a string key of a body, matched case-insensitively;
// EINVALID naming it when it is not a string.
func bodyString(m map[string]json.RawMessage, name string) (string, error) {
	for k, v := range m {
		if !strings.EqualFold(k, name) || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", plaza.Invalid(plaza.FieldError{Field: name, Message: name + " must be a string."})
		}
		return strings.TrimSpace(s), nil
	}
	return "", nil
}

// agentID is the agent a request names: in the x-agent-id header, ?id= or
// ?agentId=, or the body's id or agentId. Named more than once, the names
// must agree.
func agentID(r *http.Request, body map[string]json.RawMessage) (string, error) {
	sources := []struct{ where, id string }{
		{"x-agent-id", strings.TrimSpace(r.Header.Get("X-Agent-Id"))},
		{"query id", query(r, "id")},
		{"query agentId", query(r, "agentId")},
	}
	for _, key := range []string{"id", "agentId"} {
		id, err := bodyString(body, key)
		if err != nil {
			return "", err
		}
		sources = append(sources, struct{ where, id string }{"body " + key, id})
	}
	var id, from string
	for _, src := range sources {
		switch {
		case src.id == "":
		case id == "":
			id, from = src.id, src.where
		case src.id != id:
			return "", plaza.Invalid(plaza.FieldError{Field: "agentId",
				Message: fmt.Sprintf("The agent named by %s (%s) is not the one named by %s (%s).", src.where, src.id, from, id)})
		}
	}
	if id == "" {
		return "", plaza.Invalid(plaza.FieldError{Field: "agentId", Message: "agentId is required: name the agent (agentId, id, or the x-agent-id header)."})
	}
	return id, nil
}

func (s *Server) handleAgentAdd(w http.ResponseWriter, r *http.Request) error {
	_, raw, err := readAgentBody(r)
	if err != nil {
		return err
	}
	doc, err := plaza.ParseAgentDocument(raw)
	if err != nil {
		return err
	}
	saved, err := s.Agents.CreateAgent(r.Context(), doc)
	if err != nil {
		return err
	}
	data, err := agentJSON(saved.Agent, nil, saved.Channels)
	if err != nil {
		return err
	}
	return okAgent(w, "Agent created successfully.", data, agentEnvelope{AgentID: saved.Agent.ID})
}

// handleAgentUpdate sets the top-level keys the body sends (the SDK's
// updateAgent sends the keys it changes); the agent is named by the
// x-agent-id header (the SDK) or the body's id (its older versions).
func (s *Server) handleAgentUpdate(w http.ResponseWriter, r *http.Request) error {
	id, doc, err := readAgentChange(r)
	if err != nil {
		return err
	}
	if len(doc) == 0 {
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The body sets nothing: send the configuration keys to change."})
	}
	return s.saveAgent(w, r, id, plaza.AgentUpdate{Set: doc}, "Agent updated successfully.")
}

// readAgentChange reads the body of a call that changes an agent: the
// agent it names and the configuration keys it sends.
func readAgentChange(r *http.Request) (string, plaza.AgentDocument, error) {
	m, raw, err := readAgentBody(r)
	if err != nil {
		return "", nil, err
	}
	id, err := agentID(r, m)
	if err != nil {
		return "", nil, err
	}
	doc, err := plaza.ParseAgentDocument(raw)
	return id, doc, err
}

func (s *Server) saveAgent(w http.ResponseWriter, r *http.Request, id string, u plaza.AgentUpdate, message string) error {
	saved, err := s.Agents.UpdateAgent(r.Context(), id, u)
	if err != nil {
		return err
	}
	data, err := agentJSON(saved.Agent, nil, saved.Channels)
	if err != nil {
		return err
	}
	return okAgent(w, message, data, agentEnvelope{AgentID: saved.Agent.ID})
}

func (s *Server) handleAgentGet(w http.ResponseWriter, r *http.Request) error {
	id, err := agentID(r, nil)
	if err != nil {
		return err
	}
	a, err := s.Agents.GetAgent(r.Context(), id)
	if err != nil {
		return err
	}
	files, err := s.Knowledge.ListKnowledgeFiles(r.Context(), id)
	if err != nil {
		return err
	}
	data, err := agentJSON(a, files, nil)
	if err != nil {
		return err
	}
	return ok(w, "Agent obtained successfully.", data)
}

func (s *Server) handleAgentList(w http.ResponseWriter, r *http.Request) error {
	agents, err := s.Agents.ListAgents(r.Context())
	if err != nil {
		return err
	}
	return okAgent(w, "List obtained successfully.", agents, agentEnvelope{Agent: &agents})
}

func (s *Server) handleAgentDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := agentID(r, nil)
	if err != nil {
		return err
	}
	if err := s.Agents.DeleteAgent(r.Context(), id); err != nil {
		return err
	}
	return ok(w, "Agent deleted successfully.", map[string]string{"agentId": id})
}

// handleAgentCopy copies the agent named by ?id= (the SDK, with no body)
// or the body's agentId (Plazbot's newer docs).
func (s *Server) handleAgentCopy(w http.ResponseWriter, r *http.Request) error {
	var m map[string]json.RawMessage
	if r.ContentLength != 0 {
		if raw, err := io.ReadAll(r.Body); err != nil {
			return bodyReadError(err)
		} else if t := strings.TrimSpace(string(raw)); t != "" && t != "null" {
			if err := json.Unmarshal(raw, &m); err != nil {
				return jsonError(err)
			}
		}
	}
	id, err := agentID(r, m)
	if err != nil {
		return err
	}
	a, err := s.Agents.CopyAgent(r.Context(), id)
	if err != nil {
		return err
	}
	files, err := s.Knowledge.ListKnowledgeFiles(r.Context(), a.ID)
	if err != nil {
		return err
	}
	data, err := agentJSON(a, files, nil)
	if err != nil {
		return err
	}
	return okAgent(w, "Agent copied successfully.", data, agentEnvelope{AgentID: a.ID})
}

// handleAgentEnableWidget turns the agent's web widget on or off
// (enableWidget, as the SDK sends it, or widgetEnabled, as Plazbot's newer
// docs do) and answers the script that embeds it.
func (s *Server) handleAgentEnableWidget(w http.ResponseWriter, r *http.Request) error {
	m, _, err := readAgentBody(r)
	if err != nil {
		return err
	}
	id, err := agentID(r, m)
	if err != nil {
		return err
	}
	var enable json.RawMessage
	for k, v := range m {
		if strings.EqualFold(k, "enableWidget") || strings.EqualFold(k, "widgetEnabled") {
			if string(v) != "true" && string(v) != "false" {
				return plaza.Invalid(plaza.FieldError{Field: k, Message: k + " must be a boolean."})
			}
			if enable != nil && string(enable) != string(v) {
				return plaza.Invalid(plaza.FieldError{Field: k, Message: "enableWidget and widgetEnabled disagree; send one."})
			}
			enable = v
		}
	}
	if enable == nil {
		return plaza.Invalid(plaza.FieldError{Field: "enableWidget", Message: "enableWidget is required (true or false)."})
	}
	saved, err := s.Agents.UpdateAgent(r.Context(), id, plaza.AgentUpdate{Set: plaza.AgentDocument{"enableWidget": enable}})
	if err != nil {
		return err
	}
	script := s.widgetScript(r, saved.Agent)
	data := map[string]any{"agentId": saved.Agent.ID, "enableWidget": saved.Agent.Config.EnableWidget, "script": script}
	msg := "Widget enabled successfully."
	if !saved.Agent.Config.EnableWidget {
		msg = "Widget disabled successfully."
	}
	return okAgent(w, msg, data, agentEnvelope{AgentID: saved.Agent.ID, Script: script})
}

// widgetScript is the HTML that embeds an agent's widget: Plazbot's
// script tag, served by this Plaza at its public URL (--public-url, else
// the scheme and host the request came to).
func (s *Server) widgetScript(r *http.Request, a *plaza.AgentRecord) string {
	base := strings.TrimRight(s.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	zone := a.Config.Zone
	if zone == "" {
		zone = "LA"
	}
	q := "Id=" + url.QueryEscape(a.ID) + "&zone=" + url.QueryEscape(zone) + "&workspaceId=" + url.QueryEscape(a.WorkspaceID)
	return `<script src="` + base + `/widget.js?` + q + `"></script>`
}

// agentSections maps the set-* calls to the section of the document they
// set keys in ("" for the top level), and the key they require.
var agentSections = map[string]struct{ section, required string }{
	"set-instructions": {"instructions", ""},
	"set-persona":      {"person", ""},
	"set-fallbacks":    {"fallbacks", ""},
	"set-rules":        {"rules", ""},
	"set-greeting":     {"instructions", "greeting"},
	"set-tags":         {"", "tags"},
}

// handleAgentSet serves set-instructions, set-persona, set-fallbacks,
// set-rules, set-greeting and set-tags: {agentId, workspaceId, ...keys}.
// The keys are set in the section, keeping its others; set-tags replaces
// the tags.
func (s *Server) handleAgentSet(w http.ResponseWriter, r *http.Request) error {
	call := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	target := agentSections[call]
	id, keys, err := readAgentChange(r)
	if err != nil {
		return err
	}
	if target.required != "" {
		v, present := keys[target.required]
		if !present || string(v) == "null" {
			return plaza.Invalid(plaza.FieldError{Field: target.required, Message: target.required + " is required."})
		}
		keys = plaza.AgentDocument{target.required: v}
	}
	if len(keys) == 0 {
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The body sets nothing: send the keys to set."})
	}
	u := plaza.AgentUpdate{Section: target.section, SectionSet: keys}
	if target.section == "" {
		u = plaza.AgentUpdate{Set: keys}
	}
	return s.saveAgent(w, r, id, u, "Agent updated successfully.")
}
