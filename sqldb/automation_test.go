package sqldb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

const automationSecret = "automation-test-secret-0123456789abcdef"

func ptr[T any](v T) *T { return &v }

// agentFlow is a trigger, an ai_agent node with an API key and a
// send_message node using its output.
func agentFlow(name, channel, key, prefix string) plaza.AutomationInput {
	return plaza.AutomationInput{
		Name:    name,
		Trigger: plaza.AutomationTrigger{Channel: channel, Key: key},
		Nodes: []plaza.NodeInput{
			{ID: prefix + "-trigger", Type: "trigger", Next: prefix + "-agent"},
			{ID: prefix + "-agent", Type: "ai_agent", Prompt: "You sell shoes.", Model: "gpt-4o-mini",
				Temperature: ptr(0.2), MaxTokens: ptr(300), Memory: ptr(5), OutputVariable: "answer",
				APIKey: ptr("sk-" + prefix), Next: prefix + "-send"},
			{ID: prefix + "-send", Type: "send_message", Text: "{{answer}}"},
		},
	}
}

func TestAutomationService_TriggerAndKeys(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		b := mustBootstrap(t, db, "Beta", "bob@beta.test")
		ctxA, ctxB := taskOwnerContext(a), taskOwnerContext(b)
		s := sqldb.NewAutomationService(db, automationSecret)

		onNumber, err := s.CreateAutomation(ctxA, agentFlow("On the number", "whatsapp", "+51 987 654 321", "num"))
		if err != nil {
			t.Fatal(err)
		}
		anyNumber, err := s.CreateAutomation(ctxA, agentFlow("Any number", "WhatsApp", "", "any"))
		if err != nil {
			t.Fatal(err)
		}
		if n := onNumber.Node("num-agent"); n == nil || !n.HasAPIKey || n.APIKey != "" {
			t.Fatalf("created agent node = %+v: want hasApiKey and no key in the record", n)
		}

		// The key is stored sealed, never in clear.
		var stored string
		if err := db.QueryRowForTest(context.Background(), `SELECT api_key FROM automation_nodes WHERE workspace_id = $1 AND id = $2`,
			a.WorkspaceID, "num-agent").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == "" || strings.Contains(stored, "sk-num") {
			t.Fatalf("stored api_key = %q", stored)
		}

		// The number's own automation wins, whatever the number's spelling;
		// another number falls back to the one on every number.
		for key, want := range map[string]string{"51987654321": onNumber.ID, "+51-987-654-321": onNumber.ID, "+1 555 0100 200": anyNumber.ID} {
			got, err := s.AutomationForTrigger(context.Background(), a.WorkspaceID, "whatsapp", key)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if got.ID != want {
				t.Errorf("%s: automation %s, want %s", key, got.ID, want)
			}
			if got.ID == onNumber.ID && got.Node("num-agent").APIKey != "sk-num" {
				t.Errorf("opened key = %q", got.Node("num-agent").APIKey)
			}
		}
		_, err = s.AutomationForTrigger(context.Background(), a.WorkspaceID, "webchat", "")
		wantCode(t, err, plaza.ENOTFOUND)
		_, err = s.AutomationForTrigger(context.Background(), b.WorkspaceID, "whatsapp", "51987654321")
		wantCode(t, err, plaza.ENOTFOUND)

		// One enabled automation per trigger; a disabled one may share it.
		_, err = s.CreateAutomation(ctxA, agentFlow("Again", "whatsapp", "51987654321", "again"))
		wantConflict(t, err, "trigger", onNumber.ID)
		in := agentFlow("Draft", "whatsapp", "51987654321", "draft")
		in.Enabled = ptr(false)
		draft, err := s.CreateAutomation(ctxA, in)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateAutomation(ctxA, draft.ID, plaza.AutomationUpdate{Enabled: ptr(true)})
		wantConflict(t, err, "trigger", onNumber.ID)
		// Another workspace has its own triggers and node ids.
		if _, err := s.CreateAutomation(ctxB, agentFlow("Beta's", "whatsapp", "51987654321", "num")); err != nil {
			t.Fatal(err)
		}

		// Node ids are unique in the workspace.
		clash := agentFlow("Clash", "webchat", "", "clash")
		clash.Nodes[2].ID = "num-send"
		clash.Nodes[1].Next = "num-send"
		_, err = s.CreateAutomation(ctxA, clash)
		wantConflict(t, err, "nodes[2].id", onNumber.ID)

		// An update of other parts keeps the key; nodes sent without
		// apiKey keep theirs by id; "" removes it.
		if _, err := s.UpdateAutomation(ctxA, onNumber.ID, plaza.AutomationUpdate{Name: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		nodes := agentFlow("", "", "", "num").Nodes
		nodes[1].APIKey = nil
		nodes[1].Prompt = "You sell boots."
		upd, err := s.UpdateAutomation(ctxA, onNumber.ID, plaza.AutomationUpdate{Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		if n := upd.Node("num-agent"); !n.HasAPIKey || n.Prompt != "You sell boots." || upd.Name != "Renamed" {
			t.Fatalf("after update: %+v %+v", upd, n)
		}
		got, err := s.AutomationForTrigger(context.Background(), a.WorkspaceID, "whatsapp", "51987654321")
		if err != nil || got.Node("num-agent").APIKey != "sk-num" {
			t.Fatalf("key after update = %+v, %v", got, err)
		}
		nodes[1].APIKey = ptr("")
		if upd, err = s.UpdateAutomation(ctxA, onNumber.ID, plaza.AutomationUpdate{Nodes: nodes}); err != nil {
			t.Fatal(err)
		}
		if upd.Node("num-agent").HasAPIKey {
			t.Error("apiKey \"\" did not remove the key")
		}

		// Update Agente IA Prompt finds the node by id in the caller's
		// workspace only.
		node, err := s.UpdateNodePrompt(ctxA, "num-agent", "New prompt")
		if err != nil || node.Prompt != "New prompt" {
			t.Fatalf("UpdateNodePrompt = %+v, %v", node, err)
		}
		_, err = s.UpdateNodePrompt(ctxB, "any-agent", "Hijack")
		wantCode(t, err, plaza.ENOTFOUND)
		_, err = s.UpdateNodePrompt(ctxA, "num-send", "Not an agent")
		wantFields(t, err, "nodeId")
		_, err = s.UpdateNodePrompt(ctxA, "num-agent", "  ")
		wantFields(t, err, "prompt")
		_, err = s.UpdateNodePrompt(ctxA, "num-agent", strings.Repeat("é", plaza.MaxNodePromptLength+1))
		wantFields(t, err, "prompt")

		// Members read; only owners and admins write.
		member := plaza.NewContextWithPrincipal(context.Background(),
			&plaza.Principal{UserID: a.UserID, WorkspaceID: a.WorkspaceID, Role: plaza.RoleAgent})
		if list, err := s.FindAutomations(member); err != nil || len(list) != 3 {
			t.Fatalf("member's list = %d, %v", len(list), err)
		}
		_, err = s.UpdateNodePrompt(member, "num-agent", "x")
		wantCode(t, err, plaza.EFORBIDDEN)

		// Deleting removes the nodes, freeing their ids.
		if err := s.DeleteAutomation(ctxB, onNumber.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Fatalf("delete from another workspace: %v", err)
		}
		if err := s.DeleteAutomation(ctxA, onNumber.ID); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := db.QueryRowForTest(context.Background(), `SELECT count(*) FROM automation_nodes WHERE workspace_id = $1 AND automation_id = $2`,
			a.WorkspaceID, onNumber.ID).Scan(&left); err != nil || left != 0 {
			t.Fatalf("nodes left = %d, %v", left, err)
		}
		if _, err := s.CreateAutomation(ctxA, clash); err != nil {
			t.Fatalf("node id of a deleted automation: %v", err)
		}
	})
}

// Replicas creating automations on one trigger at once: exactly one wins,
// every other gets ECONFLICT naming the trigger and the winner.
func TestAutomationService_ConcurrentTrigger(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		ctx := taskOwnerContext(a)
		s := sqldb.NewAutomationService(db, automationSecret)
		const n = 6
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := agentFlow("Hot", "webchat", "", "")
				for j := range in.Nodes {
					in.Nodes[j].ID, in.Nodes[j].Next = "", ""
				}
				au, err := s.CreateAutomation(ctx, in)
				if err == nil {
					ids[i] = au.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		var winner string
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two creates won: %s and %s", winner, ids[i])
				}
				winner = ids[i]
			}
		}
		if winner == "" {
			t.Fatalf("no create won: %v", errs)
		}
		for _, err := range errs {
			if err != nil {
				wantConflict(t, err, "trigger", winner)
			}
		}
	})
}

