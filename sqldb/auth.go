package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plaza-crm/plaza"
)

// APIKeyPrefix starts every API key, so keys are recognisable in logs and
// by secret scanners, and told apart from login tokens.
const APIKeyPrefix = "plz_"

// AuthService implements plaza.AuthService.
type AuthService struct {
	db       *DB
	tokenKey []byte

	// TokenTTL is how long a login token is valid.
	TokenTTL time.Duration
}

// NewAuthService returns the auth service of db; secretKey signs login
// tokens.
func NewAuthService(db *DB, secretKey string) *AuthService {
	return &AuthService{db: db, tokenKey: plaza.DeriveKey(secretKey, "login-token"), TokenTTL: 7 * 24 * time.Hour}
}

var _ plaza.AuthService = (*AuthService)(nil)

// loginClaims are a login token's claims. PasswordVersion ties the token to
// the password it was issued under: a reset bumps the version and every
// earlier token stops working.
type loginClaims struct {
	PasswordVersion int `json:"pv"`
	jwt.RegisteredClaims
}

func (s *AuthService) issueLoginToken(userID string, passwordVersion int) (string, error) {
	now := s.db.Now()
	claims := loginClaims{
		PasswordVersion: passwordVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "plaza",
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.TokenTTL)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.tokenKey)
}

var errBadCredentials = plaza.Errorf(plaza.EUNAUTHORIZED, "The bearer token is missing, invalid or expired.")

// Authenticate resolves a bearer token and the requested workspace into a
// principal.
func (s *AuthService) Authenticate(ctx context.Context, token, workspaceID string) (*plaza.Principal, error) {
	if token == "" {
		return nil, errBadCredentials
	}
	if strings.HasPrefix(token, APIKeyPrefix) {
		return s.authenticateAPIKey(ctx, token, workspaceID)
	}
	var claims loginClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.tokenKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("plaza"), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.db.Now))
	if err != nil {
		return nil, errBadCredentials
	}
	var version int
	err = s.db.read.QueryRowContext(ctx, `SELECT password_version FROM users WHERE id = $1`, claims.Subject).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && version != claims.PasswordVersion) {
		return nil, errBadCredentials
	} else if err != nil {
		return nil, err
	}
	p := &plaza.Principal{UserID: claims.Subject}
	if workspaceID == "" {
		return p, nil
	}
	var role plaza.Role
	err = s.db.read.QueryRowContext(ctx, `SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2`,
		workspaceID, claims.Subject).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.EFORBIDDEN, "You are not a member of workspace %s.", workspaceID)
	} else if err != nil {
		return nil, err
	}
	p.WorkspaceID, p.Role = workspaceID, role
	return p, nil
}

func (s *AuthService) authenticateAPIKey(ctx context.Context, key, workspaceID string) (*plaza.Principal, error) {
	p := &plaza.Principal{}
	var lastUsed sqlNullTime
	err := s.db.read.QueryRowContext(ctx, `SELECT k.id, k.workspace_id, k.user_id, m.role, k.last_used_date
		FROM api_keys k JOIN workspace_members m ON m.workspace_id = k.workspace_id AND m.user_id = k.user_id
		WHERE k.key_hash = $1`, sha256Hex(key)).Scan(&p.APIKeyID, &p.WorkspaceID, &p.UserID, &p.Role, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadCredentials
	} else if err != nil {
		return nil, err
	}
	if workspaceID != "" && workspaceID != p.WorkspaceID {
		return nil, plaza.Errorf(plaza.EFORBIDDEN, "This API key does not give access to workspace %s.", workspaceID)
	}
	// Record use at most once a minute, so reads do not all become writes.
	now := s.db.now()
	if !lastUsed.valid || now.Sub(lastUsed.t.t) > time.Minute {
		err := s.db.inTx(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_date = $1 WHERE workspace_id = $2 AND id = $3`,
				tx.now, p.WorkspaceID, p.APIKeyID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newAPIKey returns a new secret API key and the prefix shown in lists.
func newAPIKey() (key, prefix string) {
	key = APIKeyPrefix + randomToken(30)
	return key, key[:len(APIKeyPrefix)+8]
}

// CreateAPIKey makes an API key for the caller in the caller's workspace.
func (s *AuthService) CreateAPIKey(ctx context.Context, name string) (*plaza.APIKey, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	var v plaza.Validator
	v.Required(name, "name")
	v.Check(len(name) <= 200, "name", "name must be at most 200 characters long.")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var k *plaza.APIKey
	err = s.db.inTx(ctx, func(tx *Tx) (err error) {
		k, err = tx.createAPIKey(ctx, p.WorkspaceID, p.UserID, name)
		return err
	})
	return k, err
}

func (tx *Tx) createAPIKey(ctx context.Context, workspaceID, userID, name string) (*plaza.APIKey, error) {
	key, prefix := newAPIKey()
	k := &plaza.APIKey{ID: newID(), Name: name, Prefix: prefix, UserID: userID, WorkspaceID: workspaceID,
		CreationDate: plaza.NewTime(tx.now), Key: key}
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (workspace_id, id, user_id, name, prefix, key_hash, creation_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, workspaceID, k.ID, userID, name, prefix, sha256Hex(key), tx.now)
	if err != nil {
		return nil, fmt.Errorf("insert api key: %w", err)
	}
	return k, nil
}

// FindAPIKeys lists the caller's keys in the caller's workspace, without
// their secrets.
func (s *AuthService) FindAPIKeys(ctx context.Context) ([]plaza.APIKey, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, name, prefix, user_id, workspace_id, creation_date, last_used_date
		FROM api_keys WHERE workspace_id = $1 AND user_id = $2 ORDER BY id`, p.WorkspaceID, p.UserID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []plaza.APIKey{}
	for rows.Next() {
		var k plaza.APIKey
		var created sqlTime
		var used sqlNullTime
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &k.UserID, &k.WorkspaceID, &created, &used); err != nil {
			return nil, err
		}
		k.CreationDate, k.LastUsedDate = created.plaza(), used.plaza()
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKey deletes one of the caller's keys in the caller's workspace.
func (s *AuthService) RevokeAPIKey(ctx context.Context, id string) error {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE workspace_id = $1 AND id = $2 AND user_id = $3`,
			p.WorkspaceID, id, p.UserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "API key not found.")
		}
		return nil
	})
}
