package agent_test

import (
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
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/agent"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// fixture reads one of OpenAI's documented payloads (llm/testdata).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "llm", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// completion is chat_completion_text.json with its choice replaced by msg:
// the documented wire format, answering what a test scripts.
func completion(t testing.TB, msg llm.Message) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(fixture(t, "chat_completion_text.json"), &c); err != nil {
		t.Fatal(err)
	}
	finish := "stop"
	if len(msg.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	m, _ := json.Marshal(msg)
	var mv map[string]any
	json.Unmarshal(m, &mv)
	mv["refusal"], mv["annotations"] = nil, []any{}
	c["choices"] = []any{map[string]any{"index": 0, "message": mv, "logprobs": nil, "finish_reason": finish}}
	b, _ := json.Marshal(c)
	return b
}

func toolCall(id, name, args string) llm.ToolCall {
	return llm.ToolCall{ID: id, Type: "function", Function: llm.FunctionCall{Name: name, Arguments: args}}
}

func callsMsg(calls ...llm.ToolCall) llm.Message {
	return llm.Message{Role: llm.RoleAssistant, ToolCalls: calls}
}

// scriptedLLM is a local OpenAI chat-completions server answering its
// script in order, keeping the requests.
type scriptedLLM struct {
	t      *testing.T
	mu     sync.Mutex
	script []scripted
	reqs   []llm.Request
}

type scripted struct {
	status int
	header map[string]string
	body   []byte
}

func newLLM(t *testing.T, script ...scripted) (*scriptedLLM, *llm.Client) {
	s := &scriptedLLM{t: t, script: script}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			t.Errorf("request %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		var req llm.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("request body: %v", err)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		if len(s.script) == 0 {
			s.mu.Unlock()
			t.Errorf("unscripted LLM call")
			w.WriteHeader(500)
			return
		}
		next := s.script[0]
		s.script = s.script[1:]
		s.mu.Unlock()
		for k, v := range next.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		if next.status != 0 {
			w.WriteHeader(next.status)
		}
		w.Write(next.body)
	}))
	t.Cleanup(srv.Close)
	return s, &llm.Client{BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "gpt-4o-mini",
		Sleep: func(context.Context, time.Duration) error { return nil }}
}

func ok(body []byte) scripted { return scripted{body: body} }

func (s *scriptedLLM) requests() []llm.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]llm.Request(nil), s.reqs...)
}

// env is a workspace with a WhatsApp customer who wrote once (a contact
// and a conversation), and a Runtime on the real services.
type env struct {
	db           *sqldb.DB
	rt           *agent.Runtime
	workspace    string
	owner        string
	contact      string
	conversation string
	ownerCtx     context.Context
	handoffs     *sqldb.HandoffService
}

const agentID = "agent-0001"

