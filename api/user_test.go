package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUserCreate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		r := ts.do(req{Method: "POST", Path: "/api/user", Token: a.APIKey, Body: map[string]any{
			"name": "Luis", "lastName": "Paz", "email": "Luis@Acme.test", "password": "luis-pass-1",
			"company": "plazbot", "isExternalCreation": true, "defaultStartWeek": 0, "unknownKey": "ignored",
		}}).want(t, http.StatusOK, "")
		if r.Message != "Usuario creado exitosamente" {
			t.Errorf("message = %q", r.Message)
		}
		var created struct{ UserID, Email, WorkspaceID, Role string }
		r.into(t, &created)
		if created.Email != "Luis@Acme.test" || created.WorkspaceID != a.WorkspaceID || created.Role != "agent" || created.UserID == "" {
			t.Fatalf("created = %+v", created)
		}
		// The new user is a member with the default role and can log in.
		var users []struct{ ID, Email, Role, Name, LastName string }
		ts.do(req{Method: "GET", Path: "/api/workspace/usersByWorkspaceId/" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &users)
		want := []struct{ ID, Email, Role, Name, LastName string }{
			{a.UserID, a.Email, "owner", "Owner", ""},
			{created.UserID, "Luis@Acme.test", "agent", "Luis", "Paz"},
		}
		if diff := cmp.Diff(want, users); diff != "" {
			t.Fatalf("users (-want +got):\n%s", diff)
		}
		ts.login("luis@acme.test", "luis-pass-1")

		// The same e-mail in any case is a conflict.
		ts.do(req{Method: "POST", Path: "/api/user", Token: a.APIKey, Body: map[string]any{
			"email": "LUIS@acme.test", "password": "other-pass-1"}}).want(t, http.StatusConflict, "CONFLICT")
	})
}

func TestUserCreate_Invalid(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty object", map[string]any{}, []string{"email", "password"}},
			{"no body", nil, []string{"body"}},
			{"not an object", `[1,2]`, []string{"body"}},
			{"malformed", `{"email": "x@y.z",`, []string{"body"}},
			{"bad email", map[string]any{"email": "not-an-email", "password": "good-pass-1"}, []string{"email"}},
			{"short password", map[string]any{"email": "x@acme.test", "password": "a1"}, []string{"password"}},
			{"letters-only password", map[string]any{"email": "x@acme.test", "password": "abcdefghij"}, []string{"password"}},
			{"unknown role", map[string]any{"email": "x@acme.test", "password": "good-pass-1", "role": "king"}, []string{"role"}},
			{"email is a number", map[string]any{"email": 12, "password": "good-pass-1"}, []string{"email"}},
			{"isExternalCreation is a string", map[string]any{"email": "x@acme.test", "password": "good-pass-1", "isExternalCreation": "yes"}, []string{"isExternalCreation"}},
			{"bad start of week", map[string]any{"email": "x@acme.test", "password": "good-pass-1", "defaultStartWeek": 3}, []string{"defaultStartWeek"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "POST", Path: "/api/user", Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
				if r.Message == "" {
					t.Fatal("no message")
				}
			})
		}
		// Nothing was written.
		var users []any
		ts.do(req{Method: "GET", Path: "/api/workspace/usersByWorkspaceId/" + a.WorkspaceID, Token: a.APIKey}).into(t, &users)
		if len(users) != 1 {
			t.Fatalf("workspace has %d users, want 1", len(users))
		}
	})
}

func TestUserCreate_Signup(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		body := map[string]any{"name": "Eva", "email": "eva@solo.test", "password": "eva-pass-12", "company": "Solo SA"}
		ts.do(req{Method: "POST", Path: "/api/user", Body: body}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")

		ts.API.AllowSignup = true
		var created struct{ UserID, WorkspaceID, Role string }
		ts.do(req{Method: "POST", Path: "/api/user", Body: body}).want(t, http.StatusOK, "").into(t, &created)
		if created.Role != "owner" || created.WorkspaceID == "" {
			t.Fatalf("created = %+v", created)
		}
		tok := ts.login("eva@solo.test", "eva-pass-12")
		var ws struct{ ID, Name, UserID string }
		ts.do(req{Method: "GET", Path: "/api/workspace/" + created.WorkspaceID, Token: tok}).want(t, http.StatusOK, "").into(t, &ws)
		if ws.Name != "Solo SA" || ws.UserID != created.UserID {
			t.Fatalf("workspace = %+v", ws)
		}
		// Bad credentials are still refused, not treated as anonymous.
		ts.do(req{Method: "POST", Path: "/api/user", Token: "plz_bogus", Body: map[string]any{
			"email": "other@solo.test", "password": "eva-pass-12"}}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestUserByEmail(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "Ana@Acme.test")
		var u struct{ ID, Email, Role string }
		ts.do(req{Method: "GET", Path: "/api/user/email?EMAIL=ana@ACME.test", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &u)
		if u.ID != a.UserID || u.Role != "owner" || u.Email != "Ana@Acme.test" {
			t.Fatalf("user = %+v", u)
		}
		r := ts.do(req{Method: "GET", Path: "/api/user/email", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "email" {
			t.Fatalf("fields = %v", f)
		}
		ts.do(req{Method: "GET", Path: "/api/user/email?email=nobody@acme.test", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestLogin(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.bootstrap("Beta", "bob@beta.test")

		r := ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"Email": "ANA@acme.test", "Password": a.Password}}).want(t, http.StatusOK, "")
		assertGolden(t, "user_login", r.Body)
		var l struct {
			Token string
			User  struct {
				ID, Name, LastName, Email, Avatar, Role, CreationDate, Company string
			}
			Workspaces []struct{ ID, Name, Role string }
		}
		r.into(t, &l)
		if l.Token == "" || l.User.ID != a.UserID || l.User.Role != "owner" || len(l.Workspaces) != 1 || l.Workspaces[0].ID != a.WorkspaceID {
			t.Fatalf("login = %+v", l)
		}
		if s := string(r.Body); strings.Contains(s, "argon2") || strings.Contains(s, a.APIKey) || strings.Contains(strings.ToLower(s), "password") {
			t.Fatalf("login reply leaks a secret: %s", s)
		}

		// Unknown e-mail and wrong password: the same 401.
		wrong := ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": a.Email, "password": "wrong-pass-1"}}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		unknown := ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": "who@acme.test", "password": "wrong-pass-1"}}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		if string(wrong.Body) != string(unknown.Body) {
			t.Fatalf("replies differ:\n%s\n%s", wrong.Body, unknown.Body)
		}
		r = ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": a.Email}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "password" {
			t.Fatalf("fields = %v", f)
		}
	})
}

