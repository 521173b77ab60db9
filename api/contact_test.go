package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// contactKit is a workspace to test contacts in, with its masters.
type contactKit struct {
	t  *testing.T
	ts *testServer
	a  tenant
	// Contact and opportunity stages in pipeline order; tags and
	// segmentations by name.
	stages, oppStages []string
	tags, segs        map[string]string
}

func newContactKit(t *testing.T, ts *testServer, workspace, email string) *contactKit {
	t.Helper()
	k := &contactKit{t: t, ts: ts, a: ts.bootstrap(workspace, email), tags: map[string]string{}, segs: map[string]string{}}
	var ws struct {
		MasterOfPhases []struct {
			ID, Pipeline string
			Order        int
		}
		MasterOfTags          []struct{ ID, Name string }
		MasterOfSegmentations []struct{ ID, Name string }
	}
	ts.do(req{Method: "GET", Path: "/api/workspace/" + k.a.WorkspaceID, Token: k.a.APIKey}).want(t, http.StatusOK, "").into(t, &ws)
	for _, p := range ws.MasterOfPhases {
		if p.Pipeline == "contact" {
			k.stages = append(k.stages, p.ID)
		} else {
			k.oppStages = append(k.oppStages, p.ID)
		}
	}
	for _, tg := range ws.MasterOfTags {
		k.tags[tg.Name] = tg.ID
	}
	for _, s := range ws.MasterOfSegmentations {
		k.segs[s.Name] = s.ID
	}
	return k
}

// contactJSON is a rendered contact, the fields tests look at.
type contactJSON struct {
	ID                     string
	StageID                *string
	PlatformID             int
	Name, Lastname         string
	Email                  *string
	PlatformSenderPhone    *string
	PlatformSenderEmail    *string
	InternalWhatsappNumber *string
	AssignedAgentID        *string
	AssignedAgentName      *string
	SegmentationID         *string
	IsBotEnabled, IsRead   bool
	Blocked, IsSolved      bool
	SolvedByAgentID        *string
	SolvedDate             *string
	Tags                   []struct{ ID, Name, Color, AssignmentDate string }
	CustomFields           []struct {
		Code  string
		Value any
	}
	UpdatedDate string
}

// post sends a request as the kit's workspace owner.
func (k *contactKit) do(method, path string, body any) *response {
	k.t.Helper()
	return k.ts.do(req{Method: method, Path: path, Token: k.a.APIKey, Body: body})
}

// create creates a contact and returns it.
func (k *contactKit) create(body map[string]any) contactJSON {
	k.t.Helper()
	var d struct {
		ID      string
		Contact contactJSON
	}
	k.do("POST", "/api/contact", body).want(k.t, http.StatusOK, "").into(k.t, &d)
	if d.ID == "" || d.ID != d.Contact.ID {
		k.t.Fatalf("created id %q, contact id %q", d.ID, d.Contact.ID)
	}
	return d.Contact
}

// get returns a contact by id.
func (k *contactKit) get(id string) contactJSON {
	k.t.Helper()
	var d struct {
		ContactID string
		Data      []contactJSON
	}
	k.do("GET", "/api/contact/"+id, nil).want(k.t, http.StatusOK, "").into(k.t, &d)
	if d.ContactID != id || len(d.Data) != 1 || d.Data[0].ID != id {
		k.t.Fatalf("get %s = %+v", id, d)
	}
	return d.Data[0]
}

// update updates a contact and returns it.
func (k *contactKit) update(id string, body any) contactJSON {
	k.t.Helper()
	var d struct {
		ID      string
		Contact contactJSON
	}
	k.do("PUT", "/api/contact?id="+url.QueryEscape(id)+"&workspaceId="+k.a.WorkspaceID, body).want(k.t, http.StatusOK, "").into(k.t, &d)
	if d.ID != id || d.Contact.ID != id {
		k.t.Fatalf("updated id %q, contact id %q, want %s", d.ID, d.Contact.ID, id)
	}
	return d.Contact
}

