// Package llm is a client for any OpenAI-compatible chat-completions
// endpoint (OpenAI, Azure OpenAI's compatible route, Ollama, vLLM, ...):
// POST {base}/chat/completions with messages, tools and tool_choice, and
// the assistant's message back, text or tool calls.
//
// The wire format is small, so the standard library is all it needs.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one message of a chat. Content is a pointer because the
// assistant's message that calls tools carries "content": null.
type Message struct {
	Role       string     `json:"role"`
	Content    *string    `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// Text returns the message's content, "" when null.
func (m Message) Text() string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

// System, User and Assistant return a message of that role.
func System(s string) Message    { return Message{Role: RoleSystem, Content: &s} }
func User(s string) Message      { return Message{Role: RoleUser, Content: &s} }
func Assistant(s string) Message { return Message{Role: RoleAssistant, Content: &s} }

// ToolResult is the message answering the tool call id with content.
func ToolResult(id, content string) Message {
	return Message{Role: RoleTool, Content: &content, ToolCallID: id}
}

// ToolCall is a call the model asks for. Arguments is the JSON text of the
// arguments, as the model wrote it (it may be invalid JSON).
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function called and its arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a function offered to the model.
type Tool struct {
	Type     string   `json:"type"` // "function"
	Function Function `json:"function"`
}

// Function describes a tool: Parameters is a JSON schema of an object.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

// Request is a chat-completions request. Zero optional fields are left
// out of the JSON, so the endpoint's defaults apply.
type Request struct {
	Model             string    `json:"model"`
	Messages          []Message `json:"messages"`
	Tools             []Tool    `json:"tools,omitempty"`
	ToolChoice        string    `json:"tool_choice,omitempty"` // "auto", "none", "required"
	ParallelToolCalls *bool     `json:"parallel_tool_calls,omitempty"`
	Temperature       *float64  `json:"temperature,omitempty"`
	MaxTokens         int       `json:"max_tokens,omitempty"`
}

// Response is the part of a chat completion Plaza reads.
type Response struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int     `json:"index"`
		Message      Message `json:"message"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Usage Usage `json:"usage"`
}

// Usage counts the tokens of a completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Message returns the first choice's message: what the model answered.
func (r *Response) Message() Message {
	if len(r.Choices) == 0 {
		return Message{Role: RoleAssistant}
	}
	return r.Choices[0].Message
}

// FinishReason is the first choice's finish reason ("stop", "tool_calls",
// "length", ...).
func (r *Response) FinishReason() string {
	if len(r.Choices) == 0 {
		return ""
	}
	return r.Choices[0].FinishReason
}

// Error is an error answered by the endpoint, with OpenAI's error object.
type Error struct {
	StatusCode int
	Message    string
	Type       string
	Code       string
	// RetryAfter is the wait the endpoint asked for (Retry-After), 0 when
	// it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("llm: HTTP %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Retryable reports whether the same request may succeed later: rate
// limits (429) and server errors (5xx) may, bad keys and bad requests
// (other 4xx) never do.
func (e *Error) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// IsRetryable reports whether err is worth retrying: a retryable *Error,
// or a network failure that is not the caller's own cancellation.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrNotConfigured)
}

// ErrNotConfigured is returned by a Client with no base URL.
var ErrNotConfigured = errors.New("llm: no endpoint configured")

// Client calls one chat-completions endpoint.
type Client struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1; the client
	// posts to BaseURL + "/chat/completions".
	BaseURL string
	APIKey  string
	// Model is the default model, used when a request names none.
	Model string
	// HTTP is the client used; nil means one with Timeout.
	HTTP *http.Client
	// Timeout bounds one attempt (default 60 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of a retryable failure (default 3).
	MaxAttempts int
	// MaxRetryWait caps one wait between attempts (default 20 s): a
	// Retry-After longer than that ends the retries, the error returned.
	MaxRetryWait time.Duration
	// Sleep waits between attempts; tests replace it. It returns early
	// with ctx's error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Configured reports whether the client has an endpoint to call.
func (c *Client) Configured() bool { return c != nil && c.BaseURL != "" }

// maxResponse bounds a completion's body.
const maxResponse = 4 << 20

// Complete sends req and returns the completion. A retryable failure (429,
// 5xx, a network error) is retried up to MaxAttempts, waiting Retry-After
// when the endpoint gives one, else 1 s, 2 s, ...; the last error is
// returned, an *Error when the endpoint answered.
func (c *Client) Complete(ctx context.Context, req Request) (*Response, error) {
	if !c.Configured() {
		return nil, ErrNotConfigured
	}
	if req.Model == "" {
		req.Model = c.Model
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("llm: encode request: %w", err)
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	maxWait := c.MaxRetryWait
	if maxWait <= 0 {
		maxWait = 20 * time.Second
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for attempt := 1; ; attempt++ {
		res, err := c.do(ctx, body)
		if err == nil {
			return res, nil
		}
		if attempt >= attempts || !IsRetryable(err) || ctx.Err() != nil {
			return nil, err
		}
		wait := time.Duration(attempt) * time.Second
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		if wait > maxWait {
			return nil, err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return nil, err
		}
	}
}

func (c *Client) do(ctx context.Context, body []byte) (*Response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("llm: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, responseError(resp, b)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("llm: response larger than %d bytes", maxResponse)
	}
	var out Response
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("llm: decode response: %w", err)
	}
	if len(out.Choices) == 0 {
		return nil, fmt.Errorf("llm: the response has no choices")
	}
	return &out, nil
}

// responseError reads OpenAI's error object ({"error": {message, type,
// param, code}}); an endpoint answering something else keeps the status
// and the start of the body.
func responseError(resp *http.Response, b []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var env struct {
		Error *struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil {
		e.Message, e.Type = env.Error.Message, env.Error.Type
		var code string
		if json.Unmarshal(env.Error.Code, &code) == nil {
			e.Code = code
		} else if len(env.Error.Code) > 0 && string(env.Error.Code) != "null" {
			e.Code = string(env.Error.Code) // some servers send a number
		}
		return e
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	e.Message = msg
	return e
}

// retryAfter parses Retry-After as seconds or an HTTP date; OpenAI also
// sends fractional seconds.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
