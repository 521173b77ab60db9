package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContactUpdate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		c := k.create(map[string]any{"name": "Juan", "lastname": "Pérez", "platformId": 2, "internalWhatsappNumber": "+51 987 654 321"})

		// Form 1: {"<field>": value}, Plazbot's literal reading.
		r := k.do("PUT", "/api/contact?id="+c.ID+"&workspaceId="+k.a.WorkspaceID, map[string]any{"name": "Juan Carlos"}).want(t, http.StatusOK, "")
		if r.Message != "Contact updated successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "contact_update", r.Body)

		// Form 2: paramToUpdate names the field, with the value under its
		// own key or under "value".
		got := k.update(c.ID, map[string]any{"paramToUpdate": "lastname", "lastname": "Quispe"})
		if got.Name != "Juan Carlos" || got.Lastname != "Quispe" {
			t.Fatalf("after paramToUpdate: %q %q", got.Name, got.Lastname)
		}
		got = k.update(c.ID, map[string]any{"paramToUpdate": "Email", "value": "Juan@Example.com"})
		if got.Email == nil || *got.Email != "Juan@Example.com" {
			t.Fatalf("email = %v", got.Email)
		}

		// Form 3: several fields at once, as a real client sends them.
		agent := k.memberID("luis@acme.test", "agent")
		got = k.update(c.ID, map[string]any{
			"tags": []string{k.tags["Lead"], k.tags["Customer"]}, "stageId": k.stages[1],
			"customFields":   []any{map[string]any{"code": "dni", "value": "123"}, map[string]any{"name": "city", "value": "Lima"}},
			"SegmentationId": k.segs["General"], "assignedAgentId": agent, "isBotEnabled": false, "isRead": true, "blocked": true,
			"unknownKey": "ignored",
		})
		if *got.StageID != k.stages[1] || len(got.Tags) != 2 || len(got.CustomFields) != 2 || *got.SegmentationID != k.segs["General"] ||
			*got.AssignedAgentID != agent || *got.AssignedAgentName != "Luis Paz" || got.IsBotEnabled || !got.IsRead || !got.Blocked {
			t.Fatalf("after several fields: %+v", got)
		}
		leadAssigned := got.Tags[0].AssignmentDate

		// tags replaces the set, keeping the assignment date of a tag kept;
		// customFields merges by code, null removing a field.
		got = k.update(c.ID, map[string]any{
			"tags":         []any{map[string]any{"id": k.tags["Lead"]}, k.tags["Support"]},
			"customFields": []any{map[string]any{"code": "dni", "value": "456"}, map[string]any{"code": "city", "value": nil}, map[string]any{"code": "vip", "value": true}},
		})
		var tagNames []string
		for _, tg := range got.Tags {
			tagNames = append(tagNames, tg.Name)
			if tg.Name == "Lead" && tg.AssignmentDate != leadAssigned {
				t.Errorf("Lead's assignment date changed: %s -> %s", leadAssigned, tg.AssignmentDate)
			}
		}
		if diff := cmp.Diff([]string{"Lead", "Support"}, tagNames); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		type field struct {
			Code  string
			Value any
		}
		var fields []field
		for _, f := range got.CustomFields {
			fields = append(fields, field{f.Code, f.Value})
		}
		if diff := cmp.Diff([]field{{"dni", "456"}, {"vip", true}}, fields); diff != "" {
			t.Errorf("customFields (-want +got):\n%s", diff)
		}

		// isSolved records who solved it and when; false clears both.
		got = k.update(c.ID, map[string]any{"isSolved": true})
		if !got.IsSolved || got.SolvedByAgentID == nil || *got.SolvedByAgentID != k.a.UserID || got.SolvedDate == nil {
			t.Fatalf("solved: %v %v %v", got.IsSolved, got.SolvedByAgentID, got.SolvedDate)
		}
		got = k.update(c.ID, map[string]any{"isSolved": false})
		if got.IsSolved || got.SolvedByAgentID != nil || got.SolvedDate != nil {
			t.Fatalf("unsolved: %v %v %v", got.IsSolved, got.SolvedByAgentID, got.SolvedDate)
		}

		// null and "" clear the nullable references; tags [] clears the tags.
		got = k.update(c.ID, map[string]any{"segmentationId": nil, "assignedAgentId": "", "tags": []string{}, "email": nil, "lastname": nil})
		if got.SegmentationID != nil || got.AssignedAgentID != nil || got.AssignedAgentName != nil || len(got.Tags) != 0 || got.Email != nil || got.Lastname != "" {
			t.Fatalf("after clearing: %+v", got)
		}

		// A new number is normalised and found in any format.
		got = k.update(c.ID, map[string]any{"platformSenderPhone": "00 55 11 98765 4321"})
		if *got.PlatformSenderPhone != "5511987654321" {
			t.Fatalf("platformSenderPhone = %s", *got.PlatformSenderPhone)
		}
		var d struct{ ContactID string }
		k.do("GET", "/api/contact/searchByCellphone?cellphone=551187654321", nil).want(t, http.StatusOK, "").into(t, &d)
		if d.ContactID != c.ID {
			t.Fatalf("found %s by the new number's variant", d.ContactID)
		}
		k.do("GET", "/api/contact/searchByCellphone?cellphone=51987654321", nil).want(t, http.StatusNotFound, "NOT_FOUND")

		// The stage changed once (stages[0] -> stages[1]); history has the
		// creation and that change, attributed to the API key.
		var n int
		if err := ts.DB.QueryRowForTest(context.Background(), `SELECT count(*) FROM stage_history WHERE workspace_id = $1
			AND entity = 'contact' AND record_id = $2 AND actor_type = 'api_key'`, k.a.WorkspaceID, c.ID).Scan(&n); err != nil || n != 2 {
			t.Fatalf("stage history rows = %d, %v; want 2", n, err)
		}
	})
}

