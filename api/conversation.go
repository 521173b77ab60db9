package api

import (
	"net/http"
	"strconv"

	"github.com/plaza-crm/plaza"
)

// conversationPage is the data of List Conversation (Plazbot §3.10): the
// next page's token is newContinuationToken there.
type conversationPage struct {
	WorkspaceID          string               `json:"workspaceId"`
	NewContinuationToken *string              `json:"newContinuationToken"`
	Data                 []plaza.Conversation `json:"data"`
}

// handleConversationList serves GET /api/message/conversation and its
// alias GET /api/conversation: the workspace's conversations, newest
// first, 20 per page. Clients page with continuationToken, the value of
// the previous page's newContinuationToken (Plazbot §3.10).
func (s *Server) handleConversationList(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	after, err := s.pageAfter(r, "conversations")
	if err != nil {
		return err
	}
	f := plaza.ConversationFilter{ContactID: query(r, "contactId"), Query: query(r, "q")}
	conversations, more, err := s.Conversations.FindConversations(r.Context(), f, plaza.Page{After: after})
	if err != nil {
		return err
	}
	last := ""
	if n := len(conversations); n > 0 {
		last = conversations[n-1].ID
	}
	return ok(w, "List obtained successfully.", conversationPage{
		WorkspaceID: p.WorkspaceID, NewContinuationToken: s.nextPageToken(r, "conversations", more, last), Data: conversations})
}

// handleMessageList serves GET /api/message/get-all?conversationId=: the
// conversation's newest messages (50, or limit up to 200), oldest first;
// before=<message id> gives the ones before that message.
func (s *Server) handleMessageList(w http.ResponseWriter, r *http.Request) error {
	id := query(r, "conversationId")
	if id == "" {
		return plaza.Invalid(plaza.FieldError{Field: "conversationId", Message: "conversationId is required (the conversation's id, in the query)."})
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	messages, err := s.Conversations.FindMessages(r.Context(), id, plaza.MessagePage{Before: query(r, "before"), Limit: limit})
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", messages)
}

// handleMessageSearch serves GET /api/message/get-query-messages?query=:
// the workspace's messages whose content contains the query, newest
// first, optionally of one contact.
func (s *Server) handleMessageSearch(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	messages, err := s.Conversations.SearchMessages(r.Context(), plaza.MessageSearch{
		Query: query(r, "query"), ContactID: query(r, "contactId"), Limit: limit})
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", messages)
}

// queryLimit reads the optional limit of a message list: 1 to
// plaza.MaxMessagePageSize, 0 when absent.
func queryLimit(r *http.Request) (int, error) {
	v := query(r, "limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > plaza.MaxMessagePageSize {
		return 0, plaza.Invalid(plaza.FieldError{Field: "limit",
			Message: "limit must be a whole number from 1 to " + strconv.Itoa(plaza.MaxMessagePageSize) + "."})
	}
	return n, nil
}
