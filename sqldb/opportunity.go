package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
)

// OpportunityService implements plaza.OpportunityService.
type OpportunityService struct{ db *DB }

// NewOpportunityService returns the opportunity service of db.
func NewOpportunityService(db *DB) *OpportunityService { return &OpportunityService{db: db} }

var _ plaza.OpportunityService = (*OpportunityService)(nil)

// opportunitySequence names the workspace sequence opportCodes come from.
const opportunitySequence = "opportunity"

// opportCode renders the n-th code of a workspace: OPP-000042.
func opportCode(n int64) string { return fmt.Sprintf("OPP-%06d", n) }

func errOpportunityNotFound() error { return plaza.Errorf(plaza.ENOTFOUND, "Opportunity not found.") }

const opportunityColumns = `id, workspace_id, opport_code, opport_status, win_loss_status, win_loss_date, final_amount,
	loss_reason, creation_type_id, status_id, name, description, amount, user_creation, contact_id, expiration_date,
	assigned_agent_id, stage_id, segmentation_id, custom_fields, files, order_in_cards, order_in_cards_updated,
	creation_date, updated_date, deletion_date, user_deletion`

func scanOpportunity(row scanner) (*plaza.Opportunity, error) {
	var o plaza.Opportunity
	var winLossDate, expiration, updated, deleted sqlNullTime
	var orderUpdated, created sqlTime
	var contactID sql.NullString
	var customFields, files string
	err := row.Scan(&o.ID, &o.WorkspaceID, &o.OpportCode, &o.OpportStatus, &o.WinLossStatus, &winLossDate, &o.FinalAmount,
		&o.LossReason, &o.CreationTypeID, &o.StatusID, &o.Name, &o.Description, &o.Amount, &o.UserCreation, &contactID, &expiration,
		&o.AssignedAgentID, &o.StageID, &o.SegmentationID, &customFields, &files, &o.OrderInCards, &orderUpdated,
		&created, &updated, &deleted, &o.UserDeletion)
	if err != nil {
		return nil, err
	}
	o.WinLossDate, o.ExpirationDate, o.UpdatedDate, o.DeletionDate = winLossDate.plaza(), expiration.plaza(), updated.plaza(), deleted.plaza()
	o.OrderInCardsLastUpdated, o.CreationDate = orderUpdated.plaza(), created.plaza()
	o.ContactID = contactID.String
	o.CustomFields, o.Files, o.Activities = []plaza.OpportunityCustomField{}, []json.RawMessage{}, []plaza.OpportunityActivity{}
	if err := json.Unmarshal([]byte(customFields), &o.CustomFields); err != nil {
		return nil, fmt.Errorf("opportunity %s: custom_fields: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(files), &o.Files); err != nil {
		return nil, fmt.Errorf("opportunity %s: files: %w", o.ID, err)
	}
	return &o, nil
}

// findOpportunity returns a live opportunity of the workspace with its
// activities; ENOTFOUND otherwise. lock takes the row for update (on
// PostgreSQL; SQLite's writer already excludes every other).
func findOpportunity(ctx context.Context, q querier, dialect Dialect, workspaceID, id string, lock bool) (*plaza.Opportunity, error) {
	query := `SELECT ` + opportunityColumns + ` FROM opportunities WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`
	if lock && dialect == Postgres {
		query += ` FOR UPDATE`
	}
	o, err := scanOpportunity(q.QueryRowContext(ctx, query, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errOpportunityNotFound()
	} else if err != nil {
		return nil, err
	}
	if o.Activities, err = findOpportunityActivities(ctx, q, workspaceID, id); err != nil {
		return nil, err
	}
	return o, nil
}

// FindOpportunityByID returns a live opportunity of the caller's workspace.
func (s *OpportunityService) FindOpportunityByID(ctx context.Context, id string) (*plaza.Opportunity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findOpportunity(ctx, s.db.read, s.db.Dialect, p.WorkspaceID, id, false)
}

// FindOpportunities returns a page of the workspace's live opportunities,
// newest first, and whether more follow.
func (s *OpportunityService) FindOpportunities(ctx context.Context, f plaza.OpportunityFilter) ([]plaza.Opportunity, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	w := newConditions(p.WorkspaceID, "workspace_id = $1", "deletion_date IS NULL")
	if f.Page.After != "" {
		w.add("id < " + w.arg(f.Page.After))
	}
	if f.StageID != "" {
		w.add("stage_id = " + w.arg(f.StageID))
	}
	if f.AssignedAgentID != "" {
		w.add("assigned_agent_id = " + w.arg(f.AssignedAgentID))
	}
	if f.ContactID != "" {
		w.add("contact_id = " + w.arg(f.ContactID))
	}
	if f.WinLossStatus != nil {
		w.add("win_loss_status = " + w.arg(int(*f.WinLossStatus)))
	}
	if f.UpdatedSince != nil {
		w.add("COALESCE(updated_date, creation_date) >= " + w.arg(f.UpdatedSince.Time))
	}
	if f.Q != "" {
		w.add(likeAny(w.arg(likePattern(f.Q)), `plaza_lower(name)`, `plaza_lower(description)`, `plaza_lower(opport_code)`))
	}
	size := f.Page.Size()
	list, err := queryAll(ctx, s.db.read, scanOpportunity, `SELECT `+opportunityColumns+` FROM opportunities WHERE `+
		w.sql()+` ORDER BY id DESC LIMIT `+w.arg(size+1), w.args...)
	if err != nil {
		return nil, false, err
	}
	list, more := cutPage(list, size)
	return list, more, nil
}

// opportunityRefs checks the references an opportunity's write names:
// each non-empty id must be the workspace's.
type opportunityRefs struct {
	stageID, contactID, assigneeField, assigneeID, segmentationID string
}

func (tx *Tx) checkOpportunityRefs(ctx context.Context, workspaceID string, r opportunityRefs) error {
	var errs []error
	if r.stageID != "" {
		errs = append(errs, tx.checkStage(ctx, workspaceID, plaza.PipelineOpportunity, "stageId", r.stageID))
	}
	if r.contactID != "" {
		errs = append(errs, tx.checkContact(ctx, workspaceID, "contactId", r.contactID))
	}
	if r.assigneeID != "" {
		errs = append(errs, tx.checkMember(ctx, workspaceID, r.assigneeField, r.assigneeID))
	}
	if r.segmentationID != "" {
		errs = append(errs, tx.checkSegmentation(ctx, workspaceID, "segmentationId", r.segmentationID))
	}
	return joinInvalid(errs...)
}

// nextCardOrder is the orderInCards of a card put at the end of a stage's
// column.
func (tx *Tx) nextCardOrder(ctx context.Context, workspaceID, stageID string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(order_in_cards), 0) + 1 FROM opportunities
		WHERE workspace_id = $1 AND stage_id = $2 AND deletion_date IS NULL`, workspaceID, stageID).Scan(&n)
	return n, err
}

func customFieldsJSON(fs []plaza.OpportunityCustomField) (string, error) {
	if fs == nil {
		fs = []plaza.OpportunityCustomField{}
	}
	for i := range fs {
		fs[i].Name = strings.TrimSpace(fs[i].Name)
		if len(fs[i].Value) == 0 {
			fs[i].Value = json.RawMessage("null")
		}
	}
	b, err := json.Marshal(fs)
	return string(b), err
}

// CreateOpportunity creates an opportunity in the caller's workspace, in
// the stage given or the pipeline's default, with the workspace's next
// opportCode, and records its first stage in the history. The sequence row
// stays locked until the transaction ends, so concurrent creates, on any
// replica, get distinct, consecutive codes.
func (s *OpportunityService) CreateOpportunity(ctx context.Context, in plaza.OpportunityCreate) (*plaza.Opportunity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	assigneeField := "assignedComercialId"
	if in.AssignedComercialID == nil || *in.AssignedComercialID == "" {
		assigneeField = "assignedAgentId"
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var o *plaza.Opportunity
	err = s.db.inTx(ctx, func(tx *Tx) error {
		stageID := str(in.StageID)
		err := tx.checkOpportunityRefs(ctx, ws, opportunityRefs{stageID: stageID, contactID: str(in.ContactID),
			assigneeField: assigneeField, assigneeID: in.Assignee(), segmentationID: str(in.SegmentationID)})
		if err != nil {
			return err
		}
		if stageID == "" {
			if stageID, err = tx.defaultStage(ctx, ws, plaza.PipelineOpportunity); err != nil {
				return err
			}
		}
		n, err := tx.nextSequence(ctx, ws, opportunitySequence)
		if err != nil {
			return err
		}
		order := 1
		if stageID != "" {
			if order, err = tx.nextCardOrder(ctx, ws, stageID); err != nil {
				return err
			}
		}
		custom, err := customFieldsJSON(in.CustomFields)
		if err != nil {
			return err
		}
		var expiration any
		if in.ExpirationDate != nil && !in.ExpirationDate.IsZero() {
			expiration = storedTime(*in.ExpirationDate).Time
		}
		id := newID()
		_, err = tx.ExecContext(ctx, `INSERT INTO opportunities (workspace_id, id, opport_code, name, description, amount,
			user_creation, contact_id, expiration_date, assigned_agent_id, stage_id, segmentation_id, custom_fields,
			order_in_cards, order_in_cards_updated, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
			ws, id, opportCode(n), strings.TrimSpace(*in.Name), *in.Description, *in.Amount, p.UserID,
			nilIfEmpty(str(in.ContactID)), expiration, nilIfEmpty(in.Assignee()), nilIfEmpty(stageID),
			nilIfEmpty(str(in.SegmentationID)), custom, order, tx.now)
		if err != nil {
			if isUnique(err) {
				return plaza.Errorf(plaza.ECONFLICT, "The opportunity code %s is taken; try again.", opportCode(n))
			}
			return fmt.Errorf("insert opportunity: %w", err)
		}
		if stageID != "" {
			err = tx.recordStageChange(ctx, ws, p.Actor(), stageChange{Entity: plaza.EntityOpportunity, RecordID: id, ToStage: &stageID})
			if err != nil {
				return err
			}
		}
		o, err = findOpportunity(ctx, tx, tx.db.Dialect, ws, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// UpdateOpportunity applies upd to a live opportunity of the caller's
// workspace and sets its updatedDate. Moving it to another stage puts its
// card at the end of the new column and records the move.
func (s *OpportunityService) UpdateOpportunity(ctx context.Context, id string, upd plaza.OpportunityUpdate) (*plaza.Opportunity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var o *plaza.Opportunity
	err = s.db.inTx(ctx, func(tx *Tx) error {
		cur, err := findOpportunity(ctx, tx, tx.db.Dialect, ws, id, true)
		if err != nil {
			return err
		}
		refs := opportunityRefs{assigneeField: "assignedAgentId"}
		if upd.StageID != nil {
			refs.stageID = *upd.StageID
		}
		if upd.ContactID != nil {
			refs.contactID = *upd.ContactID
		}
		if upd.AssignedAgentID != nil {
			refs.assigneeID = *upd.AssignedAgentID
		}
		if upd.SegmentationID != nil {
			refs.segmentationID = *upd.SegmentationID
		}
		if err := tx.checkOpportunityRefs(ctx, ws, refs); err != nil {
			return err
		}

		var set setList
		set.add("updated_date", tx.now)
		if upd.Name != nil {
			set.add("name", strings.TrimSpace(*upd.Name))
		}
		if upd.Description != nil {
			set.add("description", *upd.Description)
		}
		if upd.Amount != nil {
			set.add("amount", *upd.Amount)
		}
		if upd.FinalAmount != nil {
			set.add("final_amount", *upd.FinalAmount)
		}
		if upd.ContactID != nil {
			set.add("contact_id", nilIfEmpty(*upd.ContactID))
		}
		if upd.AssignedAgentID != nil {
			set.add("assigned_agent_id", nilIfEmpty(*upd.AssignedAgentID))
		}
		if upd.SegmentationID != nil {
			set.add("segmentation_id", nilIfEmpty(*upd.SegmentationID))
		}
		if upd.ExpirationDate != nil {
			var v any
			if !upd.ExpirationDate.IsZero() {
				v = storedTime(*upd.ExpirationDate).Time
			}
			set.add("expiration_date", v)
		}
		if upd.CustomFields != nil {
			custom, err := customFieldsJSON(plaza.MergeCustomFields(cur.CustomFields, *upd.CustomFields))
			if err != nil {
				return err
			}
			set.add("custom_fields", custom)
		}
		moved := upd.StageID != nil && (cur.StageID == nil || *cur.StageID != *upd.StageID)
		if moved {
			order, err := tx.nextCardOrder(ctx, ws, *upd.StageID)
			if err != nil {
				return err
			}
			set.add("stage_id", *upd.StageID)
			set.add("order_in_cards", order)
			set.add("order_in_cards_updated", tx.now)
		}
		cols, args := set.render(ws, id)
		_, err = tx.ExecContext(ctx, `UPDATE opportunities SET `+cols+` WHERE workspace_id = $1 AND id = $2`, args...)
		if err != nil {
			return fmt.Errorf("update opportunity: %w", err)
		}
		if moved {
			err = tx.recordStageChange(ctx, ws, p.Actor(), stageChange{Entity: plaza.EntityOpportunity, RecordID: id,
				FromStage: cur.StageID, ToStage: upd.StageID})
			if err != nil {
				return err
			}
		}
		o, err = findOpportunity(ctx, tx, tx.db.Dialect, ws, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// SetWinLoss wins, loses or reopens a live opportunity of the caller's
// workspace and records the change. Won: finalAmount defaults to the
// amount. Lost: the loss reason is kept, finalAmount defaults to 0.
// Reopened: the date, final amount and loss reason are cleared. Asking for
// the status the opportunity already has writes nothing.
func (s *OpportunityService) SetWinLoss(ctx context.Context, id string, w plaza.WinLoss) (*plaza.Opportunity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var o *plaza.Opportunity
	err = s.db.inTx(ctx, func(tx *Tx) error {
		cur, err := findOpportunity(ctx, tx, tx.db.Dialect, ws, id, true)
		if err != nil {
			return err
		}
		if cur.WinLossStatus == w.Status {
			o = cur
			return nil
		}
		var date any
		var final float64
		var reason *string
		switch w.Status {
		case plaza.WinLossWon:
			final = cur.Amount
		case plaza.WinLossLost:
			r := strings.TrimSpace(w.LossReason)
			reason = &r
		}
		if w.Status != plaza.WinLossOpen {
			date = tx.now
			if !w.Date.IsZero() {
				date = storedTime(w.Date).Time
			}
			if w.FinalAmount != nil {
				final = *w.FinalAmount
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE opportunities SET win_loss_status = $3, win_loss_date = $4, final_amount = $5,
			loss_reason = $6, updated_date = $7 WHERE workspace_id = $1 AND id = $2`,
			ws, id, int(w.Status), date, final, reason, tx.now)
		if err != nil {
			return fmt.Errorf("update opportunity: %w", err)
		}
		from, to := int(cur.WinLossStatus), int(w.Status)
		err = tx.recordStageChange(ctx, ws, p.Actor(), stageChange{Entity: plaza.EntityOpportunity, RecordID: id,
			FromWinLoss: &from, ToWinLoss: &to, LossReason: reason})
		if err != nil {
			return err
		}
		o, err = findOpportunity(ctx, tx, tx.db.Dialect, ws, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// DeleteOpportunity soft-deletes a live opportunity of the caller's
// workspace: it keeps its data, with deletionDate and userDeletion set, and
// is not found any more.
func (s *OpportunityService) DeleteOpportunity(ctx context.Context, id string) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		deleted, err := tx.softDelete(ctx, "opportunities", p.WorkspaceID, id, p.UserID)
		if err == nil && !deleted {
			return errOpportunityNotFound()
		}
		return err
	})
}