func newEnv(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	ctx := context.Background()
	b, err := db.Bootstrap(ctx, "Muebles", plaza.UserCreate{Email: "ana@muebles.test", Password: "correct-horse-1", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	ownerCtx := plaza.NewContextWithPrincipal(ctx, &plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner})
	n, err := sqldb.NewWhatsAppNumberService(db, "test-secret-key-0123456789abcdef-0123").CreateWhatsAppNumber(ownerCtx, plaza.WhatsAppNumberCreate{
		PhoneNumberID: "100200300400501", WabaID: "100200300400500", DisplayPhoneNumber: "15550001234",
		AccessToken: "token", AppSecret: "secret", VerifyToken: "verify"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sqldb.NewInboundStore(db).StoreInboundMessage(ctx, plaza.InboundMessage{Number: *n, From: "51987654321",
		ProfileName: "Lucía", WAMID: "wamid.A1", Type: "text", Content: "Hola", Payload: []byte(`{}`), Timestamp: time.Unix(1795791600, 0)})
	if err != nil {
		t.Fatal(err)
	}
	h := sqldb.NewHandoffService(db)
	guard, _ := messaging.ParseFetchAllow("")
	return &env{db: db, workspace: b.WorkspaceID, owner: b.UserID, contact: r.ContactID, conversation: r.ConversationID, ownerCtx: ownerCtx, handoffs: h,
		rt: &agent.Runtime{
			Contacts: sqldb.NewContactService(db), Opportunities: sqldb.NewOpportunityService(db), Tasks: sqldb.NewTaskService(db),
			Masters: sqldb.NewMasterService(db), Pipelines: sqldb.NewPipelineService(db), Handoffs: h, Guard: guard,
		}}
}

func (e *env) input(cfg plaza.AgentConfig, messages ...string) agent.TurnInput {
	return agent.TurnInput{WorkspaceID: e.workspace, AgentID: agentID, Agent: cfg, ContactID: e.contact, ConversationID: e.conversation, Messages: messages}
}

// activities returns the contact's activities, oldest first.
func (e *env) activities(t *testing.T) []plaza.ContactActivity {
	t.Helper()
	as, _, err := sqldb.NewContactService(e.db).FindContactActivities(e.ownerCtx, e.contact, plaza.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(as)-1; i < j; i, j = i+1, j-1 {
		as[i], as[j] = as[j], as[i]
	}
	return as
}

func (e *env) contactNow(t *testing.T) *plaza.Contact {
	t.Helper()
	c, err := sqldb.NewContactService(e.db).FindContactByID(e.ownerCtx, e.contact)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// toolMessage returns the tool result the request gave for call id.
func toolMessage(t *testing.T, req llm.Request, id string) map[string]any {
	t.Helper()
	for _, m := range req.Messages {
		if m.Role == llm.RoleTool && m.ToolCallID == id {
			var v map[string]any
			if err := json.Unmarshal([]byte(m.Text()), &v); err != nil {
				t.Fatalf("tool result %q: %v", m.Text(), err)
			}
			return v
		}
	}
	t.Fatalf("no tool result for %s in %+v", id, req.Messages)
	return nil
}

func TestTurn_ToolCreatesOpportunity(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		script, client := newLLM(t,
			ok(completion(t, callsMsg(toolCall("call_opp1", plaza.ToolCreateOpportunity,
				`{"name":"Sofá Oslo azul","description":"Quiere dos sofás Oslo en azul","amount":2400}`)))),
			ok(completion(t, llm.Assistant("¡Listo Lucía! Registré tu pedido del sofá Oslo azul. Un asesor te escribirá hoy."))))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Name: "Ventas", Prompt: "Eres el asistente de Plaza Muebles.", Buffer: 3,
			Instructions: &plaza.AgentInstructions{Language: "es-419", MaxWords: 80, Greeting: "Hola, soy Max"},
			CRMTools:     []string{plaza.ToolCreateOpportunity}}
		in := e.input(cfg, "Quiero comprar dos sofás Oslo azules")
		in.History = []agent.HistoryMessage{{Role: "user", Text: "Hola"}, {Role: "assistant", Text: "¡Hola! ¿En qué te ayudo?"}}
		res, err := e.rt.Turn(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "¡Listo Lucía! Registré tu pedido del sofá Oslo azul. Un asesor te escribirá hoy." || res.Source != agent.SourceLLM || res.LLMCalls != 2 {
			t.Errorf("result %+v", res)
		}
		if len(res.ToolCalls) != 1 || res.ToolCalls[0].Refused || res.ToolCalls[0].Failed {
			t.Fatalf("tool calls %+v", res.ToolCalls)
		}

		// The opportunity exists, the customer's, created by the agent.
		opps, _, err := sqldb.NewOpportunityService(db).FindOpportunities(e.ownerCtx, plaza.OpportunityFilter{ContactID: e.contact})
		if err != nil {
			t.Fatal(err)
		}
		if len(opps) != 1 || opps[0].Name != "Sofá Oslo azul" || opps[0].Amount != 2400 || opps[0].UserCreation != agentID {
			t.Fatalf("opportunities %+v", opps)
		}
		// Its creation is on the contact's history, attributed to the agent.
		acts := e.activities(t)
		if len(acts) != 1 || acts[0].ActorType != plaza.ActorAgent || acts[0].ActorID != agentID || acts[0].CategoryType != agent.ActivityCategory ||
			!strings.Contains(acts[0].Content, "create_opportunity") || !strings.Contains(acts[0].Content, opps[0].ID) {
			t.Errorf("activities %+v", acts)
		}

		reqs := script.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d LLM calls", len(reqs))
		}
		first := reqs[0]
		if len(first.Tools) != 1 || first.Tools[0].Function.Name != plaza.ToolCreateOpportunity || first.ToolChoice != "auto" || first.Model != "gpt-4o-mini" {
			t.Errorf("tools offered %+v (%s)", first.Tools, first.ToolChoice)
		}
		sys := first.Messages[0]
		if sys.Role != llm.RoleSystem || !strings.HasPrefix(sys.Text(), "Eres el asistente de Plaza Muebles.") ||
			!strings.Contains(sys.Text(), "es-419") || !strings.Contains(sys.Text(), "under 80 words") || strings.Contains(sys.Text(), "Hola, soy Max") {
			t.Errorf("system prompt:\n%s", sys.Text())
		}
		// History, then the new message.
		if got := first.Messages[1:]; len(got) != 3 || got[0].Text() != "Hola" || got[1].Role != llm.RoleAssistant || got[2].Text() != "Quiero comprar dos sofás Oslo azules" {
			t.Errorf("messages %+v", got)
		}
		result := toolMessage(t, reqs[1], "call_opp1")
		if result["ok"] != true || result["opportunityId"] != opps[0].ID {
			t.Errorf("tool result %v", result)
		}
	})
}

// A tool that is not the agent's, or that is disabled, is refused and the
// LLM told so; nothing changes, and the refusal is on the history.
func TestTurn_ToolRefused(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		script, client := newLLM(t,
			ok(completion(t, callsMsg(
				toolCall("call_1", plaza.ToolCreateOpportunity, `{"name":"x","description":"y"}`),
				toolCall("call_2", "vip_discount", `{}`)))),
			ok(completion(t, llm.Assistant("No puedo hacer eso."))))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "p",
			Actions: []plaza.AgentAction{{Intent: "vip_discount", Reference: "Give a discount", Enabled: false,
				Action: []plaza.AgentActionStep{{Type: plaza.ActionTag, Value: "vip"}}}}}
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "Créame una oportunidad y dame descuento"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ToolCalls) != 2 || !res.ToolCalls[0].Refused || !res.ToolCalls[1].Refused {
			t.Fatalf("calls %+v", res.ToolCalls)
		}
		req := script.requests()[1]
		if r := toolMessage(t, req, "call_1"); r["ok"] != false || !strings.Contains(r["error"].(string), "not allowed") {
			t.Errorf("call_1 result %v", r)
		}
		if r := toolMessage(t, req, "call_2"); r["ok"] != false || !strings.Contains(r["error"].(string), "disabled") {
			t.Errorf("call_2 result %v", r)
		}
		if len(script.requests()[0].Tools) != 0 {
			t.Errorf("tools offered: %+v", script.requests()[0].Tools)
		}
		opps, _, _ := sqldb.NewOpportunityService(db).FindOpportunities(e.ownerCtx, plaza.OpportunityFilter{})
		if len(opps) != 0 {
			t.Errorf("%d opportunities created", len(opps))
		}
		if c := e.contactNow(t); len(c.Tags) != 0 {
			t.Errorf("tags %+v", c.Tags)
		}
		acts := e.activities(t)
		if len(acts) != 2 || !strings.Contains(acts[0].Content, "refused") || acts[0].ActorType != plaza.ActorAgent {
			t.Errorf("activities %+v", acts)
		}
	})
}

