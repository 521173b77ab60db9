package sqldb

import (
	"context"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// CreateOpportunityActivity records an activity on a live opportunity of
// the caller's workspace, attributed to the caller.
func (s *OpportunityService) CreateOpportunityActivity(ctx context.Context, opportunityID string, in plaza.OpportunityActivityCreate) (*plaza.OpportunityActivity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	a := &plaza.OpportunityActivity{ID: newID(), Content: *in.Content, Date: storedTime(*in.Date), CategoryType: *in.CategoryType, UserID: &p.UserID}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		ok, err := isLive(ctx, tx, "opportunities", p.WorkspaceID, opportunityID)
		if err != nil {
			return err
		} else if !ok {
			return errOpportunityNotFound()
		}
		actor := p.Actor()
		a.CreationDate = plaza.NewTime(tx.now)
		_, err = tx.ExecContext(ctx, `INSERT INTO opportunity_activities (workspace_id, id, opportunity_id, category_type,
			content, date, actor_type, actor_id, user_id, creation_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			p.WorkspaceID, a.ID, opportunityID, a.CategoryType, a.Content, a.Date.Time, actor.Type, actor.ID, p.UserID, tx.now)
		if err != nil {
			return fmt.Errorf("insert opportunity activity: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// FindOpportunityActivities lists the activities of a live opportunity of
// the caller's workspace, newest first.
func (s *OpportunityService) FindOpportunityActivities(ctx context.Context, opportunityID string) ([]plaza.OpportunityActivity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if ok, err := isLive(ctx, s.db.read, "opportunities", p.WorkspaceID, opportunityID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errOpportunityNotFound()
	}
	return findOpportunityActivities(ctx, s.db.read, p.WorkspaceID, opportunityID)
}

func findOpportunityActivities(ctx context.Context, q querier, workspaceID, opportunityID string) ([]plaza.OpportunityActivity, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, content, date, category_type, user_id, creation_date
		FROM opportunity_activities WHERE workspace_id = $1 AND opportunity_id = $2 ORDER BY id DESC`, workspaceID, opportunityID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []plaza.OpportunityActivity{}
	for rows.Next() {
		var a plaza.OpportunityActivity
		var date, created sqlTime
		if err := rows.Scan(&a.ID, &a.Content, &date, &a.CategoryType, &a.UserID, &created); err != nil {
			return nil, err
		}
		a.Date, a.CreationDate = date.plaza(), created.plaza()
		list = append(list, a)
	}
	return list, rows.Err()
}
