package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// plaza serve works the webhook's deliveries on its queue: a signed
// inbound message becomes a contact's conversation, read back through the
// API, and the queue stops cleanly with the server.
func TestServeProcessesInboundMessages(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		srv := startServe(t, noEnv, "--database", dsn, "--secret-key", testKey)
		const appSecret = "app-secret-of-tenant-a"
		srv.mustCall(t, 200, "POST", "/api/workspace/"+b.WorkspaceID+"/whatsapp/numbers", b.APIKey, "", map[string]string{
			"phoneNumberId": "100200300400501", "wabaId": "100200300400500", "displayPhoneNumber": "15550001234",
			"accessToken": "token", "appSecret": appSecret, "verifyToken": "verify"})

		body, err := os.ReadFile("../../whatsapp/testdata/inbound/text.json")
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte(appSecret))
		mac.Write(body)
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}

		var page struct {
			Data []struct {
				PlatformSenderName string  `json:"platformSenderName"`
				LastMessage        *string `json:"lastMessage"`
			} `json:"data"`
		}
		deadline := time.Now().Add(time.Minute)
		for {
			env := srv.mustCall(t, 200, "GET", "/api/conversation", b.APIKey, "", nil)
			if err := json.Unmarshal(env.Data, &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Data) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no conversation within a minute:\n%s", srv.Logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if c := page.Data[0]; len(page.Data) != 1 || c.PlatformSenderName != "Lucía Fernández" || c.LastMessage == nil ||
			*c.LastMessage != "Hola, ¿tienen el sofá Oslo en color azul?" {
			t.Fatalf("conversations: %+v", page.Data)
		}
		srv.stop(t)
	})
}

// plaza serve ends its open event streams when it shuts down, instead of
// waiting --shutdown-timeout for them, and the stream's client sees the
// end.
func TestServeEndsEventStreams(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		b := mustBootstrap(t, dsn, "Acme", "owner@example.com")
		srv := startServe(t, envOf(map[string]string{"PLAZA_SHUTDOWN_TIMEOUT": "1m"}), "--database", dsn, "--secret-key", testKey)
		req, _ := http.NewRequest("GET", srv.URL+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+b.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/events: %d", resp.StatusCode)
		}
		first, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || !strings.HasPrefix(first, ":") {
			t.Fatalf("the stream began with %q, %v", first, err)
		}
		ended := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
		srv.stop(t) // fails unless serve returns nil, before the one-minute timeout
		if err := <-ended; err != nil {
			t.Fatalf("the stream ended with %v", err)
		}
	})
}
