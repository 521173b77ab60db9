package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuth_Credentials(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		path := "/api/workspace/" + a.WorkspaceID

		for _, c := range []struct {
			name   string
			header string
		}{
			{"none", ""},
			{"unknown api key", "Bearer plz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			{"garbage token", "Bearer not.a.token"},
			{"token signed with another key", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJwbGF6YSIsInN1YiI6IngiLCJleHAiOjQxMDI0NDQ4MDB9.3bD2nTn3M8bXh6vvX2n1oUq4Zq3Xr8VYzU3o7hF2wAA"},
			{"basic scheme", "Basic " + a.APIKey},
			{"empty bearer", "Bearer "},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := req{Method: "GET", Path: path, Workspace: a.WorkspaceID}
				if c.header != "" {
					r.Header = map[string]string{"Authorization": c.header}
				}
				ts.do(r).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
			})
		}
		// The same key in the right scheme works.
		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "")
		ts.do(req{Method: "GET", Path: path, Header: map[string]string{"Authorization": "bearer " + a.APIKey}}).want(t, http.StatusOK, "")
	})
}

func TestAuth_Tenancy(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		aToken := ts.login(a.Email, a.Password)

		// A principal asking for a workspace it is not a member of: 403.
		ts.do(req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID, Token: a.APIKey}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID, Token: aToken}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/workspace/usersByWorkspaceId/" + b.WorkspaceID, Token: aToken}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/user/email?email=" + b.Email, Token: a.APIKey, Workspace: b.WorkspaceID}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "GET", Path: "/api/user/email?email=" + b.Email, Token: aToken, Workspace: "no-such-workspace"}).want(t, http.StatusForbidden, "FORBIDDEN")

		// Another workspace's user is not found from A, though it exists.
		r := ts.do(req{Method: "GET", Path: "/api/user/email?email=" + b.Email, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		if strings.Contains(string(r.Body), b.UserID) {
			t.Fatalf("404 reveals the user: %s", r.Body)
		}

		// A login token names its workspace with x-workspace-id.
		ts.do(req{Method: "GET", Path: "/api/user/email?email=" + a.Email, Token: aToken}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		ts.do(req{Method: "GET", Path: "/api/user/email?email=" + a.Email, Token: aToken, Workspace: a.WorkspaceID}).want(t, http.StatusOK, "")

		// B's API key cannot be revoked from A: 404, and it keeps working.
		keys := ts.do(req{Method: "GET", Path: "/api/apikey", Token: b.APIKey}).want(t, http.StatusOK, "")
		var bKeys []struct{ ID string }
		keys.into(t, &bKeys)
		ts.do(req{Method: "DELETE", Path: "/api/apikey/" + bKeys[0].ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID, Token: b.APIKey}).want(t, http.StatusOK, "")
	})
}

func TestAuth_WorkspaceMentionsMustAgree(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		for _, c := range []struct {
			name string
			r    req
		}{
			{"query vs header", req{Method: "GET", Path: "/api/user/email?email=" + a.Email + "&workspaceId=" + b.WorkspaceID, Token: a.APIKey, Workspace: a.WorkspaceID}},
			{"query named in PascalCase", req{Method: "GET", Path: "/api/user/email?email=" + a.Email + "&WorkspaceId=" + b.WorkspaceID, Token: a.APIKey, Workspace: a.WorkspaceID}},
			{"path vs header", req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID, Token: a.APIKey, Workspace: a.WorkspaceID}},
			{"body vs header", req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Workspace: a.WorkspaceID, Body: map[string]any{"name": "ci", "workspaceId": b.WorkspaceID}}},
			{"body in PascalCase vs header", req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Workspace: a.WorkspaceID, Body: map[string]any{"name": "ci", "WorkspaceId": b.WorkspaceID}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(c.r).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if f := r.fields(); len(f) != 1 || f[0] != "workspaceId" {
					t.Fatalf("fields = %v, want [workspaceId]", f)
				}
			})
		}
		// Nothing was written by the refused POSTs: A still has one key.
		var keys []any
		ts.do(req{Method: "GET", Path: "/api/apikey", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &keys)
		if len(keys) != 1 {
			t.Fatalf("A has %d keys, want 1", len(keys))
		}
		// Agreeing mentions are fine.
		ts.do(req{Method: "GET", Path: "/api/user/email?email=" + a.Email + "&workspaceId=" + a.WorkspaceID, Token: a.APIKey, Workspace: a.WorkspaceID}).want(t, http.StatusOK, "")
	})
}