// Plazbot's actions run their steps on the contact: assign, tag (created
// when missing), stage; action.agentShutDown switches the bot off and
// asks for a human.
func TestTurn_Actions(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		ps, err := sqldb.NewPipelineService(db).FindPipelines(e.ownerCtx)
		if err != nil {
			t.Fatal(err)
		}
		var stage plaza.Stage
		for _, p := range ps {
			if p.ID == plaza.PipelineContact {
				stage = p.Stages[len(p.Stages)-1]
			}
		}
		script, client := newLLM(t,
			ok(completion(t, callsMsg(toolCall("call_t", "transfer_to_human", `{"reason":"wants a person"}`)))),
			ok(completion(t, llm.Assistant("Te paso con un especialista."))))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "p", Actions: []plaza.AgentAction{{
			Intent: "transfer_to_human", Reference: "Transfer conversation to human agent", Enabled: true,
			ResponseMessage: "I'm transferring you to one of our human specialists.",
			Action: []plaza.AgentActionStep{
				{Type: plaza.ActionAssign, Value: e.owner},
				{Type: plaza.ActionTag, Value: "needs-human-support"},
				{Type: plaza.ActionStage, Value: stage.Name},
				{Type: plaza.ActionShutDown},
			}}}}
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "Quiero hablar con una persona"))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Handoff || res.HandoffReason != "wants a person" || len(res.ToolCalls) != 1 || res.ToolCalls[0].Failed {
			t.Fatalf("result %+v", res)
		}
		if r := toolMessage(t, script.requests()[1], "call_t"); r["ok"] != true || r["message"] != "I'm transferring you to one of our human specialists." {
			t.Errorf("result told %v", r)
		}
		c := e.contactNow(t)
		if c.AssignedAgentID == nil || *c.AssignedAgentID != e.owner || len(c.Tags) != 1 || c.Tags[0].Name != "needs-human-support" ||
			c.StageID == nil || *c.StageID != stage.ID || c.IsBotEnabled {
			t.Errorf("contact %+v", c)
		}
		h, err := e.handoffs.FindHandoff(e.ownerCtx, e.conversation)
		if err != nil {
			t.Fatal(err)
		}
		if h.State != plaza.HandoffRequested || *h.Reason != "wants a person" || h.Actor.Type != plaza.ActorAgent {
			t.Errorf("handoff %+v", h)
		}
	})
}

