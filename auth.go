package plaza

import "context"

// Role is a user's role in one workspace.
type Role string

const (
	RoleOwner      Role = "owner"
	RoleAdmin      Role = "admin"
	RoleAgent      Role = "agent"      // a human who answers chats
	RoleCommercial Role = "commercial" // a salesperson
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleAgent, RoleCommercial:
		return true
	}
	return false
}

// CanManageUsers reports whether the role may add users and manage API keys.
func (r Role) CanManageUsers() bool { return r == RoleOwner || r == RoleAdmin }

// Principal is who a request acts as: a user, authenticated by a login token
// or by an API key, acting in one workspace with one role.
type Principal struct {
	UserID      string
	WorkspaceID string
	Role        Role
	// APIKeyID is set when the request authenticated with an API key.
	APIKeyID string
	// AgentID is set when an AI agent acts (its tool calls): what it does
	// is attributed to the agent, and UserID holds the agent's id too, as
	// the creator of what it creates.
	AgentID string
}

// AgentPrincipal is the principal an AI agent acts as in its workspace.
func AgentPrincipal(workspaceID, agentID string) *Principal {
	return &Principal{UserID: agentID, WorkspaceID: workspaceID, Role: RoleAgent, AgentID: agentID}
}

// Actor is who did something, as histories and activities record it.
type Actor struct {
	Type string `json:"type"` // "user", "api_key" or "agent"
	ID   string `json:"id"`
}

// Actor types.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorAgent  = "agent"
)

// Actor returns who the principal acts as: the AI agent when one acts,
// the API key when it used one (the key's owner is UserID), else the user.
func (p *Principal) Actor() Actor {
	if p.AgentID != "" {
		return Actor{Type: ActorAgent, ID: p.AgentID}
	}
	if p.APIKeyID != "" {
		return Actor{Type: ActorAPIKey, ID: p.APIKeyID}
	}
	return Actor{Type: ActorUser, ID: p.UserID}
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal of ctx, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// RequireManager returns EFORBIDDEN unless the caller is an owner or admin.
func RequireManager(ctx context.Context) (*Principal, error) {
	p := PrincipalFromContext(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHORIZED, "Authentication is required.")
	}
	if !p.Role.CanManageUsers() {
		return nil, Errorf(EFORBIDDEN, "Only a workspace owner or admin may do this.")
	}
	return p, nil
}

// RequireWorkspace returns the caller, who must act in a workspace.
func RequireWorkspace(ctx context.Context) (*Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.WorkspaceID == "" {
		return nil, Invalid(FieldError{Field: "x-workspace-id", Message: "The x-workspace-id header is required."})
	}
	return p, nil
}

// RequirePrincipal returns the caller, or EUNAUTHORIZED.
func RequirePrincipal(ctx context.Context) (*Principal, error) {
	p := PrincipalFromContext(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHORIZED, "Authentication is required.")
	}
	return p, nil
}

// APIKey is an API key's metadata; the secret itself is shown only once,
// when the key is created, and stored only as a hash.
type APIKey struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Prefix       string `json:"prefix"`
	UserID       string `json:"userId"`
	WorkspaceID  string `json:"workspaceId"`
	CreationDate Time   `json:"creationDate"`
	LastUsedDate *Time  `json:"lastUsedDate"`
	// Key is the full secret, set only in the reply to its creation.
	Key string `json:"key,omitempty"`
}

// AuthService turns credentials into principals and manages API keys.
type AuthService interface {
	// Authenticate resolves a bearer token (API key or login token) and the
	// requested workspace ("" = the API key's own) into a principal.
	// EUNAUTHORIZED for bad credentials, EFORBIDDEN when the user is not a
	// member of the workspace.
	Authenticate(ctx context.Context, token, workspaceID string) (*Principal, error)
	// CreateAPIKey makes a key for the caller in the caller's workspace.
	CreateAPIKey(ctx context.Context, name string) (*APIKey, error)
	// FindAPIKeys lists the caller's keys in the caller's workspace.
	FindAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey deletes one of the caller's keys; ENOTFOUND otherwise.
	RevokeAPIKey(ctx context.Context, id string) error
}

// Mailer delivers e-mails (password reset codes).
type Mailer interface {
	SendPasswordReset(ctx context.Context, to, name, code string) error
}
