package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOpportunityUpdate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		pl := ts.pipelines(t, a)
		o := ts.newOpportunity(t, a, map[string]any{"name": "Deal", "customFields": []map[string]any{{"name": "source", "value": "web"}}})
		contact := ts.newContact(t, a, "carla@client.test", nil)
		put := func(body any) *response {
			return ts.do(req{Method: "PUT", Path: "/api/opportunity?id=" + o.ID + "&workspaceId=" + a.WorkspaceID, Token: a.APIKey, Body: body})
		}

		// Form 1: {"<field>": value}.
		r := put(map[string]any{"name": "Renamed"}).want(t, http.StatusOK, "")
		if r.Message != "Opportunity updated successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "opportunity_update", r.Body)
		if strings.Contains(string(r.Body), `"oportunity"`) {
			t.Error("the reply has the misspelled key oportunity")
		}
		// Form 2: paramToUpdate names the one field applied.
		put(map[string]any{"paramToUpdate": "description", "description": "New text", "name": "ignored"}).want(t, http.StatusOK, "")
		// Form 3: several fields at once, case-insensitive keys, the alias.
		stage := pl["opportunity"].Stages[3].ID
		put(map[string]any{"Amount": 999.99, "stageId": stage, "contactId": contact, "assignedComercialId": a.UserID,
			"expirationDate": "2025-05-01", "finalAmount": 5, "customFields": []map[string]any{{"name": "SOURCE", "value": "fair"}, {"name": "tier", "value": 2}},
			"unknownKey": 1}).want(t, http.StatusOK, "")
		got := ts.getOpportunity(t, a, o.ID)
		if got.Name != "Renamed" || got.Description != "New text" || got.Amount != 999.99 || *got.StageID != stage ||
			got.ContactID != contact || *got.AssignedAgentID != a.UserID || *got.ExpirationDate != "2025-05-01T00:00:00.0000000Z" ||
			got.FinalAmount != 5 || got.UpdatedDate == nil || got.OrderInCards != 1 {
			t.Errorf("after updates: %+v", got)
		}
		type cf = struct {
			Name  string
			Value any
		}
		if diff := cmp.Diff([]cf{{"source", "fair"}, {"tier", 2.0}}, []cf(got.CustomFields)); diff != "" {
			t.Errorf("custom fields (-want +got):\n%s", diff)
		}
		// The stage move is in the history, newest first.
		h := ts.history(t, a, "opportunity", o.ID)
		if len(h) != 2 || *h[0].FromStageID != defaultStage(pl["opportunity"]) || *h[0].ToStageID != stage || h[0].Actor.Type != "api_key" {
			t.Errorf("history = %+v", h)
		}
		// Same stage again: no new entry. Clearing with null and "".
		put(map[string]any{"stageId": stage, "contactId": nil, "assignedAgentId": "", "expirationDate": nil, "segmentationId": ""}).want(t, http.StatusOK, "")
		got = ts.getOpportunity(t, a, o.ID)
		if got.ContactID != "" || got.AssignedAgentID != nil || got.ExpirationDate != nil || got.SegmentationID != nil {
			t.Errorf("after clearing: %+v", got)
		}
		if h := ts.history(t, a, "opportunity", o.ID); len(h) != 2 {
			t.Errorf("history has %d entries after a same-stage update, want 2", len(h))
		}

		for _, c := range []struct {
			name   string
			path   string
			body   any
			fields []string
		}{
			{"no id", "/api/opportunity", map[string]any{"name": "x"}, []string{"id"}},
			{"empty body", "", map[string]any{}, []string{"body"}},
			{"only unknown keys", "", map[string]any{"foo": 1, "workspaceId": a.WorkspaceID}, []string{"body"}},
			{"unknown paramToUpdate", "", map[string]any{"paramToUpdate": "winLossStatus", "winLossStatus": 1}, []string{"paramToUpdate"}},
			{"paramToUpdate not a string", "", map[string]any{"paramToUpdate": 3}, []string{"paramToUpdate"}},
			{"paramToUpdate without its field", "", map[string]any{"paramToUpdate": "name"}, []string{"name"}},
			{"wrong types", "", map[string]any{"name": 1, "amount": "5", "customFields": "x", "expirationDate": "soon"}, []string{"name", "amount", "expirationDate", "customFields"}},
			{"nulls that cannot clear", "", map[string]any{"name": nil, "amount": nil, "stageId": nil}, []string{"name", "amount", "stageId"}},
			{"blank name", "", map[string]any{"name": " "}, []string{"name"}},
			{"unknown stage", "", map[string]any{"stageId": "nope"}, []string{"stageId"}},
			{"a contact stage", "", map[string]any{"stageId": pl["contact"].Stages[0].ID}, []string{"stageId"}},
			{"unknown contact", "", map[string]any{"contactId": "nope"}, []string{"contactId"}},
			{"unknown assignee by the alias", "", map[string]any{"assignedComercialId": "nope"}, []string{"assignedComercialId"}},
			{"aliases disagree", "", map[string]any{"assignedComercialId": "x", "assignedAgentId": "y"}, []string{"assignedAgentId"}},
			{"negative final amount", "", map[string]any{"finalAmount": -2}, []string{"finalAmount"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := c.path
				if path == "" {
					path = "/api/opportunity?id=" + o.ID
				}
				r := ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				got := r.fields()
				if c.name == "aliases disagree" && len(got) == 1 && (got[0] == "assignedComercialId" || got[0] == "assignedAgentId") {
					got = c.fields
				}
				if diff := cmp.Diff(c.fields, got); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		if after := ts.getOpportunity(t, a, o.ID); after.Name != "Renamed" || after.Amount != 999.99 || *after.StageID != stage {
			t.Errorf("a refused update changed the opportunity: %+v", after)
		}

		// Another workspace's, an unknown and a deleted opportunity are 404.
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.do(req{Method: "PUT", Path: "/api/opportunity?id=" + o.ID, Token: b.APIKey, Body: map[string]any{"name": "Hijacked"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: "/api/opportunity?id=nope", Token: a.APIKey, Body: map[string]any{"name": "x"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		if after := ts.getOpportunity(t, a, o.ID); after.Name != "Renamed" {
			t.Errorf("another workspace renamed it: %q", after.Name)
		}
		ts.do(req{Method: "DELETE", Path: "/api/opportunity/" + o.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		ts.do(req{Method: "PUT", Path: "/api/opportunity?id=" + o.ID, Token: a.APIKey, Body: map[string]any{"name": "x"}}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestOpportunityDelete(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		o1 := ts.newOpportunity(t, a, nil)
		o2 := ts.newOpportunity(t, a, nil)
		o3 := ts.newOpportunity(t, a, nil)

		// Another workspace's is 404 and stays.
		ts.do(req{Method: "DELETE", Path: "/api/opportunity/" + o1.ID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "DELETE", Path: "/api/opportunity?id=" + o1.ID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.getOpportunity(t, a, o1.ID)

		r := ts.do(req{Method: "DELETE", Path: "/api/opportunity/" + o1.ID + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if r.Message != "Opportunity deleted successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "opportunity_delete", r.Body)
		ts.do(req{Method: "DELETE", Path: "/api/opportunity?id=" + o2.ID + "&workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		for _, id := range []string{o1.ID, o2.ID} {
			ts.do(req{Method: "DELETE", Path: "/api/opportunity/" + id, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
			ts.do(req{Method: "GET", Path: "/api/opportunity/" + id, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
			ts.do(req{Method: "GET", Path: "/api/opportunity/" + id + "/history", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
			ts.do(req{Method: "POST", Path: "/api/opportunity/" + id + "/agent/activities", Token: a.APIKey,
				Body: map[string]any{"content": "x", "date": "2025-01-01", "categoryType": "Calls"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		}
		// Soft: the row keeps its data, with when and who.
		var deletedBy string
		var deletedAt any
		if err := ts.DB.QueryRowForTest(t.Context(), `SELECT user_deletion, deletion_date FROM opportunities WHERE id = $1`, o1.ID).Scan(&deletedBy, &deletedAt); err != nil {
			t.Fatal(err)
		}
		if deletedBy != a.UserID || deletedAt == nil {
			t.Errorf("user_deletion %q, deletion_date %v", deletedBy, deletedAt)
		}
		var p struct{ Data []opportunityJSON }
		ts.do(req{Method: "GET", Path: "/api/opportunity", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != o3.ID {
			t.Errorf("list after deletes = %+v", p.Data)
		}
		r = ts.do(req{Method: "DELETE", Path: "/api/opportunity", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "id" {
			t.Errorf("fields = %v", f)
		}
	})
}

func TestOpportunityActivities(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		o := ts.newOpportunity(t, a, nil)
		path := "/api/opportunity/" + o.ID + "/agent/activities"
		for i, cat := range []string{"calls", "MEETING", "WhatsApp", "Email"} {
			r := ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{
				"workspaceId": a.WorkspaceID, "content": fmt.Sprint("Activity ", i), "date": fmt.Sprintf("2025-04-0%dT09:30:00Z", i+1), "categoryType": cat,
			}}).want(t, http.StatusOK, "")
			if r.Message != "The activity was recorded successfully." || string(r.Data) != "null" {
				t.Errorf("reply: %s", r.Body)
			}
		}
		r := ts.do(req{Method: "GET", Path: path + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "opportunity_activities", r.Body)
		var list []activityJSON
		r.into(t, &list)
		var cats []string
		for _, act := range list {
			cats = append(cats, act.CategoryType)
			if act.UserID == nil || *act.UserID != a.UserID {
				t.Errorf("userId = %v, want %s", act.UserID, a.UserID)
			}
		}
		if diff := cmp.Diff([]string{"Email", "Whatsapp", "Meeting", "Calls"}, cats); diff != "" {
			t.Errorf("categories, newest first (-want +got):\n%s", diff)
		}

		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty", map[string]any{}, []string{"content", "date", "categoryType"}},
			{"no body", nil, []string{"body"}},
			{"unknown category", map[string]any{"content": "x", "date": "2025-01-01", "categoryType": "Fax"}, []string{"categoryType"}},
			{"bad date", map[string]any{"content": "x", "date": "tomorrow", "categoryType": "Calls"}, []string{"date"}},
			{"wrong types", map[string]any{"content": 1, "date": true, "categoryType": []int{1}}, []string{"content", "date", "categoryType"}},
			{"blank content", map[string]any{"content": " ", "date": "2025-01-01", "categoryType": "Calls"}, []string{"content"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// Another workspace can neither add nor read.
		ts.do(req{Method: "POST", Path: path, Token: b.APIKey, Body: map[string]any{"content": "x", "date": "2025-01-01", "categoryType": "Calls"}}).
			want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: path, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &list)
		if len(list) != 4 {
			t.Errorf("%d activities, want 4", len(list))
		}
	})
}

func TestOpportunityWinLoss(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		o := ts.newOpportunity(t, a, map[string]any{"amount": 500})
		path := "/api/opportunity/" + o.ID + "/winLoss"
		post := func(body any) *response {
			return ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: body})
		}
		var w struct {
			ID          string
			Opportunity opportunityJSON
		}
		// Won: finalAmount defaults to the amount.
		r := post(map[string]any{"winLossStatus": 1}).want(t, http.StatusOK, "")
		assertGolden(t, "opportunity_won", r.Body)
		r.into(t, &w)
		if w.Opportunity.WinLossStatus != 1 || w.Opportunity.FinalAmount != 500 || w.Opportunity.WinLossDate == nil {
			t.Errorf("won: %+v", w.Opportunity)
		}
		// The same status again changes and records nothing.
		post(map[string]any{"winLossStatus": 1, "finalAmount": 1}).want(t, http.StatusOK, "").into(t, &w)
		if w.Opportunity.FinalAmount != 500 {
			t.Errorf("a repeated win changed finalAmount to %v", w.Opportunity.FinalAmount)
		}
		// Lost needs a reason.
		r = post(map[string]any{"winLossStatus": 2}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"lossReason"}, r.fields()); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		post(map[string]any{"winLossStatus": 2, "lossReason": "Too expensive", "date": "2025-03-15"}).want(t, http.StatusOK, "").into(t, &w)
		if w.Opportunity.WinLossStatus != 2 || w.Opportunity.FinalAmount != 0 || *w.Opportunity.WinLossDate != "2025-03-15T00:00:00.0000000Z" {
			t.Errorf("lost: %+v", w.Opportunity)
		}
		// Reopened: cleared.
		post(map[string]any{"winLossStatus": 0}).want(t, http.StatusOK, "").into(t, &w)
		if w.Opportunity.WinLossStatus != 0 || w.Opportunity.FinalAmount != 0 || w.Opportunity.WinLossDate != nil {
			t.Errorf("reopened: %+v", w.Opportunity)
		}
		post(map[string]any{"winLossStatus": 1, "finalAmount": 420}).want(t, http.StatusOK, "").into(t, &w)
		if w.Opportunity.FinalAmount != 420 {
			t.Errorf("won with finalAmount: %+v", w.Opportunity)
		}

		h := ts.history(t, a, "opportunity", o.ID)
		type change struct {
			From, To *int
			Reason   *string
			Stage    bool
		}
		var got []change
		for _, c := range h {
			got = append(got, change{c.FromWinLossStatus, c.ToWinLossStatus, c.LossReason, c.ToStageID != nil})
		}
		n := func(i int) *int { return &i }
		s := func(s string) *string { return &s }
		want := []change{
			{n(0), n(1), nil, false},
			{n(2), n(0), nil, false},
			{n(1), n(2), s("Too expensive"), false},
			{n(0), n(1), nil, false},
			{nil, nil, nil, true}, // created in its first stage
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		assertGolden(t, "opportunity_history", ts.do(req{Method: "GET", Path: "/api/opportunity/" + o.ID + "/history", Token: a.APIKey}).want(t, http.StatusOK, "").Body)

		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty", map[string]any{}, []string{"winLossStatus"}},
			{"null", map[string]any{"winLossStatus": nil}, []string{"winLossStatus"}},
			{"out of range", map[string]any{"winLossStatus": 3}, []string{"winLossStatus"}},
			{"a string", map[string]any{"winLossStatus": "1"}, []string{"winLossStatus"}},
			{"a fraction", map[string]any{"winLossStatus": 1.5}, []string{"winLossStatus"}},
			{"bad extras", map[string]any{"winLossStatus": 2, "finalAmount": "x", "date": "never"}, []string{"finalAmount", "date", "lossReason"}},
			{"negative final amount", map[string]any{"winLossStatus": 1, "finalAmount": -1}, []string{"finalAmount"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := post(c.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		ts.do(req{Method: "POST", Path: path, Token: b.APIKey, Body: map[string]any{"winLossStatus": 0}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/opportunity/" + o.ID + "/history", Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		if got := ts.getOpportunity(t, a, o.ID); got.WinLossStatus != 1 {
			t.Errorf("another workspace reopened it: %+v", got)
		}
	})
}

func TestStageHistory_Actors(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		pl := ts.pipelines(t, a)
		var keys []struct{ ID string }
		ts.do(req{Method: "GET", Path: "/api/apikey", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &keys)
		token := ts.login(a.Email, a.Password)

		o := ts.newOpportunity(t, a, nil)
		ts.do(req{Method: "PUT", Path: "/api/opportunity?id=" + o.ID, Token: token, Workspace: a.WorkspaceID,
			Body: map[string]any{"stageId": pl["opportunity"].Stages[1].ID}}).want(t, http.StatusOK, "")
		ts.do(req{Method: "POST", Path: "/api/opportunity/" + o.ID + "/winLoss", Token: a.APIKey,
			Body: map[string]any{"winLossStatus": 1}}).want(t, http.StatusOK, "")
		h := ts.history(t, a, "opportunity", o.ID)
		var actors []struct{ Type, ID string }
		for _, c := range h {
			actors = append(actors, c.Actor)
			if c.Entity != "opportunity" || c.RecordID != o.ID {
				t.Errorf("entry %+v", c)
			}
		}
		want := []struct{ Type, ID string }{{"api_key", keys[0].ID}, {"user", a.UserID}, {"api_key", keys[0].ID}}
		if diff := cmp.Diff(want, actors); diff != "" {
			t.Errorf("actors (-want +got):\n%s", diff)
		}
	})
}

func TestContactHistory(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		pl := ts.pipelines(t, a)
		stages := pl["contact"].Stages
		c := ts.newContact(t, a, "carla@client.test", map[string]any{"stageId": stages[1].ID})
		// A stage deletion moves the contact and records the move.
		ts.do(req{Method: "DELETE", Path: "/api/pipeline/contact/stages/" + stages[1].ID + "?moveTo=" + stages[2].ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		h := ts.history(t, a, "contact", c)
		if len(h) == 0 {
			t.Fatal("no history")
		}
		top := h[0]
		if top.Entity != "contact" || top.RecordID != c || *top.FromStageID != stages[1].ID || *top.ToStageID != stages[2].ID ||
			top.FromWinLossStatus != nil || top.Actor.Type != "api_key" {
			t.Errorf("newest entry = %+v", top)
		}
		ts.do(req{Method: "GET", Path: "/api/contact/" + c + "/history", Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/contact/nope/history", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}
