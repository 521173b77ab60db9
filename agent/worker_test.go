package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/agent"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// turnEnv is env with agent turns on: the queue open (inserting only; the
// tests run the worker's Work themselves, as River would), a worker on
// the real turn store.
type turnEnv struct {
	*env
	queue  *sqldb.Queue
	worker *agent.TurnWorker
	number plaza.WhatsAppNumber
	wamids atomic.Int64
	jobIDs atomic.Int64
}

func newTurnEnv(t testing.TB, db *sqldb.DB) *turnEnv {
	t.Helper()
	e := newEnv(t, db)
	q, err := db.OpenQueue(sqldb.QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	db.EnableAgentTurns(time.Second)
	ns, err := sqldb.NewWhatsAppNumberService(db, "test-secret-key-0123456789abcdef-0123").FindWhatsAppNumbers(e.ownerCtx)
	if err != nil || len(ns) != 1 {
		t.Fatalf("numbers %v %v", ns, err)
	}
	te := &turnEnv{env: e, queue: q, number: ns[0],
		worker: &agent.TurnWorker{Runtime: e.rt, Logger: slog.New(slog.DiscardHandler), Store: sqldb.NewAgentTurnService(db, sqldb.NewAutomationService(db, "test-secret-key-0123456789abcdef-0123"))}}
	e.rt.Knowledge = sqldb.NewAgentService(db)
	return te
}

// addAgent saves an agent answering on the number.
func (e *turnEnv) addAgent(t testing.TB, extra map[string]any) string {
	t.Helper()
	doc := plaza.AgentDocument{}
	cfg := map[string]any{"name": "Ventas", "prompt": "Eres el asistente de Muebles.", "buffer": 5,
		"channels": []map[string]string{{"channel": "whatsapp", "key": "+1 555 000 1234"}, {"channel": "webchat"}}}
	for k, v := range extra {
		cfg[k] = v
	}
	for k, v := range cfg {
		doc[k], _ = json.Marshal(v)
	}
	saved, err := sqldb.NewAgentService(e.db).CreateAgent(e.ownerCtx, doc)
	if err != nil {
		t.Fatal(err)
	}
	return saved.Agent.ID
}

// customer stores a customer's WhatsApp message, as the inbox does.
func (e *turnEnv) customer(t testing.TB, text string) {
	t.Helper()
	_, err := sqldb.NewInboundStore(e.db).StoreInboundMessage(context.Background(), plaza.InboundMessage{Number: e.number,
		From: "51987654321", ProfileName: "Lucía", WAMID: fmt.Sprintf("wamid.T%d", e.wamids.Add(1)), Type: "text", Content: text,
		Payload: []byte(`{}`), Timestamp: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
}

// turnJobs returns the agent_turn jobs queued and not yet worked.
func (e *turnEnv) turnJobs(t testing.TB) []*rivertype.JobRow {
	t.Helper()
	res, err := e.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds("agent_turn").
		States(rivertype.JobStateScheduled, rivertype.JobStateAvailable))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// work runs the worker on a job for conv as River would, with id.
func (e *turnEnv) work(t testing.TB, conv string, id int64) {
	t.Helper()
	job := &river.Job[plaza.AgentTurnJob]{JobRow: &rivertype.JobRow{ID: id, Attempt: 1, MaxAttempts: sqldb.AgentTurnMaxAttempts},
		Args: plaza.AgentTurnJob{WorkspaceID: e.workspace, ConversationID: conv}}
	if err := e.worker.Work(context.Background(), job); err != nil {
		t.Fatal(err)
	}
}

// replies returns the agent's messages of a conversation.
func (e *turnEnv) replies(t testing.TB, conv string) []plaza.Message {
	t.Helper()
	ms, err := sqldb.NewConversationService(e.db).FindMessages(e.ownerCtx, conv, plaza.MessagePage{})
	if err != nil {
		t.Fatal(err)
	}
	var out []plaza.Message
	for _, m := range ms {
		if m.Direction == "out" {
			out = append(out, m)
		}
	}
	return out
}

// A burst of three messages queues one turn job; working it asks the LLM
// once with the three messages after the earlier one as history, and the
// reply is one WhatsApp text queued (answerType ai, by the agent) for the
// send worker. Working the job again (a retry after a crash) replies
// nothing more and asks the LLM nothing.
func TestTurnWorkerBurstOnceOnWhatsApp(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		fake, client := newLLM(t, ok(completion(t, llm.Assistant("¡Claro! Tenemos el sofá Oslo en azul."))))
		e.rt.LLM = client
		id := e.addAgent(t, nil)
		for _, m := range []string{"Hola otra vez", "¿tienen el sofá Oslo", "en azul?"} {
			e.customer(t, m)
		}
		if jobs := e.turnJobs(t); len(jobs) != 1 || jobs[0].ScheduledAt.Before(time.Now().Add(-time.Minute)) {
			t.Fatalf("%d turn jobs queued, want 1", len(jobs))
		}
		e.work(t, e.conversation, 1)
		e.work(t, e.conversation, 1) // the same job again
		reqs := fake.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d LLM calls, want 1", len(reqs))
		}
		var users []string
		for _, m := range reqs[0].Messages {
			if m.Role == llm.RoleUser {
				users = append(users, m.Text())
			}
		}
		if want := []string{"Hola", "Hola otra vez", "¿tienen el sofá Oslo", "en azul?"}; strings.Join(users, "|") != strings.Join(want, "|") {
			t.Errorf("the LLM read %q, want %q", users, want)
		}
		rs := e.replies(t, e.conversation)
		if len(rs) != 1 || rs[0].Content != "¡Claro! Tenemos el sofá Oslo en azul." || rs[0].AnswerType == nil || *rs[0].AnswerType != "ai" ||
			rs[0].AnswerAgentID == nil || *rs[0].AnswerAgentID != id {
			t.Fatalf("replies %+v", rs)
		}
		res, err := e.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds("whatsapp_send"))
		if err != nil || len(res.Jobs) != 1 {
			t.Fatalf("send jobs %d, %v", len(res.Jobs), err)
		}
		// A message while no job waits queues the next turn.
		e.customer(t, "¿Y el precio?")
		if jobs := e.turnJobs(t); len(jobs) != 2 {
			t.Fatalf("%d turn jobs, want a second one", len(jobs))
		}
	})
}

