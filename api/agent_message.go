package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// agentReply is on-message's answer: not an envelope, as Plazbot answers
// it. answer is a string, or an array of blocks with multipleAnswers.
type agentReply struct {
	Success bool `json:"success"`
	Answer  any  `json:"answer"`
}

// handleAgentOnMessage asks an agent a question in a session (Plazbot's
// POST /api/agent/on-message, as its SDK calls it). Keys bind
// case-insensitively; errors are envelopes, as everywhere.
func (s *Server) handleAgentOnMessage(w http.ResponseWriter, r *http.Request) error {
	if _, err := plaza.RequireWorkspace(r.Context()); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	get := func(name string) string {
		if v := b.str(name); v != nil {
			return *v
		}
		return ""
	}
	q := plaza.AgentQuestion{AgentID: get("agentId"), SessionID: get("sessionId"), Question: get("question"), File: get("file")}
	if m := b.boolean("multipleAnswers"); m != nil {
		q.MultipleAnswers = *m
	}
	if err := b.err(); err != nil {
		return err
	}
	if s.AgentChat == nil {
		return plaza.Errorf(plaza.EUNPROCESSABLE, "AI agents are not available on this server.")
	}
	a, err := s.AgentChat.OnMessage(r.Context(), q)
	if err != nil {
		return err
	}
	reply := agentReply{Success: true, Answer: a.Answer}
	if q.MultipleAnswers {
		reply.Answer = a.Blocks
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}
