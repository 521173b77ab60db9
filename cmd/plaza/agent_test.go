package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

func TestServeLLMFlags(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--llm-base-url", "https://api.openai.com/v1"}, "--llm-model is required"},
		{map[string]string{"PLAZA_LLM_BASE_URL": "ftp://llm.example.com", "PLAZA_LLM_MODEL": "m"}, nil, "--llm-base-url must be an http(s) URL"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", dsn}, tc.args...)
		err := run(context.Background(), args, envOf(tc.env), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v %v: err = %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}

	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, envOf(map[string]string{"PLAZA_LLM_API_KEY": "sk-llm-secret-42"}), nil, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	help := stderr.String()
	for _, want := range []string{"-llm-base-url", "PLAZA_LLM_BASE_URL", "-llm-api-key", "PLAZA_LLM_API_KEY", "-llm-model", "PLAZA_LLM_MODEL"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	if strings.Contains(help, "sk-llm-secret-42") {
		t.Error("--help shows the LLM key")
	}
}

// serve wires on-message with an LLM configured (its key read from a
// file); an agent the workspace does not have is 404.
func TestServeOnMessageWired(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
	srv := startServe(t, envOf(map[string]string{"PLAZA_LLM_MODEL": "gpt-4o-mini"}), "--database", dsn, "--secret-key", testKey,
		"--llm-base-url", "http://127.0.0.1:9/v1")
	login := srv.login(t, "owner@example.com", testPassword)
	srv.mustCall(t, 404, "POST", "/api/agent/on-message", login.Token, b.WorkspaceID,
		map[string]any{"agentId": "nope", "sessionId": "s", "question": "hi"})
	srv.mustCall(t, 400, "POST", "/api/agent/on-message", login.Token, b.WorkspaceID, map[string]any{"agentId": "nope"})
	srv.stop(t)
}