// A message that arrives while a turn runs is not that turn's: it queues a
// job of its own and is answered by it.
func TestTurnWorkerMessageDuringTurn(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		first := completion(t, llm.Assistant("Primera respuesta"))
		fake, client := newLLM(t, ok(first), ok(completion(t, llm.Assistant("Segunda respuesta"))))
		e.rt.LLM = &hookLLM{Completer: client, during: func() { e.customer(t, "una cosa más") }}
		e.addAgent(t, nil)
		e.customer(t, "Hola")
		e.work(t, e.conversation, 1)
		e.rt.LLM = client
		if jobs := e.turnJobs(t); len(jobs) != 2 {
			t.Fatalf("%d turn jobs, want 2 (the first and the mid-turn message's)", len(jobs))
		}
		e.work(t, e.conversation, 2)
		reqs := fake.requests()
		if len(reqs) != 2 || reqs[1].Messages[len(reqs[1].Messages)-1].Text() != "una cosa más" {
			t.Fatalf("LLM requests %d", len(reqs))
		}
		if rs := e.replies(t, e.conversation); len(rs) != 2 || rs[1].Content != "Segunda respuesta" {
			t.Fatalf("replies %+v", rs)
		}
	})
}

// hookLLM runs during once, inside the first completion.
type hookLLM struct {
	agent.Completer
	during func()
	done   bool
}

func (h *hookLLM) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if !h.done {
		h.done = true
		h.during()
	}
	return h.Completer.Complete(ctx, req)
}

// After action.agentShutDown the conversation is handed off: the next
// message queues no turn (and a job already queued answers nothing); once
// the bot is resumed, the next message is answered. A human's reply over
// the API takes the conversation over the same way.
func TestTurnWorkerHandoff(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		fake, client := newLLM(t,
			ok(completion(t, callsMsg(toolCall("call_1", "humano", `{}`)))),
			ok(completion(t, llm.Assistant("Te paso con una persona."))),
			ok(completion(t, llm.Assistant("Hola de nuevo"))))
		e.rt.LLM = client
		e.addAgent(t, map[string]any{"actions": []map[string]any{{"intent": "humano", "reference": "El cliente pide una persona",
			"enabled": true, "action": []map[string]string{{"type": "action.agentShutDown", "value": ""}}}}})
		e.customer(t, "Quiero hablar con una persona")
		e.work(t, e.conversation, 1)
		h, err := e.handoffs.FindHandoff(e.ownerCtx, e.conversation)
		if err != nil || h.State != plaza.HandoffRequested {
			t.Fatalf("handoff %+v %v", h, err)
		}
		e.customer(t, "¿Hola?")
		if jobs := e.turnJobs(t); len(jobs) != 1 {
			t.Fatalf("%d turn jobs after the handoff, want only the first", len(jobs))
		}
		// action.agentShutDown also switched the contact's bot off;
		// resuming the conversation switches it on.
		if c := e.contactNow(t); c.IsBotEnabled {
			t.Fatal("the contact's bot is still on after action.agentShutDown")
		}
		if _, err := e.handoffs.ResumeBot(e.ownerCtx, e.conversation); err != nil {
			t.Fatal(err)
		}
		if c := e.contactNow(t); !c.IsBotEnabled {
			t.Fatal("the contact's bot is still off after resuming")
		}
		e.customer(t, "¿Siguen ahí?")
		e.work(t, e.conversation, 2)
		if n := len(fake.requests()); n != 3 {
			t.Fatalf("%d LLM calls, want 3", n)
		}
		if rs := e.replies(t, e.conversation); len(rs) != 2 || rs[1].Content != "Hola de nuevo" {
			t.Fatalf("replies %+v", rs)
		}

		// A person answers from the console: the bot stops.
		if _, err := sqldb.NewOutboundService(db).QueueWhatsAppText(e.ownerCtx, plaza.MessageSend{RecipientPhone: "+51987654321", Content: "Soy Ana"}); err != nil {
			t.Fatal(err)
		}
		if h, _ := e.handoffs.FindHandoff(e.ownerCtx, e.conversation); h.State != plaza.HandoffHumanActive {
			t.Fatalf("after a human reply the state is %s", h.State)
		}
		e.customer(t, "Gracias Ana")
		if jobs := e.turnJobs(t); len(jobs) != 2 {
			t.Fatalf("%d turn jobs, want no new one while a human is active", len(jobs))
		}
	})
}