// memberID adds a member with role and returns their user id.
func (k *contactKit) memberID(email, role string) string {
	k.t.Helper()
	var created struct{ UserID string }
	k.do("POST", "/api/user", map[string]any{"name": "Luis", "lastName": "Paz", "email": email, "password": "member-pass-1", "role": role}).
		want(k.t, http.StatusOK, "").into(k.t, &created)
	return created.UserID
}

// conflictWith checks r is a 409 naming the existing contact id.
func conflictWith(t *testing.T, r *response, id string) {
	t.Helper()
	r.want(t, http.StatusConflict, "CONFLICT")
	var d struct{ ContactID string }
	r.into(t, &d)
	if d.ContactID != id {
		t.Fatalf("conflict names %q, want %s\n%s", d.ContactID, id, r.Body)
	}
}

func TestContactCreate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")

		// Plazbot's documented body (S1): a WhatsApp contact. Without a
		// phone field, internalWhatsappNumber is the customer's number.
		r := k.do("POST", "/api/contact", map[string]any{
			"workspaceId": k.a.WorkspaceID, "name": "Juan", "lastname": "Pérez", "email": "",
			"platformId": 2, "internalWhatsappNumber": "+51 987 654 321", "stageId": "",
		}).want(t, http.StatusOK, "")
		if r.Message != "Contact created successfully." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "contact_create", r.Body)
		var d struct {
			ID      string
			Contact contactJSON
		}
		r.into(t, &d)
		c := d.Contact
		if c.StageID == nil || *c.StageID != k.stages[0] {
			t.Errorf("stageId = %v, want the default stage %s", c.StageID, k.stages[0])
		}
		if c.PlatformSenderPhone == nil || *c.PlatformSenderPhone != "51987654321" || *c.InternalWhatsappNumber != "+51 987 654 321" || c.Email != nil {
			t.Errorf("phone fields = %v %v, email %v", c.PlatformSenderPhone, c.InternalWhatsappNumber, c.Email)
		}

		// A third-party client's body (S7): no workspaceId in the body, PascalCase keys.
		c = k.create(map[string]any{"Name": "Rosa", "PlatformId": 2, "InternalWhatsappNumber": "5215512345678"})
		if *c.PlatformSenderPhone != "5215512345678" {
			t.Errorf("platformSenderPhone = %v", *c.PlatformSenderPhone)
		}

		// With a phone, internalWhatsappNumber is the business's number.
		for i, field := range []string{"phone", "cellphone", "platformSenderPhone"} {
			c = k.create(map[string]any{"name": "Biz " + field, "platformId": 2, "internalWhatsappNumber": "+1 555 000 1234",
				field: fmt.Sprintf("+54 9 11 2345 678%d", i)})
			if want := fmt.Sprintf("549112345678%d", i); *c.PlatformSenderPhone != want || *c.InternalWhatsappNumber != "+1 555 000 1234" {
				t.Errorf("%s: platformSenderPhone %v (want %s), internalWhatsappNumber %v", field, *c.PlatformSenderPhone, want, *c.InternalWhatsappNumber)
			}
		}

		// An e-mail contact with every optional field.
		agent := k.memberID("luis@acme.test", "agent")
		r = k.do("POST", "/api/contact", map[string]any{
			"name": " Eva ", "lastname": "Lima", "email": "Eva@Example.com", "platformId": 1, "stageId": k.stages[2],
			"segmentationId": k.segs["General"], "assignedAgentId": agent, "phone": "0051 912 345 678",
			"tags":         []any{k.tags["Lead"], map[string]any{"id": k.tags["Support"]}},
			"customFields": []any{map[string]any{"code": "dni", "value": "12345678"}, map[string]any{"name": "vip", "value": true}},
		}).want(t, http.StatusOK, "")
		assertGolden(t, "contact_create_full", r.Body)
		r.into(t, &d)
		c = d.Contact
		if c.Name != "Eva" || *c.Email != "Eva@Example.com" || *c.PlatformSenderEmail != "Eva@Example.com" || *c.StageID != k.stages[2] ||
			*c.AssignedAgentID != agent || *c.AssignedAgentName != "Luis Paz" || *c.SegmentationID != k.segs["General"] ||
			*c.PlatformSenderPhone != "51912345678" || len(c.Tags) != 2 || len(c.CustomFields) != 2 || c.CustomFields[1].Code != "vip" {
			t.Errorf("contact = %+v", c)
		}
		if got := k.get(c.ID); !cmp.Equal(got, c) {
			t.Errorf("get differs from create (-create +get):\n%s", cmp.Diff(c, got))
		}
	})
}