// A calendar event is a dated task of the contact: added, listed, moved.
func TestTurn_CalendarEvents(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		cfg := plaza.AgentConfig{Prompt: "p", Timezone: "America/Lima", Actions: []plaza.AgentAction{
			{Intent: "book", Enabled: true, Action: []plaza.AgentActionStep{{Type: plaza.ActionEventAdd}}},
			{Intent: "my_events", Enabled: true, Action: []plaza.AgentActionStep{{Type: plaza.ActionEventList}}},
		}}
		script, client := newLLM(t,
			ok(completion(t, callsMsg(toolCall("c1", "book", `{"title":"Visita al showroom","start":"2026-12-01T10:30"}`)))),
			ok(completion(t, callsMsg(toolCall("c2", "my_events", `{}`)))),
			ok(completion(t, llm.Assistant("Te esperamos el 1 de diciembre a las 10:30."))))
		e.rt.LLM = client
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "Quiero visitar la tienda el 1 de diciembre 10:30"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ToolCalls) != 2 || res.ToolCalls[0].Failed || res.ToolCalls[1].Failed {
			t.Fatalf("calls %+v", res.ToolCalls)
		}
		tasks, _, err := sqldb.NewTaskService(db).FindTasks(e.ownerCtx, plaza.TaskFilter{ContactID: e.contact})
		if err != nil {
			t.Fatal(err)
		}
		// 10:30 in Lima is 15:30 UTC.
		if len(tasks) != 1 || tasks[0].Name != "Visita al showroom" || tasks[0].ExpirationDate == nil ||
			!tasks[0].ExpirationDate.Equal(time.Date(2026, 12, 1, 15, 30, 0, 0, time.UTC)) {
			t.Fatalf("tasks %+v", tasks)
		}
		var listed struct {
			Eventlist []map[string]any `json:"event.list"`
		}
		json.Unmarshal([]byte(script.requests()[2].Messages[len(script.requests()[2].Messages)-1].Text()), &listed)
		if len(listed.Eventlist) != 1 || listed.Eventlist[0]["eventId"] != tasks[0].ID || listed.Eventlist[0]["start"] != "2026-12-01T10:30" {
			t.Errorf("listed %s", script.requests()[2].Messages[len(script.requests()[2].Messages)-1].Text())
		}
	})
}

