package sqldb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// TemplateStore implements plaza.TemplateStore: the copies of the
// workspace's WhatsApp message templates.
type TemplateStore struct{ db *DB }

// NewTemplateStore returns the template store of db.
func NewTemplateStore(db *DB) *TemplateStore { return &TemplateStore{db: db} }

var _ plaza.TemplateStore = (*TemplateStore)(nil)

const templateColumns = `id, name, language, category, status, components, meta_id, whatsapp_number_id, reason,
	creation_date, updated_date`

func scanTemplate(row scanner) (*plaza.Template, error) {
	var t plaza.Template
	var components string
	var created, updated sqlTime
	if err := row.Scan(&t.ID, &t.ElementName, &t.LanguageCode, &t.Category, &t.Status, &components, &t.MetaID,
		&t.NumberID, &t.Reason, &created, &updated); err != nil {
		return nil, err
	}
	if !json.Valid([]byte(components)) {
		components = "[]"
	}
	t.Components = json.RawMessage(components)
	t.CreationDate, t.UpdatedDate = created.plaza(), updated.plaza()
	return &t, nil
}

// StoreTemplates upserts the number's templates: one Meta already named
// by its id is updated (its name and language may not change at Meta,
// but a row stored from a review webhook may lack the id); else by name
// and language.
func (s *TemplateStore) StoreTemplates(ctx context.Context, numberID string, ts []plaza.TemplateRecord) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	ws := p.WorkspaceID
	return s.db.inTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM whatsapp_numbers WHERE workspace_id = $1 AND id = $2`,
			ws, numberID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return invalidRef("numberId", "WhatsApp number", numberID)
		}
		for _, t := range ts {
			if err := tx.storeTemplate(ctx, ws, numberID, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *Tx) storeTemplate(ctx context.Context, ws, numberID string, t plaza.TemplateRecord) error {
	components := string(t.Components)
	if components == "" || !json.Valid(t.Components) {
		components = "[]"
	}
	if t.MetaID != "" {
		r, err := tx.ExecContext(ctx, `UPDATE whatsapp_templates SET name = $4, language = $5, category = $6, status = $7,
			reason = $8, components = $9, updated_date = $10
			WHERE workspace_id = $1 AND whatsapp_number_id = $2 AND meta_id = $3
			AND NOT EXISTS (SELECT 1 FROM whatsapp_templates o WHERE o.workspace_id = $1 AND o.whatsapp_number_id = $2
				AND o.name = $4 AND o.language = $5 AND (o.meta_id IS NULL OR o.meta_id <> $3))`,
			ws, numberID, t.MetaID, t.Name, t.Language, t.Category, t.Status, nilIfEmpty(t.Reason), components, tx.now)
		if err != nil {
			return fmt.Errorf("update template %s: %w", t.Name, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			return nil
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_templates (workspace_id, id, whatsapp_number_id, meta_id,
		name, language, category, status, reason, components, creation_date, updated_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT (workspace_id, whatsapp_number_id, name, language) DO UPDATE SET
		meta_id = COALESCE(excluded.meta_id, whatsapp_templates.meta_id), category = excluded.category,
		status = excluded.status, reason = excluded.reason, components = excluded.components,
		updated_date = excluded.updated_date`,
		ws, newID(), numberID, nilIfEmpty(t.MetaID), t.Name, t.Language, t.Category, t.Status, nilIfEmpty(t.Reason),
		components, tx.now)
	if err != nil {
		return fmt.Errorf("store template %s: %w", t.Name, err)
	}
	return nil
}

// FindTemplates lists the caller's templates by name and language.
func (s *TemplateStore) FindTemplates(ctx context.Context, status string) ([]plaza.Template, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findTemplates(ctx, s.db.read, p.WorkspaceID, status, "")
}

func findTemplates(ctx context.Context, q querier, ws, status, name string) ([]plaza.Template, error) {
	return queryAll(ctx, q, scanTemplate, `SELECT `+templateColumns+` FROM whatsapp_templates
		WHERE workspace_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR name = $3)
		ORDER BY name, language, whatsapp_number_id, id`, ws, status, name)
}