func TestContactCreate_Invalid(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		wa := func(extra map[string]any) map[string]any {
			b := map[string]any{"name": "Juan", "platformId": 2, "internalWhatsappNumber": "+51987654321"}
			for key, v := range extra {
				b[key] = v
			}
			return b
		}
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty object", map[string]any{}, []string{"name", "platformId"}},
			{"no body", nil, []string{"body"}},
			{"not an object", `["x"]`, []string{"body"}},
			{"name is a number", wa(map[string]any{"name": 5}), []string{"name"}},
			{"platformId is a string", wa(map[string]any{"platformId": "2"}), []string{"platformId"}},
			{"platformId out of range", wa(map[string]any{"platformId": 9}), []string{"platformId"}},
			{"WhatsApp without a number", map[string]any{"name": "Juan", "platformId": 2}, []string{"internalWhatsappNumber"}},
			{"webchat without an email", map[string]any{"name": "Juan", "platformId": 1}, []string{"email"}},
			{"bad email", map[string]any{"name": "Juan", "platformId": 1, "email": "juan@"}, []string{"email"}},
			{"number with letters", wa(map[string]any{"internalWhatsappNumber": "+51 98765432a"}), []string{"internalWhatsappNumber"}},
			{"number without country code", wa(map[string]any{"internalWhatsappNumber": "0987 654 321"}), []string{"internalWhatsappNumber"}},
			{"phone too short", wa(map[string]any{"phone": "+51 987"}), []string{"phone"}},
			{"cellphone too long", wa(map[string]any{"cellphone": "+51 987 654 321 123 45"}), []string{"cellphone"}},
			{"unknown stage", wa(map[string]any{"stageId": "no-such-stage"}), []string{"stageId"}},
			{"opportunity stage", wa(map[string]any{"stageId": k.oppStages[0]}), []string{"stageId"}},
			{"unknown refs", wa(map[string]any{"segmentationId": "nope", "assignedAgentId": "nobody", "tags": []string{k.tags["Lead"], "nope"}}),
				[]string{"segmentationId", "assignedAgentId", "tags"}},
			{"tags not an array", wa(map[string]any{"tags": "Lead"}), []string{"tags"}},
			{"tags of numbers", wa(map[string]any{"tags": []int{1}}), []string{"tags"}},
			{"customFields not an array", wa(map[string]any{"customFields": map[string]any{"code": "x"}}), []string{"customFields"}},
			{"customField without code", wa(map[string]any{"customFields": []any{map[string]any{"value": 1}}}), []string{"customFields"}},
			{"customField code a number", wa(map[string]any{"customFields": []any{map[string]any{"code": 1}}}), []string{"customFields"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := k.do("POST", "/api/contact", c.body).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				if diff := cmp.Diff(c.fields, r.fields()); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// Nothing was written.
		var page struct{ Data []contactJSON }
		k.do("GET", "/api/contact", nil).want(t, http.StatusOK, "").into(t, &page)
		if len(page.Data) != 0 {
			t.Fatalf("%d contacts were written", len(page.Data))
		}
	})
}

