package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/llm"
)

// fixture returns testdata/name: OpenAI's wire format, as documented.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reply is one scripted answer of the local OpenAI server.
type reply struct {
	status     int
	retryAfter string
	body       []byte
}

// openAI is a local chat-completions server answering the script in order
// and keeping every request it received.
type openAI struct {
	t      *testing.T
	mu     sync.Mutex
	script []reply
	got    [][]byte
	auth   []string
}

func newOpenAI(t *testing.T, script ...reply) (*openAI, *httptest.Server) {
	o := &openAI{t: t, script: script}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.got = append(o.got, b)
		o.auth = append(o.auth, r.Header.Get("Authorization"))
		if len(o.script) == 0 {
			o.mu.Unlock()
			t.Errorf("unscripted request %s", b)
			http.Error(w, "no script", http.StatusInternalServerError)
			return
		}
		rep := o.script[0]
		o.script = o.script[1:]
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		if rep.status == 0 {
			rep.status = http.StatusOK
		}
		w.WriteHeader(rep.status)
		w.Write(rep.body)
	}))
	t.Cleanup(srv.Close)
	return o, srv
}

func (o *openAI) requests() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([][]byte(nil), o.got...)
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request is not JSON: %v: %s", err, got)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("request JSON (-want +got):\n%s", d)
	}
}

// fixtureRequest is request_with_tools.json built through the package's
// types: the second round of a tool-calling chat.
func fixtureRequest() llm.Request {
	yes := true
	calls := []llm.ToolCall{
		{ID: "call_TESTorder4521aaaaaaaa", Type: "function", Function: llm.FunctionCall{Name: "get_order_status", Arguments: `{"order_id":"4521"}`}},
		{ID: "call_TESTstockOslobbbbbb", Type: "function", Function: llm.FunctionCall{Name: "check_product_stock", Arguments: `{"product":"Sofá Oslo","color":"azul"}`}},
	}
	return llm.Request{
		Messages: []llm.Message{
			llm.System("Eres el asistente de WhatsApp de Plaza Muebles. Responde en español, breve y amable. Usa las herramientas para consultar pedidos y stock; nunca inventes datos."),
			llm.User("Hola, ¿en qué va mi pedido 4521? ¿Y tienen el sofá Oslo en azul?"),
			{Role: llm.RoleAssistant, ToolCalls: calls},
			llm.ToolResult("call_TESTorder4521aaaaaaaa", `{"order_id":"4521","status":"shipped","carrier":"Olva Courier","estimated_delivery":"2026-11-30"}`),
			llm.ToolResult("call_TESTstockOslobbbbbb", `{"product":"Sofá Oslo","color":"azul","in_stock":true,"units":3,"store":"Miraflores"}`),
		},
		Tools: []llm.Tool{
			{Type: "function", Function: llm.Function{Name: "get_order_status", Description: "Get the current status of a customer's order by its order number.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, e.g. 4521"}},"required":["order_id"],"additionalProperties":false}`)}},
			{Type: "function", Function: llm.Function{Name: "check_product_stock", Description: "Check whether a product is in stock in a given color.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"product":{"type":"string","description":"Product name as shown in the catalog"},"color":{"type":"string","description":"Requested color"}},"required":["product","color"],"additionalProperties":false}`)}},
		},
		ToolChoice:        "auto",
		ParallelToolCalls: &yes,
	}
}