func TestAutomationInput_Validate(t *testing.T) {
	for _, c := range []struct {
		name   string
		edit   func(in *plaza.AutomationInput)
		fields []string
	}{
		{"ErrNameRequired", func(in *plaza.AutomationInput) { in.Name = " " }, []string{"name"}},
		{"ErrChannel", func(in *plaza.AutomationInput) { in.Trigger.Channel = "sms" }, []string{"trigger.channel"}},
		{"ErrWebchatKey", func(in *plaza.AutomationInput) { in.Trigger = plaza.AutomationTrigger{Channel: "webchat", Key: "123"} }, []string{"trigger.key"}},
		{"ErrNumberKey", func(in *plaza.AutomationInput) { in.Trigger.Key = "call me" }, []string{"trigger.key"}},
		{"ErrNodeType", func(in *plaza.AutomationInput) { in.Nodes[2].Type = "email" }, []string{"nodes[2].type", "nodes[2].text"}},
		{"ErrTwoTriggers", func(in *plaza.AutomationInput) {
			in.Nodes = append(in.Nodes, plaza.NodeInput{ID: "t2", Type: "trigger"})
		}, []string{"nodes"}},
		{"ErrNoTrigger", func(in *plaza.AutomationInput) { in.Nodes = in.Nodes[1:] }, []string{"nodes"}},
		{"ErrNextUnknown", func(in *plaza.AutomationInput) { in.Nodes[1].Next = "nowhere" }, []string{"nodes[1].next"}},
		{"ErrNextTrigger", func(in *plaza.AutomationInput) { in.Nodes[2].Next = "f-trigger" }, []string{"nodes[2].next"}},
		{"ErrNextSelf", func(in *plaza.AutomationInput) { in.Nodes[2].Next = "f-send" }, []string{"nodes[2].next"}},
		{"ErrCycle", func(in *plaza.AutomationInput) {
			in.Nodes = append(in.Nodes, plaza.NodeInput{ID: "f-send2", Type: "send_message", Text: "hi", Next: "f-agent"})
			in.Nodes[2].Next = "f-send2"
		}, []string{"nodes[1].next"}},
		{"ErrDuplicateID", func(in *plaza.AutomationInput) { in.Nodes[2].ID = "f-agent" }, []string{"nodes[2].id", "nodes[1].next"}},
		{"ErrIDFormat", func(in *plaza.AutomationInput) { in.Nodes[2].ID = "node/1" }, []string{"nodes[2].id", "nodes[1].next"}},
		{"ErrOutputVariable", func(in *plaza.AutomationInput) { in.Nodes[1].OutputVariable = "1st answer" },
			[]string{"nodes[1].outputVariable", "nodes[2].text"}},
		{"ErrUnknownVariable", func(in *plaza.AutomationInput) { in.Nodes[2].Text = "Hi {{contact.name}}: {{reply}}" }, []string{"nodes[2].text"}},
		{"ErrAgentRanges", func(in *plaza.AutomationInput) {
			in.Nodes[1].Memory, in.Nodes[1].Temperature, in.Nodes[1].MaxTokens = ptr(51), ptr(2.5), ptr(0)
		}, []string{"nodes[1].temperature", "nodes[1].maxTokens", "nodes[1].memory"}},
		{"ErrFieldOfAnotherType", func(in *plaza.AutomationInput) { in.Nodes[2].Prompt, in.Nodes[1].Text = "p", "t" },
			[]string{"nodes[1].text", "nodes[2].prompt"}},
		{"ErrTextRequired", func(in *plaza.AutomationInput) { in.Nodes[2].Text = "" }, []string{"nodes[2].text"}},
		{"ErrPromptTooLong", func(in *plaza.AutomationInput) { in.Nodes[1].Prompt = strings.Repeat("x", plaza.MaxNodePromptLength+1) },
			[]string{"nodes[1].prompt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := agentFlow("Flow", "whatsapp", "", "f")
			c.edit(&in)
			wantFields(t, in.Validate(), c.fields...)
		})
	}

	t.Run("Defaults", func(t *testing.T) {
		in := plaza.AutomationInput{Name: " Flow ", Trigger: plaza.AutomationTrigger{Channel: " WebChat "},
			Nodes: []plaza.NodeInput{{Type: "trigger"}, {Type: "AI_Agent"}}}
		if err := in.Validate(); err != nil {
			t.Fatal(err)
		}
		if in.Name != "Flow" || !*in.Enabled || in.Trigger.Channel != "webchat" || *in.Nodes[1].Memory != plaza.DefaultNodeMemory ||
			in.Nodes[0].Name != "Trigger" || in.Nodes[1].Name != "Agente de IA" {
			t.Fatalf("normalised = %+v", in)
		}
		for _, n := range in.Nodes {
			if !regexpNodeID(n.ID) {
				t.Errorf("generated id %q is not node-<10 digits>-<10 digits>", n.ID)
			}
		}
	})
}

