package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/agent"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
)

// chatLLM is a local OpenAI chat-completions server answering every call
// with the reply its answer function gives for the request.
type chatLLM struct {
	mu   sync.Mutex
	reqs []llm.Request
}

func newChatLLM(t *testing.T, answer func(n int, req llm.Request) string) (*chatLLM, *llm.Client) {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("..", "llm", "testdata", "chat_completion_text.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := &chatLLM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req llm.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("LLM request: %v", err)
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, req)
		n := len(c.reqs)
		c.mu.Unlock()
		// The documented completion, its content replaced.
		var doc map[string]any
		json.Unmarshal(tmpl, &doc)
		doc["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"] = answer(n, req)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return c, &llm.Client{BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "gpt-4o-mini"}
}

func (c *chatLLM) requests() []llm.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]llm.Request(nil), c.reqs...)
}

// withAgentChat wires on-message on the server's agents and their
// knowledge, with the given LLM and fetch guard.
func withAgentChat(ts *testServer, client *llm.Client, guard *messaging.FetchGuard) {
	db := ts.DB
	store := ts.API.Agents.(*sqldb.AgentService)
	rt := &agent.Runtime{LLM: client, Contacts: sqldb.NewContactService(db), Opportunities: sqldb.NewOpportunityService(db),
		Tasks: sqldb.NewTaskService(db), Masters: sqldb.NewMasterService(db), Pipelines: sqldb.NewPipelineService(db),
		Knowledge: store, Handoffs: sqldb.NewHandoffService(db), Guard: guard}
	ts.API.AgentChat = &agent.Chat{Runtime: rt, Sessions: sqldb.NewAgentSessionStore(db), Agents: store}
}

// addAgent adds an agent with the configuration, as the SDK does, and
// returns its id.
func (ts *testServer) addAgent(tn tenant, config map[string]any) string {
	ts.t.Helper()
	r := ts.do(req{Method: "POST", Path: "/api/agent/add", Token: tn.APIKey, Workspace: tn.WorkspaceID, Body: config}).want(ts.t, 200, "")
	return r.top(ts.t).AgentID
}

// onMessage posts to on-message as the SDK does and returns the status
// and body; the response is checked against the OpenAPI document (it is
// not an envelope when it succeeds).
func (ts *testServer) onMessage(tn tenant, body any) (int, map[string]any) {
	ts.t.Helper()
	raw, _ := json.Marshal(body)
	hr, _ := http.NewRequest("POST", ts.URL+"/api/agent/on-message", bytes.NewReader(raw))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+tn.APIKey)
	hr.Header.Set("x-workspace-id", tn.WorkspaceID)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkOpenAPI(ts.t, hr, raw, resp, b)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		ts.t.Fatalf("on-message answered %s", b)
	}
	return resp.StatusCode, out
}

func TestAgentOnMessage_Session(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "max@clinic.test")
		fake, client := newChatLLM(t, func(n int, req llm.Request) string {
			if n == 1 {
				return "Hola Ana, soy Maximo."
			}
			return "Abrimos de lunes a sábado.\n\nLos domingos cerramos."
		})
		withAgentChat(ts, client, nil)
		id := ts.addAgent(tn, map[string]any{"name": "Clinic", "prompt": "You are the clinic's assistant.", "buffer": 3})

		status, out := ts.onMessage(tn, map[string]any{"agentId": id, "workspaceId": tn.WorkspaceID, "question": "Hola, soy Ana", "sessionId": "s-1"})
		if status != 200 || out["success"] != true || out["answer"] != "Hola Ana, soy Maximo." {
			t.Fatalf("%d %v", status, out)
		}
		// PascalCase keys, the same session: the first exchange is in the
		// context; blocks asked for.
		status, out = ts.onMessage(tn, map[string]any{"AgentId": id, "Question": "¿Qué horario tienen?", "SessionId": "s-1", "multipleAnswers": true})
		if status != 200 {
			t.Fatalf("%d %v", status, out)
		}
		if got, _ := json.Marshal(out["answer"]); string(got) != `["Abrimos de lunes a sábado.","Los domingos cerramos."]` {
			t.Errorf("answer %s", got)
		}
		reqs := fake.requests()
		var roles []string
		for _, m := range reqs[1].Messages {
			roles = append(roles, m.Role+":"+m.Text())
		}
		if len(roles) != 4 || roles[1] != "user:Hola, soy Ana" || roles[2] != "assistant:Hola Ana, soy Maximo." || roles[3] != "user:¿Qué horario tienen?" {
			t.Errorf("second context %q", roles)
		}
		// Another session starts empty.
		ts.onMessage(tn, map[string]any{"agentId": id, "question": "Hola", "sessionId": "s-2"})
		if reqs := fake.requests(); len(reqs[2].Messages) != 2 {
			t.Errorf("new session's context: %+v", reqs[2].Messages)
		}
	})
}

