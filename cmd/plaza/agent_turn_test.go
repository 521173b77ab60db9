package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// turnLLM is a local OpenAI chat-completions server: it answers its
// script in order (completions built from llm/testdata's documented
// payload) and keeps what it was asked.
type turnLLM struct {
	t      *testing.T
	URL    string
	mu     sync.Mutex
	script [][]byte
	asked  []map[string]any
}

func newTurnLLM(t *testing.T) *turnLLM {
	l := &turnLLM{t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil {
			t.Errorf("LLM got %s %s", r.Method, r.URL.Path)
		}
		l.mu.Lock()
		l.asked = append(l.asked, req)
		if len(l.script) == 0 {
			l.mu.Unlock()
			t.Errorf("unscripted LLM call")
			http.Error(w, "{}", 500)
			return
		}
		next := l.script[0]
		l.script = l.script[1:]
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(next)
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL + "/v1"
	return l
}

// then scripts the next completion: a message with content or tool
// calls, in chat_completion_text.json's envelope.
func (l *turnLLM) then(message map[string]any) {
	var c map[string]any
	raw, err := os.ReadFile(filepath.Join("..", "..", "llm", "testdata", "chat_completion_text.json"))
	if err != nil {
		l.t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		l.t.Fatal(err)
	}
	message["role"], message["refusal"], message["annotations"] = "assistant", nil, []any{}
	finish := "stop"
	if message["tool_calls"] != nil {
		finish = "tool_calls"
	}
	c["choices"] = []any{map[string]any{"index": 0, "message": message, "logprobs": nil, "finish_reason": finish}}
	b, _ := json.Marshal(c)
	l.mu.Lock()
	l.script = append(l.script, b)
	l.mu.Unlock()
}

func (l *turnLLM) requests() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.asked...)
}

// userTexts are the customer's messages of a request.
func userTexts(req map[string]any) []string {
	var out []string
	for _, m := range req["messages"].([]any) {
		if m := m.(map[string]any); m["role"] == "user" {
			out = append(out, fmt.Sprint(m["content"]))
		}
	}
	return out
}

// graph is the local Graph API: it accepts every send, as Meta does.
type graph struct {
	URL   string
	mu    sync.Mutex
	sends []map[string]any
}