// The fixture's two tool calls are two services of the agent, called on a
// local API: the order status by GET with the order in the path, the stock
// by POST with the bodyTemplate; responseMapping and responseConditions
// give the messages the LLM receives.
func TestTurn_Services(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		var mu sync.Mutex
		var got []*http.Request
		var bodies []string
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got, bodies = append(got, r), append(bodies, string(b))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/orders/4521":
				io.WriteString(w, `{"response":{"status":"success","order":{"carrier":"Olva Courier","eta":"2026-11-30"}}}`)
			case "/stock":
				io.WriteString(w, `{"data":{"items":[{"store":"Miraflores","units":3}],"status":"in_stock"}}`)
			default:
				w.WriteHeader(404)
			}
		}))
		defer api.Close()
		guard, err := messaging.ParseFetchAllow("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		e.rt.Guard = guard
		script, client := newLLM(t, ok(fixture(t, "chat_completion_tool_calls.json")), ok(fixture(t, "chat_completion_text.json")))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "Eres el asistente de WhatsApp de Plaza Muebles.", Services: []plaza.AgentServiceCall{
			{Intent: "get_order_status", Reference: "Get the current status of a customer's order by its order number.", Enabled: true, Method: "GET",
				Endpoint:        api.URL + "/orders/{{order_id}}",
				RequiredFields:  []plaza.AgentServiceField{{Name: "order_id", Description: "The order number", Type: "string"}},
				Headers:         map[string]string{"Authorization": "Bearer {{apiKey}}"},
				ResponseMapping: map[string]string{"carrier": "$.response.order.carrier", "date": "$.response.order.eta"},
				ResponseMessage: "Tu pedido está en camino.",
				ResponseConditions: []plaza.AgentResponseCondition{
					{Condition: "$.response.status == 'conflict'", Message: "no"},
					{Condition: "$.response.status == 'success'", Message: "Enviado con {{carrier}}, llega el {{date}}."}}},
			{Intent: "check_product_stock", Reference: "Check whether a product is in stock in a given color.", Enabled: true, Method: "POST",
				Endpoint: api.URL + "/stock",
				RequiredFields: []plaza.AgentServiceField{{Name: "product", Type: "string"}, {Name: "color", Type: "string"},
					{Name: "stores", Type: "array"}},
				BodyTemplate:    json.RawMessage(`{"query":{"sku":"{{product}}","color":"{{color}}"},"label":"{{product}} ({{color}})","stores":"{{stores}}"}`),
				ResponseMapping: map[string]string{"units": "$.data.items[0].units", "store": "$.data.items[0].store"},
				ResponseMessage: "Quedan {{units}} en {{store}}."},
		}}
		in := e.input(cfg, "Hola, ¿en qué va mi pedido 4521? ¿Y tienen el sofá Oslo en azul?")
		in.Variables = map[string]string{"apiKey": "k-123"}
		res, err := e.rt.Turn(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Reply, "¡Hola Lucía!") {
			t.Errorf("reply %q", res.Reply)
		}
		// The LLM did not give "stores": the stock call is refused before
		// any request, and it is told which field is missing.
		reqs := script.requests()
		order := toolMessage(t, reqs[1], "call_TESTorder4521aaaaaaaa")
		if order["ok"] != true || order["message"] != "Enviado con Olva Courier, llega el 2026-11-30." {
			t.Errorf("order result %v", order)
		}
		stock := toolMessage(t, reqs[1], "call_TESTstockOslobbbbbb")
		if stock["ok"] != false || !strings.Contains(stock["error"].(string), `"stores"`) {
			t.Errorf("stock result %v", stock)
		}
		mu.Lock()
		if len(got) != 1 || got[0].Method != "GET" || got[0].Header.Get("Authorization") != "Bearer k-123" {
			t.Fatalf("API calls %+v", got)
		}
		mu.Unlock()
		// The schema the LLM saw for the service.
		var params map[string]any
		for _, tl := range reqs[0].Tools {
			if tl.Function.Name == "check_product_stock" {
				json.Unmarshal(tl.Function.Parameters, &params)
			}
		}
		if p := params["properties"].(map[string]any)["stores"].(map[string]any); p["type"] != "array" {
			t.Errorf("stores schema %v", p)
		}

		// Now with every field: the bodyTemplate puts the array in as JSON.
		script2, client2 := newLLM(t,
			ok(completion(t, callsMsg(toolCall("c9", "check_product_stock", `{"product":"Sofá Oslo","color":"azul","stores":["Miraflores","Surco"]}`)))),
			ok(fixture(t, "chat_completion_text.json")))
		e.rt.LLM = client2
		if _, err := e.rt.Turn(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		var body any
		json.Unmarshal([]byte(bodies[len(bodies)-1]), &body)
		mu.Unlock()
		want := map[string]any{"query": map[string]any{"sku": "Sofá Oslo", "color": "azul"}, "label": "Sofá Oslo (azul)", "stores": []any{"Miraflores", "Surco"}}
		if b, w := mustJSON(body), mustJSON(want); b != w {
			t.Errorf("body %s, want %s", b, w)
		}
		if r := toolMessage(t, script2.requests()[1], "c9"); r["ok"] != true || r["message"] != "Quedan 3 en Miraflores." {
			t.Errorf("stock result %v", r)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A service on a private address is refused unless allow-listed: the
// call never leaves, the LLM is told, the agent's serviceError is given.
func TestTurn_ServicePrivateAddressRefused(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		hit := make(chan struct{}, 1)
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit <- struct{}{} }))
		defer api.Close()
		script, client := newLLM(t,
			ok(completion(t, callsMsg(toolCall("c1", "lookup", `{}`), toolCall("c2", "lookup_by_name", `{}`)))),
			ok(completion(t, llm.Assistant("Hubo un problema."))))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "p", Fallbacks: &plaza.AgentFallbacks{ServiceError: "Servicio no disponible."}, Services: []plaza.AgentServiceCall{
			{Intent: "lookup", Enabled: true, Method: "GET", Endpoint: api.URL + "/x"},
			{Intent: "lookup_by_name", Enabled: true, Method: "GET", Endpoint: strings.Replace(api.URL, "127.0.0.1", "localhost", 1) + "/x"},
		}}
		if _, err := e.rt.Turn(context.Background(), e.input(cfg, "consulta")); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"c1", "c2"} {
			r := toolMessage(t, script.requests()[1], id)
			if r["ok"] != false || !strings.Contains(r["error"].(string), "PLAZA_FETCH_ALLOW") || r["message"] != "Servicio no disponible." {
				t.Errorf("%s result %v", id, r)
			}
		}
		select {
		case <-hit:
			t.Error("the private service was called")
		default:
		}
	})
}

