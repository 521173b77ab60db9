package plaza

import (
	"context"
	"strings"
	"unicode"
)

// User is the public projection of a Plaza user, as Plazbot's login and
// user-list endpoints render it. It never carries a password hash, a token or
// a reset code.
type User struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LastName     string `json:"lastName"`
	Email        string `json:"email"`
	Avatar       string `json:"avatar"`
	Role         Role   `json:"role"` // role in the workspace the request is about
	CreationDate Time   `json:"creationDate"`
	Company      string `json:"company"`
}

// UserCreate is the input of creating a user.
type UserCreate struct {
	Name               string `json:"name"`
	LastName           string `json:"lastName"`
	Email              string `json:"email"`
	Password           string `json:"password"`
	Company            string `json:"company"`
	IsExternalCreation *bool  `json:"isExternalCreation"`
	DefaultStartWeek   *int   `json:"defaultStartWeek"`
	Role               Role   `json:"role"`
	// WorkspaceID is where the user is added; empty creates a workspace of
	// the user's own (self sign-up), with the user as its owner.
	WorkspaceID string `json:"-"`
	// WorkspaceName names the workspace created for a self sign-up.
	WorkspaceName string `json:"-"`
}

// Validate checks the fields every way of creating a user needs.
func (u *UserCreate) Validate() error {
	var v Validator
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	v.Required(u.Email, "email")
	if u.Email != "" {
		v.Check(ValidEmail(u.Email), "email", "email is not a valid e-mail address.")
	}
	v.Required(u.Password, "password")
	if u.Password != "" {
		if err := CheckPassword(u.Password); err != nil {
			v.Check(false, "password", ErrorMessage(err))
		}
	}
	if u.Role == "" {
		u.Role = RoleAgent
	}
	v.Check(u.Role.Valid(), "role", "role must be one of owner, admin, agent, commercial.")
	if u.DefaultStartWeek != nil {
		v.Check(*u.DefaultStartWeek == 0 || *u.DefaultStartWeek == 1, "defaultStartWeek", "defaultStartWeek must be 0 (Sunday) or 1 (Monday).")
	}
	return v.Err()
}

// ValidEmail reports whether s looks like an e-mail address: one @, a
// non-empty local part, a dotted domain, no spaces.
func ValidEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return false
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// NormalizeEmail is the form e-mails are compared in: trimmed, lower case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// MinPasswordLength is the shortest password Plaza accepts.
const MinPasswordLength = 8

// CheckPassword refuses weak passwords: shorter than MinPasswordLength, longer
// than 256 bytes, or made of letters only or digits only.
func CheckPassword(p string) error {
	if len(p) < MinPasswordLength {
		return Errorf(EINVALID, "password must be at least %d characters long.", MinPasswordLength)
	}
	if len(p) > 256 {
		return Errorf(EINVALID, "password must be at most 256 bytes long.")
	}
	var letters, others int
	for _, r := range p {
		if unicode.IsLetter(r) {
			letters++
		} else {
			others++
		}
	}
	if letters == 0 || others == 0 {
		return Errorf(EINVALID, "password must mix letters with digits or symbols.")
	}
	return nil
}

// Login is the result of a successful login.
type Login struct {
	Token      string          `json:"token"`
	User       User            `json:"user"`
	Workspaces []WorkspaceRole `json:"workspaces"`
}

// WorkspaceRole names a workspace the user belongs to and their role in it.
type WorkspaceRole struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// UserService manages users, their credentials and password resets.
type UserService interface {
	// CreateUser creates a user. With WorkspaceID set the caller must be an
	// owner or admin of it; without, a workspace of the user's own is made.
	// ECONFLICT when the e-mail is taken.
	CreateUser(ctx context.Context, in UserCreate) (*User, *Workspace, error)
	// FindUserByEmail returns a user who belongs to the caller's workspace;
	// ENOTFOUND for anyone else.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// Login checks the credentials and issues a login token. Unknown e-mails
	// and wrong passwords give the same EUNAUTHORIZED; repeated failures per
	// e-mail or client address give ERATELIMITED.
	Login(ctx context.Context, email, password, clientAddr string) (*Login, error)
	// RequestPasswordReset issues a single-use reset code valid for an hour
	// and hands it to the mailer. It returns nil whether or not the e-mail
	// exists.
	RequestPasswordReset(ctx context.Context, email, clientAddr string) error
	// ResetPassword sets a new password when the code is right, unused and
	// unexpired; every earlier login token of the user stops working.
	ResetPassword(ctx context.Context, email, code, newPassword, clientAddr string) error
}
