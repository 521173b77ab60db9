package sqldb

import (
	"context"

	"github.com/plaza-crm/plaza"
)

// HistoryService implements plaza.HistoryService: the read side of the
// stage history that tx.recordStageChange writes.
type HistoryService struct{ db *DB }

// NewHistoryService returns the history service of db.
func NewHistoryService(db *DB) *HistoryService { return &HistoryService{db: db} }

var _ plaza.HistoryService = (*HistoryService)(nil)

// FindStageHistory returns the stage history of a live contact or
// opportunity of the caller's workspace, newest first. ENOTFOUND when the
// record is not there (deleted, another workspace's, or no such entity).
func (s *HistoryService) FindStageHistory(ctx context.Context, entity, recordID string) ([]plaza.StageChange, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var table, what string
	switch entity {
	case plaza.EntityContact:
		table, what = "contacts", "Contact"
	case plaza.EntityOpportunity:
		table, what = "opportunities", "Opportunity"
	default:
		return nil, plaza.Errorf(plaza.ENOTFOUND, "No history of %q records.", entity)
	}
	if ok, err := isLive(ctx, s.db.read, table, p.WorkspaceID, recordID); err != nil {
		return nil, err
	} else if !ok {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "%s not found.", what)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, entity, record_id, from_stage_id, to_stage_id, from_win_loss,
		to_win_loss, loss_reason, actor_type, actor_id, creation_date
		FROM stage_history WHERE workspace_id = $1 AND entity = $2 AND record_id = $3
		ORDER BY creation_date DESC, id DESC`,
		p.WorkspaceID, entity, recordID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []plaza.StageChange{}
	for rows.Next() {
		var c plaza.StageChange
		var created sqlTime
		if err := rows.Scan(&c.ID, &c.Entity, &c.RecordID, &c.FromStageID, &c.ToStageID, &c.FromWinLossStatus,
			&c.ToWinLossStatus, &c.LossReason, &c.Actor.Type, &c.Actor.ID, &created); err != nil {
			return nil, err
		}
		c.CreationDate = created.plaza()
		list = append(list, c)
	}
	return list, rows.Err()
}