func TestContactCreate_Conflict(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		br := k.create(map[string]any{"name": "Ana", "platformId": 2, "internalWhatsappNumber": "+55 11 98765-4321"})
		mx := k.create(map[string]any{"name": "Rosa", "platformId": 2, "internalWhatsappNumber": "+52 55 1234 5678"})
		ar := k.create(map[string]any{"name": "Leo", "platformId": 2, "internalWhatsappNumber": "+54 9 11 2345 6789"})
		em := k.create(map[string]any{"name": "Eva", "platformId": 1, "email": "Eva@Example.com"})
		for _, c := range []struct {
			name string
			body map[string]any
			id   string
		}{
			{"same number", map[string]any{"name": "X", "platformId": 2, "internalWhatsappNumber": "5511987654321"}, br.ID},
			{"Brazil without the ninth digit", map[string]any{"name": "X", "platformId": 2, "internalWhatsappNumber": "+55 11 8765-4321"}, br.ID},
			{"Mexico with the mobile 1", map[string]any{"name": "X", "platformId": 2, "internalWhatsappNumber": "00 52 1 55 1234 5678"}, mx.ID},
			{"Argentina without the 9", map[string]any{"name": "X", "platformId": 2, "phone": "+54 11 2345 6789", "internalWhatsappNumber": "+1 555 000 1234"}, ar.ID},
			{"number on a webchat contact", map[string]any{"name": "X", "platformId": 1, "email": "x@example.com", "phone": "+55 11 8765 4321"}, br.ID},
			{"email in another case", map[string]any{"name": "X", "platformId": 1, "email": "EVA@example.COM"}, em.ID},
			{"email on a WhatsApp contact", map[string]any{"name": "X", "platformId": 2, "internalWhatsappNumber": "+51 900 000 001", "email": " eva@example.com "}, em.ID},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := k.do("POST", "/api/contact", c.body)
				conflictWith(t, r, c.id)
				if c.name == "same number" {
					assertGolden(t, "contact_create_conflict", r.Body)
				}
			})
		}
		// Another workspace may have the same number and e-mail.
		b := newContactKit(t, ts, "Beta", "bob@beta.test")
		b.create(map[string]any{"name": "Ana", "platformId": 2, "internalWhatsappNumber": "+55 11 98765-4321"})
		b.create(map[string]any{"name": "Eva", "platformId": 1, "email": "eva@example.com"})
	})
}

// TestContactCreate_Concurrent: eight clients create one number at once;
// exactly one succeeds, the others get 409 naming it.
func TestContactCreate_Concurrent(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		formats := []string{"+51 987 654 321", "51987654321", "0051987654321", "+51-987-654-321"}
		const n = 8
		type result struct {
			status int
			body   []byte
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("Racer %d", i), "platformId": 2, "internalWhatsappNumber": formats[i%len(formats)]})
				hr, _ := http.NewRequest("POST", ts.URL+"/api/contact", bytes.NewReader(body))
				hr.Header.Set("Authorization", "Bearer "+k.a.APIKey)
				hr.Header.Set("Content-Type", "application/json")
				<-start
				resp, err := http.DefaultClient.Do(hr)
				if err != nil {
					results[i] = result{status: -1, body: []byte(err.Error())}
					return
				}
				defer resp.Body.Close()
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				results[i] = result{resp.StatusCode, buf.Bytes()}
			}()
		}
		close(start)
		wg.Wait()
		var winner string
		var conflicts []string
		for _, res := range results {
			var env struct {
				Data struct{ ID, ContactID string }
			}
			json.Unmarshal(res.body, &env)
			switch res.status {
			case http.StatusOK:
				if winner != "" {
					t.Fatalf("two creates succeeded: %s and %s", winner, env.Data.ID)
				}
				winner = env.Data.ID
			case http.StatusConflict:
				conflicts = append(conflicts, env.Data.ContactID)
			default:
				t.Fatalf("status %d: %s", res.status, res.body)
			}
		}
		if winner == "" || len(conflicts) != n-1 {
			t.Fatalf("winner %q, %d conflicts", winner, len(conflicts))
		}
		for _, id := range conflicts {
			if id != winner {
				t.Errorf("a conflict names %q, want the winner %s", id, winner)
			}
		}
		var page struct{ Data []contactJSON }
		k.do("GET", "/api/contact", nil).want(t, http.StatusOK, "").into(t, &page)
		if len(page.Data) != 1 {
			t.Fatalf("%d contacts stored, want 1", len(page.Data))
		}
	})
}

