package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// masterJSON is a tag or segmentation as the API renders it.
type masterJSON struct{ ID, Name, Color, CreationDate string }

func (e *taskEnv) listMasters(tn tenant, path string) []masterJSON {
	e.t.Helper()
	var ms []masterJSON
	e.do(req{Method: "GET", Path: path, Token: tn.APIKey}).want(e.t, http.StatusOK, "").into(e.t, &ms)
	return ms
}

func masterNames(ms []masterJSON) []string {
	names := []string{}
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

func (e *taskEnv) createMaster(tn tenant, path string, body map[string]any) masterJSON {
	e.t.Helper()
	var m masterJSON
	e.do(req{Method: "POST", Path: path, Token: tn.APIKey, Body: body}).want(e.t, http.StatusOK, "").into(e.t, &m)
	return m
}

// masterConflictID is the id a 409's data names.
func masterConflictID(t *testing.T, r *response) string {
	t.Helper()
	var d map[string]string
	if err := json.Unmarshal(r.Data, &d); err != nil || len(d) != 1 {
		t.Fatalf("conflict data = %s (%v)", r.Data, err)
	}
	return d["id"]
}

// TestMasters runs the same checks on tags and segmentations, which share
// their rules.
func TestMasters(t *testing.T) {
	for _, kind := range []struct {
		path, what string
		defaults   []string // the masters a new workspace has
	}{
		{"/api/tag", "Tag", []string{"Customer", "Lead", "Support"}},
		{"/api/segmentation", "Segmentation", []string{"General"}},
	} {
		t.Run(kind.what, func(t *testing.T) {
			eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
				a, b := e.a, e.b
				golden := strings.ToLower(kind.what)
				r := e.do(req{Method: "GET", Path: kind.path + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
				if r.Message != "List obtained successfully." {
					t.Errorf("message = %q", r.Message)
				}
				assertGolden(t, golden+"_list", r.Body)

				// Create: trimmed name, colour in lower case or the default.
				r = e.do(req{Method: "POST", Path: kind.path, Token: a.APIKey, Body: map[string]any{"name": " VIP ", "color": "#FF0000", "workspaceId": a.WorkspaceID}}).want(t, http.StatusOK, "")
				if r.Message != kind.what+" created successfully." {
					t.Errorf("message = %q", r.Message)
				}
				assertGolden(t, golden+"_create", r.Body)
				var vip masterJSON
				r.into(t, &vip)
				if vip.Name != "VIP" || vip.Color != "#ff0000" || vip.ID == "" {
					t.Fatalf("created = %+v", vip)
				}
				plain := e.createMaster(a, kind.path, map[string]any{"Name": "alpha"})
				if plain.Color != "#64748b" {
					t.Errorf("default color = %q", plain.Color)
				}
				nandu := e.createMaster(a, kind.path, map[string]any{"name": "Ñandú"})
				// Sorted by name regardless of case.
				want := append([]string{"alpha"}, kind.defaults...)
				want = append(want, "VIP", "Ñandú")
				if diff := cmp.Diff(want, masterNames(e.listMasters(a, kind.path))); diff != "" {
					t.Fatalf("list (-want +got):\n%s", diff)
				}

				// Names are unique in a workspace regardless of case, Unicode included.
				for name, existing := range map[string]string{"vip": vip.ID, " Vip": vip.ID, "ñANDÚ": nandu.ID} {
					r := e.do(req{Method: "POST", Path: kind.path, Token: a.APIKey, Body: map[string]any{"name": name}}).want(t, http.StatusConflict, "CONFLICT")
					if id := masterConflictID(t, r); id != existing {
						t.Errorf("%q: conflict names %q, want %q", name, id, existing)
					}
				}
				// ... but another workspace may use the same name.
				bVIP := e.createMaster(b, kind.path, map[string]any{"name": "VIP"})

				// Update, in each of Plazbot's forms.
				byID := kind.path + "/" + vip.ID
				r = e.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"name": "V.I.P.", "color": "#00AA00"}}).want(t, http.StatusOK, "")
				if r.Message != kind.what+" updated successfully." {
					t.Errorf("message = %q", r.Message)
				}
				assertGolden(t, golden+"_update", r.Body)
				var got masterJSON
				e.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"paramToUpdate": "color", "color": "#0000ff", "name": "ignored"}}).want(t, http.StatusOK, "").into(t, &got)
				e.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"name": "v.i.p."}}).want(t, http.StatusOK, "").into(t, &got)
				if diff := cmp.Diff(masterJSON{vip.ID, "v.i.p.", "#0000ff", vip.CreationDate}, got); diff != "" {
					t.Fatalf("after updates (-want +got):\n%s", diff)
				}
				r = e.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"name": "ALPHA"}}).want(t, http.StatusConflict, "CONFLICT")
				if id := masterConflictID(t, r); id != plain.ID {
					t.Errorf("rename conflict names %q, want %q", id, plain.ID)
				}

				// Bad input names every offending field and writes nothing.
				for _, c := range []struct {
					method, name string
					body         any
					fields       []string
				}{
					{"POST", "empty object", map[string]any{}, []string{"name"}},
					{"POST", "no body", nil, []string{"body"}},
					{"POST", "name is a number", map[string]any{"name": 5}, []string{"name"}},
					{"POST", "name is a number, bad colour", map[string]any{"name": 5, "color": "red"}, []string{"name", "color"}},
					{"POST", "blank name, colour not a string", map[string]any{"name": " ", "color": 1}, []string{"color", "name"}},
					{"POST", "name too long", map[string]any{"name": strings.Repeat("x", 101)}, []string{"name"}},
					{"POST", "short colour", map[string]any{"name": "x", "color": "#fff"}, []string{"color"}},
					{"PUT", "empty object", map[string]any{}, []string{"body"}},
					{"PUT", "unknown keys only", map[string]any{"colour": "#ffffff"}, []string{"body"}},
					{"PUT", "unknown paramToUpdate", map[string]any{"paramToUpdate": "size", "size": 2}, []string{"paramToUpdate"}},
					{"PUT", "null name", map[string]any{"name": nil}, []string{"name"}},
					{"PUT", "null colour", map[string]any{"color": nil}, []string{"color"}},
					{"PUT", "name is a number", map[string]any{"name": 5}, []string{"name"}},
				} {
					path := kind.path
					if c.method == "PUT" {
						path = byID
					}
					r := e.do(req{Method: c.method, Path: path, Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
					if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
						t.Errorf("%s %s: fields (-want +got):\n%s\n%s", c.method, c.name, diff, r.Body)
					}
				}
				before := e.listMasters(a, kind.path)
				if len(before) != len(kind.defaults)+3 {
					t.Fatalf("list after bad requests = %v", masterNames(before))
				}

				// Another workspace's record: 404 and unchanged.
				e.do(req{Method: "PUT", Path: kind.path + "/" + bVIP.ID, Token: a.APIKey, Body: map[string]any{"name": "mine"}}).want(t, http.StatusNotFound, "NOT_FOUND")
				e.do(req{Method: "DELETE", Path: kind.path + "/" + bVIP.ID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
				bList := e.listMasters(b, kind.path)
				if bList[len(bList)-1] != bVIP {
					t.Fatalf("Beta's list = %+v", bList)
				}

				// Roles: members list; only owners and admins write.
				admin := e.createUser(a, "admin@acme.test", "admin")
				for _, role := range []string{"agent", "commercial"} {
					tok := e.createUser(a, role+"@acme.test", role)
					e.do(req{Method: "GET", Path: kind.path, Token: tok, Workspace: a.WorkspaceID}).want(t, http.StatusOK, "")
					e.do(req{Method: "POST", Path: kind.path, Token: tok, Workspace: a.WorkspaceID, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusForbidden, "FORBIDDEN")
					e.do(req{Method: "PUT", Path: byID, Token: tok, Workspace: a.WorkspaceID, Body: map[string]any{"name": "Mine"}}).want(t, http.StatusForbidden, "FORBIDDEN")
					e.do(req{Method: "DELETE", Path: byID, Token: tok, Workspace: a.WorkspaceID}).want(t, http.StatusForbidden, "FORBIDDEN")
				}
				e.do(req{Method: "POST", Path: kind.path, Token: admin, Workspace: a.WorkspaceID, Body: map[string]any{"name": "By admin"}}).want(t, http.StatusOK, "")

				// Delete: the record is gone; twice is 404.
				r = e.do(req{Method: "DELETE", Path: byID, Token: a.APIKey}).want(t, http.StatusOK, "")
				if r.Message != kind.what+" deleted successfully." {
					t.Errorf("message = %q", r.Message)
				}
				assertGolden(t, golden+"_delete", r.Body)
				e.do(req{Method: "DELETE", Path: byID, Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
				e.do(req{Method: "PUT", Path: byID, Token: a.APIKey, Body: map[string]any{"name": "back"}}).want(t, http.StatusNotFound, "NOT_FOUND")
				for _, m := range e.listMasters(a, kind.path) {
					if m.ID == vip.ID {
						t.Fatal("the deleted record is still listed")
					}
				}
				// Its name is free again.
				e.createMaster(a, kind.path, map[string]any{"name": "VIP"})
			})
		})
	}
}

