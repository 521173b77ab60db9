package agent

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// TurnWorker works the queue's agent_turn jobs: it takes a conversation's
// pending customer messages, has its agent (or automation) answer them in
// one Turn, and stores the reply, sent through the customer's channel, in
// the transaction that marks the messages answered (plaza.AgentTurnStore),
// so a job run twice replies once.
type TurnWorker struct {
	river.WorkerDefaults[plaza.AgentTurnJob]

	Runtime *Runtime
	Store   plaza.AgentTurnStore
	// NodeLLM returns the LLM an automation's ai_agent node with its own
	// API key asks; nil (or a nil result) keeps the workspace's or the
	// server's.
	NodeLLM func(apiKey string) Completer
	// Observe, when set, is told of each turn that answered.
	Observe func(TurnStats)
	Logger  *slog.Logger
}

// TurnStats is how long a turn took: Total from the job's start to the
// reply committed, of which LLM waiting for the LLM.
type TurnStats struct {
	WorkspaceID, ConversationID string
	Channel                     string
	Messages                    int
	Replied                     bool
	Total, LLM                  time.Duration
}

// maxReply is WhatsApp's limit on a text's body, in characters.
const maxReply = 4096

// Timeout bounds a turn: its LLM rounds and tools.
func (w *TurnWorker) Timeout(*river.Job[plaza.AgentTurnJob]) time.Duration { return 3 * time.Minute }

// Work answers the conversation's pending messages.
func (w *TurnWorker) Work(ctx context.Context, job *river.Job[plaza.AgentTurnJob]) error {
	start := time.Now()
	args := job.Args
	turn, err := w.Store.BeginAgentTurn(ctx, args.WorkspaceID, args.ConversationID, job.ID)
	if err != nil || turn == nil {
		return err
	}
	lastAttempt := job.Attempt >= job.MaxAttempts
	reply := plaza.AgentReply{Turn: turn}
	var llmTime time.Duration
	if turn.Agent != nil {
		reply.AgentID = turn.Agent.ID
		res, err := w.Runtime.Turn(ctx, w.input(turn, turn.Agent.ID, turn.Agent.Config, turn.ConversationID))
		switch {
		case errors.Is(err, ErrNoMessages):
			// Nothing to read (a message without text): answered by nothing.
		case err != nil && !lastAttempt:
			return err
		case err != nil:
			w.logger().Error("agent: turn failed on its last attempt; answering with the fallback", "conversation", turn.ConversationID, "err", err)
			reply.Texts = []string{fallback(turn.Agent.Config, func(f *plaza.AgentFallbacks) string { return f.ServiceError })}
		default:
			llmTime = res.LLMTime
			reply.Texts = []string{res.Reply}
		}
	} else {
		texts, spent, err := w.runAutomation(ctx, turn, lastAttempt)
		if err != nil {
			return err
		}
		reply.Texts, llmTime = texts, spent
	}
	for i, t := range reply.Texts {
		reply.Texts[i] = clip(t, maxReply)
	}
	replied, err := w.Store.FinishAgentTurn(ctx, reply)
	if err != nil {
		return err
	}
	total := time.Since(start)
	w.logger().Info("agent turn", "workspace", args.WorkspaceID, "conversation", args.ConversationID, "channel", turn.Channel,
		"messages", len(turn.Messages), "replied", replied, "duration_ms", total.Milliseconds(), "llm_ms", llmTime.Milliseconds(),
		"plaza_ms", (total - llmTime).Milliseconds())
	if w.Observe != nil {
		w.Observe(TurnStats{WorkspaceID: args.WorkspaceID, ConversationID: args.ConversationID, Channel: turn.Channel, Messages: len(turn.Messages),
			Replied: replied, Total: total, LLM: llmTime})
	}
	return nil
}

// input is the turn of an agent (or automation node) on the messages.
func (w *TurnWorker) input(t *plaza.AgentTurn, agentID string, cfg plaza.AgentConfig, conversationID string) TurnInput {
	in := TurnInput{WorkspaceID: t.WorkspaceID, AgentID: agentID, Agent: cfg, ContactID: t.ContactID, ConversationID: conversationID}
	for _, m := range t.Messages {
		in.Messages = append(in.Messages, m.Content)
	}
	for _, m := range t.History {
		role := "assistant"
		if m.In {
			role = "user"
		}
		in.History = append(in.History, HistoryMessage{Role: role, Text: m.Content})
	}
	return in
}

// runAutomation runs the automation's flow from its trigger: each
// ai_agent node answers the messages into its output variable, each
// send_message node's text, filled in, is a reply.
func (w *TurnWorker) runAutomation(ctx context.Context, t *plaza.AgentTurn, lastAttempt bool) ([]string, time.Duration, error) {
	a := t.Automation
	var question []string
	for _, m := range t.Messages {
		question = append(question, m.Content)
	}
	vars := map[string]string{"message": strings.Join(question, "\n")}
	if c := t.Contact; c != nil {
		vars["contact.name"], vars["contact.lastname"] = c.Name, c.Lastname
		if c.PlatformSenderPhone != nil {
			vars["contact.cellphone"] = *c.PlatformSenderPhone
		}
		if c.Email != nil {
			vars["contact.email"] = *c.Email
		}
	}
	var texts []string
	var spent time.Duration
	node := a.TriggerNode()
	for steps := 0; node != nil && steps <= len(a.Nodes); steps++ {
		switch node.Type {
		case plaza.NodeAIAgent:
			// The node is an agent of its own: its prompt, its memory as the
			// buffer, its model and key. No conversation: an automation
			// asks for no handoff.
			cfg := plaza.AgentConfig{Name: node.Name, Prompt: node.Prompt, Buffer: node.Memory}
			in := w.input(t, a.ID, cfg, "")
			in.Model, in.Temperature = node.Model, node.Temperature
			if node.MaxTokens != nil {
				in.MaxTokens = *node.MaxTokens
			}
			if node.APIKey != "" && w.NodeLLM != nil {
				if c := w.NodeLLM(node.APIKey); c != nil {
					in.LLM = c
				}
			}
			res, err := w.Runtime.Turn(ctx, in)
			switch {
			case errors.Is(err, ErrNoMessages):
				return nil, spent, nil
			case err != nil && !lastAttempt:
				return nil, spent, err
			case err != nil:
				w.logger().Error("agent: automation node failed on its last attempt", "automation", a.ID, "node", node.ID, "err", err)
				return nil, spent, nil
			}
			spent += res.LLMTime
			if node.OutputVariable != "" {
				vars[node.OutputVariable] = res.Reply
			}
		case plaza.NodeSendMessage:
			texts = append(texts, plaza.RenderText(node.Text, vars))
		}
		if node.Next == "" {
			break
		}
		node = a.Node(node.Next)
	}
	return texts, spent, nil
}

func (w *TurnWorker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// AddTurnWorker registers w on the queue's workers.
func AddTurnWorker(workers *river.Workers, w *TurnWorker) { river.AddWorker(workers, w) }
