package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// contactPage is one page of a contact list.
type contactPage struct {
	WorkspaceID       string
	ContinuationToken *string
	Data              []contactJSON
}

// list pages through GET /api/contact with the query, returning every
// contact id in order and the size of each page.
func (k *contactKit) list(query string) (ids []string, sizes []int) {
	k.t.Helper()
	token := ""
	for {
		q := query
		if token != "" {
			q += "&continuationToken=" + url.QueryEscape(token)
		}
		var p contactPage
		r := k.do("GET", "/api/contact?"+q, nil).want(k.t, http.StatusOK, "")
		if r.Message != "List obtained successfully." {
			k.t.Errorf("message = %q", r.Message)
		}
		r.into(k.t, &p)
		if p.WorkspaceID != k.a.WorkspaceID {
			k.t.Fatalf("workspaceId = %q", p.WorkspaceID)
		}
		sizes = append(sizes, len(p.Data))
		for _, c := range p.Data {
			ids = append(ids, c.ID)
		}
		if p.ContinuationToken == nil {
			return ids, sizes
		}
		if len(sizes) > 10 {
			k.t.Fatal("the list does not end")
		}
		token = *p.ContinuationToken
	}
}

func TestContactList_Pagination(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		var created []string
		for i := range 45 {
			c := k.create(map[string]any{"name": fmt.Sprintf("Contact %02d", i), "platformId": 2, "internalWhatsappNumber": fmt.Sprintf("+51 900 000 %03d", i)})
			created = append(created, c.ID)
		}
		ids, sizes := k.list("workspaceId=" + k.a.WorkspaceID)
		if diff := cmp.Diff([]int{20, 20, 5}, sizes); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
		// Newest first, each contact once.
		var want []string
		for i := len(created) - 1; i >= 0; i-- {
			want = append(want, created[i])
		}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}

		// The first page's shape.
		r := k.do("GET", "/api/contact?q=Contact%2000", nil).want(t, http.StatusOK, "")
		assertGolden(t, "contact_list", r.Body)

		// Tokens are tamper-proof and good for one list of one workspace.
		var p contactPage
		k.do("GET", "/api/contact", nil).want(t, http.StatusOK, "").into(t, &p)
		token := *p.ContinuationToken
		b := newContactKit(t, ts, "Beta", "bob@beta.test")
		var acts struct{ ContinuationToken *string }
		for range 21 {
			k.do("POST", "/api/contact/"+created[0]+"/activities", map[string]any{"content": "note"}).want(t, http.StatusOK, "")
		}
		k.do("GET", "/api/contact/"+created[0]+"/activities", nil).want(t, http.StatusOK, "").into(t, &acts)
		for name, c := range map[string]struct {
			kit   *contactKit
			token string
		}{
			"tampered":             {k, token[:len(token)-2] + "xx"},
			"garbage":              {k, "not-a-token"},
			"another workspace":    {b, token},
			"another list's token": {k, *acts.ContinuationToken},
			"forged":               {k, strings.Repeat("A", 40)},
		} {
			t.Run(name, func(t *testing.T) {
				r := c.kit.do("GET", "/api/contact?continuationToken="+url.QueryEscape(c.token), nil).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff([]string{"continuationToken"}, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
			})
		}
		// And a contact list's token is refused by an activity list.
		k.do("GET", "/api/contact/"+created[0]+"/activities?continuationToken="+url.QueryEscape(token), nil).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		// As is one contact's activity token on another contact's list.
		k.do("GET", "/api/contact/"+created[1]+"/activities?continuationToken="+url.QueryEscape(*acts.ContinuationToken), nil).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
	})
}

