package plaza

import "context"

// Chatting with an agent over the API (Plazbot's POST
// /api/agent/on-message): a question in a session, the agent's answer.
// A session (sessionId, chosen by the client) keeps its turns, so the
// agent remembers the last buffer exchanges of it.

// AgentQuestion is one question to an agent.
type AgentQuestion struct {
	AgentID   string
	SessionID string
	Question  string
	// File is a public URL of a document (PDF, text, HTML, DOCX) whose
	// text the agent reads with the question; "" for none.
	File string
	// MultipleAnswers asks for the answer in blocks (paragraphs).
	MultipleAnswers bool
}

// AgentAnswer is the agent's answer: the whole text, and its blocks when
// asked for.
type AgentAnswer struct {
	Answer string
	Blocks []string
}

// AgentChatService answers questions to the caller's workspace's agents.
// An agent of another workspace is ENOTFOUND; a missing agentId, sessionId
// or question is EINVALID naming it; a disabled agent is EUNPROCESSABLE.
type AgentChatService interface {
	OnMessage(ctx context.Context, q AgentQuestion) (*AgentAnswer, error)
}

// AgentSessionMessage is one message of an API session: Role "user" (the
// question) or "assistant" (the answer).
type AgentSessionMessage struct {
	Role    string
	Content string
}

// AgentSessionStore keeps the messages of API sessions, per workspace,
// agent and session id, in the caller's workspace.
type AgentSessionStore interface {
	// SessionMessages returns the session's last limit messages, oldest
	// first (none for a new session).
	SessionMessages(ctx context.Context, agentID, sessionID string, limit int) ([]AgentSessionMessage, error)
	// AppendSessionMessages adds messages to the session, in order.
	AppendSessionMessages(ctx context.Context, agentID, sessionID string, msgs []AgentSessionMessage) error
}
