package api_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkspaceGet(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		var ws struct {
			ID, UserID, Name string
			Status           int
			DeletionDate     *string
			MasterOfStates   []struct {
				ID, Name, StateCode string
				Order               int
				IsDefault           bool
			}
			MasterOfPhases []struct {
				ID, Pipeline, Name string
				Order              int
				IsDefault          bool
			}
			MasterOfSegmentations []struct{ ID, Name string }
			MasterOfTags          []struct{ ID, Name, Color string }
			MasterOfProjects      []any
			Integrations          []any
		}
		r := ts.do(req{Method: "GET", Path: "/api/workspace/" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		assertGolden(t, "workspace_get", r.Body)
		r.into(t, &ws)
		if ws.ID != a.WorkspaceID || ws.UserID != a.UserID || ws.Name != "Acme" || ws.Status != 1 || ws.DeletionDate != nil {
			t.Fatalf("workspace = %+v", ws)
		}
		type state struct {
			Name, Code string
			Default    bool
		}
		var states []state
		for _, s := range ws.MasterOfStates {
			states = append(states, state{s.Name, s.StateCode, s.IsDefault})
		}
		if diff := cmp.Diff([]state{{"To do", "TODO", true}, {"In progress", "IN_PROGRESS", false}, {"Done", "DONE", false}}, states); diff != "" {
			t.Errorf("task states (-want +got):\n%s", diff)
		}
		defaults := map[string]int{}
		count := map[string]int{}
		for _, p := range ws.MasterOfPhases {
			count[p.Pipeline]++
			if p.IsDefault {
				defaults[p.Pipeline]++
			}
		}
		if count["contact"] < 2 || count["opportunity"] < 2 || defaults["contact"] != 1 || defaults["opportunity"] != 1 {
			t.Errorf("stages: %d contact, %d opportunity, defaults %v", count["contact"], count["opportunity"], defaults)
		}
		if len(ws.MasterOfSegmentations) == 0 || len(ws.MasterOfTags) == 0 || ws.MasterOfProjects == nil || ws.Integrations == nil {
			t.Errorf("masters missing: %s", r.Data)
		}

		// Each workspace has masters of its own.
		b := ts.bootstrap("Beta", "bob@beta.test")
		var wb struct{ MasterOfTags []struct{ ID string } }
		ts.do(req{Method: "GET", Path: "/api/workspace/" + b.WorkspaceID, Token: b.APIKey}).want(t, http.StatusOK, "").into(t, &wb)
		if len(wb.MasterOfTags) != len(ws.MasterOfTags) || wb.MasterOfTags[0].ID == ws.MasterOfTags[0].ID {
			t.Errorf("Beta's tags %+v share ids with Acme's %+v", wb.MasterOfTags, ws.MasterOfTags)
		}
	})
}
