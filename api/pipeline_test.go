package api_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func stageNames(p pipelineJSON) []string {
	var names []string
	for i, st := range p.Stages {
		if st.Order != i+1 {
			names = append(names, "!order")
		}
		name := st.Name
		if st.IsDefault {
			name += "*"
		}
		names = append(names, name)
	}
	return names
}

func TestPipelineList(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		r := ts.do(req{Method: "GET", Path: "/api/pipeline?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if r.Message != "List obtained successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "pipeline_list", r.Body)
		var list []pipelineJSON
		r.into(t, &list)
		if len(list) != 2 || list[0].ID != "contact" || list[1].ID != "opportunity" {
			t.Fatalf("pipelines = %+v", list)
		}
		if diff := cmp.Diff([]string{"Prospecting*", "Proposal", "Negotiation", "Closing"}, stageNames(list[1])); diff != "" {
			t.Errorf("opportunity stages (-want +got):\n%s", diff)
		}
		// Every member reads them.
		agent := ts.createUser(a, "agent@acme.test", "agent")
		ts.do(req{Method: "GET", Path: "/api/pipeline", Token: agent, Workspace: a.WorkspaceID}).want(t, http.StatusOK, "")
	})
}

func TestStageCreate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		r := ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey,
			Body: map[string]any{"name": "  Discovery ", "color": "#ff0000", "order": 2}}).want(t, http.StatusOK, "")
		if r.Message != "Stage created successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "stage_create", r.Body)
		var st stageJSON
		r.into(t, &st)
		// Appended by default, with the default colour; the pipeline id is case-insensitive.
		ts.do(req{Method: "POST", Path: "/api/pipeline/Opportunity/stages", Token: a.APIKey, Body: map[string]any{"name": "Won back"}}).want(t, http.StatusOK, "")
		ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey, Body: map[string]any{"name": "Intake", "order": 1}}).want(t, http.StatusOK, "")
		pl := ts.pipelines(t, a)
		if diff := cmp.Diff([]string{"Intake", "Prospecting*", "Discovery", "Proposal", "Negotiation", "Closing", "Won back"}, stageNames(pl["opportunity"])); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		if last := pl["opportunity"].Stages[6]; last.Color != "#64748b" {
			t.Errorf("default colour = %q", last.Color)
		}
		// A new opportunity can go into it.
		o := ts.newOpportunity(t, a, map[string]any{"stageId": st.ID})
		if *o.StageID != st.ID {
			t.Errorf("stageId = %v", *o.StageID)
		}

		r = ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey, Body: map[string]any{"name": "DISCOVERY"}}).want(t, http.StatusConflict, "CONFLICT")
		if f := r.fields(); len(f) != 1 || f[0] != "name" {
			t.Errorf("conflict fields = %v", f)
		}
		// The same name in the other pipeline is fine.
		ts.do(req{Method: "POST", Path: "/api/pipeline/contact/stages", Token: a.APIKey, Body: map[string]any{"name": "Discovery"}}).want(t, http.StatusOK, "")

		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty", map[string]any{}, []string{"name"}},
			{"blank name", map[string]any{"name": " "}, []string{"name"}},
			{"bad colour", map[string]any{"name": "X", "color": "red"}, []string{"color"}},
			{"order 0", map[string]any{"name": "X", "order": 0}, []string{"order"}},
			{"order past the end", map[string]any{"name": "X", "order": 9}, []string{"order"}},
			{"order as a string", map[string]any{"name": "X", "order": "1"}, []string{"order"}},
			{"wrong types", map[string]any{"name": 1, "color": 2}, []string{"name", "color"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		ts.do(req{Method: "POST", Path: "/api/pipeline/tasks/stages", Token: a.APIKey, Body: map[string]any{"name": "X"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		for _, role := range []string{"agent", "commercial"} {
			tok := ts.createUser(a, role+"@acme.test", role)
			ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: tok, Workspace: a.WorkspaceID, Body: map[string]any{"name": "X"}}).want(t, http.StatusForbidden, "FORBIDDEN")
		}
		admin := ts.createUser(a, "admin@acme.test", "admin")
		ts.do(req{Method: "POST", Path: "/api/pipeline/opportunity/stages", Token: admin, Workspace: a.WorkspaceID, Body: map[string]any{"name": "By admin"}}).want(t, http.StatusOK, "")
		if got := len(ts.pipelines(t, a)["opportunity"].Stages); got != 8 {
			t.Errorf("%d stages, want 8", got)
		}
	})
}