func newGraph(t *testing.T) *graph {
	g := &graph{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v23.0/100200300400501/messages" || r.Header.Get("Authorization") != "Bearer token" {
			t.Errorf("Graph got %s %s", r.Method, r.URL.Path)
			http.Error(w, "{}", 400)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		g.sends = append(g.sends, body)
		n := len(g.sends)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"%s","wa_id":"%s"}],"messages":[{"id":"wamid.OUT%d"}]}`, body["to"], body["to"], n)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/v23.0"
	return g
}

func (g *graph) texts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, s := range g.sends {
		if text, ok := s["text"].(map[string]any); ok {
			out = append(out, fmt.Sprintf("%s:%s", s["to"], text["body"]))
		}
	}
	return out
}

// inbound posts a signed webhook delivery of one text from 15557654321.
func inbound(t *testing.T, srv *server, appSecret, wamid, text string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "100200300400500", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550001234", "phone_number_id": "100200300400501"},
			"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Lucía Fernández"}, "wa_id": "15557654321"}},
			"messages": []any{map[string]any{"from": "15557654321", "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
				"type": "text", "text": map[string]any{"body": text}}},
		}}}}}})
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	req, _ := http.NewRequest("POST", srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
}

// An agent answers on WhatsApp through plaza serve: a burst of three
// messages is one LLM call holding the three; the LLM creates an
// opportunity (recorded as the agent's) and its final text reaches the
// Graph API once, to the customer. The same agent answers a web chat
// visitor on their stream and in their messages.
func TestServeAgentAnswers(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		llm, meta := newTurnLLM(t), newGraph(t)
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		srv := startServe(t, envOf(map[string]string{"PLAZA_LLM_MODEL": "gpt-4o-mini", "PLAZA_AGENT_DEBOUNCE": "1500ms"}),
			"--database", dsn, "--secret-key", testKey, "--llm-base-url", llm.URL, "--whatsapp-graph-url", meta.URL)
		const appSecret = "app-secret-of-tenant-a"
		srv.mustCall(t, 200, "POST", "/api/workspace/"+b.WorkspaceID+"/whatsapp/numbers", b.APIKey, "", map[string]string{
			"phoneNumberId": "100200300400501", "wabaId": "100200300400500", "displayPhoneNumber": "15550001234",
			"accessToken": "token", "appSecret": appSecret, "verifyToken": "verify"})
		doc, _ := json.Marshal(map[string]any{
			"name": "Ventas", "prompt": "Eres el asistente de ventas de Acme.", "crmTools": []string{"create_opportunity"},
			"channels": []map[string]string{{"channel": "whatsapp", "key": "+1 555 000 1234"}, {"channel": "webchat"}}})
		raw := post(t, srv.URL+"/api/agent/add", b.APIKey, b.WorkspaceID, doc)
		var added struct {
			AgentID string `json:"agentId"`
		}
		if err := json.Unmarshal(raw, &added); err != nil || added.AgentID == "" {
			t.Fatalf("agent/add: %s", raw)
		}

		llm.then(map[string]any{"content": nil, "tool_calls": []any{map[string]any{"id": "call_1", "type": "function",
			"function": map[string]any{"name": "create_opportunity", "arguments": `{"name":"Sofá Oslo azul","description":"Quiere el sofá Oslo en azul","amount":1200}`}}}})
		llm.then(map[string]any{"content": "¡Listo Lucía! Registré tu pedido del sofá Oslo azul."})
		for i, text := range []string{"Hola", "¿tienen el sofá Oslo", "en azul? lo quiero"} {
			inbound(t, srv, appSecret, fmt.Sprintf("wamid.BURST%d", i), text)
		}
		waitFor(t, "the reply sent to Meta", func() bool { return len(meta.texts()) > 0 })
		reqs := llm.requests()
		if len(reqs) != 2 || strings.Join(userTexts(reqs[0]), "|") != "Hola|¿tienen el sofá Oslo|en azul? lo quiero" {
			t.Fatalf("LLM requests: %d, first with %q", len(reqs), userTexts(reqs[0]))
		}
		var opps []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		listOf(t, srv.mustCall(t, 200, "GET", "/api/opportunity", b.APIKey, b.WorkspaceID, nil), &opps)
		if len(opps) != 1 || opps[0].Name != "Sofá Oslo azul" {
			t.Fatalf("opportunities: %+v", opps)
		}
		var convs []struct {
			ContactID string `json:"contactId"`
		}
		listOf(t, srv.mustCall(t, 200, "GET", "/api/conversation", b.APIKey, b.WorkspaceID, nil), &convs)
		var acts []struct {
			ActorType string `json:"actorType"`
			ActorID   string `json:"actorId"`
		}
		listOf(t, srv.mustCall(t, 200, "GET", "/api/contact/"+convs[0].ContactID+"/activities", b.APIKey, b.WorkspaceID, nil), &acts)
		byAgent := false
		for _, a := range acts {
			byAgent = byAgent || a.ActorType == "agent" && a.ActorID == added.AgentID
		}
		if !byAgent {
			t.Errorf("no activity of the agent: %+v", acts)
		}

		// Web chat: the visitor's stream and messages get the reply.
		llm.then(map[string]any{"content": "Enviamos a todo el país."})
		sess := srv.mustCall(t, 200, "POST", "/widget/session", "", "", map[string]any{"workspaceId": b.WorkspaceID, "name": "Rosa"})
		var visitor struct {
			Token string `json:"token"`
		}
		json.Unmarshal(sess.Data, &visitor)
		req, _ := http.NewRequest("GET", srv.URL+"/widget/events?token="+visitor.Token, nil)
		stream, err := http.DefaultClient.Do(req)
		if err != nil || stream.StatusCode != 200 {
			t.Fatalf("GET /widget/events: %v %v", stream, err)
		}
		defer stream.Body.Close()
		got := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stream.Body)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "Enviamos a todo el país.") {
					close(got)
					return
				}
			}
		}()
		srv.mustCall(t, 200, "POST", "/widget/messages", visitor.Token, "", map[string]any{"content": "¿Hacen envíos?"})
		select {
		case <-got:
		case <-time.After(3 * time.Minute):
			t.Fatal("the reply did not reach the visitor's stream")
		}
		var msgs []struct {
			Content    string  `json:"content"`
			AnswerType *string `json:"answerType"`
		}
		listOf(t, srv.mustCall(t, 200, "GET", "/widget/messages", visitor.Token, "", nil), &msgs)
		if len(msgs) != 2 || msgs[1].Content != "Enviamos a todo el país." || msgs[1].AnswerType == nil || *msgs[1].AnswerType != "ai" {
			t.Fatalf("widget messages: %+v", msgs)
		}
		if n := len(llm.requests()); n != 3 {
			t.Fatalf("%d LLM calls, want 3", n)
		}
		if texts := meta.texts(); len(texts) != 1 || texts[0] != "+15557654321:¡Listo Lucía! Registré tu pedido del sofá Oslo azul." {
			t.Fatalf("Meta got %q", texts)
		}
		// The turns are counted once their replies are committed.
		waitFor(t, "both turns on /metrics", func() bool {
			code, body := srv.get(t, "/metrics")
			return code == 200 && strings.Contains(body, `plaza_agent_turns_total{channel="whatsapp",replied="true"} 1`) &&
				strings.Contains(body, `plaza_agent_turns_total{channel="webchat",replied="true"} 1`) &&
				strings.Contains(body, `plaza_agent_turn_seconds_count{part="plaza"} 2`)
		})
		srv.stop(t)
	})
}

// listOf reads a list answer: data itself, or a page's data.
func listOf(t *testing.T, env envelope, v any) {
	t.Helper()
	if json.Unmarshal(env.Data, v) == nil {
		return
	}
	var page struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(env.Data, &page); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(page.Data, v); err != nil {
		t.Fatalf("list %s: %v", page.Data, err)
	}
}
