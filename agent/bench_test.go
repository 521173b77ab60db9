package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/agent"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// BenchmarkTurn measures a turn's time in Plaza itself: a question, a
// create_opportunity tool call, the answer. The local LLM answers at once
// from prepared bytes, and the time spent inside its handler is reported
// apart (llm-ns/op), so ns/op minus llm-ns/op is Plaza's: context
// building, two requests' encoding and decoding, the tool's writes (the
// opportunity and the activity) on the database.
func BenchmarkTurn(b *testing.B) {
	for _, d := range sqldbtest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			db := sqldbtest.MustOpen(b, sqldbtest.DSN(b, d))
			e := newEnv(b, db)
			call := completion(b, callsMsg(toolCall("call_1", plaza.ToolCreateOpportunity, `{"name":"Sofá","description":"Dos sofás","amount":100}`)))
			final := completion(b, llm.Assistant("Listo, registré tu pedido."))
			var n, inLLM atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				w.Header().Set("Content-Type", "application/json")
				if n.Add(1)%2 == 1 {
					w.Write(call)
				} else {
					w.Write(final)
				}
				inLLM.Add(int64(time.Since(start)))
			}))
			defer srv.Close()
			e.rt.LLM = &llm.Client{BaseURL: srv.URL + "/v1", Model: "m"}
			cfg := plaza.AgentConfig{Prompt: "Eres el asistente.", CRMTools: []string{plaza.ToolCreateOpportunity},
				Instructions: &plaza.AgentInstructions{MaxWords: 80, Language: "es"}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := e.rt.Turn(context.Background(), e.input(cfg, fmt.Sprintf("Quiero dos sofás (%d)", i)))
				if err != nil || len(res.ToolCalls) != 1 || res.ToolCalls[0].Failed {
					b.Fatalf("turn: %v %+v", err, res)
				}
			}
			b.ReportMetric(float64(inLLM.Load())/float64(b.N), "llm-ns/op")
		})
	}
}

// BenchmarkTurnJob measures an agent_turn job in Plaza: from the job's
// start to the reply committed (taking the customer's pending message,
// reading the agent, contact and history, the turn with a
// create_opportunity call, and the transaction that queues the WhatsApp
// reply and marks the message answered). The local LLM answers at once;
// llm-ns/op is the time inside its handler, llm-wait-ns/op the time the
// turn waited for it (with HTTP and JSON), so ns/op minus either is
// Plaza's own time. Storing the customer's message is not timed.
func BenchmarkTurnJob(b *testing.B) {
	for _, d := range sqldbtest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			db := sqldbtest.MustOpen(b, sqldbtest.DSN(b, d))
			e := newTurnEnv(b, db)
			call := completion(b, callsMsg(toolCall("call_1", plaza.ToolCreateOpportunity, `{"name":"Sofá","description":"Dos sofás","amount":100}`)))
			final := completion(b, llm.Assistant("Listo, registré tu pedido."))
			var n, inLLM atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				w.Header().Set("Content-Type", "application/json")
				if n.Add(1)%2 == 1 {
					w.Write(call)
				} else {
					w.Write(final)
				}
				inLLM.Add(int64(time.Since(start)))
			}))
			defer srv.Close()
			e.rt.LLM = &llm.Client{BaseURL: srv.URL + "/v1", Model: "m"}
			e.addAgent(b, map[string]any{"crmTools": []string{plaza.ToolCreateOpportunity}})
			var waited time.Duration
			replied := 0
			e.worker.Observe = func(s agent.TurnStats) {
				waited += s.LLM
				if s.Replied {
					replied++
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e.customer(b, fmt.Sprintf("Quiero dos sofás (%d)", i))
				b.StartTimer()
				e.work(b, e.conversation, int64(i+1))
			}
			b.StopTimer()
			if replied != b.N {
				b.Fatalf("%d of %d turns replied", replied, b.N)
			}
			b.ReportMetric(float64(inLLM.Load())/float64(b.N), "llm-ns/op")
			b.ReportMetric(float64(waited)/float64(b.N), "llm-wait-ns/op")
		})
	}
}