func TestStageUpdate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		pa, pb := ts.pipelines(t, a), ts.pipelines(t, b)
		stages := pa["opportunity"].Stages
		path := "/api/pipeline/opportunity/stages/" + stages[2].ID
		r := ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"name": "Talks", "color": "#000"}}).want(t, http.StatusOK, "")
		if r.Message != "Stage updated successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "stage_update", r.Body)
		// Making it the default moves the default; new opportunities start there.
		var st stageJSON
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"isDefault": true}}).want(t, http.StatusOK, "").into(t, &st)
		if !st.IsDefault || st.Name != "Talks" {
			t.Errorf("stage = %+v", st)
		}
		if diff := cmp.Diff([]string{"Prospecting", "Proposal", "Talks*", "Closing"}, stageNames(ts.pipelines(t, a)["opportunity"])); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		if o := ts.newOpportunity(t, a, nil); *o.StageID != stages[2].ID {
			t.Errorf("new opportunity in %s, want the new default", *o.StageID)
		}
		// Renaming to its own name in another case is fine; to another's is a conflict.
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"name": "TALKS"}}).want(t, http.StatusOK, "")
		ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: map[string]any{"name": "closing"}}).want(t, http.StatusConflict, "CONFLICT")

		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty", map[string]any{}, []string{"body"}},
			{"not default", map[string]any{"isDefault": false}, []string{"isDefault"}},
			{"isDefault as a string", map[string]any{"isDefault": "true"}, []string{"isDefault"}},
			{"blank name", map[string]any{"name": ""}, []string{"name"}},
			{"bad colour", map[string]any{"color": "#12"}, []string{"color"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "PUT", Path: path, Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// Another workspace's stage, a stage of the other pipeline, an unknown pipeline: 404, nothing changed.
		ts.do(req{Method: "PUT", Path: "/api/pipeline/opportunity/stages/" + pb["opportunity"].Stages[0].ID, Token: a.APIKey, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: path, Token: b.APIKey, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: "/api/pipeline/contact/stages/" + stages[0].ID, Token: a.APIKey, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "PUT", Path: "/api/pipeline/nope/stages/" + stages[0].ID, Token: a.APIKey, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
		if diff := cmp.Diff([]string{"Prospecting*", "Proposal", "Negotiation", "Closing"}, stageNames(ts.pipelines(t, b)["opportunity"])); diff != "" {
			t.Errorf("Beta's stages (-want +got):\n%s", diff)
		}
		agent := ts.createUser(a, "agent@acme.test", "agent")
		ts.do(req{Method: "PUT", Path: path, Token: agent, Workspace: a.WorkspaceID, Body: map[string]any{"name": "X"}}).want(t, http.StatusForbidden, "FORBIDDEN")
	})
}

func TestStageReorder(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		st := ts.pipelines(t, a)["opportunity"].Stages
		other := ts.pipelines(t, a)["contact"].Stages
		r := ts.do(req{Method: "PUT", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey,
			Body: map[string]any{"stageIds": []string{st[3].ID, st[1].ID, st[0].ID, st[2].ID}}}).want(t, http.StatusOK, "")
		if r.Message != "Stages reordered successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "stage_reorder", r.Body)
		var p pipelineJSON
		r.into(t, &p)
		if diff := cmp.Diff([]string{"Closing", "Proposal", "Prospecting*", "Negotiation"}, stageNames(p)); diff != "" {
			t.Errorf("reply (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(stageNames(p), stageNames(ts.pipelines(t, a)["opportunity"])); diff != "" {
			t.Errorf("stored order (-reply +stored):\n%s", diff)
		}
		for _, c := range []struct {
			name string
			body any
		}{
			{"missing", map[string]any{}},
			{"not an array", map[string]any{"stageIds": "x"}},
			{"one short", map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID}}},
			{"one twice", map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID, st[2].ID}}},
			{"an extra one", map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID, st[3].ID, other[0].ID}}},
			{"another pipeline's", map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID, other[0].ID}}},
			{"empty", map[string]any{"stageIds": []string{}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "PUT", Path: "/api/pipeline/opportunity/stages", Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff([]string{"stageIds"}, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
			})
		}
		// Another workspace cannot reorder these: its own pipeline does not have them.
		ts.do(req{Method: "PUT", Path: "/api/pipeline/opportunity/stages", Token: b.APIKey,
			Body: map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID, st[3].ID}}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"Closing", "Proposal", "Prospecting*", "Negotiation"}, stageNames(ts.pipelines(t, a)["opportunity"])); diff != "" {
			t.Errorf("after refusals (-want +got):\n%s", diff)
		}
		ts.do(req{Method: "PUT", Path: "/api/pipeline/x/stages", Token: a.APIKey, Body: map[string]any{"stageIds": []string{}}}).want(t, http.StatusNotFound, "NOT_FOUND")
		agent := ts.createUser(a, "agent@acme.test", "agent")
		ts.do(req{Method: "PUT", Path: "/api/pipeline/opportunity/stages", Token: agent, Workspace: a.WorkspaceID,
			Body: map[string]any{"stageIds": []string{st[0].ID, st[1].ID, st[2].ID, st[3].ID}}}).want(t, http.StatusForbidden, "FORBIDDEN")
	})
}

