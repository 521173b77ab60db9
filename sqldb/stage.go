package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// PipelineService implements plaza.PipelineService: the stages of a
// workspace's two pipelines.
type PipelineService struct{ db *DB }

// NewPipelineService returns the pipeline service of db.
func NewPipelineService(db *DB) *PipelineService { return &PipelineService{db: db} }

var _ plaza.PipelineService = (*PipelineService)(nil)

func pipelineByID(id string) (plaza.Pipeline, error) {
	p, ok := plaza.ParsePipeline(id)
	if !ok {
		return "", plaza.Errorf(plaza.ENOTFOUND, "Pipeline %q not found: a workspace's pipelines are contact and opportunity.", id)
	}
	return p, nil
}

func errStageNotFound() error {
	return plaza.Errorf(plaza.ENOTFOUND, "Stage not found in this pipeline.")
}

const stageColumns = `id, pipeline, name, color, position, is_default, creation_date`

// findStages returns the stages of one of the workspace's pipelines, in
// order.
func findStages(ctx context.Context, q querier, workspaceID string, pipeline plaza.Pipeline) ([]plaza.Stage, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+stageColumns+` FROM stages WHERE workspace_id = $1 AND pipeline = $2
		ORDER BY position, id`, workspaceID, pipeline)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stages := []plaza.Stage{}
	for rows.Next() {
		var st plaza.Stage
		var created sqlTime
		if err := rows.Scan(&st.ID, &st.Pipeline, &st.Name, &st.Color, &st.Order, &st.IsDefault, &created); err != nil {
			return nil, err
		}
		st.CreationDate = created.plaza()
		stages = append(stages, st)
	}
	return stages, rows.Err()
}