func TestAuth_Roles(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		admin := ts.createUser(a, "admin@acme.test", "admin")
		agent := ts.createUser(a, "agent@acme.test", "agent")
		commercial := ts.createUser(a, "sales@acme.test", "commercial")

		newUser := func(email, role string) map[string]any {
			return map[string]any{"name": "N", "email": email, "password": "good-pass-1", "role": role}
		}
		for _, tok := range []string{agent, commercial} {
			ts.do(req{Method: "POST", Path: "/api/user", Token: tok, Workspace: a.WorkspaceID, Body: newUser("x@acme.test", "agent")}).want(t, http.StatusForbidden, "FORBIDDEN")
			ts.do(req{Method: "POST", Path: "/api/apikey", Token: tok, Workspace: a.WorkspaceID, Body: map[string]any{"name": "k"}}).want(t, http.StatusForbidden, "FORBIDDEN")
			ts.do(req{Method: "GET", Path: "/api/apikey", Token: tok, Workspace: a.WorkspaceID}).want(t, http.StatusForbidden, "FORBIDDEN")
			// Members may read their workspace.
			ts.do(req{Method: "GET", Path: "/api/workspace/" + a.WorkspaceID, Token: tok}).want(t, http.StatusOK, "")
		}
		// An admin manages users and keys, but cannot make an owner.
		ts.do(req{Method: "POST", Path: "/api/user", Token: admin, Workspace: a.WorkspaceID, Body: newUser("y@acme.test", "agent")}).want(t, http.StatusOK, "")
		ts.do(req{Method: "POST", Path: "/api/user", Token: admin, Workspace: a.WorkspaceID, Body: newUser("z@acme.test", "owner")}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "POST", Path: "/api/apikey", Token: admin, Workspace: a.WorkspaceID, Body: map[string]any{"name": "k"}}).want(t, http.StatusOK, "")
		ts.do(req{Method: "POST", Path: "/api/user", Token: a.APIKey, Body: newUser("o2@acme.test", "owner")}).want(t, http.StatusOK, "")
	})
}

func TestAPIKeys(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		var created struct {
			ID, Name, Prefix, Key, WorkspaceID, UserID string
		}
		r := ts.do(req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Body: map[string]any{"name": "zapier"}}).want(t, http.StatusOK, "")
		r.into(t, &created)
		if !strings.HasPrefix(created.Key, created.Prefix) || !strings.HasPrefix(created.Key, "plz_") || created.Name != "zapier" ||
			created.WorkspaceID != a.WorkspaceID || created.UserID != a.UserID {
			t.Fatalf("created = %+v", created)
		}
		// The new key works; the list shows prefixes, never keys.
		list := ts.do(req{Method: "GET", Path: "/api/apikey", Token: created.Key}).want(t, http.StatusOK, "")
		if strings.Contains(string(list.Body), created.Key) || strings.Contains(string(list.Body), `"key"`) {
			t.Fatalf("list shows a secret: %s", list.Body)
		}
		var keys []struct{ ID, Prefix string }
		list.into(t, &keys)
		if len(keys) != 2 || keys[1].ID != created.ID || keys[1].Prefix != created.Prefix {
			t.Fatalf("keys = %+v", keys)
		}
		// Missing name.
		r = ts.do(req{Method: "POST", Path: "/api/apikey", Token: a.APIKey, Body: map[string]any{"name": "  "}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "name" {
			t.Fatalf("fields = %v", f)
		}
		// Revoked, it stops working at once.
		ts.do(req{Method: "DELETE", Path: "/api/apikey/" + created.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		ts.do(req{Method: "GET", Path: "/api/apikey", Token: created.Key}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		ts.do(req{Method: "DELETE", Path: "/api/apikey/" + created.ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

// login logs in and returns the token.
func (ts *testServer) login(email, password string) string {
	ts.t.Helper()
	var l struct{ Token string }
	ts.do(req{Method: "POST", Path: "/api/user/login", Body: map[string]any{"email": email, "password": password}}).want(ts.t, http.StatusOK, "").into(ts.t, &l)
	return l.Token
}

// createUser adds a user with role to a's workspace and returns their
// login token.
func (ts *testServer) createUser(a tenant, email, role string) string {
	ts.t.Helper()
	ts.do(req{Method: "POST", Path: "/api/user", Token: a.APIKey, Body: map[string]any{
		"name": "Member", "lastName": "Test", "email": email, "password": "member-pass-1", "role": role,
	}}).want(ts.t, http.StatusOK, "")
	return ts.login(email, "member-pass-1")
}