// Outside the working hours the rule's message answers, without the LLM.
func TestTurn_OutsideHours(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		script, client := newLLM(t, ok(completion(t, llm.Assistant("¡Hola!"))))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "p", Timezone: "America/Lima", Rules: &plaza.AgentRules{
			DoNotRespondOutsideHours: "Atendemos de lunes a sábado, de 8am a 6pm.",
			Hours:                    []plaza.AgentHours{{Days: []int{1, 2, 3, 4, 5, 6}, From: "08:00", To: "18:00"}}}}
		// Sunday 2026-11-29 12:00 in Lima: closed.
		e.rt.Now = func() time.Time { return time.Date(2026, 11, 29, 17, 0, 0, 0, time.UTC) }
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "Hola"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "Atendemos de lunes a sábado, de 8am a 6pm." || res.Source != agent.SourceHours || res.LLMCalls != 0 || len(script.requests()) != 0 {
			t.Errorf("result %+v, %d LLM calls", res, len(script.requests()))
		}
		// Monday 2026-11-30 09:00 in Lima: open, the LLM answers.
		e.rt.Now = func() time.Time { return time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC) }
		res, err = e.rt.Turn(context.Background(), e.input(cfg, "Hola"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "¡Hola!" || res.Source != agent.SourceLLM {
			t.Errorf("open: %+v", res)
		}
	})
}

