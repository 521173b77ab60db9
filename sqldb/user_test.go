package sqldb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// codeMailer keeps the reset codes handed to it, as an inbox would.
type codeMailer struct {
	mu    sync.Mutex
	codes map[string][]string
}

func (m *codeMailer) SendPasswordReset(_ context.Context, to, _, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[string][]string{}
	}
	m.codes[to] = append(m.codes[to], code)
	return nil
}

func (m *codeMailer) last(to string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.codes[to]
	if len(c) == 0 {
		return ""
	}
	return c[len(c)-1]
}

type services struct {
	db     *sqldb.DB
	auth   *sqldb.AuthService
	users  *sqldb.UserService
	ws     *sqldb.WorkspaceService
	mailer *codeMailer
	clock  *time.Time
}

func newServices(t *testing.T, db *sqldb.DB) *services {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	s := &services{db: db, mailer: &codeMailer{}, clock: &now}
	db.Now = func() time.Time { return *s.clock }
	s.auth = sqldb.NewAuthService(db, "test-secret-key-0123456789abcdef0123")
	s.users = sqldb.NewUserService(db, s.auth, s.mailer)
	s.ws = sqldb.NewWorkspaceService(db)
	return s
}

func mustBootstrap(t *testing.T, db *sqldb.DB, ws, email string) *sqldb.Bootstrap {
	t.Helper()
	b, err := db.Bootstrap(context.Background(), ws, plaza.UserCreate{Email: email, Password: "correct-horse-1", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := plaza.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestUserService_LoginAndReset(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newServices(t, db)
		b := mustBootstrap(t, db, "Acme", "Ana@Example.com")

		login, err := s.users.Login(ctx, "ana@example.COM", "correct-horse-1", "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if login.User.ID != b.UserID || len(login.Workspaces) != 1 || login.Workspaces[0].ID != b.WorkspaceID ||
			login.Workspaces[0].Role != plaza.RoleOwner || login.User.Email != "Ana@Example.com" {
			t.Fatalf("login = %+v", login)
		}
		p, err := s.auth.Authenticate(ctx, login.Token, b.WorkspaceID)
		if err != nil || p.UserID != b.UserID || p.Role != plaza.RoleOwner {
			t.Fatalf("Authenticate(login token) = %+v, %v", p, err)
		}
		p, err = s.auth.Authenticate(ctx, b.APIKey, "")
		if err != nil || p.WorkspaceID != b.WorkspaceID || p.APIKeyID == "" {
			t.Fatalf("Authenticate(api key) = %+v, %v", p, err)
		}

		_, err = s.users.Login(ctx, "ana@example.com", "wrong-password-1", "10.0.0.1")
		wantCode(t, err, plaza.EUNAUTHORIZED)
		_, err = s.users.Login(ctx, "nobody@example.com", "wrong-password-1", "10.0.0.1")
		wantCode(t, err, plaza.EUNAUTHORIZED)

		// Reset: the code works once, and ends the earlier token.
		if err := s.users.RequestPasswordReset(ctx, "ANA@example.com", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		code := s.mailer.last("Ana@Example.com")
		if code == "" {
			t.Fatal("no reset code was mailed")
		}
		wantCode(t, s.users.ResetPassword(ctx, "ana@example.com", code+"x", "new-password-2", "10.0.0.1"), plaza.EINVALID)
		wantCode(t, s.users.ResetPassword(ctx, "ana@example.com", code, "short", "10.0.0.1"), plaza.EINVALID)
		if err := s.users.ResetPassword(ctx, "ana@example.com", code, "new-password-2", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.users.ResetPassword(ctx, "ana@example.com", code, "new-password-3", "10.0.0.1"), plaza.EINVALID)
		_, err = s.auth.Authenticate(ctx, login.Token, b.WorkspaceID)
		wantCode(t, err, plaza.EUNAUTHORIZED)
		if _, err := s.users.Login(ctx, "ana@example.com", "new-password-2", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}

		// An expired code is refused.
		if err := s.users.RequestPasswordReset(ctx, "ana@example.com", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		*s.clock = s.clock.Add(61 * time.Minute)
		wantCode(t, s.users.ResetPassword(ctx, "ana@example.com", s.mailer.last("Ana@Example.com"), "new-password-4", "10.0.0.1"), plaza.EINVALID)
	})
}

func TestUserService_LoginThrottle(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newServices(t, db)
		mustBootstrap(t, db, "Acme", "ana@example.com")
		for i := 0; i < sqldb.DefaultThrottle.PerEmail; i++ {
			_, err := s.users.Login(ctx, "ana@example.com", "wrong-password-1", "10.0.0.1")
			wantCode(t, err, plaza.EUNAUTHORIZED)
		}
		// Throttled now, even with the right password.
		_, err := s.users.Login(ctx, "ana@example.com", "correct-horse-1", "10.0.0.2")
		wantCode(t, err, plaza.ERATELIMITED)
		// The window passes.
		*s.clock = s.clock.Add(sqldb.DefaultThrottle.Window + time.Second)
		if _, err := s.users.Login(ctx, "ana@example.com", "correct-horse-1", "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
	})
}
