package sqldb_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// sdkConfig reads a configuration of Plazbot's SDK as published.
func sdkConfig(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/plazbot-sdk/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDocument(t *testing.T, raw []byte) plaza.AgentDocument {
	t.Helper()
	doc, err := plaza.ParseAgentDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// jsonEqual compares two JSON documents as values.
func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestAgentService_RoundTripAndChannels(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Clinic", "ana@clinic.test")
		ctx := taskOwnerContext(a)
		agents := sqldb.NewAgentService(db)
		raw := sdkConfig(t, "agent.config.json")

		saved, err := agents.CreateAgent(ctx, mustDocument(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		got, err := agents.GetAgent(ctx, saved.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, raw, got.Raw)
		if got.Config.Name != "Sales Clinic" || got.Config.Buffer != 50 || len(got.Config.Services) != 3 {
			t.Errorf("config read as %+v", got.Config)
		}
		// The number of its whatsapp channel is not connected: kept,
		// reported unattached; instagram and facebook are not Plaza's.
		wantStatus := []plaza.AgentChannelStatus{
			{Channel: "whatsapp", Key: "57123456789", Attached: false,
				Message: "No connected WhatsApp number of the workspace has this display number; the agent answers there once one is connected."},
			{Channel: "instagram", Key: "dental_clinic_smiles", Message: "Plaza does not answer on instagram; the channel is kept in the configuration."},
			{Channel: "facebook", Key: "dental.clinic.smiles", Message: "Plaza does not answer on facebook; the channel is kept in the configuration."},
		}
		if diff := cmp.Diff(wantStatus, saved.Channels); diff != "" {
			t.Errorf("channels (-want +got)\n%s", diff)
		}
		// The runtime finds it by the number in any format.
		found, err := agents.AgentForChannel(context.Background(), a.WorkspaceID, plaza.ChannelWhatsApp, "+57 123 456 789")
		if err != nil || found.ID != saved.Agent.ID {
			t.Fatalf("AgentForChannel: %v %v", found, err)
		}

		// A second enabled agent on the same number conflicts, naming
		// the channel; disabled, it is accepted.
		second := `{"name":"Second","channels":[{"channel":"webchat"},{"channel":"whatsapp","key":"+57123456789"}]}`
		_, err = agents.CreateAgent(ctx, mustDocument(t, []byte(second)))
		var perr *plaza.Error
		if plaza.ErrorCode(err) != plaza.ECONFLICT || !errorAs(err, &perr) || perr.Fields[0].Field != "channels[1]" {
			t.Fatalf("second agent on the number: %v", err)
		}
		off, err := agents.CreateAgent(ctx, mustDocument(t, []byte(`{"name":"Second","enable":false,"channels":[{"channel":"webchat"},{"channel":"whatsapp","key":"+57123456789"}]}`)))
		if err != nil {
			t.Fatal(err)
		}
		// Enabling it conflicts; disabling the first frees the number.
		enable := plaza.AgentUpdate{Set: plaza.AgentDocument{"enable": json.RawMessage("true")}}
		if _, err := agents.UpdateAgent(ctx, off.Agent.ID, enable); plaza.ErrorCode(err) != plaza.ECONFLICT {
			t.Fatalf("enable the second: %v", err)
		}
		if _, err := agents.UpdateAgent(ctx, saved.Agent.ID, plaza.AgentUpdate{Set: plaza.AgentDocument{"enable": json.RawMessage("false")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := agents.UpdateAgent(ctx, off.Agent.ID, enable); err != nil {
			t.Fatalf("enable the second once the first is off: %v", err)
		}
		found, err = agents.AgentForChannel(context.Background(), a.WorkspaceID, plaza.ChannelWebchat, "")
		if err != nil || found.ID != off.Agent.ID {
			t.Fatalf("webchat agent: %v %v", found, err)
		}

		// Section updates keep the section's other keys.
		u := plaza.AgentUpdate{Section: "instructions", SectionSet: plaza.AgentDocument{"tone": json.RawMessage(`"friendly"`)}}
		up, err := agents.UpdateAgent(ctx, saved.Agent.ID, u)
		if err != nil {
			t.Fatal(err)
		}
		if in := up.Agent.Config.Instructions; in.Tone != "friendly" || in.Greeting != "Hello, I am Maximo" || in.MaxWords != 80 {
			t.Errorf("instructions after set: %+v", in)
		}

		// Another workspace sees none of it.
		b := mustBootstrap(t, db, "Other", "bo@other.test")
		octx := taskOwnerContext(b)
		if _, err := agents.GetAgent(octx, saved.Agent.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("other workspace GetAgent: %v", err)
		}
		if _, err := agents.UpdateAgent(octx, saved.Agent.ID, enable); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("other workspace UpdateAgent: %v", err)
		}
		if err := agents.DeleteAgent(octx, saved.Agent.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("other workspace DeleteAgent: %v", err)
		}
		if list, err := agents.ListAgents(octx); err != nil || len(list) != 0 {
			t.Errorf("other workspace ListAgents: %v %v", list, err)
		}
		// The same number is free in another workspace.
		if _, err := agents.CreateAgent(octx, mustDocument(t, []byte(second))); err != nil {
			t.Errorf("another workspace's agent on the same number: %v", err)
		}

		// Copy: a new agent, named so, without channels.
		cp, err := agents.CopyAgent(ctx, saved.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Config.Name != "Sales Clinic (copy)" || len(cp.Config.Channels) != 0 || cp.ID == saved.Agent.ID {
			t.Errorf("copy: %+v", cp.Config)
		}
		list, err := agents.ListAgents(ctx)
		if err != nil || len(list) != 3 {
			t.Fatalf("ListAgents: %d %v", len(list), err)
		}
		if err := agents.DeleteAgent(ctx, cp.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := agents.GetAgent(ctx, cp.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("deleted agent: %v", err)
		}
	})
}

func TestAgentService_Validation(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Clinic", "ana@clinic.test")
		ctx := taskOwnerContext(a)
		agents := sqldb.NewAgentService(db)
		for _, tc := range []struct {
			doc    string
			fields []string
		}{
			{`{"prompt":"x"}`, []string{"name"}},
			{`{"name":"A","buffer":500}`, []string{"buffer"}},
			{`{"name":"A","buffer":"5"}`, []string{"buffer"}},
			{`{"name":"A","timezone":"Mars/Olympus"}`, []string{"timezone"}},
			{`{"name":"A","services":[{"intent":"x","method":"FETCH","endpoint":"ftp://x","requiredFields":[{"name":"n","type":"uuid"},{"name":"o","type":"string","properties":[{"name":"p","type":"string"}]}]}]}`,
				[]string{"services[0].method", "services[0].endpoint", "services[0].requiredFields[0].type", "services[0].requiredFields[1].properties"}},
			{`{"name":"A","services":[{"intent":"x","method":"get","endpoint":"https://x.test","requiredFields":[{"name":"l","type":"arrayObject","properties":[{"name":"p","type":"date"}]}]}]}`,
				[]string{"services[0].requiredFields[0].properties[0].type"}},
			{`{"name":"A","actions":[{"intent":"t","action":[{"type":"action.asign","value":"u"},{"type":"action.fly"}]}]}`, []string{"actions[0].action[1].type"}},
			{`{"name":"A","channels":[{"channel":"whatsapp","key":"not a number"},{"key":"x"}]}`, []string{"channels[0].key", "channels[1].channel"}},
		} {
			_, err := agents.CreateAgent(ctx, mustDocument(t, []byte(tc.doc)))
			var perr *plaza.Error
			if !errorAs(err, &perr) || perr.Code != plaza.EINVALID {
				t.Errorf("%s: got %v, want EINVALID", tc.doc, err)
				continue
			}
			var fields []string
			for _, f := range perr.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("%s: fields (-want +got)\n%s", tc.doc, diff)
			}
		}
		// The SDK's basic configuration is accepted as it is.
		if _, err := agents.CreateAgent(ctx, mustDocument(t, sdkConfig(t, "agent.basic.config.json"))); err != nil {
			t.Errorf("basic config: %v", err)
		}
		if list, _ := agents.ListAgents(ctx); len(list) != 1 {
			t.Errorf("%d agents stored, want only the valid one", len(list))
		}
	})
}

func TestAgentService_SearchKnowledge(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		if _, err := db.OpenQueue(sqldb.QueueConfig{}); err != nil {
			t.Fatal(err)
		}
		a := mustBootstrap(t, db, "Clinic", "ana@clinic.test")
		ctx := taskOwnerContext(a)
		agents := sqldb.NewAgentService(db)
		knowledge := sqldb.NewKnowledgeService(db, nil)
		saved, err := agents.CreateAgent(ctx, mustDocument(t, []byte(`{"name":"A"}`)))
		if err != nil {
			t.Fatal(err)
		}
		agentID := saved.Agent.ID
		f, err := knowledge.AddKnowledgeFile(ctx, plaza.KnowledgeFileCreate{AgentID: agentID, FileName: "faq.txt",
			Reference: "FAQ", Content: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		passages := []string{
			"Los reembolsos tardan cinco días hábiles.",
			"La clínica abre de lunes a sábado, de 8 a 18 horas.",
			"El café de la sala de espera es gratis.",
		}
		if err := knowledge.StoreKnowledgePassages(context.Background(), a.WorkspaceID, f.ID, 100, passages); err != nil {
			t.Fatal(err)
		}
		search := func(q string) []string {
			t.Helper()
			got, err := agents.SearchKnowledge(context.Background(), a.WorkspaceID, agentID, q, 5)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var texts []string
			for _, p := range got {
				if p.FileID != f.ID || p.Reference != "FAQ" {
					t.Errorf("passage of %s %q", p.FileID, p.Reference)
				}
				texts = append(texts, p.Text)
			}
			return texts
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"¿Cuánto tardan los REEMBOLSOS?", passages[:1]},         // case, accents, punctuation
			{"reembolso", passages[:1]},                              // prefix
			{"¿Cuándo abren?", passages[1:2]},                        // a stem: "abre" of abren
			{"cafe", passages[2:3]},                                  // accent-insensitive
			{`"sábado" OR) AND NOT (* ' NEAR(`, passages[1:2]},       // operators are words
			{"reembolsos horas", []string{passages[1], passages[0]}}, // either word, sorted below
			{`"" ' * ( ) -`, nil},                                    // no words at all
			{"helicóptero", nil},
		} {
			got := search(tc.q)
			if tc.q == "reembolsos horas" {
				slices.Sort(got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%q: (-want +got)\n%s", tc.q, diff)
			}
		}
		// Another agent's or workspace's search finds nothing.
		if got, _ := agents.SearchKnowledge(context.Background(), "other", agentID, "reembolsos", 5); len(got) != 0 {
			t.Errorf("other workspace found %v", got)
		}
		// A copy of the agent has copies of its ready files, searchable.
		cp, err := agents.CopyAgent(ctx, agentID)
		if err != nil {
			t.Fatal(err)
		}
		copied, err := agents.SearchKnowledge(context.Background(), a.WorkspaceID, cp.ID, "reembolsos", 5)
		if err != nil || len(copied) != 1 || copied[0].Text != passages[0] || copied[0].FileID == f.ID || copied[0].Reference != "FAQ" {
			t.Errorf("copy's search: %+v %v", copied, err)
		}
		// Deleting the file removes its passages from the index (the
		// copy's stay).
		if err := knowledge.DeleteKnowledgeFile(ctx, agentID, f.ID); err != nil {
			t.Fatal(err)
		}
		if got := search("reembolsos"); len(got) != 0 {
			t.Errorf("after delete: %q", got)
		}
		if copied, _ := agents.SearchKnowledge(context.Background(), a.WorkspaceID, cp.ID, "reembolsos", 5); len(copied) != 1 {
			t.Errorf("the copy's passages went with the original's file: %+v", copied)
		}
	})
}

func errorAs(err error, target **plaza.Error) bool {
	e, ok := err.(*plaza.Error)
	if ok {
		*target = e
	}
	return ok
}
