package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// The campaign crash test: `plaza serve` is killed (SIGKILL) while it fans
// a campaign out into messages and sends them, with sends in Meta's hands
// whose answers are lost, started again on the same database, and every
// destination receives the template exactly once.

const campaignSize = 450 // three fan-out transactions of 200

func TestCrashDuringCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills plaza serve")
	}
	t.Parallel()
	buildPlaza(t)
	for _, tc := range []struct {
		name string
		// inFlight: Plaza dies once Meta holds two of the campaign's
		// sends, one read and one not. Else it dies as soon as the
		// first fan-out transaction is seen committed.
		inFlight bool
	}{
		{"first-batch-queued", false},
		{"sends-in-metas-hands", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sqldbtest.Each(t, func(t *testing.T, dsn string) {
				t.Parallel()
				start := time.Now()
				crashDuringCampaign(t, dsn, tc.inFlight)
				t.Logf("campaign of %d killed and finished in %v", campaignSize, time.Since(start).Round(time.Millisecond))
			})
		})
	}
}

func crashDuringCampaign(t *testing.T, dsn string, inFlight bool) {
	b := mustBootstrap(t, dsn, "Acme", "owner@example.com")

	// Meta accepts and answers the first sends, and for each owes Plaza a
	// status webhook. When inFlight, from the 40th on it holds them until
	// Plaza is dead: every other one read and accepted (its answer lost,
	// its status webhook still owed), the others never read (the
	// connection cut).
	heldFrom := 40
	if !inFlight {
		heldFrom = 2 * campaignSize
	}
	var (
		mu      sync.Mutex
		n, held int
		dead    = make(chan struct{})
		holding = make(chan struct{}, campaignSize)
		wamids  int
	)
	var m *meta
	m = newMeta(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		hold := n >= heldFrom && !isClosed(dead)
		if hold {
			held++
		}
		read := !hold || held%2 == 1
		var wamid string
		if read {
			wamids++
			wamid = fmt.Sprintf("wamid.CRASH_CAMPAIGN_%04d", wamids)
		}
		mu.Unlock()
		if !read {
			holding <- struct{}{}
			<-dead
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		body := m.accept(r)
		m.sentStatus(body, wamid)
		if hold {
			holding <- struct{}{}
			<-dead
		}
		successWamid(t, w, wamid) // when held, to a process that is gone
	})
	m.deliverStatuses()

	p := startPlaza(t, dsn, m.URL)
	m.deliverTo(p)
	p.mustCall(t, 200, "POST", "/api/workspace/"+b.WorkspaceID+"/whatsapp/numbers", b.APIKey, "", map[string]any{
		"phoneNumberId": crashNumberID, "wabaId": crashWabaID, "displayPhoneNumber": "15550001234",
		"accessToken": crashToken, "appSecret": crashAppSecret, "verifyToken": "crash-test-verify"})
	syncTemplates(t, p, b, dsn)

	phones := make([]any, campaignSize)
	want := map[string]int{}
	for i := range phones {
		phones[i] = fmt.Sprintf("+51 9%08d", i)
		want[fmt.Sprintf("519%08d", i)] = 1
	}
	env := p.mustCall(t, 200, "POST", "/api/message/conversation", b.APIKey, "", map[string]any{
		"workspaceId": b.WorkspaceID, "template": "coupon_reminder", "destination": phones, "campaignName": "Cupones",
		"variablesHeader": []any{map[string]any{"variable": "1", "value": "amigo"}},
		"variablesBody":   []any{map[string]any{"variable": "1", "value": "PLAZA20"}, map[string]any{"variable": "2", "value": "3"}}})
	var accepted struct {
		CampaignID string
		Total      int
	}
	if err := json.Unmarshal(env.Data, &accepted); err != nil || accepted.CampaignID == "" || accepted.Total != campaignSize {
		t.Fatalf("send conversation answered %s (%v)", env.Data, err)
	}

	if inFlight {
		// Two sends are in Meta's hands, one read and one not: Plaza dies.
		for range 2 {
			select {
			case <-holding:
			case <-time.After(3 * time.Minute):
				t.Fatal("the campaign's sends did not reach Meta within three minutes")
			}
		}
	} else {
		waitFor(t, "the first fan-out transaction commits", func() bool {
			return queryInt(t, dsn, `SELECT queued FROM campaigns WHERE id = $1`, accepted.CampaignID) > 0
		})
	}
	p.kill(t)
	m.deliverTo(nil)
	mu.Lock()
	close(dead)
	mu.Unlock()
	killed := time.Now()
	queued := queryInt(t, dsn, `SELECT queued FROM campaigns WHERE id = $1`, accepted.CampaignID)
	fannedOut := queryInt(t, dsn, `SELECT count(*) FROM campaigns WHERE id = $1 AND fanned_out_date IS NOT NULL`, accepted.CampaignID) == 1
	t.Logf("killed with %d of %d destinations queued (fanned out: %v), %d sends accepted, %d held",
		queued, campaignSize, fannedOut, len(m.sends()), held)

	p = startPlaza(t, dsn, m.URL)
	m.deliverTo(p)
	type campaignJSON struct {
		Total, Queued, Sent, Delivered, Read, Failed int
		FannedOutDate                                *string
	}
	var c campaignJSON
	waitFor(t, "the campaign is fanned out and sent", func() bool {
		env := p.mustCall(t, 200, "GET", "/api/conversation/campaign/"+accepted.CampaignID, b.APIKey, "", nil)
		if err := json.Unmarshal(env.Data, &c); err != nil {
			t.Fatal(err)
		}
		return c.FannedOutDate != nil && c.Sent == c.Total
	})
	t.Logf("all sent %v after the restart", time.Since(killed).Round(time.Millisecond))
	if c.Total != campaignSize || c.Queued != campaignSize || c.Failed != 0 {
		t.Errorf("campaign %+v", c)
	}
	// Nothing is left that could send again.
	defer func() {
		if t.Failed() {
			for _, state := range []string{"available", "scheduled", "retryable", "running", "cancelled", "discarded", "completed"} {
				t.Logf("jobs %s: send %d, campaign %d", state,
					queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send' AND state = $1`, state),
					queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_campaign' AND state = $1`, state))
			}
		}
	}()
	waitFor(t, "every send job is done", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'
			AND state NOT IN ('completed', 'cancelled', 'discarded', 'running')`) == 0 &&
			queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_campaign'
				AND state NOT IN ('completed', 'running')`) == 0
	})

	// Meta received the template exactly once at every destination.
	got := map[string]int{}
	callbacks := map[any]bool{}
	wantTemplate := map[string]any{"name": "coupon_reminder", "language": map[string]any{"code": "es"}, "components": []any{
		map[string]any{"type": "header", "parameters": []any{map[string]any{"type": "text", "text": "amigo"}}},
		map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "PLAZA20"},
			map[string]any{"type": "text", "text": "3"}}},
	}}
	sends := m.sends()
	wrong := 0
	for _, s := range sends {
		to, _ := s["to"].(string)
		got[to]++
		callbacks[s["biz_opaque_callback_data"]] = true
		if diff := cmp.Diff(wantTemplate, s["template"]); diff != "" {
			if wrong++; wrong == 1 {
				t.Errorf("send to %s: template (-want +got):\n%s", to, diff)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d sends carried a wrong template", wrong, len(sends))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sends Meta accepted per destination (-want +got):\n%s", diff)
	}
	if len(callbacks) != campaignSize {
		t.Errorf("%d sends carried %d distinct callback data, want one message each", len(sends), len(callbacks))
	}
	for query, want := range map[string]int{
		`SELECT count(*) FROM messages WHERE direction = 'out'`:                                           campaignSize,
		`SELECT count(*) FROM messages WHERE send_state = 'sent' AND wamid LIKE 'wamid.CRASH_CAMPAIGN_%'`: campaignSize,
		`SELECT count(DISTINCT message_id) FROM campaign_destinations`:                                    campaignSize,
	} {
		if got := queryInt(t, dsn, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}
	p.kill(t)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
