package plaza

import (
	"context"
	"time"
)

// An agent answers customers on its channels: a customer's message stored
// in a conversation the bot answers (the contact's isBotEnabled, the
// handoff state) on a channel an enabled agent or automation is attached
// to is marked pending, and an AgentTurnJob is queued in the same
// transaction, a debounce later. The job takes every pending message of
// the conversation (a burst is one turn), runs the turn, and stores the
// reply and clears what it answered in one transaction: a job run twice
// answers once. A message that arrives while a turn runs is pending again,
// with a job of its own.

// AgentTurnJob asks for the pending messages of a conversation to be
// answered by its agent or automation.
type AgentTurnJob struct {
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
}

// Kind names the job on the queue.
func (AgentTurnJob) Kind() string { return "agent_turn" }

// DefaultAgentDebounce is how long after a customer's first message of a
// burst the agent answers the burst.
const DefaultAgentDebounce = 3 * time.Second

// AgentTurn is what one turn answers: the conversation, its customer, the
// channel, the pending messages it took, the conversation before them,
// and who answers (Agent, else Automation).
type AgentTurn struct {
	WorkspaceID    string
	ConversationID string
	ContactID      string
	// Channel is ChannelWhatsApp or ChannelWebchat; Key is the display
	// number the customer wrote to on WhatsApp.
	Channel, Key string
	Contact      *Contact
	// Messages are the pending messages, oldest first.
	Messages []TurnMessage
	// History is the conversation before them, oldest first (at most the
	// last 100 messages).
	History    []TurnMessage
	Agent      *AgentRecord
	Automation *Automation
}

// TurnMessage is a message of a turn: In for the customer's.
type TurnMessage struct {
	ID      string
	In      bool
	Content string
}

// AgentReply is a turn's outcome to store: Texts are sent to the customer
// through the channel they used, in order (none sends nothing), by
// AgentID ("" for an automation), and the turn's messages are answered.
type AgentReply struct {
	Turn    *AgentTurn
	Texts   []string
	AgentID string
}

// AgentTurnStore keeps the agents' turns (sqldb).
type AgentTurnStore interface {
	// BeginAgentTurn takes the pending messages of a conversation for the
	// job jobID (with those it took in an earlier attempt) and returns the
	// turn; nil when there is nothing to answer (none pending, the bot may
	// not answer, or nobody answers on the channel any more: the pending
	// messages are then dropped).
	BeginAgentTurn(ctx context.Context, workspaceID, conversationID string, jobID int64) (*AgentTurn, error)
	// FinishAgentTurn stores the reply and marks the turn's messages
	// answered in one transaction; false, storing nothing, when they were
	// answered already.
	FinishAgentTurn(ctx context.Context, r AgentReply) (bool, error)
}