func TestRenderText(t *testing.T) {
	got := plaza.RenderText("Hi {{ contact.name }}, {{answer}}{{missing}}.", map[string]string{"contact.name": "Ana", "answer": "yes"})
	if got != "Hi Ana, yes." {
		t.Errorf("RenderText = %q", got)
	}
}

func regexpNodeID(id string) bool {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || parts[0] != "node" || len(parts[1]) != 10 || len(parts[2]) != 10 {
		return false
	}
	return strings.Trim(parts[1]+parts[2], "0123456789") == ""
}

// wantFields fails unless err is EINVALID naming exactly fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var e *plaza.Error
	if !errors.As(err, &e) || e.Code != plaza.EINVALID {
		t.Fatalf("err = %v, want EINVALID naming %v", err, fields)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	if diff := cmp.Diff(fields, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s\n%v", diff, e.Fields)
	}
}

// wantConflict fails unless err is ECONFLICT naming field and the id of
// the automation in the way.
func wantConflict(t *testing.T, err error, field, id string) {
	t.Helper()
	var e *plaza.Error
	if !errors.As(err, &e) || e.Code != plaza.ECONFLICT {
		t.Fatalf("err = %v, want ECONFLICT", err)
	}
	if diff := cmp.Diff(map[string]string{"field": field, "id": id}, e.Data); diff != "" {
		t.Errorf("conflict data (-want +got):\n%s", diff)
	}
}