func TestLogin_Throttled(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		// Per e-mail: five failures, then even the right password waits.
		for i := 0; i < 5; i++ {
			ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": a.Email, "password": "wrong-pass-1"}}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		}
		r := ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": a.Email, "password": a.Password}}).want(t, http.StatusTooManyRequests, "RATE_LIMITED")
		// The window started with the first failure, 15 minutes long.
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 800 || ra > 900 {
			t.Errorf("Retry-After = %q, want the rest of the 15-minute window", r.Header.Get("Retry-After"))
		}
		// Another e-mail from the same address still logs in.
		ts.login(b.Email, b.Password)
		// Per client address: many e-mails from one address are throttled too.
		ts.Users.Throttle.PerAddr = 8
		for i := 0; i < 8; i++ {
			ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": "guess" + string(rune('a'+i)) + "@acme.test", "password": "wrong-pass-1"}})
		}
		ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": b.Email, "password": b.Password}}).want(t, http.StatusTooManyRequests, "RATE_LIMITED")
	})
}

func TestPasswordReset(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		oldToken := ts.login(a.Email, a.Password)

		known := ts.do(req{Method: "POST", Path: "/api/user/sendEmailToResetPassword", Body: map[string]any{"email": a.Email, "company": "plazbot"}}).want(t, http.StatusOK, "")
		unknown := ts.do(req{Method: "POST", Path: "/api/user/sendEmailToResetPassword", Body: map[string]any{"email": "who@acme.test"}}).want(t, http.StatusOK, "")
		if string(known.Body) != string(unknown.Body) {
			t.Fatalf("replies differ:\n%s\n%s", known.Body, unknown.Body)
		}
		code := ts.Mailer.code(a.Email)
		if code == "" || strings.Contains(string(known.Body), code) {
			t.Fatalf("code %q missing from the mail or present in the reply", code)
		}
		if ts.Mailer.code("who@acme.test") != "" {
			t.Fatal("a code was mailed to an unknown address")
		}

		reset := func(email, code, pw string) *response {
			return ts.do(req{Method: "POST", Path: "/api/user/resetPassword", Body: map[string]any{"email": email, "newPassword": pw, "verificationId": code}})
		}
		wantField := func(r *response, field string) {
			t.Helper()
			r.want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if f := r.fields(); len(f) != 1 || f[0] != field {
				t.Fatalf("fields = %v, want [%s]", f, field)
			}
		}
		wantField(reset(a.Email, "wrong-code", "new-pass-123"), "verificationId")
		wantField(reset(a.Email, code, "weak"), "newPassword")
		wantField(reset("bob@acme.test", code, "new-pass-123"), "verificationId") // the code is Ana's
		// The weak attempt did not use the code up.
		reset(a.Email, code, "new-pass-123").want(t, http.StatusOK, "")
		wantField(reset(a.Email, code, "newer-pass-123"), "verificationId") // single use

		// Every earlier login token stops working; the new password works.
		ts.do(req{Method: "GET", Path: "/api/workspace/" + a.WorkspaceID, Token: oldToken}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		ts.login(a.Email, "new-pass-123")
		ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": a.Email, "password": a.Password}}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		// API keys are not login tokens: they keep working.
		ts.do(req{Method: "GET", Path: "/api/workspace/" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")

		// Codes are stored hashed.
		var stored int
		if err := ts.DB.QueryRowForTest(context.Background(), `SELECT count(*) FROM password_resets WHERE code_hash = $1`, code).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != 0 {
			t.Fatal("the reset code is stored in clear")
		}
	})
}