// Without an LLM, the agent answers from its knowledge.
func TestTurnWorkerKnowledgeWithoutLLM(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		id := e.addAgent(t, nil)
		ks := sqldb.NewKnowledgeService(db, nil)
		text := "Atendemos de lunes a sábado de 9 a 19 horas en la tienda de Miraflores."
		f, err := ks.AddKnowledgeFile(e.ownerCtx, plaza.KnowledgeFileCreate{AgentID: id, FileName: "horarios.txt", ContentType: "text/plain", Content: []byte(text)})
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.StoreKnowledgePassages(context.Background(), e.workspace, f.ID, int64(len(text)), []string{text}); err != nil {
			t.Fatal(err)
		}
		e.customer(t, "¿Cuál es el horario de la tienda?")
		e.work(t, e.conversation, 1)
		if rs := e.replies(t, e.conversation); len(rs) != 1 || !strings.Contains(rs[0].Content, "lunes a sábado de 9 a 19") {
			t.Fatalf("replies %+v", rs)
		}
	})
}

// An automation on the number: its ai_agent node answers into {{x}}, its
// send_message node replies with the text filled in.
func TestTurnWorkerAutomation(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		fake, client := newLLM(t, ok(completion(t, llm.Assistant("tenemos sofás"))))
		e.rt.LLM = client
		temp, memory := 0.2, 3
		_, err := sqldb.NewAutomationService(db, "test-secret-key-0123456789abcdef-0123").CreateAutomation(e.ownerCtx, plaza.AutomationInput{
			Name: "Bienvenida", Trigger: plaza.AutomationTrigger{Channel: "whatsapp", Key: "15550001234"},
			Nodes: []plaza.NodeInput{{ID: "t", Type: "trigger", Next: "a"},
				{ID: "a", Type: "ai_agent", Prompt: "Responde breve.", Model: "gpt-4.1-mini", Temperature: &temp, Memory: &memory, OutputVariable: "x", Next: "s"},
				{ID: "s", Type: "send_message", Text: "Hola {{contact.name}}: {{x}}"}}})
		if err != nil {
			t.Fatal(err)
		}
		e.customer(t, "¿Qué venden?")
		e.work(t, e.conversation, 1)
		reqs := fake.requests()
		if len(reqs) != 1 || reqs[0].Model != "gpt-4.1-mini" || reqs[0].Temperature == nil || *reqs[0].Temperature != 0.2 ||
			!strings.HasPrefix(reqs[0].Messages[0].Text(), "Responde breve.") {
			t.Fatalf("LLM requests %+v", reqs)
		}
		if rs := e.replies(t, e.conversation); len(rs) != 1 || rs[0].Content != "Hola Lucía: tenemos sofás" {
			t.Fatalf("replies %+v", rs)
		}
	})
}

// A web chat visitor's message is answered in the web chat, by the agent
// their widget was embedded for (Id=) rather than the one attached to the
// channel.
func TestTurnWorkerWebchat(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newTurnEnv(t, db)
		_, client := newLLM(t, ok(completion(t, llm.Assistant("¡Bienvenida a Muebles!"))))
		e.rt.LLM = client
		e.addAgent(t, nil)
		id := e.addAgent(t, map[string]any{"name": "Widget", "channels": []any{}})
		wc := sqldb.NewWebchatService(db, "test-secret-key-0123456789abcdef-0123")
		s, err := wc.StartWebchatSession(context.Background(), plaza.WebchatSessionStart{WorkspaceID: e.workspace, Name: "Rosa", AgentID: id, ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := wc.WebchatVisitor(context.Background(), s.Token)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wc.PostWebchatMessage(context.Background(), *v, "Hola, ¿hacen envíos?", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		e.work(t, v.ConversationID, 1)
		ms, err := wc.WebchatMessages(context.Background(), *v, plaza.MessagePage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[1].Content != "¡Bienvenida a Muebles!" || *ms[1].AnswerType != "ai" || *ms[1].AnswerAgentID != id {
			t.Fatalf("web chat %+v", ms)
		}
	})
}
