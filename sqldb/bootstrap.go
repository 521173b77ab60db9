package sqldb

import (
	"context"
	"database/sql"
	"errors"

	"github.com/plaza-crm/plaza"
)

// Bootstrap is what `plaza bootstrap` creates.
type Bootstrap struct {
	WorkspaceID string `json:"workspaceId"`
	UserID      string `json:"userId"`
	APIKey      string `json:"apiKey"`
}

// Bootstrap creates a workspace, its owner and an API key for the owner, in
// one transaction: on any error nothing is written. ECONFLICT when the
// e-mail is taken.
func (db *DB) Bootstrap(ctx context.Context, workspaceName string, owner plaza.UserCreate) (*Bootstrap, error) {
	owner.Role = plaza.RoleOwner
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	var b Bootstrap
	err := db.inTx(ctx, func(tx *Tx) (err error) {
		if b.UserID, err = tx.createUser(ctx, owner); err != nil {
			return err
		}
		if b.WorkspaceID, err = tx.createWorkspace(ctx, workspaceName, b.UserID); err != nil {
			return err
		}
		k, err := tx.createAPIKey(ctx, b.WorkspaceID, b.UserID, "bootstrap")
		if err != nil {
			return err
		}
		b.APIKey = k.Key
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// SecretKey returns the secret key kept in the database, generating and
// storing one on first use; generated reports that it did. Replicas racing
// on first start all end with the one key that was stored first.
func (db *DB) SecretKey(ctx context.Context) (key string, generated bool, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'secret_key'`).Scan(&key)
	if err == nil {
		return key, false, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return "", false, err
	}
	candidate := randomToken(32)
	err = db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('secret_key', $1) ON CONFLICT (key) DO NOTHING`, candidate)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		generated = n == 1
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'secret_key'`).Scan(&key)
	})
	return key, generated, err
}
