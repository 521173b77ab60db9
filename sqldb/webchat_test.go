package sqldb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

const webchatSecret = "test-secret-key-0123456789abcdef-0123"

// A visitor's session, message and a reply: the contact is a web chat
// contact in the default stage, the conversation is on the web chat, the
// visitor's message leaves the contact unread, and the reply is sent at
// once with who wrote it.
func TestWebchatService_RoundTrip(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := mustBootstrap(t, db, "Acme", "ana@acme.test")
		s := sqldb.NewWebchatService(db, webchatSecret)
		sess, err := s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, Name: "Lucía",
			AgentID: "agent-1", ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.Resumed || sess.Name != "Lucía" || sess.WorkspaceID != b.WorkspaceID || sess.Token == "" {
			t.Fatalf("session %+v", sess)
		}
		var platform int
		var channel, agent string
		if err := db.QueryRowForTest(ctx, `SELECT c.platform_id, cv.channel, cv.webchat_agent_id FROM contacts c
			JOIN conversations cv ON cv.workspace_id = c.workspace_id AND cv.contact_id = c.id
			WHERE c.workspace_id = $1 AND c.id = $2 AND cv.id = $3 AND c.stage_id IS NOT NULL`,
			b.WorkspaceID, sess.ContactID, sess.ConversationID).Scan(&platform, &channel, &agent); err != nil {
			t.Fatal(err)
		}
		if platform != plaza.PlatformWebchat || channel != "webchat" || agent != "agent-1" {
			t.Errorf("contact platform %d, conversation %s, agent %q", platform, channel, agent)
		}

		v, err := s.WebchatVisitor(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		want := plaza.WebchatVisitor{WorkspaceID: b.WorkspaceID, ContactID: sess.ContactID, ConversationID: sess.ConversationID, AgentID: "agent-1"}
		if *v != want {
			t.Fatalf("visitor %+v, want %+v", *v, want)
		}
		in, err := s.PostWebchatMessage(ctx, *v, "¿Tienen envío a Lima?", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if in.Direction != "in" || in.PlatformID != "1" || in.PlatformType != "webchat" || in.Status != nil || in.Content != "¿Tienen envío a Lima?" {
			t.Errorf("inbound %+v", in)
		}
		var last string
		var read bool
		db.QueryRowForTest(ctx, `SELECT last_message, is_read FROM contacts WHERE id = $1`, sess.ContactID).Scan(&last, &read)
		if last != "¿Tienen envío a Lima?" || read {
			t.Errorf("contact last message %q, read %v", last, read)
		}

		out, err := s.SendWebchatReply(ctx, b.WorkspaceID, sess.ConversationID, "Sí, en 48 horas.", plaza.AnswerAI, "agent-1")
		if err != nil {
			t.Fatal(err)
		}
		if out.Direction != "out" || *out.Status != "sent" || *out.AnswerType != "ai" || *out.AnswerAgentID != "agent-1" {
			t.Errorf("reply %+v", out)
		}
		msgs, err := s.WebchatMessages(ctx, *v, plaza.MessagePage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].ID != in.ID || msgs[1].ID != out.ID {
			t.Errorf("history %+v", msgs)
		}
		older, err := s.WebchatMessages(ctx, *v, plaza.MessagePage{Before: out.ID})
		if err != nil || len(older) != 1 || older[0].ID != in.ID {
			t.Errorf("page before the reply: %+v, %v", older, err)
		}

		// Another workspace's conversation is not one the reply can reach.
		other := mustBootstrap(t, db, "Other", "otto@other.test")
		_, err = s.SendWebchatReply(ctx, other.WorkspaceID, sess.ConversationID, "hola", plaza.AnswerHuman, "")
		if plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("reply into another workspace: %v", err)
		}
		_, err = s.SendWebchatReply(ctx, b.WorkspaceID, sess.ConversationID, " ", "bot", "")
		if got := fieldsOf(err); strings.Join(got, ",") != "content,answerType" {
			t.Errorf("bad reply names %v (%v)", got, err)
		}

		// A blocked contact's chat is closed.
		if err := db.ExecForTest(ctx, `UPDATE contacts SET blocked = TRUE WHERE id = $1`, sess.ContactID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PostWebchatMessage(ctx, *v, "¿hola?", "192.0.2.1"); plaza.ErrorCode(err) != plaza.EFORBIDDEN {
			t.Errorf("a blocked visitor writes: %v", err)
		}

		// Resuming gives the same visitor and a fresh token.
		again, err := s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, Token: sess.Token, ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if !again.Resumed || again.ContactID != sess.ContactID || again.ConversationID != sess.ConversationID {
			t.Errorf("resumed %+v", again)
		}
		// A token of one workspace does not resume in another.
		_, err = s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: other.WorkspaceID, Token: sess.Token, ClientAddr: "192.0.2.1"})
		if plaza.ErrorCode(err) != plaza.EUNAUTHORIZED {
			t.Errorf("token of another workspace: %v", err)
		}
	})
}