// knowledge is a fixed knowledge base (the agents' storage and search are
// another package's): it returns the passages whose text shares a word of
// four letters or more with the question.
type knowledge []agent.Passage

func (k knowledge) SearchKnowledge(_ context.Context, _, _ string, query string, limit int) ([]agent.Passage, error) {
	var out []agent.Passage
	for _, p := range k {
		for _, w := range strings.Fields(strings.ToLower(query)) {
			w = strings.Trim(w, "¿?¡!.,")
			if len([]rune(w)) >= 4 && strings.Contains(strings.ToLower(p.Text), w) {
				out = append(out, p)
				break
			}
		}
	}
	return out[:min(len(out), limit)], nil
}

// Without an LLM the agent answers with the best passage, trimmed; when
// nothing matches, with its noAnswer fallback, asking for a human.
func TestTurn_NoLLM(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		e.rt.Knowledge = knowledge{{FileID: "f1", Reference: "Horarios", Text: "Nuestra tienda de Miraflores abre de lunes a sábado de 9:00 a 20:00. Los domingos abrimos de 10:00 a 14:00. El estacionamiento es gratuito para clientes."}}
		cfg := plaza.AgentConfig{Prompt: "p", Instructions: &plaza.AgentInstructions{MaxWords: 20},
			Fallbacks: &plaza.AgentFallbacks{NoAnswer: "No tengo esa información; te paso con una persona."}}
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "¿A qué hora abre la tienda?"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "Nuestra tienda de Miraflores abre de lunes a sábado de 9:00 a 20:00. Los domingos abrimos de 10:00 a 14:00." ||
			res.Source != agent.SourceKnowledge || res.Handoff {
			t.Errorf("result %+v", res)
		}
		res, err = e.rt.Turn(context.Background(), e.input(cfg, "¿Venden bicicletas?"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "No tengo esa información; te paso con una persona." || res.Source != agent.SourceFallback || !res.Handoff || res.HandoffReason != agent.HandoffNoAnswer {
			t.Errorf("result %+v", res)
		}
		h, _ := e.handoffs.FindHandoff(e.ownerCtx, e.conversation)
		if h.State != plaza.HandoffRequested || *h.Reason != agent.HandoffNoAnswer {
			t.Errorf("handoff %+v", h)
		}
	})
}

// With respondOnlyIfKnows, an answer with no passage and no tool behind
// it is replaced by noAnswer; maxWords trims the LLM's answer.
func TestTurn_RespondOnlyIfKnowsAndMaxWords(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		e.rt.Knowledge = knowledge{{Text: "El sofá Oslo cuesta 1200 soles y viene en azul, gris y verde."}}
		_, client := newLLM(t,
			ok(completion(t, llm.Assistant("Creo que vendemos bicicletas."))),
			ok(fixture(t, "chat_completion_text.json")))
		e.rt.LLM = client
		cfg := plaza.AgentConfig{Prompt: "p", Instructions: &plaza.AgentInstructions{RespondOnlyIfKnows: true, MaxWords: 20},
			Fallbacks: &plaza.AgentFallbacks{NoAnswer: "No tengo información sobre eso."}}
		res, err := e.rt.Turn(context.Background(), e.input(cfg, "¿Venden bicicletas?"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "No tengo información sobre eso." || res.Source != agent.SourceFallback {
			t.Errorf("unknown: %+v", res)
		}
		res, err = e.rt.Turn(context.Background(), e.input(cfg, "¿De qué colores es el sofá Oslo?"))
		if err != nil {
			t.Fatal(err)
		}
		// The fixture's answer has 37 words; its first two sentences, 17.
		if res.Reply != "¡Hola Lucía! Tu pedido 4521 ya fue enviado con Olva Courier y debería llegar el 30 de noviembre." || res.Passages != 1 {
			t.Errorf("known: %+v", res)
		}
	})
}

