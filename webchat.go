package plaza

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Web chat: the channel of the widget a site embeds (GET /widget.js). It
// needs no external account, so it is the channel a new workspace can try
// first.
//
// A visitor who opens the widget starts a session: Plaza creates a contact
// (platformId 1) and a conversation on channel "webchat", and gives the
// visitor a token, signed by the server and bound to the workspace, the
// contact and the conversation. The token is all a visitor holds: it reads
// and writes that one conversation and nothing else. The visitor's messages
// are stored as inbound messages; replies (an operator through POST
// /api/message, or an AI agent through SendWebchatReply) are stored as
// outbound messages, sent at once (no number, no 24-hour window), and reach
// the visitor over the workspace's events.

// ActorWebchat is the actor of what a visitor does on their own, such as
// creating their contact; its id is the conversation's.
const ActorWebchat = "webchat"

// Answer types of outbound messages: who wrote the reply.
const (
	AnswerHuman = "human" // a user in the console
	AnswerAI    = "ai"    // an AI agent
	AnswerAPI   = "api"   // a program with an API key
)

// MaxVisitorNameLength bounds the name a visitor gives, in characters.
const MaxVisitorNameLength = 100

// DefaultVisitorName names a visitor who gave no name.
const DefaultVisitorName = "Web visitor"

// WebchatSessionStart starts or resumes a visitor's session.
type WebchatSessionStart struct {
	WorkspaceID string `json:"workspaceId"`
	// Name and Email are what the visitor says of themselves, both
	// optional. An e-mail that is already another contact's is not copied
	// onto the visitor's contact (nobody proves an e-mail by typing it):
	// it is noted on the contact's activities for an operator to merge.
	Name  string `json:"name"`
	Email string `json:"email"`
	// Token, when the visitor has one (kept by the widget), resumes that
	// session: same contact and conversation, and a fresh token.
	Token string `json:"token"`
	// AgentID is the agent the widget was embedded for (widget.js's Id=),
	// kept on the conversation for the agent runtime; "" for none.
	AgentID string `json:"agentId"`

	// ClientAddr is the visitor's address, for the rate limit.
	ClientAddr string `json:"-"`
}

// Validate checks and trims the input; every bad field is named.
func (in *WebchatSessionStart) Validate() error {
	var v Validator
	in.WorkspaceID = strings.TrimSpace(in.WorkspaceID)
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	in.Token = strings.TrimSpace(in.Token)
	in.AgentID = strings.TrimSpace(in.AgentID)
	v.Required(in.WorkspaceID, "workspaceId")
	v.Check(utf8.ValidString(in.Name) && utf8.RuneCountInString(in.Name) <= MaxVisitorNameLength, "name",
		fmt.Sprintf("name must be text of at most %d characters.", MaxVisitorNameLength))
	if in.Email != "" {
		v.Check(ValidEmail(in.Email), "email", "email is not a valid e-mail address.")
	}
	v.Check(len(in.AgentID) <= 100, "agentId", "agentId must be at most 100 characters long.")
	v.Check(len(in.Token) <= 1000, "token", "token is not a web chat token.")
	return v.Err()
}

// WebchatSession is a visitor's session: the token the widget keeps and
// what it names.
type WebchatSession struct {
	// Token authenticates the visitor's requests (Authorization: Bearer,
	// or ?token= on the event stream). It is valid until ExpiresAt, and
	// each resume gives a fresh one.
	Token          string `json:"token"`
	ExpiresAt      Time   `json:"expiresAt"`
	WorkspaceID    string `json:"workspaceId"`
	ContactID      string `json:"contactId"`
	ConversationID string `json:"conversationId"`
	Name           string `json:"name"`
	// Resumed reports a session resumed from its token, not created.
	Resumed bool `json:"resumed"`
}

// WebchatVisitor is who a valid token names.
type WebchatVisitor struct {
	WorkspaceID    string
	ContactID      string
	ConversationID string
	// AgentID is the agent the widget was embedded for; "" for none.
	AgentID string
}

