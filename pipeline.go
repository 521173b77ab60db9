package plaza

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Every workspace has two pipelines, one per kind of record: contacts move
// through the stages of PipelineContact, opportunities through those of
// PipelineOpportunity. A pipeline's id is its kind.

// ParsePipeline returns the pipeline whose id is s (case-insensitively).
func ParsePipeline(s string) (Pipeline, bool) {
	switch p := Pipeline(strings.ToLower(s)); p {
	case PipelineContact, PipelineOpportunity:
		return p, true
	}
	return "", false
}

// Title is the pipeline's display name.
func (p Pipeline) Title() string {
	if p == PipelineContact {
		return "Contacts"
	}
	return "Opportunities"
}

// PipelineStages is a pipeline with its stages in order.
type PipelineStages struct {
	ID     Pipeline `json:"id"`
	Name   string   `json:"name"`
	Stages []Stage  `json:"stages"`
}

// MaxStageName limits a stage's name.
const MaxStageName = 100

var stageColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)

// DefaultStageColor is the colour of a stage created without one.
const DefaultStageColor = "#64748b"

// StageCreate adds a stage to a pipeline.
type StageCreate struct {
	Name  *string
	Color *string
	// Order is the new stage's position, from 1; the others after it move
	// down. Nil appends it.
	Order *int
}

// StageUpdate renames, recolours or makes default a stage; nil fields are
// left as they are. IsDefault can only be set true: the pipeline always has
// one default, so it moves by making another stage default.
type StageUpdate struct {
	Name      *string
	Color     *string
	IsDefault *bool
}

// StageDeletion reports a deleted stage and where its records went.
type StageDeletion struct {
	ID                 string  `json:"id"`
	MovedTo            *string `json:"movedTo"`
	MovedContacts      int     `json:"movedContacts"`
	MovedOpportunities int     `json:"movedOpportunities"`
}

// Validate checks a new stage; order is checked against the pipeline.
func (in *StageCreate) Validate() error {
	var v Validator
	checkStageName(&v, in.Name, true)
	checkStageColor(&v, in.Color)
	return v.Err()
}

// Validate checks a stage update.
func (u *StageUpdate) Validate() error {
	var v Validator
	if u.Name == nil && u.Color == nil && u.IsDefault == nil {
		v.Check(false, "body", "Nothing to update: send name, color or isDefault.")
	}
	checkStageName(&v, u.Name, false)
	checkStageColor(&v, u.Color)
	if u.IsDefault != nil {
		v.Check(*u.IsDefault, "isDefault", "isDefault can only be set to true: make another stage the default instead.")
	}
	return v.Err()
}

func checkStageName(v *Validator, name *string, required bool) {
	switch {
	case name == nil:
		v.Check(!required, "name", "name is required.")
	case strings.TrimSpace(*name) == "":
		v.Check(false, "name", "name cannot be empty.")
	case utf8.RuneCountInString(strings.TrimSpace(*name)) > MaxStageName:
		v.Check(false, "name", fmt.Sprintf("name is longer than %d characters.", MaxStageName))
	}
}

func checkStageColor(v *Validator, c *string) {
	if c != nil {
		v.Check(stageColor.MatchString(*c), "color", "color must be a hex colour such as #3b82f6.")
	}
}

// PipelineService manages the stages of the caller's workspace's
// pipelines. Everyone in the workspace reads them; only owners and admins
// change them (else EFORBIDDEN). A pipeline id other than contact or
// opportunity, or a stage not in the pipeline, is ENOTFOUND.
type PipelineService interface {
	// FindPipelines returns both pipelines, each with its stages in order.
	FindPipelines(ctx context.Context) ([]PipelineStages, error)
	// CreateStage adds a stage; ECONFLICT when the pipeline has a stage of
	// that name (compared case-insensitively).
	CreateStage(ctx context.Context, pipelineID string, in StageCreate) (*Stage, error)
	// UpdateStage renames, recolours or makes default a stage.
	UpdateStage(ctx context.Context, pipelineID, stageID string, upd StageUpdate) (*Stage, error)
	// ReorderStages puts the stages in the order given, which must name
	// every stage of the pipeline exactly once (else EINVALID).
	ReorderStages(ctx context.Context, pipelineID string, stageIDs []string) (*PipelineStages, error)
	// DeleteStage deletes a stage. When live records are in it, moveTo must
	// name another stage of the pipeline: they move there, each move
	// recorded in the stage history, in the same transaction; without it
	// the deletion is ECONFLICT. The last stage of a pipeline cannot be
	// deleted (ECONFLICT); deleting the default makes the first remaining
	// stage the default.
	DeleteStage(ctx context.Context, pipelineID, stageID, moveTo string) (*StageDeletion, error)
}
