package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// UserService implements plaza.UserService.
type UserService struct {
	db     *DB
	auth   *AuthService
	mailer plaza.Mailer

	// ResetTTL is how long a password-reset code stays valid.
	ResetTTL time.Duration
	// Throttle limits failed logins and reset attempts.
	Throttle Throttle
}

// Throttle is how many failures a key may have in one window before it is
// refused with ERATELIMITED until the window ends.
type Throttle struct {
	PerEmail int
	PerAddr  int
	Window   time.Duration
}

// DefaultThrottle allows 5 failures per e-mail and 30 per client address in
// 15 minutes.
var DefaultThrottle = Throttle{PerEmail: 5, PerAddr: 30, Window: 15 * time.Minute}

// NewUserService returns the user service of db; auth issues login tokens,
// mailer delivers reset codes.
func NewUserService(db *DB, auth *AuthService, mailer plaza.Mailer) *UserService {
	return &UserService{db: db, auth: auth, mailer: mailer, ResetTTL: time.Hour, Throttle: DefaultThrottle}
}

var _ plaza.UserService = (*UserService)(nil)

// userColumns are the columns scanUser reads, from users aliased u, before
// the role.
const userColumns = `u.id, u.name, u.last_name, u.email, u.avatar, u.creation_date, u.company`

func scanUser(row scanner) (*plaza.User, error) {
	var u plaza.User
	var created sqlTime
	if err := row.Scan(&u.ID, &u.Name, &u.LastName, &u.Email, &u.Avatar, &created, &u.Company, &u.Role); err != nil {
		return nil, err
	}
	u.CreationDate = created.plaza()
	return &u, nil
}

// CreateUser creates a user in the caller's workspace (the caller must be an
// owner or admin), or, with no WorkspaceID, a user with a workspace of their
// own.
func (s *UserService) CreateUser(ctx context.Context, in plaza.UserCreate) (*plaza.User, *plaza.Workspace, error) {
	if in.WorkspaceID != "" {
		p, err := plaza.RequireManager(ctx)
		if err != nil {
			return nil, nil, err
		}
		if p.WorkspaceID != in.WorkspaceID {
			return nil, nil, plaza.Errorf(plaza.ENOTFOUND, "Workspace not found.")
		}
		if in.Role == plaza.RoleOwner && p.Role != plaza.RoleOwner {
			return nil, nil, plaza.Errorf(plaza.EFORBIDDEN, "Only an owner may add another owner.")
		}
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	var userID, workspaceID string
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		userID, err = tx.createUser(ctx, in)
		if err != nil {
			return err
		}
		if in.WorkspaceID != "" {
			workspaceID = in.WorkspaceID
			return tx.addMember(ctx, in.WorkspaceID, userID, in.Role)
		}
		name := in.WorkspaceName
		if name == "" {
			name = defaultWorkspaceName(in)
		}
		workspaceID, err = tx.createWorkspace(ctx, name, userID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	u, err := s.db.findUser(ctx, workspaceID, userID)
	if err != nil {
		return nil, nil, err
	}
	w, err := s.db.findWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, nil, err
	}
	return u, w, nil
}

func defaultWorkspaceName(in plaza.UserCreate) string {
	switch {
	case in.Company != "" && in.Company != "plazbot":
		return in.Company
	case in.Name != "":
		return in.Name + "'s workspace"
	}
	return in.Email + "'s workspace"
}

// createUser inserts a validated user; ECONFLICT when the e-mail is taken.
func (tx *Tx) createUser(ctx context.Context, in plaza.UserCreate) (string, error) {
	id := newID()
	startWeek := 1
	if in.DefaultStartWeek != nil {
		startWeek = *in.DefaultStartWeek
	}
	external := in.IsExternalCreation != nil && *in.IsExternalCreation
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, last_name, company, password_hash,
		default_start_week, is_external_creation, creation_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, in.Email, plaza.NormalizeEmail(in.Email), in.Name, in.LastName, in.Company, hashPassword(in.Password),
		startWeek, external, tx.now)
	if isUnique(err) {
		return "", &plaza.Error{Code: plaza.ECONFLICT, Message: fmt.Sprintf("A user with email %s already exists.", in.Email),
			Fields: []plaza.FieldError{{Field: "email", Message: "email is already registered."}}}
	} else if err != nil {
		return "", fmt.Errorf("insert user: %w", err)
	}
	return id, nil
}

// findUser returns a user with their role in workspaceID.
func (db *DB) findUser(ctx context.Context, workspaceID, userID string) (*plaza.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+`, m.role
		FROM users u JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = $1
		WHERE u.id = $2`, workspaceID, userID))
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "User not found.")
		}
		return nil, err
	}
	return u, nil
}

// FindUserByEmail returns a member of the caller's workspace by e-mail.
func (s *UserService) FindUserByEmail(ctx context.Context, email string) (*plaza.User, error) {
	p, err := plaza.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.WorkspaceID == "" {
		return nil, plaza.Invalid(plaza.FieldError{Field: "x-workspace-id", Message: "The x-workspace-id header is required."})
	}
	u, err := scanUser(s.db.read.QueryRowContext(ctx, `SELECT `+userColumns+`, m.role
		FROM users u JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = $1
		WHERE u.email_normalized = $2`, p.WorkspaceID, plaza.NormalizeEmail(email)))
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "User not found.")
		}
		return nil, err
	}
	return u, nil
}

// errBadLogin is the one answer to an unknown e-mail or a wrong password.
var errBadLogin = plaza.Errorf(plaza.EUNAUTHORIZED, "Invalid email or password.")

