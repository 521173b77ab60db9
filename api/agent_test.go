package api_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sdkAgentConfig is Plazbot's SDK's agent.config.json, as published.
func sdkAgentConfig(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../testdata/plazbot-sdk/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// agentTopLevel is what the SDK reads at the top of the agent answers.
type agentTopLevel struct {
	AgentID string            `json:"agentId"`
	Script  string            `json:"script"`
	FileID  string            `json:"fileId"`
	Agent   []json.RawMessage `json:"agent"`
}

func (r *response) top(t *testing.T) agentTopLevel {
	t.Helper()
	var top agentTopLevel
	if err := json.Unmarshal(r.Body, &top); err != nil {
		t.Fatal(err)
	}
	return top
}

// agentDocument is an agent as get-agent answers it, without Plaza's keys:
// the configuration document as stored.
func (ts *testServer) agentDocument(t *testing.T, tn tenant, id string) map[string]any {
	t.Helper()
	r := ts.do(req{Method: "GET", Path: "/api/agent/get-agent?id=" + id + "&workspaceId=" + tn.WorkspaceID,
		Token: tn.APIKey, Workspace: tn.WorkspaceID}).want(t, 200, "")
	var m map[string]any
	r.into(t, &m)
	if m["id"] != id || m["workspaceId"] != tn.WorkspaceID {
		t.Errorf("get-agent: id %v workspaceId %v", m["id"], m["workspaceId"])
	}
	for _, k := range []string{"id", "workspaceId", "creationDate", "updatedDate", "files"} {
		delete(m, k)
	}
	return m
}

func TestAgent_SDKCalls(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "ana@clinic.test")
		as := func(r req) req { r.Token, r.Workspace = tn.APIKey, tn.WorkspaceID; return r }
		config := sdkAgentConfig(t, "agent.config.json")

		// addAgent(config): the config as the body, the id on top.
		add := ts.do(as(req{Method: "POST", Path: "/api/agent/add", Body: config})).want(t, 200, "")
		id := add.top(t).AgentID
		if id == "" {
			t.Fatalf("add: no agentId on top: %s", add.Body)
		}
		var added struct {
			ChannelStatus []struct {
				Channel  string `json:"channel"`
				Attached bool   `json:"attached"`
			} `json:"channelStatus"`
		}
		add.into(t, &added)
		if len(added.ChannelStatus) != 3 || added.ChannelStatus[0].Channel != "whatsapp" || added.ChannelStatus[0].Attached {
			t.Errorf("channel status: %+v", added.ChannelStatus)
		}
		// Read back equal.
		if diff := cmp.Diff(config, ts.agentDocument(t, tn, id)); diff != "" {
			t.Fatalf("agent.config.json read back (-want +got)\n%s", diff)
		}
		list := ts.do(as(req{Method: "GET", Path: "/api/agent/get-agents?workspaceId=" + tn.WorkspaceID})).want(t, 200, "")
		if n := len(list.top(t).Agent); n != 1 {
			t.Errorf("get-agents: %d agents on top", n)
		}

		// updateAgent(id, {name, buffer}): x-agent-id names it; the other
		// keys stay.
		ts.do(as(req{Method: "POST", Path: "/api/agent/update", Header: map[string]string{"x-agent-id": id},
			Body: map[string]any{"name": "Sales Clinic 2", "buffer": 8}})).want(t, 200, "")
		want := maps.Clone(config)
		want["name"], want["buffer"] = "Sales Clinic 2", float64(8)

		// The quick config methods, with the bodies the SDK sends.
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-instructions", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "tone": "friendly", "maxWords": 100}})).want(t, 200, "")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-greeting", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "greeting": "Hola, soy Máximo"}})).want(t, 200, "")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-persona", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "name": "Max", "isHuman": true}})).want(t, 200, "")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-fallbacks", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "noAnswer": "No lo sé."}})).want(t, 200, "")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-rules", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "doNotMentionPrices": true}})).want(t, 200, "")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-tags", Body: map[string]any{"agentId": id,
			"workspaceId": tn.WorkspaceID, "tags": []string{"sales", "ai"}}})).want(t, 200, "")
		set := func(section string, kv ...any) {
			m := maps.Clone(want[section].(map[string]any))
			for i := 0; i < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			want[section] = m
		}
		set("instructions", "tone", "friendly", "maxWords", float64(100), "greeting", "Hola, soy Máximo")
		set("person", "name", "Max", "isHuman", true)
		set("fallbacks", "noAnswer", "No lo sé.")
		set("rules", "doNotMentionPrices", true)
		want["tags"] = []any{"sales", "ai"}

		// enableWidget({id, enable}) as the SDK sends it, and the newer
		// docs' body.
		wr := ts.do(as(req{Method: "POST", Path: "/api/agent/enable-widget", Body: map[string]any{"workspaceId": tn.WorkspaceID,
			"id": id, "enableWidget": false}})).want(t, 200, "")
		wantScript := `<script src="` + ts.URL + `/widget.js?Id=` + id + `&zone=LA&workspaceId=` + tn.WorkspaceID + `"></script>`
		if got := wr.top(t).Script; got != wantScript {
			t.Errorf("script\n got %s\nwant %s", got, wantScript)
		}
		want["enableWidget"] = false
		if diff := cmp.Diff(want, ts.agentDocument(t, tn, id)); diff != "" {
			t.Errorf("after the updates (-want +got)\n%s", diff)
		}
		ts.API.PublicURL = "https://chat.example.com/"
		wr = ts.do(as(req{Method: "POST", Path: "/api/agent/enable-widget", Body: map[string]any{"workspaceId": tn.WorkspaceID,
			"agentId": id, "widgetEnabled": true}})).want(t, 200, "")
		if got := wr.top(t).Script; !strings.HasPrefix(got, `<script src="https://chat.example.com/widget.js?Id=`) {
			t.Errorf("script with --public-url: %s", got)
		}

		// copyAgent({id}): query id and no body; and the docs' body.
		cp := ts.do(as(req{Method: "POST", Path: "/api/agent/copy-agent?id=" + id + "&workspaceId=" + tn.WorkspaceID})).want(t, 200, "")
		var copied map[string]any
		cp.into(t, &copied)
		if copied["name"] != "Sales Clinic 2 (copy)" || copied["channels"] != nil || copied["id"] == id || cp.top(t).AgentID != copied["id"] {
			t.Errorf("copy: %v", copied)
		}
		ts.do(as(req{Method: "POST", Path: "/api/agent/copy-agent", Body: map[string]any{"agentId": id, "workspaceId": tn.WorkspaceID}})).want(t, 200, "")

		// One enabled agent per channel: a second on the same number is
		// a 409 naming the channel.
		dup := ts.do(as(req{Method: "POST", Path: "/api/agent/add", Body: map[string]any{"name": "Other",
			"channels": []any{map[string]any{"channel": "whatsapp", "key": "+57 123 456 789"}}}})).want(t, 409, "CONFLICT")
		if diff := cmp.Diff([]string{"channels[0]"}, dup.fields()); diff != "" {
			t.Errorf("conflict fields (-want +got)\n%s", diff)
		}
		// Bad input names its fields.
		bad := ts.do(as(req{Method: "POST", Path: "/api/agent/add", Body: map[string]any{"buffer": 500,
			"actions": []any{map[string]any{"intent": "x", "action": []any{map[string]any{"type": "action.nope"}}}}}})).want(t, 400, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"name", "buffer", "actions[0].action[0].type"}, bad.fields()); diff != "" {
			t.Errorf("validation fields (-want +got)\n%s", diff)
		}
		ts.do(as(req{Method: "POST", Path: "/api/agent/update", Body: map[string]any{"name": "x"}})).want(t, 400, "VALIDATION_FAILED")
		ts.do(as(req{Method: "POST", Path: "/api/agent/update", Header: map[string]string{"x-agent-id": id},
			Body: map[string]any{"id": "another", "name": "x"}})).want(t, 400, "VALIDATION_FAILED")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-tags", Body: map[string]any{"agentId": id}})).want(t, 400, "VALIDATION_FAILED")
		ts.do(as(req{Method: "POST", Path: "/api/agent/set-tags", Body: map[string]any{"agentId": id, "tags": "x"}})).want(t, 400, "VALIDATION_FAILED")

		// Another workspace never sees the agent.
		other := ts.bootstrap("Other", "bo@other.test")
		them := func(r req) req { r.Token, r.Workspace = other.APIKey, other.WorkspaceID; return r }
		ts.do(them(req{Method: "GET", Path: "/api/agent/get-agent?id=" + id})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "POST", Path: "/api/agent/update", Header: map[string]string{"x-agent-id": id}, Body: map[string]any{"name": "Mine"}})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "POST", Path: "/api/agent/set-tags", Body: map[string]any{"agentId": id, "tags": []string{}}})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "POST", Path: "/api/agent/copy-agent?id=" + id})).want(t, 404, "NOT_FOUND")
		ts.do(them(req{Method: "DELETE", Path: "/api/agent/delete?id=" + id})).want(t, 404, "NOT_FOUND")
		empty := ts.do(them(req{Method: "GET", Path: "/api/agent/get-agents"})).want(t, 200, "")
		if !strings.Contains(string(empty.Body), `"agent":[]`) {
			t.Errorf("empty get-agents: %s", empty.Body)
		}
		// The workspace named in the query must be the caller's.
		ts.do(them(req{Method: "GET", Path: "/api/agent/get-agent?id=" + id + "&workspaceId=" + tn.WorkspaceID})).want(t, 400, "VALIDATION_FAILED")

		// deleteAgent({id}).
		ts.do(as(req{Method: "DELETE", Path: "/api/agent/delete?id=" + id + "&workspaceId=" + tn.WorkspaceID})).want(t, 200, "")
		ts.do(as(req{Method: "GET", Path: "/api/agent/get-agent?id=" + id})).want(t, 404, "NOT_FOUND")
		if n := len(ts.do(as(req{Method: "GET", Path: "/api/agent/get-agents"})).want(t, 200, "").top(t).Agent); n != 2 {
			t.Errorf("%d agents left, want the 2 copies", n)
		}
		// No credentials: 401.
		ts.do(req{Method: "GET", Path: "/api/agent/get-agents"}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestAgent_BasicConfig(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "ana@clinic.test")
		config := sdkAgentConfig(t, "agent.basic.config.json")
		config["prompt"] = "Your custom prompt here" // as the SDK's README does
		r := ts.do(req{Method: "POST", Path: "/api/agent/add", Token: tn.APIKey, Workspace: tn.WorkspaceID, Body: config}).want(t, 200, "")
		if diff := cmp.Diff(config, ts.agentDocument(t, tn, r.top(t).AgentID)); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})
}
