package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/plaza-crm/plaza"
)

// LLMSettingsService keeps workspaces' own LLM endpoints
// (plaza.LLMSettingsService); keys are sealed with the server's secret key.
type LLMSettingsService struct {
	db  *DB
	box secretBox
}

var _ plaza.LLMSettingsService = (*LLMSettingsService)(nil)

// NewLLMSettingsService returns the service of db; secretKey seals the
// stored keys.
func NewLLMSettingsService(db *DB, secretKey string) *LLMSettingsService {
	return &LLMSettingsService{db: db, box: newSecretBox(secretKey)}
}

var errNoLLMSettings = plaza.Errorf(plaza.ENOTFOUND, "The workspace has no LLM of its own; its agents use the server's.")

func llmKeyPlace(workspaceID string) string { return "workspace_llm_settings.api_key:" + workspaceID }

// FindLLMSettings returns the caller's workspace's LLM, without its key.
func (s *LLMSettingsService) FindLLMSettings(ctx context.Context) (*plaza.LLMSettings, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return s.find(ctx, s.db.read, p.WorkspaceID)
}

func (s *LLMSettingsService) find(ctx context.Context, q querier, workspaceID string) (*plaza.LLMSettings, error) {
	var st plaza.LLMSettings
	var key string
	var updated sqlTime
	err := q.QueryRowContext(ctx, `SELECT base_url, model, api_key, updated_date FROM workspace_llm_settings WHERE workspace_id = $1`,
		workspaceID).Scan(&st.BaseURL, &st.Model, &key, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoLLMSettings
	} else if err != nil {
		return nil, err
	}
	st.HasAPIKey, st.UpdatedDate = key != "", updated.plaza()
	return &st, nil
}

// SetLLMSettings sets the workspace's LLM; owners and admins only.
func (s *LLMSettingsService) SetLLMSettings(ctx context.Context, upd plaza.LLMSettingsUpdate) (*plaza.LLMSettings, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var out *plaza.LLMSettings
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var sealed string
		err := tx.QueryRowContext(ctx, `SELECT api_key FROM workspace_llm_settings WHERE workspace_id = $1`, ws).Scan(&sealed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if upd.APIKey != nil {
			sealed = ""
			if *upd.APIKey != "" {
				sealed = s.box.seal(*upd.APIKey, llmKeyPlace(ws))
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO workspace_llm_settings (workspace_id, base_url, model, api_key, updated_date)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (workspace_id) DO UPDATE SET base_url = excluded.base_url, model = excluded.model,
				api_key = excluded.api_key, updated_date = excluded.updated_date`, ws, upd.BaseURL, upd.Model, sealed, tx.now)
		if err != nil {
			return fmt.Errorf("set llm settings: %w", err)
		}
		out, err = s.find(ctx, tx, ws)
		return err
	})
	return out, err
}

// DeleteLLMSettings returns the workspace to the server's LLM; owners and
// admins only. ENOTFOUND when it had none.
func (s *LLMSettingsService) DeleteLLMSettings(ctx context.Context) error {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM workspace_llm_settings WHERE workspace_id = $1`, p.WorkspaceID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errNoLLMSettings
		}
		return nil
	})
}

// WorkspaceLLM returns the workspace's endpoint with its key opened.
func (s *LLMSettingsService) WorkspaceLLM(ctx context.Context, workspaceID string) (plaza.LLMEndpoint, bool, error) {
	var e plaza.LLMEndpoint
	var sealed string
	err := s.db.read.QueryRowContext(ctx, `SELECT base_url, model, api_key FROM workspace_llm_settings WHERE workspace_id = $1`,
		workspaceID).Scan(&e.BaseURL, &e.Model, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	} else if err != nil {
		return e, false, err
	}
	if sealed != "" {
		if e.APIKey, err = s.box.open(sealed, llmKeyPlace(workspaceID)); err != nil {
			return e, false, fmt.Errorf("open the workspace's LLM key: %w", err)
		}
	}
	return e, true, nil
}