func stageIndex(stages []plaza.Stage, id string) int {
	for i, st := range stages {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// lockPipeline serialises changes to a pipeline's stages and returns
// them: it bumps the pipeline's version in the sequences table, whose row
// stays locked until the transaction ends (on PostgreSQL, across replicas;
// SQLite has one writer), so the positions read can be rewritten without
// races.
func (tx *Tx) lockPipeline(ctx context.Context, workspaceID string, pipeline plaza.Pipeline) ([]plaza.Stage, error) {
	if _, err := tx.nextSequence(ctx, workspaceID, "pipeline:"+string(pipeline)); err != nil {
		return nil, err
	}
	return findStages(ctx, tx, workspaceID, pipeline)
}

// FindPipelines returns the workspace's contact and opportunity pipelines.
func (s *PipelineService) FindPipelines(ctx context.Context) ([]plaza.PipelineStages, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var out []plaza.PipelineStages
	for _, pl := range []plaza.Pipeline{plaza.PipelineContact, plaza.PipelineOpportunity} {
		stages, err := findStages(ctx, s.db.read, p.WorkspaceID, pl)
		if err != nil {
			return nil, err
		}
		out = append(out, plaza.PipelineStages{ID: pl, Name: pl.Title(), Stages: stages})
	}
	return out, nil
}

func stageNameTaken(stages []plaza.Stage, name, except string) error {
	for _, st := range stages {
		if st.ID != except && strings.EqualFold(st.Name, name) {
			return &plaza.Error{Code: plaza.ECONFLICT, Message: fmt.Sprintf("The pipeline already has a stage named %q.", st.Name),
				Fields: []plaza.FieldError{{Field: "name", Message: fmt.Sprintf("The pipeline already has a stage named %q.", st.Name)}}}
		}
	}
	return nil
}

// CreateStage adds a stage to a pipeline at the position asked (the end by
// default), moving the stages from there down one.
func (s *PipelineService) CreateStage(ctx context.Context, pipelineID string, in plaza.StageCreate) (*plaza.Stage, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := pipelineByID(pipelineID)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	st := &plaza.Stage{ID: newID(), Pipeline: pl, Name: strings.TrimSpace(*in.Name), Color: plaza.DefaultStageColor}
	if in.Color != nil {
		st.Color = *in.Color
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		stages, err := tx.lockPipeline(ctx, ws, pl)
		if err != nil {
			return err
		}
		st.Order = len(stages) + 1
		if in.Order != nil {
			if *in.Order < 1 || *in.Order > len(stages)+1 {
				return plaza.Invalid(plaza.FieldError{Field: "order", Message: fmt.Sprintf("order must be between 1 and %d.", len(stages)+1)})
			}
			st.Order = *in.Order
		}
		if err := stageNameTaken(stages, st.Name, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stages SET position = position + 1
			WHERE workspace_id = $1 AND pipeline = $2 AND position >= $3`, ws, pl, st.Order); err != nil {
			return fmt.Errorf("move stages: %w", err)
		}
		st.CreationDate = plaza.NewTime(tx.now)
		_, err = tx.ExecContext(ctx, `INSERT INTO stages (workspace_id, id, pipeline, name, color, position, is_default, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ws, st.ID, pl, st.Name, st.Color, st.Order, false, tx.now)
		if isUnique(err) {
			return stageNameTaken([]plaza.Stage{{Name: st.Name}}, st.Name, st.ID)
		} else if err != nil {
			return fmt.Errorf("insert stage: %w", err)
		}
		return tx.renumberStages(ctx, ws, pl)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// renumberStages makes a pipeline's positions 1..n in their current order.
func (tx *Tx) renumberStages(ctx context.Context, workspaceID string, pipeline plaza.Pipeline) error {
	stages, err := findStages(ctx, tx, workspaceID, pipeline)
	if err != nil {
		return err
	}
	ids := make([]string, len(stages))
	for i, st := range stages {
		ids[i] = st.ID
	}
	return tx.setStageOrder(ctx, workspaceID, stages, ids)
}

// setStageOrder gives the stages named by ids positions 1..n in that order,
// writing only those that change.
func (tx *Tx) setStageOrder(ctx context.Context, workspaceID string, stages []plaza.Stage, ids []string) error {
	for i, id := range ids {
		if stages[stageIndex(stages, id)].Order == i+1 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stages SET position = $3 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, id, i+1); err != nil {
			return fmt.Errorf("order stages: %w", err)
		}
	}
	return nil
}

// UpdateStage renames, recolours or makes default a stage of a pipeline.
func (s *PipelineService) UpdateStage(ctx context.Context, pipelineID, stageID string, upd plaza.StageUpdate) (*plaza.Stage, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := pipelineByID(pipelineID)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var st *plaza.Stage
	err = s.db.inTx(ctx, func(tx *Tx) error {
		stages, err := tx.lockPipeline(ctx, ws, pl)
		if err != nil {
			return err
		}
		i := stageIndex(stages, stageID)
		if i < 0 {
			return errStageNotFound()
		}
		st = &stages[i]
		if upd.Name != nil {
			st.Name = strings.TrimSpace(*upd.Name)
			if err := stageNameTaken(stages, st.Name, st.ID); err != nil {
				return err
			}
		}
		if upd.Color != nil {
			st.Color = *upd.Color
		}
		_, err = tx.ExecContext(ctx, `UPDATE stages SET name = $3, color = $4 WHERE workspace_id = $1 AND id = $2`,
			ws, st.ID, st.Name, st.Color)
		if isUnique(err) {
			return stageNameTaken([]plaza.Stage{{Name: st.Name}}, st.Name, st.ID)
		} else if err != nil {
			return fmt.Errorf("update stage: %w", err)
		}
		if upd.IsDefault != nil && *upd.IsDefault && !st.IsDefault {
			if err := tx.setDefaultStage(ctx, ws, pl, st.ID); err != nil {
				return err
			}
			st.IsDefault = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// setDefaultStage makes id the one default stage of the pipeline.
func (tx *Tx) setDefaultStage(ctx context.Context, workspaceID string, pipeline plaza.Pipeline, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE stages SET is_default = (id = $3) WHERE workspace_id = $1 AND pipeline = $2`,
		workspaceID, pipeline, id)
	if err != nil {
		return fmt.Errorf("set default stage: %w", err)
	}
	return nil
}

// ReorderStages puts a pipeline's stages in the order of stageIDs, which
// must name each of them exactly once.
func (s *PipelineService) ReorderStages(ctx context.Context, pipelineID string, stageIDs []string) (*plaza.PipelineStages, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := pipelineByID(pipelineID)
	if err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	out := &plaza.PipelineStages{ID: pl, Name: pl.Title()}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		stages, err := tx.lockPipeline(ctx, ws, pl)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, id := range stageIDs {
			if seen[id] || stageIndex(stages, id) < 0 {
				seen = nil
				break
			}
			seen[id] = true
		}
		if seen == nil || len(stageIDs) != len(stages) {
			return plaza.Invalid(plaza.FieldError{Field: "stageIds", Message: fmt.Sprintf(
				"stageIds must list each of the pipeline's %d stages exactly once, in their new order.", len(stages))})
		}
		if err := tx.setStageOrder(ctx, ws, stages, stageIDs); err != nil {
			return err
		}
		out.Stages, err = findStages(ctx, tx, ws, pl)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteStage deletes a stage of a pipeline. Live contacts and
// opportunities in it move to moveTo, each move recorded in the stage
// history; without moveTo their presence is ECONFLICT. Deleted records in
// it, which keep their data, move silently to moveTo or the first
// remaining stage, so the stage can go.
func (s *PipelineService) DeleteStage(ctx context.Context, pipelineID, stageID, moveTo string) (*plaza.StageDeletion, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := pipelineByID(pipelineID)
	if err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	out := &plaza.StageDeletion{ID: stageID, MovedTo: nilIfEmpty(moveTo)}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		stages, err := tx.lockPipeline(ctx, ws, pl)
		if err != nil {
			return err
		}
		i := stageIndex(stages, stageID)
		if i < 0 {
			return errStageNotFound()
		}
		if len(stages) == 1 {
			return plaza.Errorf(plaza.ECONFLICT, "The last stage of a pipeline cannot be deleted.")
		}
		if moveTo != "" && (moveTo == stageID || stageIndex(stages, moveTo) < 0) {
			return plaza.Invalid(plaza.FieldError{Field: "moveTo", Message: "moveTo must be another stage of the same pipeline."})
		}
		deleted := stages[i]
		remaining := append(append([]plaza.Stage{}, stages[:i]...), stages[i+1:]...)

		opportunities, err := tx.liveIDsInStage(ctx, "opportunities", ws, stageID)
		if err != nil {
			return err
		}
		contacts, err := tx.liveIDsInStage(ctx, "contacts", ws, stageID)
		if err != nil {
			return err
		}
		if len(opportunities)+len(contacts) > 0 && moveTo == "" {
			return &plaza.Error{Code: plaza.ECONFLICT,
				Message: fmt.Sprintf("The stage %q holds %d contact(s) and %d opportunity(ies): send moveTo=<stageId> to move them to another stage.",
					deleted.Name, len(contacts), len(opportunities)),
				Data: map[string]any{"stageId": stageID, "contacts": len(contacts), "opportunities": len(opportunities)}}
		}
		target := moveTo
		if target == "" {
			target = remaining[0].ID
		}
		if err := tx.moveOpportunities(ctx, p, opportunities, stageID, target); err != nil {
			return err
		}
		if err := tx.moveContacts(ctx, p, contacts, stageID, target); err != nil {
			return err
		}
		out.MovedOpportunities, out.MovedContacts = len(opportunities), len(contacts)
		// What is left in the stage is deleted records.
		for _, table := range []string{"opportunities", "contacts"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET stage_id = $3 WHERE workspace_id = $1 AND stage_id = $2`,
				ws, stageID, target); err != nil {
				return fmt.Errorf("move deleted %s: %w", table, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM stages WHERE workspace_id = $1 AND id = $2`, ws, stageID); err != nil {
			return fmt.Errorf("delete stage: %w", err)
		}
		if deleted.IsDefault {
			if err := tx.setDefaultStage(ctx, ws, pl, remaining[0].ID); err != nil {
				return err
			}
		}
		return tx.renumberStages(ctx, ws, pl)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liveIDsInStage lists the ids of the live records of table in a stage, in
// their order on the board.
func (tx *Tx) liveIDsInStage(ctx context.Context, table, workspaceID, stageID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM `+table+` WHERE workspace_id = $1 AND stage_id = $2 AND deletion_date IS NULL
		ORDER BY order_in_cards, id`, workspaceID, stageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// moveOpportunities moves opportunities from one stage to the end of
// another's column, recording each move.
func (tx *Tx) moveOpportunities(ctx context.Context, p *plaza.Principal, ids []string, from, to string) error {
	if len(ids) == 0 {
		return nil
	}
	order, err := tx.nextCardOrder(ctx, p.WorkspaceID, to)
	if err != nil {
		return err
	}
	for i, id := range ids {
		_, err := tx.ExecContext(ctx, `UPDATE opportunities SET stage_id = $3, order_in_cards = $4, order_in_cards_updated = $5,
			updated_date = $5 WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, id, to, order+i, tx.now)
		if err != nil {
			return fmt.Errorf("move opportunity: %w", err)
		}
		if err := tx.recordStageChange(ctx, p.WorkspaceID, p.Actor(), stageChange{Entity: plaza.EntityOpportunity,
			RecordID: id, FromStage: &from, ToStage: &to}); err != nil {
			return err
		}
	}
	return nil
}

// moveContacts moves contacts from one stage to another, recording each
// move.
func (tx *Tx) moveContacts(ctx context.Context, p *plaza.Principal, ids []string, from, to string) error {
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET stage_id = $3, updated_date = $4 WHERE workspace_id = $1 AND id = $2`,
			p.WorkspaceID, id, to, tx.now)
		if err != nil {
			return fmt.Errorf("move contact: %w", err)
		}
		if err := tx.recordStageChange(ctx, p.WorkspaceID, p.Actor(), stageChange{Entity: plaza.EntityContact,
			RecordID: id, FromStage: &from, ToStage: &to}); err != nil {
			return err
		}
	}
	return nil
}