func TestContactList_Filters(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		agent := k.memberID("luis@acme.test", "agent")
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		ts.DB.Now = func() time.Time { return t0 }
		juan := k.create(map[string]any{"name": "Juan", "lastname": "Pérez", "platformId": 2, "internalWhatsappNumber": "+51 987 654 321",
			"tags": []string{k.tags["Lead"]}})
		eva := k.create(map[string]any{"name": "Eva", "lastname": "Lima", "platformId": 1, "email": "eva.lima@example.com",
			"stageId": k.stages[1], "assignedAgentId": agent})
		ts.DB.Now = func() time.Time { return t0.Add(48 * time.Hour) }
		rosa := k.create(map[string]any{"name": "Rosa", "platformId": 2, "internalWhatsappNumber": "+52 1 55 1234 5678",
			"tags": []string{k.tags["Lead"], k.tags["Support"]}, "assignedAgentId": agent})
		deleted := k.create(map[string]any{"name": "Juana", "platformId": 1, "email": "juana@example.com", "tags": []string{k.tags["Lead"]}})
		k.do("POST", "/api/contact/delete-batch", map[string]any{"contactIds": []string{deleted.ID}}).want(t, http.StatusOK, "")
		ts.DB.Now = time.Now

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"", []string{rosa.ID, eva.ID, juan.ID}},
			{"stageId=" + k.stages[1], []string{eva.ID}},
			{"stageId=" + k.stages[0], []string{rosa.ID, juan.ID}},
			{"stageId=no-such-stage", nil},
			{"assignedAgentId=" + agent, []string{rosa.ID, eva.ID}},
			{"tag=" + k.tags["Lead"], []string{rosa.ID, juan.ID}},
			{"tag=" + k.tags["Support"], []string{rosa.ID}},
			{"tag=" + k.tags["Lead"] + "&assignedAgentId=" + agent, []string{rosa.ID}},
			{"updatedSince=2026-03-02", []string{rosa.ID}},
			{"updatedSince=" + url.QueryEscape("2026-03-01T10:00:00Z"), []string{rosa.ID, eva.ID, juan.ID}},
			{"updatedSince=" + url.QueryEscape("2026-03-01T10:00:00.000001Z"), []string{rosa.ID}},
			{"q=juan", []string{juan.ID}},
			{"q=PÉREZ", []string{juan.ID}},
			{"q=juan+p", []string{juan.ID}},
			{"q=LIMA", []string{eva.ID}},
			{"q=eva.lima%40", []string{eva.ID}},
			{"q=" + url.QueryEscape("987 654"), []string{juan.ID}},
			{"q=" + url.QueryEscape("+52 1 55"), []string{rosa.ID}},
			{"q=%25", nil},
			{"q=_", nil},
			{"search=rosa", []string{rosa.ID}},
			{"Q=ROSA", []string{rosa.ID}},
		} {
			t.Run(c.query, func(t *testing.T) {
				ids, _ := k.list(c.query)
				if diff := cmp.Diff(c.want, ids); diff != "" {
					t.Fatalf("ids (-want +got):\n%s", diff)
				}
			})
		}
		r := k.do("GET", "/api/contact?updatedSince=yesterday", nil).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"updatedSince"}, r.fields()); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
	})
}

func TestContactActivities(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		c := k.create(map[string]any{"name": "Juan", "platformId": 2, "internalWhatsappNumber": "+51 987 654 321"})
		r := k.do("POST", "/api/contact/"+c.ID+"/activities", map[string]any{"workspaceId": k.a.WorkspaceID, "content": "Se realizó la factura #12345"}).
			want(t, http.StatusOK, "")
		if r.Message != "The activity was recorded successfully." || string(r.Data) != "null" {
			t.Fatalf("message %q, data %s", r.Message, r.Data)
		}
		k.do("POST", "/api/contact/"+c.ID+"/activities", map[string]any{"content": "Llamada", "categoryType": "Calls"}).want(t, http.StatusOK, "")
		// A member with a login token is recorded as a user.
		luis := k.memberID("luis@acme.test", "agent")
		token := ts.login("luis@acme.test", "member-pass-1")
		ts.do(req{Method: "POST", Path: "/api/contact/" + c.ID + "/activities", Token: token, Workspace: k.a.WorkspaceID,
			Body: map[string]any{"content": "Por login"}}).want(t, http.StatusOK, "")

		r = k.do("GET", "/api/contact/"+c.ID+"/activities", nil).want(t, http.StatusOK, "")
		assertGolden(t, "contact_activities", r.Body)
		var page struct {
			ContinuationToken *string
			Data              []struct{ Content, CategoryType, ActorType, ActorID string }
		}
		r.into(t, &page)
		type act struct{ Content, CategoryType, ActorType string }
		var got []act
		for _, a := range page.Data {
			got = append(got, act{a.Content, a.CategoryType, a.ActorType})
		}
		want := []act{{"Por login", "Note", "user"}, {"Llamada", "Calls", "api_key"}, {"Se realizó la factura #12345", "Note", "api_key"}}
		if diff := cmp.Diff(want, got); diff != "" || page.ContinuationToken != nil || page.Data[0].ActorID != luis {
			t.Fatalf("activities (-want +got):\n%s\ntoken %v, actor %s", diff, page.ContinuationToken, page.Data[0].ActorID)
		}

		for _, tc := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"no content", map[string]any{"workspaceId": k.a.WorkspaceID}, []string{"content"}},
			{"blank content", map[string]any{"content": "   "}, []string{"content"}},
			{"content a number", map[string]any{"content": 5}, []string{"content"}},
			{"no body", nil, []string{"body"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := k.do("POST", "/api/contact/"+c.ID+"/activities", tc.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(tc.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
			})
		}
		k.do("POST", "/api/contact/no-such-contact/activities", map[string]any{"content": "x"}).want(t, http.StatusNotFound, "NOT_FOUND")
		k.do("GET", "/api/contact/no-such-contact/activities", nil).want(t, http.StatusNotFound, "NOT_FOUND")

		// Pages of 20, newest first.
		for i := range 22 {
			k.do("POST", "/api/contact/"+c.ID+"/activities", map[string]any{"content": fmt.Sprintf("note %02d", i)}).want(t, http.StatusOK, "")
		}
		var contents []string
		next := ""
		for pages := 0; ; pages++ {
			path := "/api/contact/" + c.ID + "/activities"
			if next != "" {
				path += "?continuationToken=" + url.QueryEscape(next)
			}
			var p struct {
				ContinuationToken *string
				Data              []struct{ Content string }
			}
			k.do("GET", path, nil).want(t, http.StatusOK, "").into(t, &p)
			if want := []int{20, 5}[pages]; len(p.Data) != want {
				t.Fatalf("page %d has %d activities, want %d", pages, len(p.Data), want)
			}
			for _, a := range p.Data {
				contents = append(contents, a.Content)
			}
			if p.ContinuationToken == nil {
				break
			}
			next = *p.ContinuationToken
		}
		if len(contents) != 25 || contents[0] != "note 21" || contents[21] != "note 00" || contents[24] != "Se realizó la factura #12345" {
			t.Fatalf("activities = %v", contents)
		}
	})
}