func fieldsOf(err error) []string {
	var out []string
	if e, ok := err.(*plaza.Error); ok {
		for _, f := range e.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

// Tokens cannot be forged, altered, reused by another server secret or
// used after they expire; a deleted contact's token ends too.
func TestWebchatService_Tokens(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := mustBootstrap(t, db, "Acme", "ana@acme.test")
		s := sqldb.NewWebchatService(db, webchatSecret)
		sess, err := s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		prefix, sig, _ := strings.Cut(sess.Token[4:], ".")
		_, otherSig, _ := strings.Cut(other.Token[4:], ".")
		foreign := sqldb.NewWebchatService(db, "another-secret-key-0123456789abcdef-99")
		fromForeign, err := foreign.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, ClientAddr: "192.0.2.2"})
		if err != nil {
			t.Fatal(err)
		}
		for name, token := range map[string]string{
			"empty":                      "",
			"garbage":                    "not-a-token",
			"signature of another token": "wc1." + prefix + "." + otherSig,
			"truncated":                  sess.Token[:len(sess.Token)-2],
			"another secret":             fromForeign.Token,
			"unsigned":                   "wc1." + prefix + ".",
			"other version":              "wc2." + prefix + "." + sig,
		} {
			if _, err := s.WebchatVisitor(ctx, token); plaza.ErrorCode(err) != plaza.EUNAUTHORIZED {
				t.Errorf("%s token: %v", name, err)
			}
		}
		if _, err := s.WebchatVisitor(ctx, sess.Token); err != nil {
			t.Fatalf("the real token: %v", err)
		}
		// Expired.
		db.Now = func() time.Time { return time.Now().Add(sqldb.DefaultWebchatTokenTTL + time.Minute) }
		if _, err := s.WebchatVisitor(ctx, sess.Token); plaza.ErrorCode(err) != plaza.EUNAUTHORIZED {
			t.Errorf("expired token: %v", err)
		}
		db.Now = time.Now
		// The contact deleted.
		if err := db.ExecForTest(ctx, `UPDATE contacts SET deletion_date = $2 WHERE id = $1`, sess.ContactID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebchatVisitor(ctx, sess.Token); plaza.ErrorCode(err) != plaza.EUNAUTHORIZED {
			t.Errorf("token of a deleted contact: %v", err)
		}
	})
}

// The rate limits count per address, across service values (replicas),
// and answer with the rest of the window; a new window starts over.
func TestWebchatService_RateLimit(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := mustBootstrap(t, db, "Acme", "ana@acme.test")
		one, two := sqldb.NewWebchatService(db, webchatSecret), sqldb.NewWebchatService(db, webchatSecret)
		limits := plaza.WebchatLimits{Sessions: 3, SessionWindow: time.Hour, Messages: 2, MessageWindow: time.Minute}
		one.Limits, two.Limits = limits, limits
		start := func(s *sqldb.WebchatService, addr string) (*plaza.WebchatSession, error) {
			return s.StartWebchatSession(ctx, plaza.WebchatSessionStart{WorkspaceID: b.WorkspaceID, ClientAddr: addr})
		}
		var sess *plaza.WebchatSession
		for i, s := range []*sqldb.WebchatService{one, two, one} {
			var err error
			if sess, err = start(s, "198.51.100.7"); err != nil {
				t.Fatalf("session %d: %v", i+1, err)
			}
		}
		_, err := start(two, "198.51.100.7")
		e, ok := err.(*plaza.Error)
		if !ok || e.Code != plaza.ERATELIMITED || e.RetryAfter <= 0 || e.RetryAfter > time.Hour {
			t.Fatalf("fourth session: %v", err)
		}
		if _, err := start(two, "198.51.100.8"); err != nil {
			t.Errorf("another address: %v", err)
		}
		v, err := one.WebchatVisitor(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := two.PostWebchatMessage(ctx, *v, "hola", "198.51.100.7"); err != nil {
				t.Fatalf("message %d: %v", i+1, err)
			}
		}
		if _, err := one.PostWebchatMessage(ctx, *v, "hola", "198.51.100.7"); plaza.ErrorCode(err) != plaza.ERATELIMITED {
			t.Errorf("third message: %v", err)
		}
		if n := countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, v.ConversationID); n != 2 {
			t.Errorf("%d messages stored, want 2", n)
		}
		db.Now = func() time.Time { return time.Now().Add(61 * time.Second) }
		if _, err := one.PostWebchatMessage(ctx, *v, "hola", "198.51.100.7"); err != nil {
			t.Errorf("message in the next window: %v", err)
		}
	})
}

func countRows(t *testing.T, db *sqldb.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowForTest(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
