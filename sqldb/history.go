package sqldb

import (
	"context"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// stageChange is one change of a record's stage and/or win/loss status.
type stageChange struct {
	Entity      string // "contact" or "opportunity"
	RecordID    string
	FromStage   *string
	ToStage     *string
	FromWinLoss *int
	ToWinLoss   *int
	LossReason  *string
}

// recordStageChange appends the change to the stage history, attributed to
// actor, in the caller's transaction: a change and its history commit
// together or not at all.
func (tx *Tx) recordStageChange(ctx context.Context, workspaceID string, actor plaza.Actor, c stageChange) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO stage_history (workspace_id, id, entity, record_id, from_stage_id, to_stage_id,
		from_win_loss, to_win_loss, loss_reason, actor_type, actor_id, creation_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		workspaceID, newID(), c.Entity, c.RecordID, c.FromStage, c.ToStage, c.FromWinLoss, c.ToWinLoss, c.LossReason,
		actor.Type, actor.ID, tx.now)
	if err != nil {
		return fmt.Errorf("insert stage history: %w", err)
	}
	return nil
}