func TestAgentOnMessage_Errors(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "max@clinic.test")
		other := ts.bootstrap("Other", "otto@other.test")
		fake, client := newChatLLM(t, func(int, llm.Request) string { return "x" })
		withAgentChat(ts, client, nil)
		id := ts.addAgent(tn, map[string]any{"name": "On", "prompt": "p"})
		off := ts.addAgent(tn, map[string]any{"name": "Off", "prompt": "p", "enable": false})

		status, out := ts.onMessage(tn, map[string]any{"agentId": id, "sessionId": "s", "question": "  "})
		if status != 400 || out["errorCode"] != "VALIDATION_FAILED" || !strings.Contains(out["message"].(string), "question") {
			t.Errorf("no question: %d %v", status, out)
		}
		status, out = ts.onMessage(tn, map[string]any{"question": "hi", "multipleAnswers": "yes"})
		fields := []string{}
		for _, e := range out["data"].(map[string]any)["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		if status != 400 || strings.Join(fields, ",") != "multipleAnswers" {
			t.Errorf("bad type: %d %v", status, out)
		}
		status, _ = ts.onMessage(tn, map[string]any{"question": "hi"})
		if status != 400 {
			t.Errorf("no agentId: %d", status)
		}
		status, out = ts.onMessage(tn, map[string]any{"agentId": off, "sessionId": "s", "question": "hi"})
		if status != 422 {
			t.Errorf("disabled agent: %d %v", status, out)
		}
		// Another workspace's caller does not reach the agent.
		status, out = ts.onMessage(other, map[string]any{"agentId": id, "sessionId": "s", "question": "hi"})
		if status != 404 || out["errorCode"] != "NOT_FOUND" {
			t.Errorf("other workspace: %d %v", status, out)
		}
		// A private file URL without the allow-list.
		status, out = ts.onMessage(tn, map[string]any{"agentId": id, "sessionId": "s", "question": "hi", "file": "http://127.0.0.1:9/doc.pdf"})
		if status != 400 || !strings.Contains(out["message"].(string), "PLAZA_FETCH_ALLOW") {
			t.Errorf("private file: %d %v", status, out)
		}
		if n := len(fake.requests()); n != 0 {
			t.Errorf("%d LLM calls for refused questions", n)
		}
	})
}

// A question's file is fetched (allow-listed here), read, and given to
// the LLM with the question.
func TestAgentOnMessage_File(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "max@clinic.test")
		doc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/markdown")
			io.WriteString(w, "# Presupuesto\n\nLimpieza dental: **120 soles**.\n")
		}))
		defer doc.Close()
		guard, _ := messaging.ParseFetchAllow("127.0.0.1")
		fake, client := newChatLLM(t, func(int, llm.Request) string { return "La limpieza cuesta 120 soles." })
		withAgentChat(ts, client, guard)
		id := ts.addAgent(tn, map[string]any{"name": "Budget", "prompt": "p"})
		status, out := ts.onMessage(tn, map[string]any{"agentId": id, "sessionId": "s", "question": "¿Cuánto cuesta?", "file": doc.URL + "/budget.md"})
		if status != 200 || out["answer"] != "La limpieza cuesta 120 soles." {
			t.Fatalf("%d %v", status, out)
		}
		msgs := fake.requests()[0].Messages
		last := msgs[len(msgs)-1].Text()
		if !strings.HasPrefix(last, "¿Cuánto cuesta?") || !strings.Contains(last, "Limpieza dental: 120 soles.") || strings.Contains(last, "**") {
			t.Errorf("question with file: %q", last)
		}
	})
}