func TestStageDelete(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		pa := ts.pipelines(t, a)
		st := pa["opportunity"].Stages
		cst := pa["contact"].Stages
		bStage := ts.pipelines(t, b)["opportunity"].Stages[1].ID

		target := ts.newOpportunity(t, a, map[string]any{"stageId": st[2].ID})
		o1 := ts.newOpportunity(t, a, map[string]any{"stageId": st[1].ID, "name": "First"})
		o2 := ts.newOpportunity(t, a, map[string]any{"stageId": st[1].ID, "name": "Second"})
		gone := ts.newOpportunity(t, a, map[string]any{"stageId": st[1].ID})
		ts.do(req{Method: "DELETE", Path: "/api/opportunity/" + gone.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		path := "/api/pipeline/opportunity/stages/" + st[1].ID

		// Occupied, without moveTo: refused, with counts, nothing changed.
		r := ts.do(req{Method: "DELETE", Path: path, Token: a.APIKey}).want(t, http.StatusConflict, "CONFLICT")
		var counts struct {
			StageID                 string
			Contacts, Opportunities int
		}
		r.into(t, &counts)
		if counts.StageID != st[1].ID || counts.Contacts != 0 || counts.Opportunities != 2 {
			t.Errorf("conflict data = %s", r.Data)
		}
		for _, c := range []struct{ name, moveTo string }{
			{"itself", st[1].ID}, {"another pipeline's", cst[0].ID}, {"another workspace's", bStage}, {"unknown", "nope"},
		} {
			r := ts.do(req{Method: "DELETE", Path: path + "?moveTo=" + c.moveTo, Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if diff := cmp.Diff([]string{"moveTo"}, r.fields()); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s", c.name, diff)
			}
		}
		ts.do(req{Method: "DELETE", Path: path + "?moveTo=" + st[2].ID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		agent := ts.createUser(a, "agent@acme.test", "agent")
		ts.do(req{Method: "DELETE", Path: path + "?moveTo=" + st[2].ID, Token: agent, Workspace: a.WorkspaceID}).want(t, http.StatusForbidden, "FORBIDDEN")
		if got := len(ts.pipelines(t, a)["opportunity"].Stages); got != 4 {
			t.Fatalf("%d stages after refusals, want 4", got)
		}

		// With moveTo: the records move to the end of the target's column,
		// each move recorded; the stage goes; the rest are renumbered.
		r = ts.do(req{Method: "DELETE", Path: path + "?moveTo=" + st[2].ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if r.Message != "Stage deleted successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "stage_delete", r.Body)
		if diff := cmp.Diff([]string{"Prospecting*", "Negotiation", "Closing"}, stageNames(ts.pipelines(t, a)["opportunity"])); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		for i, o := range []opportunityJSON{target, o1, o2} {
			got := ts.getOpportunity(t, a, o.ID)
			if *got.StageID != st[2].ID || got.OrderInCards != i+1 {
				t.Errorf("%s: stage %s order %d", o.Name, *got.StageID, got.OrderInCards)
			}
			if i > 0 {
				h := ts.history(t, a, "opportunity", o.ID)
				if len(h) != 2 || *h[0].FromStageID != st[1].ID || *h[0].ToStageID != st[2].ID || h[0].Actor.Type != "api_key" {
					t.Errorf("%s: history %+v", o.Name, h)
				}
				if got.UpdatedDate == nil {
					t.Errorf("%s: updatedDate not set", o.Name)
				}
			}
		}
		var stage string
		if err := ts.DB.QueryRowForTest(t.Context(), `SELECT stage_id FROM opportunities WHERE id = $1`, gone.ID).Scan(&stage); err != nil || stage != st[2].ID {
			t.Errorf("the deleted opportunity's stage is %q (%v), want %s", stage, err, st[2].ID)
		}
		ts.do(req{Method: "DELETE", Path: path + "?moveTo=" + st[2].ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")

		// Deleting the default makes the first remaining stage the default.
		ts.do(req{Method: "DELETE", Path: "/api/pipeline/opportunity/stages/" + st[0].ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if diff := cmp.Diff([]string{"Negotiation*", "Closing"}, stageNames(ts.pipelines(t, a)["opportunity"])); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		// Contacts move too, and the last stage stays.
		c := ts.newContact(t, a, "carla@client.test", map[string]any{"stageId": cst[0].ID})
		r = ts.do(req{Method: "DELETE", Path: "/api/pipeline/contact/stages/" + cst[0].ID, Token: a.APIKey}).want(t, http.StatusConflict, "CONFLICT")
		r.into(t, &counts)
		if counts.Contacts != 1 || counts.Opportunities != 0 {
			t.Errorf("conflict data = %s", r.Data)
		}
		var d struct {
			ID, MovedTo                       string
			MovedContacts, MovedOpportunities int
		}
		ts.do(req{Method: "DELETE", Path: "/api/pipeline/contact/stages/" + cst[0].ID + "?moveTo=" + cst[3].ID, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &d)
		if d.MovedContacts != 1 || d.MovedOpportunities != 0 || d.MovedTo != cst[3].ID || d.ID != cst[0].ID {
			t.Errorf("deletion = %+v", d)
		}
		if h := ts.history(t, a, "contact", c); *h[0].ToStageID != cst[3].ID {
			t.Errorf("contact history = %+v", h)
		}
		for _, s := range cst[1:3] {
			ts.do(req{Method: "DELETE", Path: "/api/pipeline/contact/stages/" + s.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		}
		ts.do(req{Method: "DELETE", Path: "/api/pipeline/contact/stages/" + cst[3].ID, Token: a.APIKey}).want(t, http.StatusConflict, "CONFLICT")
		if diff := cmp.Diff([]string{"Customer*"}, stageNames(ts.pipelines(t, a)["contact"])); diff != "" {
			t.Errorf("contact stages (-want +got):\n%s", diff)
		}
		// Beta's pipelines are untouched.
		if got := len(ts.pipelines(t, b)["opportunity"].Stages); got != 4 {
			t.Errorf("Beta has %d stages", got)
		}
	})
}
