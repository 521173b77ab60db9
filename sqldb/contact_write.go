package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/plaza-crm/plaza"
)

// CreateContact creates a contact in the caller's workspace. Without a
// stageId it starts in the contact pipeline's default stage, and its first
// stage is recorded in the stage history.
func (s *ContactService) CreateContact(ctx context.Context, in plaza.ContactCreate) (*plaza.Contact, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	id := newID()
	var e164, digits, key string
	if in.Number != nil {
		e164, digits, key = in.Number.E164, in.Number.Digits, in.Number.Key
	}
	email := plaza.NormalizeEmail(in.Email)
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var refs []error
		if in.StageID != "" {
			refs = append(refs, tx.checkStage(ctx, ws, plaza.PipelineContact, "stageId", in.StageID))
		}
		if in.SegmentationID != "" {
			refs = append(refs, tx.checkSegmentation(ctx, ws, "segmentationId", in.SegmentationID))
		}
		if in.AssignedAgentID != "" {
			refs = append(refs, tx.checkMember(ctx, ws, "assignedAgentId", in.AssignedAgentID))
		}
		refs = append(refs, tx.checkTags(ctx, ws, "tags", in.Tags))
		err := joinInvalid(refs...)
		if err != nil {
			return err
		}
		stage := in.StageID
		if stage == "" {
			if stage, err = tx.defaultStage(ctx, ws, plaza.PipelineContact); err != nil {
				return err
			}
		}
		if err := findContactDuplicate(ctx, tx, ws, "", key, email); err != nil {
			return err
		}
		customFields, err := json.Marshal(mergeCustomFields(nil, in.CustomFields))
		if err != nil {
			return err
		}
		// Plazbot sets lastMessageDate at creation though no message was
		// exchanged (its Update Contact example shows it); so does Plaza,
		// so inboxes sorted by it place new contacts sensibly.
		_, err = tx.ExecContext(ctx, `INSERT INTO contacts (workspace_id, id, name, lastname, email, email_normalized,
			platform_id, internal_whatsapp_number, phone, wa_id, phone_key, stage_id, segmentation_id, assigned_agent_id,
			last_message_date, order_in_cards_updated, custom_fields, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $15, $15)`,
			ws, id, in.Name, in.Lastname, nilIfEmpty(in.Email), nilIfEmpty(email), *in.PlatformID,
			nilIfEmpty(in.InternalWhatsappNumber), nilIfEmpty(e164), nilIfEmpty(digits), nilIfEmpty(key),
			nilIfEmpty(stage), nilIfEmpty(in.SegmentationID), nilIfEmpty(in.AssignedAgentID), tx.now, string(customFields))
		if err != nil {
			return fmt.Errorf("insert contact: %w", err)
		}
		if err := tx.setContactTags(ctx, ws, id, in.Tags); err != nil {
			return err
		}
		if stage != "" {
			return tx.recordStageChange(ctx, ws, p.Actor(), stageChange{Entity: plaza.EntityContact, RecordID: id, ToStage: &stage})
		}
		return nil
	})
	if isUnique(err) {
		return nil, s.raceConflict(ctx, ws, "", key, email)
	} else if err != nil {
		return nil, err
	}
	return findContact(ctx, s.db.read, ws, `c.id = $2`, id)
}

// setContactTags makes ids the contact's set of tags: tags kept keep their
// assignment date, new ones get the transaction's time.
func (tx *Tx) setContactTags(ctx context.Context, workspaceID, contactID string, ids []string) error {
	args := []any{workspaceID, contactID}
	del := `DELETE FROM contact_tags WHERE workspace_id = $1 AND contact_id = $2`
	if len(ids) > 0 {
		for _, id := range ids {
			args = append(args, id)
		}
		del += ` AND tag_id NOT IN (` + placeholders(3, len(ids)) + `)`
	}
	if _, err := tx.ExecContext(ctx, del, args...); err != nil {
		return fmt.Errorf("delete contact tags: %w", err)
	}
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `INSERT INTO contact_tags (workspace_id, contact_id, tag_id, assignment_date)
			VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, contact_id, tag_id) DO NOTHING`, workspaceID, contactID, id, tx.now)
		if err != nil {
			return fmt.Errorf("insert contact tag: %w", err)
		}
	}
	return nil
}

