package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract"
	"github.com/plaza-crm/plaza/llm"
)

// Chat answers questions to agents over the API (plaza.AgentChatService):
// each question is one Turn without a contact or conversation, in a
// session whose messages are kept, so the next turn has them as history.
type Chat struct {
	Runtime  *Runtime
	Sessions plaza.AgentSessionStore
	// Agents finds the workspace's agents (plaza.AgentStore).
	Agents AgentFinder
	// MaxFileBytes bounds a question's file (default 10 MiB).
	MaxFileBytes int64
}

var _ plaza.AgentChatService = (*Chat)(nil)

// AgentFinder finds an agent of a workspace, ENOTFOUND when it has none
// of that id.
type AgentFinder interface {
	FindAgent(ctx context.Context, workspaceID, id string) (*plaza.AgentRecord, error)
}

// Limits of a question.
const (
	MaxQuestionLength  = 10000
	MaxSessionIDLength = 200
	// maxAttachment bounds the file text given to the LLM, in runes.
	maxAttachment = 20000
)

// OnMessage answers a question. The agent's failure to reach its LLM is
// answered with its serviceError fallback (and logged), not an error: the
// client gets an answer either way, and the session keeps only answered
// turns.
func (c *Chat) OnMessage(ctx context.Context, q plaza.AgentQuestion) (*plaza.AgentAnswer, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	q.AgentID, q.SessionID, q.Question, q.File = strings.TrimSpace(q.AgentID), strings.TrimSpace(q.SessionID), strings.TrimSpace(q.Question), strings.TrimSpace(q.File)
	var v plaza.Validator
	v.Required(q.AgentID, "agentId")
	v.Required(q.SessionID, "sessionId")
	v.Required(q.Question, "question")
	v.Check(utf8.RuneCountInString(q.Question) <= MaxQuestionLength, "question", fmt.Sprintf("question is longer than %d characters.", MaxQuestionLength))
	v.Check(len(q.SessionID) <= MaxSessionIDLength, "sessionId", fmt.Sprintf("sessionId is longer than %d characters.", MaxSessionIDLength))
	var fileURL *url.URL
	if q.File != "" {
		fileURL, err = url.Parse(q.File)
		ok := err == nil && (fileURL.Scheme == "http" || fileURL.Scheme == "https") && fileURL.Host != ""
		v.Check(ok, "file", "file must be an http(s) URL of a document.")
		if ok {
			if err := c.Runtime.Guard.CheckURL(fileURL); err != nil {
				v.Check(false, "file", "file is refused: "+err.Error()+".")
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := c.Agents.FindAgent(ctx, p.WorkspaceID, q.AgentID)
	if err != nil {
		return nil, err
	}
	cfg := &rec.Config
	if !cfg.Enabled() {
		return nil, plaza.Errorf(plaza.EUNPROCESSABLE, "The agent is disabled.")
	}
	var attachment string
	if fileURL != nil {
		if attachment, err = c.readFile(ctx, fileURL); err != nil {
			return nil, err
		}
	}
	buffer := cfg.Buffer
	if buffer <= 0 {
		buffer = 5
	}
	past, err := c.Sessions.SessionMessages(ctx, q.AgentID, q.SessionID, 2*min(buffer, 50))
	if err != nil {
		return nil, err
	}
	history := make([]HistoryMessage, len(past))
	for i, m := range past {
		history[i] = HistoryMessage{Role: m.Role, Text: m.Content}
	}
	res, err := c.Runtime.Turn(ctx, TurnInput{WorkspaceID: p.WorkspaceID, AgentID: q.AgentID, Agent: *cfg,
		Messages: []string{q.Question}, History: history, Attachment: attachment})
	if err != nil {
		if plaza.ErrorCode(err) != plaza.EINTERNAL {
			return nil, err // the question's fault
		}
		c.Runtime.logger().Error("agent: on-message turn failed", "agent", q.AgentID, "err", err)
		return answer(fallback(*cfg, func(f *plaza.AgentFallbacks) string { return f.ServiceError }), q.MultipleAnswers), nil
	}
	err = c.Sessions.AppendSessionMessages(ctx, q.AgentID, q.SessionID, []plaza.AgentSessionMessage{
		{Role: llm.RoleUser, Content: q.Question}, {Role: llm.RoleAssistant, Content: res.Reply}})
	if err != nil {
		return nil, err
	}
	return answer(res.Reply, q.MultipleAnswers), nil
}

// answer splits the reply into its paragraphs when blocks are asked for.
func answer(reply string, blocks bool) *plaza.AgentAnswer {
	a := &plaza.AgentAnswer{Answer: reply}
	if blocks {
		a.Blocks = []string{}
		for _, b := range strings.Split(strings.ReplaceAll(reply, "\r\n", "\n"), "\n\n") {
			if b = strings.TrimSpace(b); b != "" {
				a.Blocks = append(a.Blocks, b)
			}
		}
	}
	return a
}

// readFile fetches the question's document through the guard and returns
// its text. A file that cannot be fetched or read is EUNPROCESSABLE naming
// why.
func (c *Chat) readFile(ctx context.Context, u *url.URL) (string, error) {
	limit := c.MaxFileBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", plaza.Invalid(plaza.FieldError{Field: "file", Message: "file is not a URL Plaza can fetch."})
	}
	client := c.Runtime.HTTP
	if client == nil {
		client = c.Runtime.Guard.HTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The file could not be fetched: %v.", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The file could not be fetched: its server answered HTTP %d.", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The file could not be fetched: %v.", err)
	}
	if int64(len(data)) > limit {
		return "", plaza.Errorf(plaza.ETOOLARGE, "The file is larger than %d MiB.", limit>>20)
	}
	text, err := extract.Text(data, resp.Header.Get("Content-Type"), path.Base(u.Path))
	if err != nil {
		return "", err
	}
	return clip(text, maxAttachment), nil
}
