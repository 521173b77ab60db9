package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// serve wires on-message: an agent added through the API answers through
// the configured LLM (a local server speaking OpenAI's format); an agent
// the workspace does not have is 404.
func TestServeOnMessageWired(t *testing.T) {
	t.Parallel()
	answer, err := os.ReadFile(filepath.Join("..", "..", "llm", "testdata", "chat_completion_text.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gotKey atomic.Value
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer fake.Close()
	keyFile := filepath.Join(t.TempDir(), "llm-key")
	os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600)

	dsn := sqldbtest.DSN(t, sqldb.SQLite)
	b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
	srv := startServe(t, envOf(map[string]string{"PLAZA_LLM_MODEL": "gpt-4o-mini", "PLAZA_LLM_API_KEY_FILE": keyFile}),
		"--database", dsn, "--secret-key", testKey, "--llm-base-url", fake.URL+"/v1")
	login := srv.login(t, "owner@example.com", testPassword)
	srv.mustCall(t, 404, "POST", "/api/agent/on-message", login.Token, b.WorkspaceID,
		map[string]any{"agentId": "nope", "sessionId": "s", "question": "hi"})
	srv.mustCall(t, 400, "POST", "/api/agent/on-message", login.Token, b.WorkspaceID, map[string]any{"agentId": "nope"})

	var added struct{ AgentID string }
	body, _ := json.Marshal(map[string]any{"name": "Ventas", "prompt": "Eres el asistente."})
	raw := post(t, srv.URL+"/api/agent/add", login.Token, b.WorkspaceID, body)
	json.Unmarshal(raw, &added)
	body, _ = json.Marshal(map[string]any{"agentId": added.AgentID, "sessionId": "s", "question": "¿Mi pedido?"})
	var out struct {
		Success bool
		Answer  string
	}
	json.Unmarshal(post(t, srv.URL+"/api/agent/on-message", login.Token, b.WorkspaceID, body), &out)
	if !out.Success || !strings.HasPrefix(out.Answer, "¡Hola Lucía!") || gotKey.Load() != "Bearer sk-from-file" {
		t.Errorf("answer %+v, LLM key %v", out, gotKey.Load())
	}
	srv.stop(t)
}

func post(t *testing.T, url, token, workspace string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("x-workspace-id", workspace)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", url, res.StatusCode, b)
	}
	return b
}