func TestContactUpdate_Conflict(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		ana := k.create(map[string]any{"name": "Ana", "platformId": 2, "internalWhatsappNumber": "+52 1 55 1234 5678", "email": "ana@example.com"})
		eva := k.create(map[string]any{"name": "Eva", "platformId": 1, "email": "eva@example.com"})
		conflictWith(t, k.do("PUT", "/api/contact?id="+eva.ID, map[string]any{"phone": "+52 55 1234 5678"}), ana.ID)
		conflictWith(t, k.do("PUT", "/api/contact?id="+eva.ID, map[string]any{"email": "ANA@example.com"}), ana.ID)
		// A contact does not conflict with itself.
		k.update(ana.ID, map[string]any{"email": "Ana@Example.com", "cellphone": "5215512345678"})
		if got := k.get(eva.ID); got.PlatformSenderPhone != nil || *got.Email != "eva@example.com" {
			t.Fatalf("eva changed: %+v", got)
		}
	})
}

func TestContactUpdate_Invalid(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		wa := k.create(map[string]any{"name": "Juan", "platformId": 2, "internalWhatsappNumber": "+51 987 654 321"})
		web := k.create(map[string]any{"name": "Eva", "platformId": 1, "email": "eva@example.com"})
		for _, c := range []struct {
			name   string
			id     string
			body   any
			fields []string
		}{
			{"no id", "", map[string]any{"name": "X"}, []string{"id"}},
			{"no body", wa.ID, nil, []string{"body"}},
			{"not an object", wa.ID, `[1]`, []string{"body"}},
			{"nothing to update", wa.ID, map[string]any{"unknown": 1}, []string{"body"}},
			{"empty object", wa.ID, map[string]any{}, []string{"body"}},
			{"paramToUpdate names nothing", wa.ID, map[string]any{"paramToUpdate": "password", "password": "x"}, []string{"paramToUpdate"}},
			{"paramToUpdate not a string", wa.ID, map[string]any{"paramToUpdate": 1}, []string{"paramToUpdate"}},
			{"paramToUpdate without its value", wa.ID, map[string]any{"paramToUpdate": "stageId"}, []string{"stageId"}},
			{"wrong types", wa.ID, map[string]any{"name": 1, "isSolved": "yes", "blocked": nil, "tags": "Lead", "customFields": 3, "email": false},
				[]string{"name", "email", "isSolved", "blocked", "tags", "customFields"}},
			{"empty name", wa.ID, map[string]any{"name": "  "}, []string{"name"}},
			{"null stage", wa.ID, map[string]any{"stageId": nil}, []string{"stageId"}},
			{"bad email", wa.ID, map[string]any{"email": "x@"}, []string{"email"}},
			{"bad phone", wa.ID, map[string]any{"phone": "12ab"}, []string{"phone"}},
			{"bad cellphone", wa.ID, map[string]any{"cellphone": "0987654321"}, []string{"cellphone"}},
			{"unknown refs", wa.ID, map[string]any{"stageId": "nope", "segmentationId": "nope", "assignedAgentId": "nope", "tags": []string{"nope"}},
				[]string{"stageId", "segmentationId", "assignedAgentId", "tags"}},
			{"opportunity stage", wa.ID, map[string]any{"stageId": k.oppStages[1]}, []string{"stageId"}},
			{"WhatsApp contact without a number", wa.ID, map[string]any{"phone": nil}, []string{"phone"}},
			{"webchat contact without an email", web.ID, map[string]any{"email": ""}, []string{"email"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := "/api/contact"
				if c.id != "" {
					path += "?id=" + c.id
				}
				r := k.do("PUT", path, c.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// Nothing changed.
		if got := k.get(wa.ID); !cmp.Equal(got, wa) {
			t.Errorf("WhatsApp contact changed (-before +after):\n%s", cmp.Diff(wa, got))
		}
		if got := k.get(web.ID); !cmp.Equal(got, web) {
			t.Errorf("webchat contact changed (-before +after):\n%s", cmp.Diff(web, got))
		}
		k.do("PUT", "/api/contact?id=no-such-contact", map[string]any{"name": "X"}).want(t, http.StatusNotFound, "NOT_FOUND")
	})
}

// TestContact_OtherWorkspace: another workspace's contact ids are 404 on
// every route, and nothing of them changes.
func TestContact_OtherWorkspace(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		b := newContactKit(t, ts, "Beta", "bob@beta.test")
		theirs := b.create(map[string]any{"name": "Bea", "platformId": 1, "email": "bea@beta.test", "phone": "+51 987 654 321"})
		mine := k.create(map[string]any{"name": "Ana", "platformId": 1, "email": "ana@example.com"})
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/contact/" + theirs.ID, nil},
			{"PUT", "/api/contact?id=" + theirs.ID, map[string]any{"name": "Hacked"}},
			{"POST", "/api/contact/" + theirs.ID + "/activities", map[string]any{"content": "x"}},
			{"GET", "/api/contact/" + theirs.ID + "/activities", nil},
			{"POST", "/api/contact/delete-batch", map[string]any{"contactIds": []any{map[string]any{"ids": theirs.ID}}}},
			{"POST", "/api/contact/delete-batch", map[string]any{"contactIds": []any{map[string]any{"ids": mine.ID}, map[string]any{"ids": theirs.ID}}}},
			{"GET", "/api/contact/searchByEmail?email=bea@beta.test", nil},
			{"GET", "/api/contact/searchByCellphone?cellphone=51987654321", nil},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				k.do(c.method, c.path, c.body).want(t, http.StatusNotFound, "NOT_FOUND")
			})
		}
		if got := b.get(theirs.ID); !cmp.Equal(got, theirs) {
			t.Errorf("their contact changed (-before +after):\n%s", cmp.Diff(theirs, got))
		}
		k.get(mine.ID) // all or nothing: mine was not deleted either
		var acts struct{ Data []any }
		b.do("GET", "/api/contact/"+theirs.ID+"/activities", nil).want(t, http.StatusOK, "").into(t, &acts)
		if len(acts.Data) != 0 {
			t.Errorf("an activity was added to their contact: %v", acts.Data)
		}
		// The list shows only the caller's own.
		var page struct{ Data []contactJSON }
		k.do("GET", "/api/contact", nil).want(t, http.StatusOK, "").into(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != mine.ID {
			t.Errorf("list = %+v", page.Data)
		}
	})
}