// mergeCustomFields returns cur with upd applied by code: a field with a
// new value replaces the old one in place, a new code is appended, and a
// null value removes the field.
func mergeCustomFields(cur, upd []plaza.CustomField) []plaza.CustomField {
	out := append([]plaza.CustomField{}, cur...)
	for _, f := range upd {
		i := 0
		for i < len(out) && out[i].Code != f.Code {
			i++
		}
		switch {
		case string(f.Value) == "null" && i < len(out):
			out = append(out[:i], out[i+1:]...)
		case string(f.Value) == "null":
		case i < len(out):
			out[i] = f
		default:
			out = append(out, f)
		}
	}
	return out
}

// lockedContact is what an update needs of the stored contact.
type lockedContact struct {
	platformID   int
	stageID      *string
	email        *string
	phoneKey     *string
	isSolved     bool
	customFields string
}

// UpdateContact applies upd to a live contact of the caller's workspace.
func (s *ContactService) UpdateContact(ctx context.Context, id string, upd plaza.ContactUpdate) (*plaza.Contact, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var key, email string
	if upd.Number != nil {
		key = upd.Number.Key
	}
	if upd.Email != nil {
		email = plaza.NormalizeEmail(*upd.Email)
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		lock := ""
		if tx.db.Dialect == Postgres {
			lock = ` FOR UPDATE` // the stage history's from-stage must be the one replaced
		}
		var cur lockedContact
		err := tx.QueryRowContext(ctx, `SELECT platform_id, stage_id, email_normalized, phone_key, is_solved, custom_fields
			FROM contacts WHERE workspace_id = $1 AND id = $2 AND deletion_date IS NULL`+lock, ws, id).
			Scan(&cur.platformID, &cur.stageID, &cur.email, &cur.phoneKey, &cur.isSolved, &cur.customFields)
		if err != nil {
			if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
				return errContactNotFound
			}
			return err
		}
		if err := s.checkContactUpdate(ctx, tx, ws, cur, upd); err != nil {
			return err
		}
		if err := findContactDuplicate(ctx, tx, ws, id, key, email); err != nil {
			return err
		}

		var set setList
		if upd.Name != nil {
			set.add("name", *upd.Name)
		}
		if upd.Lastname != nil {
			set.add("lastname", *upd.Lastname)
		}
		if upd.Email != nil {
			set.add("email", nilIfEmpty(*upd.Email))
			set.add("email_normalized", nilIfEmpty(email))
		}
		if upd.Phone != nil {
			var e164, digits string
			if upd.Number != nil {
				e164, digits = upd.Number.E164, upd.Number.Digits
			}
			set.add("phone", nilIfEmpty(e164))
			set.add("wa_id", nilIfEmpty(digits))
			set.add("phone_key", nilIfEmpty(key))
		}
		if upd.StageID != nil {
			set.add("stage_id", *upd.StageID)
		}
		if upd.SegmentationID != nil {
			set.add("segmentation_id", nilIfEmpty(*upd.SegmentationID))
		}
		if upd.AssignedAgentID != nil {
			set.add("assigned_agent_id", nilIfEmpty(*upd.AssignedAgentID))
		}
		if upd.IsBotEnabled != nil {
			set.add("is_bot_enabled", *upd.IsBotEnabled)
		}
		if upd.IsRead != nil {
			set.add("is_read", *upd.IsRead)
		}
		if upd.Blocked != nil {
			set.add("blocked", *upd.Blocked)
		}
		switch {
		case upd.IsSolved == nil, *upd.IsSolved && cur.isSolved:
			// Solving a solved contact keeps who solved it and when.
		case *upd.IsSolved:
			set.add("is_solved", true)
			set.add("solved_by_agent_id", p.UserID)
			set.add("solved_date", tx.now)
		default:
			set.add("is_solved", false)
			set.add("solved_by_agent_id", nil)
			set.add("solved_date", nil)
		}
		if upd.CustomFields != nil {
			var fields []plaza.CustomField
			if err := json.Unmarshal([]byte(cur.customFields), &fields); err != nil {
				return fmt.Errorf("contact %s: custom_fields: %w", id, err)
			}
			b, err := json.Marshal(mergeCustomFields(fields, *upd.CustomFields))
			if err != nil {
				return err
			}
			set.add("custom_fields", string(b))
		}
		set.add("updated_date", tx.now)
		cols, args := set.render(ws, id)
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET `+cols+` WHERE workspace_id = $1 AND id = $2`, args...); err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		if upd.Tags != nil {
			if err := tx.setContactTags(ctx, ws, id, *upd.Tags); err != nil {
				return err
			}
		}
		if upd.StageID != nil && (cur.stageID == nil || *cur.stageID != *upd.StageID) {
			return tx.recordStageChange(ctx, ws, p.Actor(), stageChange{Entity: plaza.EntityContact, RecordID: id,
				FromStage: cur.stageID, ToStage: upd.StageID})
		}
		return nil
	})
	if isUnique(err) {
		return nil, s.raceConflict(ctx, ws, id, key, email)
	} else if err != nil {
		return nil, err
	}
	return findContact(ctx, s.db.read, ws, `c.id = $2`, id)
}

// checkContactUpdate checks upd's references, and that the contact keeps
// what its channel needs: a number on WhatsApp, an e-mail elsewhere.
func (s *ContactService) checkContactUpdate(ctx context.Context, tx *Tx, ws string, cur lockedContact, upd plaza.ContactUpdate) error {
	var errs []error
	if upd.StageID != nil {
		errs = append(errs, tx.checkStage(ctx, ws, plaza.PipelineContact, "stageId", *upd.StageID))
	}
	if upd.SegmentationID != nil && *upd.SegmentationID != "" {
		errs = append(errs, tx.checkSegmentation(ctx, ws, "segmentationId", *upd.SegmentationID))
	}
	if upd.AssignedAgentID != nil && *upd.AssignedAgentID != "" {
		errs = append(errs, tx.checkMember(ctx, ws, "assignedAgentId", *upd.AssignedAgentID))
	}
	if upd.Tags != nil {
		errs = append(errs, tx.checkTags(ctx, ws, "tags", *upd.Tags))
	}
	if cur.platformID == plaza.PlatformWhatsApp && upd.Phone != nil && *upd.Phone == "" {
		errs = append(errs, plaza.Invalid(plaza.FieldError{Field: upd.PhoneField,
			Message: upd.PhoneField + " cannot be removed from a WhatsApp contact (platformId 2)."}))
	}
	if cur.platformID != plaza.PlatformWhatsApp && upd.Email != nil && *upd.Email == "" {
		errs = append(errs, plaza.Invalid(plaza.FieldError{Field: "email",
			Message: "email cannot be removed from a contact that is not on WhatsApp (platformId other than 2)."}))
	}
	return joinInvalid(errs...)
}

// MaxDeleteBatch is the most contacts one delete-batch may name.
const MaxDeleteBatch = 1000

// DeleteContacts soft-deletes contacts of the caller's workspace, all or
// none. Their phone and e-mail are free for new contacts afterwards.
func (s *ContactService) DeleteContacts(ctx context.Context, ids []string) ([]string, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var unique []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	switch {
	case len(unique) == 0:
		return nil, plaza.Invalid(plaza.FieldError{Field: "contactIds", Message: "contactIds must name at least one contact."})
	case len(unique) > MaxDeleteBatch:
		return nil, plaza.Invalid(plaza.FieldError{Field: "contactIds", Message: fmt.Sprintf("contactIds may name at most %d contacts.", MaxDeleteBatch)})
	}
	ws := p.WorkspaceID
	err = s.db.inTx(ctx, func(tx *Tx) error {
		args := []any{ws}
		for _, id := range unique {
			args = append(args, id)
		}
		lock := ""
		if tx.db.Dialect == Postgres {
			lock = ` FOR UPDATE`
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM contacts WHERE workspace_id = $1 AND deletion_date IS NULL
			AND id IN (`+placeholders(2, len(unique))+`)`+lock, args...)
		if err != nil {
			return err
		}
		live := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			live[id] = true
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		var missing []string
		for _, id := range unique {
			if !live[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return plaza.Errorf(plaza.ENOTFOUND, "No contact deleted: not found in this workspace: %s.", strings.Join(missing, ", "))
		}
		args = append(args, tx.now, p.UserID)
		n := len(args)
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`UPDATE contacts SET deletion_date = $%d, updated_date = $%d, user_deletion = $%d
			WHERE workspace_id = $1 AND deletion_date IS NULL AND id IN (%s)`, n-1, n-1, n, placeholders(2, len(unique))), args...)
		if err != nil {
			return fmt.Errorf("delete contacts: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return unique, nil
}

// AddContactActivity records a note on a live contact of the caller's
// workspace. categoryType defaults to "Note".
func (s *ContactService) AddContactActivity(ctx context.Context, contactID, content, categoryType string) (*plaza.ContactActivity, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	content, categoryType = strings.TrimSpace(content), strings.TrimSpace(categoryType)
	if content == "" {
		return nil, plaza.Invalid(plaza.FieldError{Field: "content", Message: "content is required."})
	}
	if categoryType == "" {
		categoryType = "Note"
	}
	actor := p.Actor()
	a := &plaza.ContactActivity{ID: newID(), Content: content, CategoryType: categoryType, ActorType: actor.Type, ActorID: actor.ID}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		ok, err := isLive(ctx, tx, "contacts", p.WorkspaceID, contactID)
		if err != nil {
			return err
		} else if !ok {
			return errContactNotFound
		}
		a.CreationDate = plaza.NewTime(tx.now)
		_, err = tx.ExecContext(ctx, `INSERT INTO contact_activities (workspace_id, id, contact_id, content, category_type,
			actor_type, actor_id, creation_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			p.WorkspaceID, a.ID, contactID, a.Content, a.CategoryType, a.ActorType, a.ActorID, tx.now)
		if err != nil {
			return fmt.Errorf("insert contact activity: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// FindContactActivities lists a live contact's activities, newest first.
func (s *ContactService) FindContactActivities(ctx context.Context, contactID string, page plaza.Page) ([]plaza.ContactActivity, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	if ok, err := isLive(ctx, s.db.read, "contacts", p.WorkspaceID, contactID); err != nil {
		return nil, false, err
	} else if !ok {
		return nil, false, errContactNotFound
	}
	args := []any{p.WorkspaceID, contactID, page.Size() + 1}
	after := ""
	if page.After != "" {
		args = append(args, page.After)
		after = ` AND id < $4`
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, content, category_type, actor_type, actor_id, creation_date
		FROM contact_activities WHERE workspace_id = $1 AND contact_id = $2`+after+`
		ORDER BY id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, false, err
	}
	activities := []plaza.ContactActivity{}
	for rows.Next() {
		var a plaza.ContactActivity
		var created sqlTime
		if err := rows.Scan(&a.ID, &a.Content, &a.CategoryType, &a.ActorType, &a.ActorID, &created); err != nil {
			rows.Close()
			return nil, false, err
		}
		a.CreationDate = created.plaza()
		activities = append(activities, a)
	}
	if err := closeRows(rows); err != nil {
		return nil, false, err
	}
	activities, more := cutPage(activities, page.Size())
	return activities, more, nil
}