// masterContactJSON is the part of a contact the master tests look at.
type masterContactJSON struct {
	ID             string
	SegmentationID *string
	UpdatedDate    string
	Tags           []struct{ ID, Name string }
}

func (e *taskEnv) getContact(tn tenant, id string) masterContactJSON {
	e.t.Helper()
	var lookup struct{ Data []masterContactJSON }
	e.do(req{Method: "GET", Path: "/api/contact/" + id, Token: tn.APIKey}).want(e.t, http.StatusOK, "").into(e.t, &lookup)
	if len(lookup.Data) != 1 {
		e.t.Fatalf("contact lookup holds %d contacts", len(lookup.Data))
	}
	return lookup.Data[0]
}

func TestTagDelete_TakesTagOffContacts(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		tag := e.createMaster(a, "/api/tag", map[string]any{"name": "Hot"})
		other := e.createMaster(a, "/api/tag", map[string]any{"name": "Cold"})
		var created struct{ ID string }
		e.do(req{Method: "POST", Path: "/api/contact", Token: a.APIKey, Body: map[string]any{
			"name": "Rosa", "platformId": 1, "email": "rosa@example.test", "tags": []string{tag.ID, other.ID},
		}}).want(t, http.StatusOK, "").into(t, &created)
		before := e.getContact(a, created.ID)
		if len(before.Tags) != 2 {
			t.Fatalf("contact tags = %+v", before.Tags)
		}

		e.do(req{Method: "DELETE", Path: "/api/tag/" + tag.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		after := e.getContact(a, created.ID)
		if len(after.Tags) != 1 || after.Tags[0].ID != other.ID {
			t.Fatalf("contact tags after the delete = %+v", after.Tags)
		}
		if after.UpdatedDate <= before.UpdatedDate {
			t.Fatalf("updatedDate %s did not move past %s", after.UpdatedDate, before.UpdatedDate)
		}
		// The deleted tag can no longer be given to a contact.
		r := e.do(req{Method: "PUT", Path: "/api/contact?id=" + created.ID, Token: a.APIKey, Body: map[string]any{"tags": []string{tag.ID}}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"tags"}, r.fields()); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
	})
}