// Login checks email and password and issues a login token.
func (s *UserService) Login(ctx context.Context, email, password, clientAddr string) (*plaza.Login, error) {
	var v plaza.Validator
	v.Required(email, "email")
	v.Required(password, "password")
	if err := v.Err(); err != nil {
		return nil, err
	}
	keys := s.throttleKeys("login", email, clientAddr)
	if err := s.db.checkThrottle(ctx, keys, s.Throttle.Window); err != nil {
		return nil, err
	}
	var userID, hash string
	var version int
	err := s.db.read.QueryRowContext(ctx, `SELECT id, password_hash, password_version FROM users WHERE email_normalized = $1`,
		plaza.NormalizeEmail(email)).Scan(&userID, &hash, &version)
	if errors.Is(err, sql.ErrNoRows) {
		checkPassword(dummyHash, password) // same cost as a wrong password
		return nil, s.failed(ctx, keys, errBadLogin)
	} else if err != nil {
		return nil, err
	}
	if !checkPassword(hash, password) {
		return nil, s.failed(ctx, keys, errBadLogin)
	}
	if err := s.db.clearFailures(ctx, keys[0].key); err != nil {
		return nil, err
	}
	token, err := s.auth.issueLoginToken(userID, version)
	if err != nil {
		return nil, err
	}
	login := &plaza.Login{Token: token, Workspaces: []plaza.WorkspaceRole{}}
	rows, err := s.db.read.QueryContext(ctx, `SELECT w.id, w.name, m.role FROM workspace_members m
		JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY m.creation_date, w.id`, userID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var wr plaza.WorkspaceRole
		if err := rows.Scan(&wr.ID, &wr.Name, &wr.Role); err != nil {
			rows.Close()
			return nil, err
		}
		login.Workspaces = append(login.Workspaces, wr)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	// The user's role is their role in their first workspace; the list
	// gives each.
	var role plaza.Role
	if len(login.Workspaces) > 0 {
		role = login.Workspaces[0].Role
	}
	u, err := scanUser(s.db.read.QueryRowContext(ctx, `SELECT `+userColumns+`, $2 FROM users u WHERE u.id = $1`, userID, string(role)))
	if err != nil {
		return nil, err
	}
	login.User = *u
	return login, nil
}

// RequestPasswordReset issues a reset code when the e-mail is known and
// hands it to the mailer; it answers nil either way.
func (s *UserService) RequestPasswordReset(ctx context.Context, email, clientAddr string) error {
	var v plaza.Validator
	v.Required(email, "email")
	if err := v.Err(); err != nil {
		return err
	}
	keys := s.throttleKeys("reset", email, clientAddr)
	if err := s.db.checkThrottle(ctx, keys, s.Throttle.Window); err != nil {
		return err
	}
	// Each request counts against the throttle, so the endpoint cannot be
	// used to flood someone's inbox.
	if err := s.db.recordFailure(ctx, keys, s.Throttle.Window); err != nil {
		return err
	}
	var userID, to, name string
	err := s.db.read.QueryRowContext(ctx, `SELECT id, email, name FROM users WHERE email_normalized = $1`,
		plaza.NormalizeEmail(email)).Scan(&userID, &to, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	code := randomToken(24)
	err = s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO password_resets (id, user_id, code_hash, creation_date, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, newID(), userID, sha256Hex(code), tx.now, tx.now.Add(s.ResetTTL))
		return err
	})
	if err != nil {
		return err
	}
	return s.mailer.SendPasswordReset(ctx, to, name, code)
}

// errBadReset is the one answer to a wrong, used or expired code.
var errBadReset = plaza.Invalid(plaza.FieldError{Field: "verificationId", Message: "The verification code is invalid or has expired."})

// ResetPassword sets a new password with a valid reset code; it bumps the
// user's password version, which ends every earlier login token.
func (s *UserService) ResetPassword(ctx context.Context, email, code, newPassword, clientAddr string) error {
	var v plaza.Validator
	v.Required(email, "email")
	v.Required(code, "verificationId")
	v.Required(newPassword, "newPassword")
	if newPassword != "" {
		if err := plaza.CheckPassword(newPassword); err != nil {
			v.Check(false, "newPassword", "newP"+strings.TrimPrefix(plaza.ErrorMessage(err), "p")) // "newPassword must ..."
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	keys := s.throttleKeys("reset", email, clientAddr)
	if err := s.db.checkThrottle(ctx, keys, s.Throttle.Window); err != nil {
		return err
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var resetID, userID string
		var expires sqlTime
		var used sqlNullTime
		err := tx.QueryRowContext(ctx, `SELECT r.id, r.user_id, r.expires_at, r.used_at FROM password_resets r
			JOIN users u ON u.id = r.user_id WHERE r.code_hash = $1 AND u.email_normalized = $2`,
			sha256Hex(code), plaza.NormalizeEmail(email)).Scan(&resetID, &userID, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadReset
		} else if err != nil {
			return err
		}
		if used.valid || !tx.now.Before(expires.t) {
			return errBadReset
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = $1 WHERE id = $2`, tx.now, resetID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_version = password_version + 1 WHERE id = $2`,
			hashPassword(newPassword), userID)
		return err
	})
	if err == errBadReset {
		return s.failed(ctx, keys, errBadReset)
	} else if err != nil {
		return err
	}
	return s.db.clearFailures(ctx, keys[0].key)
}

// failed counts a failed attempt against keys and returns refusal, or the
// error of counting it: a failure that cannot be counted must not be
// answered as an ordinary refusal, or the throttle would silently stop.
func (s *UserService) failed(ctx context.Context, keys []throttleKey, refusal error) error {
	if err := s.db.recordFailure(ctx, keys, s.Throttle.Window); err != nil {
		return err
	}
	return refusal
}