func TestClient_Complete_ToolCallsThenText(t *testing.T) {
	o, srv := newOpenAI(t, reply{body: fixture(t, "chat_completion_tool_calls.json")}, reply{body: fixture(t, "chat_completion_text.json")})
	c := &llm.Client{BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "gpt-4o-mini"}
	ctx := context.Background()

	// Round one: the question; the model asks for two tools.
	first := fixtureRequest()
	first.Messages = first.Messages[:2]
	res, err := c.Complete(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	msg := res.Message()
	if res.FinishReason() != "tool_calls" || msg.Content != nil || len(msg.ToolCalls) != 2 {
		t.Fatalf("first answer %+v, finish %s", msg, res.FinishReason())
	}
	if got, want := msg.ToolCalls, fixtureRequest().Messages[2].ToolCalls; !cmp.Equal(got, want) {
		t.Errorf("tool calls (-want +got):\n%s", cmp.Diff(want, got))
	}

	// Round two: the tool results; exactly the documented request.
	res, err = c.Complete(ctx, fixtureRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := "¡Hola Lucía! Tu pedido 4521 ya fue enviado con Olva Courier y debería llegar el 30 de noviembre. Y sí, tenemos el sofá Oslo en azul: quedan 3 unidades en Miraflores. ¿Quieres que te reserve uno?"; res.Message().Text() != want || res.FinishReason() != "stop" {
		t.Errorf("answer %q (%s)", res.Message().Text(), res.FinishReason())
	}
	if res.Usage.TotalTokens != 359 {
		t.Errorf("usage %+v", res.Usage)
	}

	reqs := o.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	jsonEqual(t, fixture(t, "request_with_tools.json"), reqs[1])
	if o.auth[0] != "Bearer sk-test" {
		t.Errorf("Authorization %q", o.auth[0])
	}
}

func TestClient_Complete_OptionalFields(t *testing.T) {
	o, srv := newOpenAI(t, reply{body: fixture(t, "chat_completion_text.json")})
	c := &llm.Client{BaseURL: srv.URL + "/v1/", Model: "default-model"}
	temp := 0.2
	_, err := c.Complete(context.Background(), llm.Request{Model: "m", Messages: []llm.Message{llm.User("hi")}, Temperature: &temp, MaxTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"max_tokens":300}`), o.requests()[0])
	if o.auth[0] != "" {
		t.Errorf("Authorization %q sent without a key", o.auth[0])
	}
}

func TestClient_Complete_Unauthorized(t *testing.T) {
	o, srv := newOpenAI(t, reply{status: 401, body: fixture(t, "error_401.json")})
	var slept []time.Duration
	c := &llm.Client{BaseURL: srv.URL + "/v1", APIKey: "sk-bad", Model: "gpt-4o-mini",
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	_, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *llm.Error", err)
	}
	if e.StatusCode != 401 || e.Code != "invalid_api_key" || e.Type != "invalid_request_error" || e.Retryable() || llm.IsRetryable(err) {
		t.Errorf("error %+v", e)
	}
	if n := len(o.requests()); n != 1 || len(slept) != 0 {
		t.Errorf("%d requests, slept %v: a bad key is not retried", n, slept)
	}
}

func TestClient_Complete_RateLimitedThenOK(t *testing.T) {
	rl := fixture(t, "error_429.json")
	o, srv := newOpenAI(t,
		reply{status: 429, retryAfter: "0.12", body: rl},
		reply{status: 503, body: []byte("upstream down")},
		reply{body: fixture(t, "chat_completion_text.json")})
	var slept []time.Duration
	c := &llm.Client{BaseURL: srv.URL + "/v1", Model: "gpt-4o-mini",
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	res, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "chatcmpl-TEST0000000000000000000002" {
		t.Errorf("id %s", res.ID)
	}
	// 429 waits what Retry-After says; the 503 that gives none, 2 s.
	if want := []time.Duration{120 * time.Millisecond, 2 * time.Second}; !cmp.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	reqs := o.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs[1:] {
		jsonEqual(t, reqs[0], r)
	}
}

func TestClient_Complete_RateLimitedGivesUp(t *testing.T) {
	rl := fixture(t, "error_429.json")
	o, srv := newOpenAI(t, reply{status: 429, body: rl}, reply{status: 429, body: rl})
	c := &llm.Client{BaseURL: srv.URL + "/v1", Model: "gpt-4o-mini", MaxAttempts: 2,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	_, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	var e *llm.Error
	if !errors.As(err, &e) || e.StatusCode != 429 || e.Code != "rate_limit_exceeded" || !e.Retryable() {
		t.Fatalf("err = %v", err)
	}
	if n := len(o.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	// A Retry-After beyond MaxRetryWait is not waited for.
	o2, srv2 := newOpenAI(t, reply{status: 429, retryAfter: "3600", body: rl})
	c2 := &llm.Client{BaseURL: srv2.URL + "/v1", Model: "m", Sleep: func(context.Context, time.Duration) error {
		t.Error("slept despite a Retry-After of an hour")
		return nil
	}}
	if _, err := c2.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err == nil {
		t.Fatal("no error")
	} else if errors.As(err, &e); e.RetryAfter != time.Hour {
		t.Errorf("RetryAfter %v", e.RetryAfter)
	}
	if n := len(o2.requests()); n != 1 {
		t.Errorf("%d requests", n)
	}
}

func TestClient_NotConfigured(t *testing.T) {
	var c *llm.Client
	if c.Configured() {
		t.Fatal("nil client configured")
	}
	if _, err := (&llm.Client{}).Complete(context.Background(), llm.Request{}); !errors.Is(err, llm.ErrNotConfigured) {
		t.Fatalf("err = %v", err)
	}
}
