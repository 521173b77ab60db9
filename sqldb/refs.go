package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// The checks below turn a reference to a record that is not in the
// caller's workspace into an EINVALID naming the field, so a bad id is a
// clear 400 and never a dangling reference or a foreign-key error.

// exists reports whether query finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// isLive reports whether the workspace's table has the row id, not
// deleted. table is a table name written in Plaza's code, never input.
func isLive(ctx context.Context, q querier, table, workspaceID, id string) (bool, error) {
	return exists(ctx, q, `SELECT 1 FROM `+table+` WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id)
}

func invalidRef(field, what, id string) error {
	return plaza.Invalid(plaza.FieldError{Field: field, Message: fmt.Sprintf("%s %q does not exist in this workspace.", what, id)})
}

// checkRef is the EINVALID naming field, for the what named id, unless
// query (with args) finds a row.
func (tx *Tx) checkRef(ctx context.Context, field, what, id, query string, args ...any) error {
	ok, err := exists(ctx, tx, query, args...)
	if err == nil && !ok {
		return invalidRef(field, what, id)
	}
	return err
}

// joinInvalid joins the EINVALID errors of several checks into one that
// names every bad field, in order; the first error of another kind is
// returned instead.
func joinInvalid(errs ...error) error {
	var fields []plaza.FieldError
	for _, err := range errs {
		var e *plaza.Error
		if err == nil {
			continue
		} else if errors.As(err, &e) && e.Code == plaza.EINVALID {
			fields = append(fields, e.Fields...)
		} else {
			return err
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return plaza.Invalid(fields...)
}

// checkStage checks that stageID is a stage of the workspace's pipeline.
func (tx *Tx) checkStage(ctx context.Context, workspaceID string, pipeline plaza.Pipeline, field, stageID string) error {
	return tx.checkRef(ctx, field, "Stage", stageID,
		`SELECT 1 FROM stages WHERE workspace_id = $1 AND id = $2 AND pipeline = $3`, workspaceID, stageID, pipeline)
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
	return tx.checkRef(ctx, field, "Segmentation", id,
		`SELECT 1 FROM segmentations WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
}

// checkTags checks that every id is a tag of the workspace, naming the
// first that is not.
func (tx *Tx) checkTags(ctx context.Context, workspaceID, field string, ids []string) error {
	for _, id := range ids {
		if err := tx.checkRef(ctx, field, "Tag", id, `SELECT 1 FROM tags WHERE workspace_id = $1 AND id = $2`, workspaceID, id); err != nil {
			return err
		}
	}
	return nil
}

// checkMember checks that userID is a member of the workspace (the
// assignee of a contact, opportunity or task).
func (tx *Tx) checkMember(ctx context.Context, workspaceID, field, userID string) error {
	return tx.checkRef(ctx, field, "User", userID,
		`SELECT 1 FROM workspace_members WHERE workspace_id = $1 AND user_id = $2`, workspaceID, userID)
}

// checkContact checks that id is a live (not deleted) contact of the
// workspace.
func (tx *Tx) checkContact(ctx context.Context, workspaceID, field, id string) error {
	return tx.checkRef(ctx, field, "Contact", id,
		`SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id)
}

// checkOpportunity checks that id is a live opportunity of the workspace.
func (tx *Tx) checkOpportunity(ctx context.Context, workspaceID, field, id string) error {
	return tx.checkRef(ctx, field, "Opportunity", id,
		`SELECT 1 FROM opportunities WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`, workspaceID, id)
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
