package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// opportunityJSON is an opportunity as the API renders it.
type opportunityJSON struct {
	ID, OpportCode, Name, Description, ContactID, UserCreation, WorkspaceID string
	StageID, AssignedAgentID, SegmentationID                                *string
	Amount, FinalAmount                                                     float64
	WinLossStatus, OrderInCards                                             int
	WinLossDate, ExpirationDate, UpdatedDate, DeletionDate, UserDeletion    *string
	Activities                                                              []activityJSON
	CustomFields                                                            []struct {
		Name  string
		Value any
	}
}

type activityJSON struct {
	ID, Content, Date, CategoryType string
	UserID                          *string
}

type stageJSON struct {
	ID, Pipeline, Name, Color string
	Order                     int
	IsDefault                 bool
}

type pipelineJSON struct {
	ID, Name string
	Stages   []stageJSON
}

type stageChangeJSON struct {
	ID, Entity, RecordID               string
	FromStageID, ToStageID, LossReason *string
	FromWinLossStatus, ToWinLossStatus *int
	Actor                              struct{ Type, ID string }
}

// pipelines returns the tenant's pipelines by id.
func (ts *testServer) pipelines(t *testing.T, a tenant) map[string]pipelineJSON {
	t.Helper()
	var list []pipelineJSON
	ts.do(req{Method: "GET", Path: "/api/pipeline", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &list)
	m := map[string]pipelineJSON{}
	for _, p := range list {
		m[p.ID] = p
	}
	return m
}

func defaultStage(p pipelineJSON) string {
	for _, st := range p.Stages {
		if st.IsDefault {
			return st.ID
		}
	}
	return ""
}

// newOpportunity creates an opportunity with body's fields over a valid
// name, description and amount.
func (ts *testServer) newOpportunity(t *testing.T, a tenant, body map[string]any) opportunityJSON {
	t.Helper()
	b := map[string]any{"name": "Deal", "description": "A deal", "amount": 100}
	for k, v := range body {
		b[k] = v
	}
	var out struct {
		ID          string
		Opportunity opportunityJSON
	}
	ts.do(req{Method: "POST", Path: "/api/opportunity", Token: a.APIKey, Body: b}).want(t, http.StatusOK, "").into(t, &out)
	if out.ID != out.Opportunity.ID {
		t.Fatalf("data.id %q != opportunity.id %q", out.ID, out.Opportunity.ID)
	}
	return out.Opportunity
}

func (ts *testServer) getOpportunity(t *testing.T, a tenant, id string) opportunityJSON {
	t.Helper()
	var o opportunityJSON
	ts.do(req{Method: "GET", Path: "/api/opportunity/" + id, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &o)
	return o
}

func (ts *testServer) history(t *testing.T, a tenant, entity, id string) []stageChangeJSON {
	t.Helper()
	var h []stageChangeJSON
	ts.do(req{Method: "GET", Path: "/api/" + entity + "/" + id + "/history", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &h)
	return h
}

// newContact creates a web-chat contact through the contacts API.
func (ts *testServer) newContact(t *testing.T, a tenant, email string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"name": "Carla", "platformId": 1, "email": email}
	for k, v := range extra {
		body[k] = v
	}
	var out struct{ ID string }
	ts.do(req{Method: "POST", Path: "/api/contact", Token: a.APIKey, Body: body}).want(t, http.StatusOK, "").into(t, &out)
	if out.ID == "" {
		t.Fatal("contact create returned no id")
	}
	return out.ID
}

// seedOpportunityKeys are the keys of the opportunity in the seed page's
// Create Opportunity reply (reference/seed-create-opportunity.txt).
var seedOpportunityKeys = []string{"id", "opportCode", "opportStatus", "winLossStatus", "winLossDate", "finalAmount",
	"creationDate", "creationTypeId", "updatedDate", "deletionDate", "userDeletion", "statusId", "files", "orderInCards",
	"orderInCardsLastUpdated", "activities", "segmentationId", "workspaceId", "name", "description", "amount",
	"userCreation", "contactId", "expirationDate", "assignedAgentId", "stageId"}

// seedReply parses the reply example of the seed page, when the reference
// is checked out beside the code.
func seedReply(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../shared/reference/seed-create-opportunity.txt")
	if err != nil {
		t.Logf("seed page not found (%v): checking against the embedded key list only", err)
		return nil
	}
	s := string(b)
	i := strings.Index(s, "Response Response Example")
	if i < 0 {
		t.Fatal("seed page: no response example")
	}
	s = s[i:]
	start := strings.Index(s, "{")
	depth, end := 0, -1
	for j := start; j < len(s) && end < 0; j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				end = j + 1
			}
		}
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(s[start:end]), &v); err != nil {
		t.Fatalf("seed page: %v", err)
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestOpportunityCreate(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		pl := ts.pipelines(t, a)
		r := ts.do(req{Method: "POST", Path: "/api/opportunity", Token: a.APIKey, Body: map[string]any{
			"workspaceId": a.WorkspaceID, "name": "Website redesign", "description": "New site for Q3",
			"assignedComercialId": a.UserID, "amount": 1200.5, "pipelineId": "ignored",
		}}).want(t, http.StatusOK, "")
		if r.Message != "Opportunity successfully created." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "opportunity_create", r.Body)

		// The reply has exactly the seed page's keys, plus customFields.
		var got map[string]any
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		data := got["data"].(map[string]any)
		opp := data["opportunity"].(map[string]any)
		want := append(slices.Clone(seedOpportunityKeys), "customFields")
		slices.Sort(want)
		if diff := cmp.Diff(want, sortedKeys(opp)); diff != "" {
			t.Errorf("opportunity keys (-want +got):\n%s", diff)
		}
		if seed := seedReply(t); seed != nil {
			if diff := cmp.Diff(sortedKeys(seed), sortedKeys(got)); diff != "" {
				t.Errorf("envelope keys (-seed +got):\n%s", diff)
			}
			sd := seed["data"].(map[string]any)
			if diff := cmp.Diff(sortedKeys(sd), sortedKeys(data)); diff != "" {
				t.Errorf("data keys (-seed +got):\n%s", diff)
			}
			seedOpp := sortedKeys(sd["opportunity"].(map[string]any))
			embedded := slices.Clone(seedOpportunityKeys)
			slices.Sort(embedded)
			if diff := cmp.Diff(seedOpp, embedded); diff != "" {
				t.Errorf("the embedded key list differs from the seed page (-seed +embedded):\n%s", diff)
			}
		}

		var o opportunityJSON
		json.Unmarshal(must(json.Marshal(opp)), &o)
		if o.OpportCode != "OPP-000001" || o.Amount != 1200.5 || o.UserCreation != a.UserID || o.ContactID != "" ||
			o.AssignedAgentID == nil || *o.AssignedAgentID != a.UserID || o.StageID == nil || *o.StageID != defaultStage(pl["opportunity"]) ||
			o.WorkspaceID != a.WorkspaceID || o.OrderInCards != 1 || o.FinalAmount != 0 || o.WinLossStatus != 0 {
			t.Errorf("opportunity = %+v", o)
		}

		// Every optional field; the second card of its stage.
		contact := ts.newContact(t, a, "carla@client.test", nil)
		var ws struct{ MasterOfSegmentations []struct{ ID string } }
		ts.do(req{Method: "GET", Path: "/api/workspace/" + a.WorkspaceID, Token: a.APIKey}).into(t, &ws)
		stage := pl["opportunity"].Stages[2].ID
		o2 := ts.newOpportunity(t, a, map[string]any{
			"contactId": contact, "stageId": stage, "expirationDate": "2025-04-30", "segmentationId": ws.MasterOfSegmentations[0].ID,
			"customFields":    []map[string]any{{"name": "source", "value": "web"}, {"code": "score", "value": 7}},
			"AssignedAgentId": a.UserID, "amount": 0,
		})
		if o2.OpportCode != "OPP-000002" || o2.ContactID != contact || *o2.StageID != stage || o2.ExpirationDate == nil ||
			*o2.ExpirationDate != "2025-04-30T00:00:00.0000000Z" || *o2.SegmentationID != ws.MasterOfSegmentations[0].ID ||
			len(o2.CustomFields) != 2 || o2.CustomFields[1].Name != "score" || o2.CustomFields[1].Value != 7.0 || *o2.AssignedAgentID != a.UserID {
			t.Errorf("opportunity = %+v", o2)
		}
		o3 := ts.newOpportunity(t, a, map[string]any{"stageId": stage})
		if o3.OrderInCards != 2 {
			t.Errorf("second card in the stage has orderInCards %d, want 2", o3.OrderInCards)
		}
		// Its first stage is in the history.
		h := ts.history(t, a, "opportunity", o2.ID)
		if len(h) != 1 || h[0].FromStageID != nil || h[0].ToStageID == nil || *h[0].ToStageID != stage || h[0].FromWinLossStatus != nil {
			t.Errorf("history = %+v", h)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOpportunityCreate_Invalid(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		pa, pb := ts.pipelines(t, a), ts.pipelines(t, b)
		bContact := ts.newContact(t, b, "x@beta.test", nil)
		ok := func(extra map[string]any) map[string]any {
			m := map[string]any{"name": "Deal", "description": "A deal", "amount": 10}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"empty object", map[string]any{}, []string{"name", "description", "amount"}},
			{"no body", nil, []string{"body"}},
			{"not an object", `[1]`, []string{"body"}},
			{"malformed", `{"name": "x",`, []string{"body"}},
			{"nulls", map[string]any{"name": nil, "description": nil, "amount": nil}, []string{"name", "description", "amount"}},
			{"blank name and description", ok(map[string]any{"name": "  ", "description": ""}), []string{"name", "description"}},
			{"amount as a string", ok(map[string]any{"amount": "1200"}), []string{"amount"}},
			{"amount as a string, the rest missing", map[string]any{"amount": "1200"}, []string{"amount", "name", "description"}},
			{"negative amount", ok(map[string]any{"amount": -1}), []string{"amount"}},
			{"name is a number", ok(map[string]any{"name": 5}), []string{"name"}},
			{"unknown assignee", ok(map[string]any{"assignedComercialId": "nobody"}), []string{"assignedComercialId"}},
			{"another workspace's member", ok(map[string]any{"assignedComercialId": b.UserID}), []string{"assignedComercialId"}},
			{"unknown assignee by its alias", ok(map[string]any{"assignedAgentId": "nobody"}), []string{"assignedAgentId"}},
			{"aliases disagree", ok(map[string]any{"assignedComercialId": a.UserID, "assignedAgentId": "other"}), []string{"assignedComercialId"}},
			{"another workspace's contact", ok(map[string]any{"contactId": bContact}), []string{"contactId"}},
			{"a contact stage", ok(map[string]any{"stageId": pa["contact"].Stages[0].ID}), []string{"stageId"}},
			{"another workspace's stage", ok(map[string]any{"stageId": pb["opportunity"].Stages[0].ID}), []string{"stageId"}},
			{"unknown segmentation", ok(map[string]any{"segmentationId": "nope"}), []string{"segmentationId"}},
			{"bad date", ok(map[string]any{"expirationDate": "30/04/2025"}), []string{"expirationDate"}},
			{"date is a number", ok(map[string]any{"expirationDate": 20250430}), []string{"expirationDate"}},
			{"customFields not an array", ok(map[string]any{"customFields": "x"}), []string{"customFields"}},
			{"custom field without a name", ok(map[string]any{"customFields": []map[string]any{{"value": 1}}}), []string{"customFields"}},
			{"custom field twice", ok(map[string]any{"customFields": []map[string]any{{"name": "a"}, {"name": "A"}}}), []string{"customFields"}},
			{"every bad reference at once", ok(map[string]any{"assignedComercialId": "x", "contactId": "y", "stageId": "z", "segmentationId": "w"}),
				[]string{"stageId", "contactId", "assignedComercialId", "segmentationId"}},
			{"name too long", ok(map[string]any{"name": strings.Repeat("x", 256)}), []string{"name"}},
			{"key twice in two cases", `{"name":"a","Name":"b","description":"d","amount":1}`, []string{"Name"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(req{Method: "POST", Path: "/api/opportunity", Token: a.APIKey, Body: c.body}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
				got := r.fields()
				if c.name == "key twice in two cases" && len(got) == 1 && strings.EqualFold(got[0], "name") {
					got = c.fields // either spelling may come first
				}
				if diff := cmp.Diff(c.fields, got); diff != "" {
					t.Fatalf("fields (-want +got):\n%s\n%s", diff, r.Body)
				}
			})
		}
		// A workspaceId that disagrees with the credentials.
		ts.do(req{Method: "POST", Path: "/api/opportunity", Token: a.APIKey, Workspace: a.WorkspaceID, Body: ok(map[string]any{"workspaceId": b.WorkspaceID})}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		// Nothing was written, and no code was used up.
		var page struct{ Data []opportunityJSON }
		ts.do(req{Method: "GET", Path: "/api/opportunity", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &page)
		if len(page.Data) != 0 {
			t.Fatalf("%d opportunities were written", len(page.Data))
		}
		if o := ts.newOpportunity(t, a, nil); o.OpportCode != "OPP-000001" {
			t.Errorf("first code after refusals = %s", o.OpportCode)
		}
	})
}

func TestOpportunityCode_Concurrent(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.newOpportunity(t, b, nil) // another workspace's sequence is its own
		const n = 20
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := ts.do(req{Method: "POST", Path: "/api/opportunity", Token: a.APIKey,
					Body: map[string]any{"name": fmt.Sprint("Deal ", i), "description": "d", "amount": i}})
				if r.Status != http.StatusOK {
					t.Errorf("create %d: %d %s", i, r.Status, r.Body)
					return
				}
				var out struct{ Opportunity struct{ OpportCode string } }
				json.Unmarshal(r.Data, &out)
				codes[i] = out.Opportunity.OpportCode
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		var want []string
		for i := 1; i <= n; i++ {
			want = append(want, fmt.Sprintf("OPP-%06d", i))
		}
		if diff := cmp.Diff(want, codes); diff != "" {
			t.Fatalf("codes (-want +got):\n%s", diff)
		}
	})
}