func TestContactDeleteBatch(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		var cs []contactJSON
		for i := range 4 {
			cs = append(cs, k.create(map[string]any{"name": fmt.Sprintf("C%d", i), "platformId": 1, "email": fmt.Sprintf("c%d@example.com", i),
				"phone": fmt.Sprintf("+51 987 654 32%d", i)}))
		}

		// Unknown ids: 404 naming them, and nothing is deleted.
		r := k.do("POST", "/api/contact/delete-batch", map[string]any{"workspaceId": k.a.WorkspaceID,
			"contactIds": []any{map[string]any{"ids": cs[0].ID}, map[string]any{"ids": "no-such-contact"}}}).want(t, http.StatusNotFound, "NOT_FOUND")
		if !strings.Contains(r.Message, "no-such-contact") || strings.Contains(r.Message, cs[0].ID) {
			t.Errorf("message = %q", r.Message)
		}
		if ids, _ := k.list(""); len(ids) != 4 {
			t.Fatalf("%d contacts left, want 4", len(ids))
		}

		// Plazbot's form, repeats, a plain id, and PascalCase keys.
		r = k.do("POST", "/api/contact/delete-batch", map[string]any{"workspaceId": k.a.WorkspaceID,
			"ContactIds": []any{map[string]any{"ids": cs[0].ID}, map[string]any{"Ids": cs[1].ID}, cs[2].ID, map[string]any{"ids": cs[0].ID}}}).
			want(t, http.StatusOK, "")
		assertGolden(t, "contact_delete_batch", r.Body)
		var d struct{ ContactIDs []string }
		r.into(t, &d)
		if diff := cmp.Diff([]string{cs[0].ID, cs[1].ID, cs[2].ID}, d.ContactIDs); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}

		// Deleted contacts are gone from every read.
		if ids, _ := k.list(""); !cmp.Equal(ids, []string{cs[3].ID}) {
			t.Errorf("list = %v", ids)
		}
		if ids, _ := k.list("q=c0"); len(ids) != 0 {
			t.Errorf("search finds a deleted contact: %v", ids)
		}
		for _, path := range []string{
			"/api/contact/" + cs[0].ID,
			"/api/contact/searchByEmail?email=c0@example.com",
			"/api/contact/searchByCellphone?cellphone=51987654320",
			"/api/contact/" + cs[0].ID + "/activities",
		} {
			k.do("GET", path, nil).want(t, http.StatusNotFound, "NOT_FOUND")
		}
		k.do("PUT", "/api/contact?id="+cs[0].ID, map[string]any{"name": "X"}).want(t, http.StatusNotFound, "NOT_FOUND")
		k.do("POST", "/api/contact/"+cs[0].ID+"/activities", map[string]any{"content": "x"}).want(t, http.StatusNotFound, "NOT_FOUND")
		// Deleting again: 404, nothing deleted.
		k.do("POST", "/api/contact/delete-batch", map[string]any{"contactIds": []string{cs[3].ID, cs[0].ID}}).want(t, http.StatusNotFound, "NOT_FOUND")
		k.get(cs[3].ID)
		// Their number and e-mail are free again.
		k.create(map[string]any{"name": "New", "platformId": 1, "email": "C0@example.com", "phone": "51987654320"})

		for _, tc := range []struct {
			name string
			body any
		}{
			{"no contactIds", map[string]any{"workspaceId": k.a.WorkspaceID}},
			{"empty contactIds", map[string]any{"contactIds": []any{}}},
			{"contactIds not an array", map[string]any{"contactIds": cs[3].ID}},
			{"item a number", map[string]any{"contactIds": []any{1}}},
			{"item without ids", map[string]any{"contactIds": []any{map[string]any{"contact": cs[3].ID}}}},
			{"ids a number", map[string]any{"contactIds": []any{map[string]any{"ids": 5}}}},
			{"empty id", map[string]any{"contactIds": []any{""}}},
			{"no body", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := k.do("POST", "/api/contact/delete-batch", tc.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				want := []string{"contactIds"}
				if tc.body == nil {
					want = []string{"body"}
				}
				if diff := cmp.Diff(want, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
			})
		}
		k.get(cs[3].ID)
	})
}
