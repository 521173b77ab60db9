package plaza

import "context"

// Workspace is a tenant: every CRM record belongs to exactly one.
type Workspace struct {
	ID           string `json:"id"`
	UserID       string `json:"userId"` // the owner
	Name         string `json:"name"`
	URLAvatar    string `json:"urlAvatar"`
	Status       int    `json:"status"`
	CreationDate Time   `json:"creationDate"`
	DeletionDate *Time  `json:"deletionDate"`

	// Masters, as Plazbot's "Get Workspace by ID" lists them.
	MasterOfStates        []TaskState    `json:"masterOfStates"`
	MasterOfProjects      []Project      `json:"masterOfProjects"`
	MasterOfPhases        []Stage        `json:"masterOfPhases"`
	MasterOfSegmentations []Segmentation `json:"masterOfSegmentations"`
	MasterOfTags          []Tag          `json:"masterOfTags"`
	Integrations          []any          `json:"integrations"`
}

// Pipeline names the kind of record a stage ("fase") belongs to.
type Pipeline string

const (
	PipelineContact     Pipeline = "contact"
	PipelineOpportunity Pipeline = "opportunity"
)

// Stage is one column of a pipeline.
type Stage struct {
	ID           string   `json:"id"`
	Pipeline     Pipeline `json:"pipeline"`
	Name         string   `json:"name"`
	Color        string   `json:"color"`
	Order        int      `json:"order"`
	IsDefault    bool     `json:"isDefault"`
	CreationDate Time     `json:"creationDate"`
}

// TaskState is one column of the task board (To do, In progress, Done).
type TaskState struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Color        string `json:"color"`
	StateCode    string `json:"stateCode"`
	Order        int    `json:"order"`
	IsDefault    bool   `json:"isDefault"`
	CreationDate Time   `json:"creationDate"`
}

// Project groups tasks. Plaza does not create any by default.
type Project struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Color        string `json:"color"`
	CreationDate Time   `json:"creationDate"`
}

// Segmentation is a customer segment a contact or opportunity belongs to.
type Segmentation struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Color        string `json:"color"`
	CreationDate Time   `json:"creationDate"`
}

// Tag labels contacts.
type Tag struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Color        string `json:"color"`
	CreationDate Time   `json:"creationDate"`
}

// WorkspaceService reads workspaces and their members. Every method is
// about the caller's workspace (from the context); asking for another is
// ENOTFOUND.
type WorkspaceService interface {
	FindWorkspaceByID(ctx context.Context, id string) (*Workspace, error)
	// FindWorkspaceUsers lists the members with their role in the workspace.
	FindWorkspaceUsers(ctx context.Context, id string) ([]User, error)
	// CreateWorkspace creates a workspace with default masters and makes
	// ownerID its owner.
	CreateWorkspace(ctx context.Context, name, ownerID string) (*Workspace, error)
}