func TestLLMSettings(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Clinic", "max@clinic.test")
		b := ts.bootstrap("Other", "otto@other.test")
		ts.API.LLMSettings = sqldb.NewLLMSettingsService(ts.DB, testSecret)
		path := "/api/workspace/" + a.WorkspaceID + "/agents/llm"

		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, 404, "NOT_FOUND")
		r := ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"baseUrl": "ftp://x", "model": ""}}).want(t, 400, "VALIDATION_FAILED")
		if got := strings.Join(r.fields(), ","); got != "baseUrl,model" {
			t.Errorf("fields %s", got)
		}
		var st plaza.LLMSettings
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"baseUrl": "https://llm.example.com/v1", "model": "llama3.1", "apiKey": "sk-secret-1"}}).
			want(t, 200, "").into(t, &st)
		if st.BaseURL != "https://llm.example.com/v1" || st.Model != "llama3.1" || !st.HasAPIKey {
			t.Errorf("settings %+v", st)
		}
		// The key is kept when not sent, never shown, and stored sealed.
		r = ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"baseUrl": "https://llm.example.com/v2", "model": "llama3.1"}}).want(t, 200, "")
		r = ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, 200, "")
		r.into(t, &st)
		if !st.HasAPIKey || st.BaseURL != "https://llm.example.com/v2" || strings.Contains(string(r.Body), "sk-secret-1") {
			t.Errorf("settings %s", r.Body)
		}
		if n := ts.count(`SELECT count(*) FROM workspace_llm_settings WHERE api_key LIKE '%sk-secret%'`); n != 0 {
			t.Error("the key is stored in the clear")
		}
		e, found, err := ts.API.LLMSettings.WorkspaceLLM(context.Background(), a.WorkspaceID)
		if err != nil || !found || e.APIKey != "sk-secret-1" || e.Model != "llama3.1" {
			t.Errorf("WorkspaceLLM %+v %v %v", e, found, err)
		}
		// A member reads it but may not change it; another workspace sees
		// nothing of it.
		agentToken := ts.createUser(a, "agent@clinic.test", "agent")
		ts.do(req{Method: "GET", Path: path, Token: agentToken, Workspace: a.WorkspaceID}).want(t, 200, "")
		ts.do(req{Method: "DELETE", Path: path, Token: agentToken, Workspace: a.WorkspaceID}).want(t, 403, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID + "/agents/llm", Token: b.APIKey}).want(t, 404, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: path, Token: b.APIKey}).want(t, 403, "FORBIDDEN")
		// apiKey null removes the key; DELETE removes the settings.
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"baseUrl": "https://llm.example.com/v2", "model": "m", "apiKey": nil}}).
			want(t, 200, "").into(t, &st)
		if st.HasAPIKey {
			t.Error("key kept after apiKey null")
		}
		ts.do(req{Method: "DELETE", Path: path, Token: a.APIKey}).want(t, 200, "")
		ts.do(req{Method: "DELETE", Path: path, Token: a.APIKey}).want(t, 404, "NOT_FOUND")
	})
}

