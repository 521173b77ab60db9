package plaza

import (
	"context"
	"encoding/json"
)

// Events: what happened in a workspace's conversations, for consoles
// (GET /api/events) and web chat visitors to follow as it happens.
//
// An event is written in the same transaction as the change it reports,
// so it exists exactly when the change does, and it has a sequence number
// that only grows: a client that reconnects with the last number it saw
// (SSE's Last-Event-ID) misses nothing, whichever replica it reaches.

// Event types.
const (
	// EventMessageCreated: a message was stored, inbound or outbound.
	// Data is the Message.
	EventMessageCreated = "message.created"
	// EventMessageUpdated: an outbound message's status moved (sent,
	// delivered, read, failed). Data is the Message.
	EventMessageUpdated = "message.updated"
	// EventConversationUpdated: a conversation's last message, unread
	// flag, window or bot state changed. Data is the Conversation.
	EventConversationUpdated = "conversation.updated"
	// EventHandoffChanged: the agent handoff state of a conversation
	// changed (bot active, handoff requested, human active, bot resumed).
	// Data is {conversationId, state, reason}.
	EventHandoffChanged = "handoff.changed"
)

// Event is one change in a workspace.
type Event struct {
	// ID is the event's sequence number: later events have larger ids.
	ID          int64  `json:"id"`
	WorkspaceID string `json:"workspaceId"`
	Type        string `json:"type"`
	// ConversationID and ContactID name what the event is about; "" when
	// it is about neither.
	ConversationID string          `json:"conversationId,omitempty"`
	ContactID      string          `json:"contactId,omitempty"`
	Data           json.RawMessage `json:"data"`
	CreationDate   Time            `json:"creationDate"`
}

// EventFilter chooses the events a subscriber receives.
type EventFilter struct {
	WorkspaceID string
	// ConversationID, when set, keeps only that conversation's events (a
	// web chat visitor's stream).
	ConversationID string
	// After is the id of the last event the subscriber has: it receives
	// the later ones. 0 starts from events written after Subscribe.
	After int64
}

// EventStream delivers events as they are committed, from any replica
// sharing the database.
type EventStream interface {
	// Subscribe delivers the filter's events, in id order, on the
	// returned channel until ctx ends (the channel is then closed). A
	// subscriber that falls too far behind is dropped: its channel closes
	// and it reconnects with the last id it saw.
	Subscribe(ctx context.Context, f EventFilter) (<-chan Event, error)
}
