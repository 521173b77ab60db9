package sqldb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// handoffConversation stores an inbound message and returns its
// conversation, with contexts acting as an AI agent and as the owner.
func handoffConversation(t *testing.T, db *sqldb.DB) (conversationID string, agentCtx, ownerCtx context.Context) {
	t.Helper()
	e := newInboundEnv(t, db)
	r, err := e.store.StoreInboundMessage(context.Background(), plaza.InboundMessage{Number: e.number, From: "51987654321",
		ProfileName: "Lucía", WAMID: "wamid.H1", Type: "text", Content: "Quiero hablar con una persona",
		Payload: []byte(`{}`), Timestamp: time.Unix(1795791600, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var ws, owner string
	if err := db.QueryRowForTest(context.Background(), `SELECT workspace_id FROM conversations WHERE id = $1`, r.ConversationID).Scan(&ws); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowForTest(context.Background(), `SELECT owner_id FROM workspaces WHERE id = $1`, ws).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	agentCtx = plaza.NewContextWithPrincipal(context.Background(), plaza.AgentPrincipal(ws, "agent-1"))
	ownerCtx = plaza.NewContextWithPrincipal(context.Background(), &plaza.Principal{UserID: owner, WorkspaceID: ws, Role: plaza.RoleOwner})
	return r.ConversationID, agentCtx, ownerCtx
}

func TestHandoffService_Lifecycle(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		conv, agentCtx, ownerCtx := handoffConversation(t, db)
		s := sqldb.NewHandoffService(db)
		state := func(ctx context.Context) plaza.HandoffState {
			t.Helper()
			h, err := s.FindHandoff(ctx, conv)
			if err != nil {
				t.Fatal(err)
			}
			return h.State
		}
		if got := state(ownerCtx); got != plaza.HandoffBotActive {
			t.Fatalf("new conversation: %s", got)
		}
		_, err := s.RequestHandoff(agentCtx, conv, " ")
		wantCode(t, err, plaza.EINVALID)

		h, err := s.RequestHandoff(agentCtx, conv, "customer asked for a person")
		if err != nil {
			t.Fatal(err)
		}
		if h.State != plaza.HandoffRequested || *h.Reason != "customer asked for a person" || *h.Actor != (plaza.Actor{Type: plaza.ActorAgent, ID: "agent-1"}) {
			t.Errorf("requested: %+v", h)
		}
		// Asked again: nothing changes.
		if _, err := s.RequestHandoff(agentCtx, conv, "again"); err != nil {
			t.Fatal(err)
		}
		h, _ = s.FindHandoff(ownerCtx, conv)
		if *h.Reason != "customer asked for a person" {
			t.Errorf("repeated request changed the reason: %+v", h)
		}
		if _, err := s.HumanTakeOver(ownerCtx, conv); err != nil {
			t.Fatal(err)
		}
		// The bot cannot ask for a human who is already there.
		if h, _ := s.RequestHandoff(agentCtx, conv, "no answer"); h.State != plaza.HandoffHumanActive {
			t.Errorf("request while a human is active: %s", h.State)
		}
		h, err = s.ResumeBot(ownerCtx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if h.State != plaza.HandoffBotResumed || h.Reason != nil || h.Actor.Type != plaza.ActorUser {
			t.Errorf("resumed: %+v", h)
		}
		if !state(agentCtx).BotAnswers() {
			t.Error("bot does not answer after resume")
		}
		if _, err := s.ResumeBot(ownerCtx, conv); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct{ from, to, actor string }{
			{"bot_active", "handoff_requested", "agent"}, {"handoff_requested", "human_active", "user"}, {"human_active", "bot_resumed", "user"},
		} {
			var n int
			if err := db.QueryRowForTest(context.Background(), `SELECT count(*) FROM handoff_changes
				WHERE conversation_id = $1 AND from_state = $2 AND to_state = $3 AND actor_type = $4`, conv, c.from, c.to, c.actor).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("change %+v recorded %d times", c, n)
			}
		}
		var total int
		db.QueryRowForTest(context.Background(), `SELECT count(*) FROM handoff_changes WHERE conversation_id = $1`, conv).Scan(&total)
		if total != 3 {
			t.Errorf("%d changes recorded, want 3", total)
		}
		// One handoff.changed event per change, with the new state.
		var events int
		db.QueryRowForTest(context.Background(), `SELECT count(*) FROM events WHERE type = 'handoff.changed' AND conversation_id = $1`, conv).Scan(&events)
		if events != 3 {
			t.Errorf("%d handoff.changed events, want 3", events)
		}
		var data string
		db.QueryRowForTest(context.Background(), `SELECT data FROM events WHERE type = 'handoff.changed' AND conversation_id = $1 ORDER BY id LIMIT 1`, conv).Scan(&data)
		if want := `{"conversationId":"` + conv + `","reason":"customer asked for a person","state":"handoff_requested"}`; data != want {
			t.Errorf("event data %s, want %s", data, want)
		}
	})
}

func TestHandoffService_OtherWorkspace(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		conv, _, _ := handoffConversation(t, db)
		other := mustBootstrap(t, db, "Other", "otto@other.test")
		ctx := plaza.NewContextWithPrincipal(context.Background(), &plaza.Principal{UserID: other.UserID, WorkspaceID: other.WorkspaceID, Role: plaza.RoleOwner})
		s := sqldb.NewHandoffService(db)
		_, err := s.FindHandoff(ctx, conv)
		wantCode(t, err, plaza.ENOTFOUND)
		_, err = s.RequestHandoff(ctx, conv, "x")
		wantCode(t, err, plaza.ENOTFOUND)
		_, err = s.HumanTakeOver(ctx, conv)
		wantCode(t, err, plaza.ENOTFOUND)
	})
}

// A human's reply and the agent's request at once leave one consistent
// state and one recorded change each, whatever the order.
func TestHandoffService_Concurrent(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		conv, agentCtx, ownerCtx := handoffConversation(t, db)
		s := sqldb.NewHandoffService(db)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 10 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := s.RequestHandoff(agentCtx, conv, "r")
				errs <- err
			}()
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					_, err := s.HumanTakeOver(ownerCtx, conv)
					errs <- err
				} else {
					_, err := s.ResumeBot(ownerCtx, conv)
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// Each recorded change starts where the one before it ended, and
		// changes something.
		var broken int
		if err := db.QueryRowForTest(context.Background(), `SELECT count(*) FROM handoff_changes c WHERE c.conversation_id = $1 AND (
			c.from_state = c.to_state OR c.from_state <> COALESCE((SELECT p.to_state FROM handoff_changes p
				WHERE p.conversation_id = c.conversation_id AND p.id < c.id ORDER BY p.id DESC LIMIT 1), 'bot_active'))`, conv).Scan(&broken); err != nil {
			t.Fatal(err)
		}
		if broken != 0 {
			t.Errorf("%d changes do not follow the one before", broken)
		}
		var prev string
		if err := db.QueryRowForTest(context.Background(), `SELECT to_state FROM handoff_changes WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1`, conv).Scan(&prev); err != nil {
			t.Fatal(err)
		}
		h, _ := s.FindHandoff(ownerCtx, conv)
		if string(h.State) != prev {
			t.Errorf("state %s, last change to %s", h.State, prev)
		}
	})
}