func TestContactLookups(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		k := newContactKit(t, ts, "Acme", "ana@acme.test")
		pe := k.create(map[string]any{"name": "Juan", "platformId": 2, "internalWhatsappNumber": "+51 987 654 321", "email": "Juan@Example.com"})
		br := k.create(map[string]any{"name": "Ana", "platformId": 2, "internalWhatsappNumber": "5511987654321"})
		mx := k.create(map[string]any{"name": "Rosa", "platformId": 2, "internalWhatsappNumber": "+52 1 55 1234 5678"})
		ar := k.create(map[string]any{"name": "Leo", "platformId": 2, "internalWhatsappNumber": "+54 11 2345 6789"})

		r := k.do("GET", "/api/contact/"+pe.ID+"?workspaceId="+k.a.WorkspaceID, nil).want(t, http.StatusOK, "")
		if r.Message != "Successfully obtained list." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "contact_get", r.Body)

		for _, c := range []struct {
			query, id string
		}{
			{"cellphone=51987654321", pe.ID},
			{"cellphone=" + url.QueryEscape("+51 987 654 321"), pe.ID},
			{"cellphone=0051987654321", pe.ID},
			{"Cellphone=" + url.QueryEscape("(+51) 987-654-321"), pe.ID},
			{"phone=51987654321", pe.ID},
			{"cellphone=551187654321", br.ID},
			{"cellphone=" + url.QueryEscape("+55 11 98765-4321"), br.ID},
			{"cellphone=525512345678", mx.ID},
			{"cellphone=" + url.QueryEscape("+52 1 55 1234 5678"), mx.ID},
			{"cellphone=5491123456789", ar.ID},
			{"cellphone=541123456789", ar.ID},
		} {
			t.Run(c.query, func(t *testing.T) {
				var d struct {
					ContactID string
					Data      []contactJSON
				}
				r := k.do("GET", "/api/contact/searchByCellphone?"+c.query, nil).want(t, http.StatusOK, "")
				r.into(t, &d)
				if d.ContactID != c.id || len(d.Data) != 1 || d.Data[0].ID != c.id {
					t.Fatalf("found %s, want %s", r.Data, c.id)
				}
			})
		}
		for _, email := range []string{"Juan@Example.com", "juan@example.com", "JUAN@EXAMPLE.COM", " juan@example.com "} {
			var d struct{ ContactID string }
			k.do("GET", "/api/contact/searchByEmail?email="+url.QueryEscape(email), nil).want(t, http.StatusOK, "").into(t, &d)
			if d.ContactID != pe.ID {
				t.Errorf("searchByEmail(%q) = %s, want %s", email, d.ContactID, pe.ID)
			}
		}

		for _, c := range []struct {
			path   string
			status int
			field  string
		}{
			{"/api/contact/no-such-id", http.StatusNotFound, ""},
			{"/api/contact/searchByEmail?email=nobody@example.com", http.StatusNotFound, ""},
			{"/api/contact/searchByEmail", http.StatusBadRequest, "email"},
			{"/api/contact/searchByCellphone?cellphone=51987654320", http.StatusNotFound, ""},
			{"/api/contact/searchByCellphone", http.StatusBadRequest, "cellphone"},
			{"/api/contact/searchByCellphone?cellphone=abc", http.StatusBadRequest, "cellphone"},
			{"/api/contact/searchByCellphone?cellphone=0987654321", http.StatusBadRequest, "cellphone"},
		} {
			t.Run(c.path, func(t *testing.T) {
				code := map[int]string{http.StatusNotFound: "NOT_FOUND", http.StatusBadRequest: "VALIDATION_FAILED"}[c.status]
				r := k.do("GET", c.path, nil).want(t, c.status, code)
				if c.field != "" && !slices.Equal(r.fields(), []string{c.field}) {
					t.Fatalf("fields = %v, want %s", r.fields(), c.field)
				}
			})
		}
	})
}