func TestOpportunityGet(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		o := ts.newOpportunity(t, a, map[string]any{"name": "Renewal", "expirationDate": "2025-04-30T00:00:00"})
		for _, act := range []map[string]any{
			{"content": "Called the buyer", "date": "2025-04-01T10:00:00Z", "categoryType": "calls"},
			{"content": "Sent the proposal", "date": "2025-04-02", "categoryType": "EMAIL"},
		} {
			ts.do(req{Method: "POST", Path: "/api/opportunity/" + o.ID + "/agent/activities", Token: a.APIKey, Body: act}).want(t, http.StatusOK, "")
		}
		r := ts.do(req{Method: "GET", Path: "/api/opportunity/" + o.ID + "?workspaceId=" + a.WorkspaceID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if r.Message != "Successfully obtained list." {
			t.Errorf("message = %q", r.Message)
		}
		assertGolden(t, "opportunity_get", r.Body)
		var got opportunityJSON
		r.into(t, &got)
		if len(got.Activities) != 2 || got.Activities[0].CategoryType != "Email" || got.Activities[1].CategoryType != "Calls" {
			t.Errorf("activities = %+v", got.Activities)
		}
		ts.do(req{Method: "GET", Path: "/api/opportunity/" + o.ID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/opportunity/nope", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/opportunity/" + o.ID}).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestOpportunityList_Pages(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		var created []string
		for i := range 45 {
			created = append(created, ts.newOpportunity(t, a, map[string]any{"name": fmt.Sprint("Deal ", i)}).ID)
		}
		ts.newOpportunity(t, b, nil)
		slices.Reverse(created) // newest first
		var seen []string
		token := ""
		var tokens []string
		for page := 0; ; page++ {
			path := "/api/opportunity?workspaceId=" + a.WorkspaceID
			if token != "" {
				path += "&continuationToken=" + url.QueryEscape(token)
			}
			r := ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "")
			if r.Message != "List obtained successfully." {
				t.Errorf("message = %q", r.Message)
			}
			var p struct {
				WorkspaceID       string
				ContinuationToken *string
				Data              []opportunityJSON
			}
			r.into(t, &p)
			if p.WorkspaceID != a.WorkspaceID {
				t.Errorf("workspaceId = %q", p.WorkspaceID)
			}
			for _, o := range p.Data {
				seen = append(seen, o.ID)
				if len(o.Activities) != 0 || o.Activities == nil {
					t.Errorf("list item activities = %v, want []", o.Activities)
				}
			}
			wantLen := []int{20, 20, 5}[page]
			if len(p.Data) != wantLen {
				t.Fatalf("page %d has %d records, want %d", page, len(p.Data), wantLen)
			}
			if p.ContinuationToken == nil {
				if page != 2 {
					t.Fatalf("no token after page %d", page)
				}
				break
			}
			token = *p.ContinuationToken
			tokens = append(tokens, token)
		}
		if diff := cmp.Diff(created, seen); diff != "" {
			t.Fatalf("ids across pages (-want +got):\n%s", diff)
		}
		// A token is refused by another workspace, or altered.
		ts.do(req{Method: "GET", Path: "/api/opportunity?continuationToken=" + url.QueryEscape(tokens[0]), Token: b.APIKey}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		tampered := tokens[0][:len(tokens[0])-2] + "xx"
		r := ts.do(req{Method: "GET", Path: "/api/opportunity?continuationToken=" + url.QueryEscape(tampered), Token: a.APIKey}).
			want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if f := r.fields(); len(f) != 1 || f[0] != "continuationToken" {
			t.Errorf("fields = %v", f)
		}
		// A token of another list.
		var contacts struct{ ContinuationToken *string }
		for i := range 21 {
			ts.newContact(t, a, fmt.Sprintf("c%d@client.test", i), nil)
		}
		ts.do(req{Method: "GET", Path: "/api/contact", Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &contacts)
		if contacts.ContinuationToken != nil {
			ts.do(req{Method: "GET", Path: "/api/opportunity?continuationToken=" + url.QueryEscape(*contacts.ContinuationToken), Token: a.APIKey}).
				want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		}
	})
}

func TestOpportunityList_Filters(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		var mu sync.Mutex
		now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
		ts.DB.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }

		a := ts.bootstrap("Acme", "ana@acme.test")
		pl := ts.pipelines(t, a)
		sales := ts.createUser(a, "sales@acme.test", "commercial")
		var salesID string
		var me struct{ ID string }
		ts.do(req{Method: "GET", Path: "/api/user/email?email=sales@acme.test", Token: sales, Workspace: a.WorkspaceID}).want(t, http.StatusOK, "").into(t, &me)
		salesID = me.ID
		contact := ts.newContact(t, a, "carla@client.test", nil)
		second := pl["opportunity"].Stages[1].ID

		o1 := ts.newOpportunity(t, a, map[string]any{"name": "Alpha 100% deal", "description": "Hosting"})
		o2 := ts.newOpportunity(t, a, map[string]any{"name": "Beta", "description": "hosting renewal", "stageId": second, "contactId": contact})
		o3 := ts.newOpportunity(t, a, map[string]any{"name": "Gamma", "description": "Consulting", "assignedComercialId": salesID})
		setNow(time.Date(2025, 4, 10, 12, 0, 0, 0, time.UTC))
		ts.do(req{Method: "POST", Path: "/api/opportunity/" + o3.ID + "/winLoss", Token: a.APIKey, Body: map[string]any{"winLossStatus": 1}}).want(t, http.StatusOK, "")
		o4 := ts.newOpportunity(t, a, map[string]any{"name": "Delta", "description": "d"})

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"", []string{o4.ID, o3.ID, o2.ID, o1.ID}},
			{"stageId=" + second, []string{o2.ID}},
			{"StageId=" + second, []string{o2.ID}},
			{"assignedAgentId=" + salesID, []string{o3.ID}},
			{"assignedComercialId=" + salesID, []string{o3.ID}},
			{"contactId=" + contact, []string{o2.ID}},
			{"winLossStatus=1", []string{o3.ID}},
			{"winLossStatus=0", []string{o4.ID, o2.ID, o1.ID}},
			{"winLossStatus=2", nil},
			{"updatedSince=2025-04-05", []string{o4.ID, o3.ID}},
			{"updatedSince=2025-04-10T12:00:00Z", []string{o4.ID, o3.ID}},
			{"updatedSince=2025-04-11", nil},
			{"q=HOSTING", []string{o2.ID, o1.ID}},
			{"q=100%25", []string{o1.ID}},
			{"q=%25", []string{o1.ID}},
			{"q=opp-000003", []string{o3.ID}},
			{"q=hosting&stageId=" + second, []string{o2.ID}},
			{"stageId=unknown", nil},
		} {
			t.Run(c.query, func(t *testing.T) {
				var p struct{ Data []opportunityJSON }
				ts.do(req{Method: "GET", Path: "/api/opportunity?" + c.query, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &p)
				var got []string
				for _, o := range p.Data {
					got = append(got, o.ID)
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
		for _, c := range []struct{ query, field string }{
			{"winLossStatus=3", "winLossStatus"},
			{"winLossStatus=won", "winLossStatus"},
			{"updatedSince=yesterday", "updatedSince"},
		} {
			r := ts.do(req{Method: "GET", Path: "/api/opportunity?" + c.query, Token: a.APIKey}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
			if f := r.fields(); len(f) != 1 || f[0] != c.field {
				t.Errorf("%s: fields = %v", c.query, f)
			}
		}
		// The golden list: one page of two.
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.newOpportunity(t, b, map[string]any{"name": "One"})
		ts.newOpportunity(t, b, map[string]any{"name": "Two", "expirationDate": "2025-04-30"})
		assertGolden(t, "opportunity_list", ts.do(req{Method: "GET", Path: "/api/opportunity", Token: b.APIKey}).want(t, http.StatusOK, "").Body)
	})
}