func TestSegmentationDelete_InUse(t *testing.T) {
	eachTaskEnv(t, func(t *testing.T, e *taskEnv) {
		a := e.a
		seg := e.createMaster(a, "/api/segmentation", map[string]any{"name": "Retail"})
		contact := e.newContact(a, "Rosa", seg.ID)
		opp := e.newOpportunity(a, "Deal", seg.ID)
		gone := e.newContact(a, "Deleted", seg.ID)
		e.do(req{Method: "POST", Path: "/api/contact/delete-batch", Token: a.APIKey, Body: map[string]any{
			"contactIds": []map[string]string{{"ids": gone}}}}).want(t, http.StatusOK, "")
		uses := func() int {
			return e.count(`SELECT (SELECT count(*) FROM contacts WHERE segmentation_id = $1) + (SELECT count(*) FROM opportunities WHERE segmentation_id = $1)`, seg.ID)
		}
		oppSegmentation := func() *string {
			var o struct{ SegmentationID *string }
			e.do(req{Method: "GET", Path: "/api/opportunity/" + opp, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &o)
			return o.SegmentationID
		}

		// In use: refused, and nothing changes.
		r := e.do(req{Method: "DELETE", Path: "/api/segmentation/" + seg.ID, Token: a.APIKey}).want(t, http.StatusConflict, "CONFLICT")
		assertGolden(t, "segmentation_delete_in_use", r.Body)
		var counts map[string]int
		r.into(t, &counts)
		if diff := cmp.Diff(map[string]int{"contacts": 1, "opportunities": 1}, counts); diff != "" {
			t.Fatalf("counts (-want +got):\n%s", diff)
		}
		if n := uses(); n != 3 {
			t.Fatalf("%d records still in the segmentation, want 3", n)
		}
		e.do(req{Method: "DELETE", Path: "/api/segmentation/" + seg.ID + "?force=false", Token: a.APIKey}).want(t, http.StatusConflict, "CONFLICT")
		r = e.do(req{Method: "DELETE", Path: "/api/segmentation/" + seg.ID + "?force=maybe", Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"force"}, r.fields()); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
		found := false
		for _, m := range e.listMasters(a, "/api/segmentation") {
			found = found || m.ID == seg.ID
		}
		if !found {
			t.Fatal("the refused segmentation is gone")
		}
		before := e.getContact(a, contact)
		if before.SegmentationID == nil || *before.SegmentationID != seg.ID {
			t.Fatalf("contact segmentation = %v", before.SegmentationID)
		}

		// Forced: taken off every record, deleted ones included, then deleted.
		e.do(req{Method: "DELETE", Path: "/api/segmentation/" + seg.ID + "?force=true", Token: a.APIKey}).want(t, http.StatusOK, "")
		if n := uses(); n != 0 {
			t.Fatalf("%d records still in the deleted segmentation", n)
		}
		after := e.getContact(a, contact)
		if after.SegmentationID != nil || after.UpdatedDate <= before.UpdatedDate {
			t.Fatalf("contact after the forced delete = %+v (before %+v)", after, before)
		}
		if s := oppSegmentation(); s != nil {
			t.Fatalf("opportunity segmentation = %q", *s)
		}
		// The segmentation can no longer be given.
		r = e.do(req{Method: "PUT", Path: "/api/contact?id=" + contact, Token: a.APIKey, Body: map[string]any{"segmentationId": seg.ID}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if diff := cmp.Diff([]string{"segmentationId"}, r.fields()); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}

		// Only deleted records in it: no conflict.
		old := e.createMaster(a, "/api/segmentation", map[string]any{"name": "Old"})
		ghost := e.newContact(a, "Ghost", old.ID)
		e.do(req{Method: "POST", Path: "/api/contact/delete-batch", Token: a.APIKey, Body: map[string]any{
			"contactIds": []string{ghost}}}).want(t, http.StatusOK, "")
		e.do(req{Method: "DELETE", Path: "/api/segmentation/" + old.ID, Token: a.APIKey}).want(t, http.StatusOK, "")

		// Another workspace's segmentation in use stays put.
		bSeg := e.createMaster(e.b, "/api/segmentation", map[string]any{"name": "B"})
		bContact := e.newContact(e.b, "B's", bSeg.ID)
		e.do(req{Method: "DELETE", Path: "/api/segmentation/" + bSeg.ID + "?force=true", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		if got := e.getContact(e.b, bContact).SegmentationID; got == nil || *got != bSeg.ID {
			t.Fatalf("Beta's contact segmentation = %v", got)
		}
	})
}
