package plaza

import "context"

// Handoff is the state of the AI agent in one conversation. The bot
// answers while it is active; a customer asking for a person, or the agent
// itself (action.agentShutDown, or no answer without an LLM), requests a
// handoff; a human's reply makes the human active; an API call resumes the
// bot:
//
//	bot_active -> handoff_requested -> human_active -> bot_resumed -> ...
//
// A conversation that never changed is bot_active.
type Handoff struct {
	ConversationID string       `json:"conversationId"`
	State          HandoffState `json:"state"`
	// Reason says why the handoff was requested; null in other states.
	Reason *string `json:"reason"`
	// Actor changed it last; null while it never changed.
	Actor       *Actor `json:"actor"`
	UpdatedDate *Time  `json:"updatedDate"`
}

// HandoffState is one of the four states of a Handoff.
type HandoffState string

const (
	HandoffBotActive   HandoffState = "bot_active"
	HandoffRequested   HandoffState = "handoff_requested"
	HandoffHumanActive HandoffState = "human_active"
	HandoffBotResumed  HandoffState = "bot_resumed"
)

// BotAnswers reports whether the agent answers in this state.
func (s HandoffState) BotAnswers() bool { return s == HandoffBotActive || s == HandoffBotResumed }

// HandoffService moves the handoff state of the caller's workspace's
// conversations. A change to the state a conversation is already in
// changes nothing (and records nothing), so each method may be retried.
// Another workspace's conversation is ENOTFOUND. Each change is recorded
// with its actor (the caller: an AI agent, a user or an API key).
type HandoffService interface {
	// FindHandoff returns a conversation's state.
	FindHandoff(ctx context.Context, conversationID string) (*Handoff, error)
	// RequestHandoff asks for a human, with a reason (required). While a
	// human is active it changes nothing.
	RequestHandoff(ctx context.Context, conversationID, reason string) (*Handoff, error)
	// HumanTakeOver makes a human active (a human replied, or took the
	// conversation).
	HumanTakeOver(ctx context.Context, conversationID string) (*Handoff, error)
	// ResumeBot lets the bot answer again.
	ResumeBot(ctx context.Context, conversationID string) (*Handoff, error)
}