// VisitorMessage is what a visitor sees of a message of their
// conversation: no payloads, statuses or operators' ids.
type VisitorMessage struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId"`
	// Direction is "in" for the visitor's own messages, "out" for replies.
	Direction string `json:"direction"`
	Type      string `json:"type"`
	Content   string `json:"content"`
	// AnswerType says who wrote a reply: "human", "ai" or "api"; null on
	// the visitor's messages.
	AnswerType *string `json:"answerType"`
	Timestamp  Time    `json:"timestamp"`
}

// VisitorMessageOf is the visitor's view of m.
func VisitorMessageOf(m Message) VisitorMessage {
	return VisitorMessage{ID: m.ID, ConversationID: m.ConversationID, Direction: m.Direction, Type: m.Type,
		Content: m.Content, AnswerType: m.AnswerType, Timestamp: m.Timestamp}
}

// CheckMessageContent checks a free-form text's content, naming field.
func CheckMessageContent(v *Validator, field, content string) {
	v.Check(strings.TrimSpace(content) != "", field, field+" is required.")
	v.Check(utf8.RuneCountInString(content) <= MaxMessageContent, field,
		fmt.Sprintf("%s must be at most %d characters long.", field, MaxMessageContent))
	v.Check(utf8.ValidString(content), field, field+" must be valid UTF-8 text.")
}

// WebchatLimits are the per-client-address rate limits of the visitor
// endpoints, counted in the database so every replica shares them.
type WebchatLimits struct {
	// Sessions is how many sessions an address may start per
	// SessionWindow; resumes count too.
	Sessions      int
	SessionWindow time.Duration
	// Messages is how many messages an address may post per
	// MessageWindow.
	Messages      int
	MessageWindow time.Duration
}

// DefaultWebchatLimits: 30 sessions an hour and 30 messages a minute per
// address.
var DefaultWebchatLimits = WebchatLimits{Sessions: 30, SessionWindow: time.Hour, Messages: 30, MessageWindow: time.Minute}

// WebchatService is the web chat channel. The visitor methods act for the
// visitor a token names, never for a workspace member.
type WebchatService interface {
	// CheckWebchatWorkspace reports whether the workspace exists
	// (ENOTFOUND otherwise), for the widget script.
	CheckWebchatWorkspace(ctx context.Context, workspaceID string) error
	// StartWebchatSession creates a visitor (contact and conversation) or,
	// with a valid token of the same workspace, resumes theirs.
	// ERATELIMITED past the address's limit; EINVALID for bad input;
	// ENOTFOUND for an unknown workspace; EUNAUTHORIZED for a token that is
	// not valid or not of this workspace (the widget then starts anew).
	StartWebchatSession(ctx context.Context, in WebchatSessionStart) (*WebchatSession, error)
	// WebchatVisitor checks a token: its signature, its age, and that its
	// conversation and contact still exist. EUNAUTHORIZED otherwise.
	WebchatVisitor(ctx context.Context, token string) (*WebchatVisitor, error)
	// PostWebchatMessage stores the visitor's message in one transaction
	// with the contact's and conversation's last message and unread flag.
	// ERATELIMITED past the address's limit, EINVALID naming content,
	// EFORBIDDEN when the contact is blocked.
	PostWebchatMessage(ctx context.Context, v WebchatVisitor, content, clientAddr string) (*Message, error)
	// WebchatMessages returns a page of the visitor's conversation, oldest
	// first, as ConversationService.FindMessages pages.
	WebchatMessages(ctx context.Context, v WebchatVisitor, page MessagePage) ([]Message, error)
	// SendWebchatReply stores a reply in a web chat conversation of the
	// workspace, sent at once (Meta is never involved): answerType is
	// AnswerHuman, AnswerAI or AnswerAPI, agentID who wrote it ("" for
	// nobody in particular). The agent runtime replies with it. ENOTFOUND
	// when the conversation is not a web chat conversation of a live
	// contact of the workspace; EINVALID naming content or answerType.
	SendWebchatReply(ctx context.Context, workspaceID, conversationID, content, answerType, agentID string) (*Message, error)
}
