package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// The checks below turn a reference to a record that is not in the
// caller's workspace into an EINVALID naming the field, so a bad id is a
// clear 400 and never a dangling reference or a foreign-key error.

// exists reports whether query (taking workspace id and id) finds a row.
func (tx *Tx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func invalidRef(field, what, id string) error {
	return plaza.Invalid(plaza.FieldError{Field: field, Message: fmt.Sprintf("%s %q does not exist in this workspace.", what, id)})
}

// checkStage checks that stageID is a stage of the workspace's pipeline.
func (tx *Tx) checkStage(ctx context.Context, workspaceID string, pipeline plaza.Pipeline, field, stageID string) error {
	ok, err := tx.exists(ctx, `SELECT 1 FROM stages WHERE workspace_id = $1 AND id = $2 AND pipeline = $3`, workspaceID, stageID, pipeline)
	if err == nil && !ok {
		return invalidRef(field, "Stage", stageID)
	}
	return err
}

// defaultStage returns the default stage of the workspace's pipeline, or
// "" when it has none.
func (tx *Tx) defaultStage(ctx context.Context, workspaceID string, pipeline plaza.Pipeline) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM stages WHERE workspace_id = $1 AND pipeline = $2
		ORDER BY is_default DESC, position, id LIMIT 1`, workspaceID, pipeline).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// checkSegmentation checks that id is a segmentation of the workspace.
func (tx *Tx) checkSegmentation(ctx context.Context, workspaceID, field, id string) error {
	ok, err := tx.exists(ctx, `SELECT 1 FROM segmentations WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err == nil && !ok {
		return invalidRef(field, "Segmentation", id)
	}
	return err
}

// checkTags checks that every id is a tag of the workspace.
func (tx *Tx) checkTags(ctx context.Context, workspaceID, field string, ids []string) error {
	for _, id := range ids {
		ok, err := tx.exists(ctx, `SELECT 1 FROM tags WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		if err != nil {
			return err
		}
		if !ok {
			return invalidRef(field, "Tag", id)
		}
	}
	return nil
}

// checkMember checks that userID is a member of the workspace (the
// assignee of a contact, opportunity or task).
func (tx *Tx) checkMember(ctx context.Context, workspaceID, field, userID string) error {
	ok, err := tx.exists(ctx, `SELECT 1 FROM workspace_members WHERE workspace_id = $1 AND user_id = $2`, workspaceID, userID)
	if err == nil && !ok {
		return invalidRef(field, "User", userID)
	}
	return err
}

// checkContact checks that id is a live (not deleted) contact of the
// workspace.
func (tx *Tx) checkContact(ctx context.Context, workspaceID, field, id string) error {
	ok, err := tx.exists(ctx, `SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id)
	if err == nil && !ok {
		return invalidRef(field, "Contact", id)
	}
	return err
}

// checkOpportunity checks that id is a live opportunity of the workspace.
func (tx *Tx) checkOpportunity(ctx context.Context, workspaceID, field, id string) error {
	ok, err := tx.exists(ctx, `SELECT 1 FROM opportunities WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id)
	if err == nil && !ok {
		return invalidRef(field, "Opportunity", id)
	}
	return err
}

// nextSequence returns the next value of the workspace's named sequence.
// The UPDATE locks the row until the transaction ends, so concurrent
// transactions, on any replica, never get the same value.
func (tx *Tx) nextSequence(ctx context.Context, workspaceID, name string) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `INSERT INTO sequences (workspace_id, name, value) VALUES ($1, $2, 1)
		ON CONFLICT (workspace_id, name) DO UPDATE SET value = sequences.value + 1
		RETURNING value`, workspaceID, name).Scan(&v)
	return v, err
}

// likePattern escapes s for a LIKE ... ESCAPE '\' match anywhere.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}
