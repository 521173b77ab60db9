package plaza

import (
	"context"
	"net/url"
	"strings"
)

// A workspace may bring its own LLM (Plazbot's "custom AI config"): an
// OpenAI-compatible endpoint, a model and a key, used by its agents
// instead of the server's (PLAZA_LLM_*). The key is stored encrypted and
// never returned.

// LLMSettings is a workspace's own LLM endpoint, as the API shows it.
type LLMSettings struct {
	BaseURL string `json:"baseUrl"`
	Model   string `json:"model"`
	// HasAPIKey tells whether a key is stored.
	HasAPIKey   bool `json:"hasApiKey"`
	UpdatedDate Time `json:"updatedDate"`
}

// LLMSettingsUpdate sets a workspace's LLM. APIKey nil keeps the stored
// key; "" removes it.
type LLMSettingsUpdate struct {
	BaseURL string
	Model   string
	APIKey  *string
}

// Validate checks the endpoint is an http(s) URL and a model is named.
func (u *LLMSettingsUpdate) Validate() error {
	var v Validator
	u.BaseURL, u.Model = strings.TrimSpace(u.BaseURL), strings.TrimSpace(u.Model)
	v.Required(u.BaseURL, "baseUrl")
	if u.BaseURL != "" {
		p, err := url.Parse(u.BaseURL)
		v.Check(err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && p.User == nil, "baseUrl",
			"baseUrl must be an http(s) URL without credentials, e.g. https://api.openai.com/v1.")
	}
	v.Required(u.Model, "model")
	v.Check(len(u.BaseURL) <= 2000, "baseUrl", "baseUrl is longer than 2000 characters.")
	v.Check(len(u.Model) <= 200, "model", "model is longer than 200 characters.")
	if u.APIKey != nil {
		*u.APIKey = strings.TrimSpace(*u.APIKey)
		v.Check(len(*u.APIKey) <= 1000, "apiKey", "apiKey is longer than 1000 characters.")
	}
	return v.Err()
}

// LLMEndpoint is a workspace's LLM with its key, for the agent runtime.
type LLMEndpoint struct {
	BaseURL, APIKey, Model string
}

// LLMSettingsService manages the caller's workspace's own LLM. Everyone in
// the workspace reads it; only owners and admins set or remove it (else
// EFORBIDDEN). A workspace without one is ENOTFOUND.
type LLMSettingsService interface {
	FindLLMSettings(ctx context.Context) (*LLMSettings, error)
	SetLLMSettings(ctx context.Context, upd LLMSettingsUpdate) (*LLMSettings, error)
	DeleteLLMSettings(ctx context.Context) error
	// WorkspaceLLM returns the endpoint of the workspace, for its agents,
	// found false when it has none (it uses the server's).
	WorkspaceLLM(ctx context.Context, workspaceID string) (e LLMEndpoint, found bool, err error)
}