// A rate-limited LLM is retried; a bad key fails the turn (before any
// tool ran: the caller may retry it) and changes nothing.
func TestTurn_LLMErrors(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		script, client := newLLM(t,
			scripted{status: 429, header: map[string]string{"Retry-After": "1"}, body: fixture(t, "error_429.json")},
			ok(fixture(t, "chat_completion_text.json")))
		e.rt.LLM = client
		res, err := e.rt.Turn(context.Background(), e.input(plaza.AgentConfig{Prompt: "p"}, "Hola"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Reply, "¡Hola Lucía!") || len(script.requests()) != 2 {
			t.Errorf("result %+v after %d calls", res, len(script.requests()))
		}

		_, bad := newLLM(t, scripted{status: 401, body: fixture(t, "error_401.json")})
		e.rt.LLM = bad
		_, err = e.rt.Turn(context.Background(), e.input(plaza.AgentConfig{Prompt: "p"}, "Hola"))
		var le *llm.Error
		if !asLLMError(err, &le) || le.StatusCode != 401 || llm.IsRetryable(err) {
			t.Errorf("err = %v", err)
		}
	})
}

func asLLMError(err error, target **llm.Error) bool {
	for err != nil {
		if e, ok := err.(*llm.Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// The tool loop is bounded: the last round offers no tool.
func TestTurn_BoundedRounds(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		var script []scripted
		for i := range 3 {
			script = append(script, ok(completion(t, callsMsg(toolCall("c"+string(rune('a'+i)), plaza.ToolAddActivity, `{"content":"note"}`)))))
		}
		s, client := newLLM(t, script...)
		e.rt.LLM, e.rt.MaxRounds = client, 3
		res, err := e.rt.Turn(context.Background(), e.input(plaza.AgentConfig{Prompt: "p", CRMTools: []string{plaza.ToolAddActivity}}, "Hola"))
		if err != nil {
			t.Fatal(err)
		}
		reqs := s.requests()
		if len(reqs) != 3 || reqs[2].ToolChoice != "none" || len(res.ToolCalls) != 2 {
			t.Errorf("%d calls, last tool_choice %q, %d tool calls", len(reqs), reqs[len(reqs)-1].ToolChoice, len(res.ToolCalls))
		}
		// The last answer called a tool anyway and had no text.
		if res.Source != agent.SourceFallback {
			t.Errorf("result %+v", res)
		}
	})
}

// A workspace with its own LLM has its agents use it, with its model and
// key, called through the fetch guard; the server's is not called.
func TestTurn_WorkspaceLLM(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		server, serverClient := newLLM(t)
		own, ownClient := newLLM(t, ok(completion(t, llm.Assistant("Desde el LLM del workspace."))))
		e.rt.LLM = serverClient
		settings := sqldb.NewLLMSettingsService(db, "test-secret-key-0123456789abcdef-0123")
		e.rt.WorkspaceLLMs = settings
		key := "sk-test"
		if _, err := settings.SetLLMSettings(e.ownerCtx, plaza.LLMSettingsUpdate{BaseURL: ownClient.BaseURL, Model: "llama3.1", APIKey: &key}); err != nil {
			t.Fatal(err)
		}
		// Its endpoint is on a private address: refused until allow-listed.
		_, err := e.rt.Turn(context.Background(), e.input(plaza.AgentConfig{Prompt: "p"}, "Hola"))
		if err == nil || !strings.Contains(err.Error(), "PLAZA_FETCH_ALLOW") {
			t.Fatalf("err = %v", err)
		}
		allow, _ := messaging.ParseFetchAllow("127.0.0.1")
		e.rt = &agent.Runtime{LLM: serverClient, WorkspaceLLMs: settings, Guard: allow, Contacts: e.rt.Contacts, Opportunities: e.rt.Opportunities,
			Tasks: e.rt.Tasks, Masters: e.rt.Masters, Pipelines: e.rt.Pipelines}
		res, err := e.rt.Turn(context.Background(), e.input(plaza.AgentConfig{Prompt: "p"}, "Hola"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reply != "Desde el LLM del workspace." || len(server.requests()) != 0 {
			t.Errorf("reply %q, server LLM called %d times", res.Reply, len(server.requests()))
		}
		if reqs := own.requests(); len(reqs) != 1 || reqs[0].Model != "llama3.1" {
			t.Errorf("workspace LLM requests %+v", reqs)
		}
	})
}