// Without an LLM, on-message answers from the agent's knowledge file
// (uploaded, indexed on the queue, found by full-text search), and with
// its noAnswer fallback when nothing matches.
func TestAgentOnMessage_KnowledgeWithoutLLM(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		tn := ts.bootstrap("Clinic", "max@clinic.test")
		ts.startKnowledge(strictGuard)
		withAgentChat(ts, nil, nil)
		id := ts.addAgent(tn, map[string]any{"name": "FAQ", "prompt": "p", "instructions": map[string]any{"maxWords": 30},
			"fallbacks": map[string]any{"noAnswer": "No tengo esa información; te contactará una persona."}})
		doc := "# Preguntas frecuentes\n\nLos reembolsos tardan cinco días hábiles desde la aprobación del pedido.\n\nLa clínica abre de lunes a sábado a las ocho de la mañana.\n"
		r := ts.upload(t, tn, id, "faq.md", "text/markdown", []byte(doc)).want(t, 200, "")
		if f := ts.awaitFile(t, tn, r.top(t).FileID); f.Status != plaza.KnowledgeReady {
			t.Fatalf("file %+v", f)
		}
		status, out := ts.onMessage(tn, map[string]any{"agentId": id, "sessionId": "s", "question": "¿Cuánto tardan los reembolsos?"})
		if status != 200 || !strings.Contains(out["answer"].(string), "Los reembolsos tardan cinco días hábiles") {
			t.Errorf("known: %d %v", status, out)
		}
		status, out = ts.onMessage(tn, map[string]any{"agentId": id, "sessionId": "s", "question": "¿Venden bicicletas?"})
		if status != 200 || out["answer"] != "No tengo esa información; te contactará una persona." {
			t.Errorf("unknown: %d %v", status, out)
		}
	})
}

func TestHandoffAPI(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Clinic", "max@clinic.test")
		b := ts.bootstrap("Other", "otto@other.test")
		ts.API.Handoffs = sqldb.NewHandoffService(ts.DB)
		ctx := plaza.NewContextWithPrincipal(context.Background(), &plaza.Principal{UserID: a.UserID, WorkspaceID: a.WorkspaceID, Role: plaza.RoleOwner})
		n, err := sqldb.NewWhatsAppNumberService(ts.DB, testSecret).CreateWhatsAppNumber(ctx, plaza.WhatsAppNumberCreate{
			PhoneNumberID: numberA, WabaID: wabaA, DisplayPhoneNumber: "15550001234", AccessToken: "t", AppSecret: appSecretA, VerifyToken: "v"})
		if err != nil {
			t.Fatal(err)
		}
		in, err := sqldb.NewInboundStore(ts.DB).StoreInboundMessage(context.Background(), plaza.InboundMessage{Number: *n, From: "51987654321",
			WAMID: "wamid.HO1", Type: "text", Content: "Hola", Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		// The agent asks for a person.
		agentCtx := plaza.NewContextWithPrincipal(context.Background(), plaza.AgentPrincipal(a.WorkspaceID, "agent-1"))
		if _, err := ts.API.Handoffs.RequestHandoff(agentCtx, in.ConversationID, "no_answer"); err != nil {
			t.Fatal(err)
		}
		path := "/api/message/conversation/" + in.ConversationID + "/handoff"
		var h plaza.Handoff
		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, 200, "").into(t, &h)
		if h.State != plaza.HandoffRequested || *h.Reason != "no_answer" || h.Actor.Type != plaza.ActorAgent {
			t.Errorf("requested: %+v", h)
		}
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"state": "bot_active"}}).want(t, 400, "VALIDATION_FAILED")
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"state": "human_active"}}).want(t, 200, "").into(t, &h)
		if h.State != plaza.HandoffHumanActive || h.Actor.Type != plaza.ActorAPIKey {
			t.Errorf("taken over: %+v", h)
		}
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"state": "bot_resumed"}}).want(t, 200, "").into(t, &h)
		if h.State != plaza.HandoffBotResumed {
			t.Errorf("resumed: %+v", h)
		}
		// Another workspace does not see the conversation.
		ts.do(req{Method: "GET", Path: path, Token: b.APIKey}).want(t, 404, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: path, Token: b.APIKey, Body: map[string]any{"state": "human_active"}}).want(t, 404, "NOT_FOUND")
		if n := ts.count(`SELECT count(*) FROM events WHERE type = 'handoff.changed' AND conversation_id = $1`, in.ConversationID); n != 3 {
			t.Errorf("%d handoff.changed events", n)
		}
	})
}
