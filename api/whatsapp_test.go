package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

const (
	numberA    = "100200300400501" // phone_number_id of tenant A in the fixtures
	wabaA      = "100200300400500"
	numberB    = "100200300400601"
	wabaB      = "100200300400600"
	appSecretA = "app-secret-of-tenant-a"
	appSecretB = "app-secret-of-tenant-b"
)

// connectNumber connects a fixture number to the tenant's workspace.
func (ts *testServer) connectNumber(a tenant, phoneNumberID, wabaID, display, appSecret string) string {
	ts.t.Helper()
	var n struct{ ID string }
	ts.do(req{Method: "POST", Path: "/api/workspace/" + a.WorkspaceID + "/whatsapp/numbers", Token: a.APIKey, Body: map[string]any{
		"phoneNumberId": phoneNumberID, "wabaId": wabaID, "displayPhoneNumber": display,
		"accessToken": "EAAG-token-" + phoneNumberID, "appSecret": appSecret, "verifyToken": "plaza-test-verify-token",
	}}).want(ts.t, http.StatusOK, "").into(ts.t, &n)
	return n.ID
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../whatsapp/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (ts *testServer) count(query string, args ...any) int {
	ts.t.Helper()
	var n int
	if err := ts.DB.QueryRowForTest(context.Background(), query, args...).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func TestWhatsAppNumbers(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		path := "/api/workspace/" + a.WorkspaceID + "/whatsapp/numbers"
		r := ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{
			"PhoneNumberId": numberA, "wabaId": wabaA, "displayPhoneNumber": "+1 555 000 1234",
			"accessToken": "EAAG-secret-token", "appSecret": appSecretA, "verifyToken": "plaza-test-verify-token",
		}}).want(t, http.StatusOK, "")
		assertGolden(t, "whatsapp_number_create", r.Body)
		var n struct{ ID, DisplayPhoneNumber string }
		r.into(t, &n)
		if n.DisplayPhoneNumber != "15550001234" {
			t.Errorf("displayPhoneNumber = %q", n.DisplayPhoneNumber)
		}

		// Secrets never come back and are not stored in clear.
		list := ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "")
		for _, secret := range []string{"EAAG-secret-token", appSecretA, "plaza-test-verify-token"} {
			if strings.Contains(string(list.Body), secret) || strings.Contains(string(r.Body), secret) {
				t.Fatalf("a reply shows %q", secret)
			}
			if ts.count(`SELECT count(*) FROM whatsapp_numbers WHERE access_token LIKE $1 OR app_secret LIKE $1 OR verify_token_hash LIKE $1`, "%"+secret+"%") != 0 {
				t.Fatalf("%q is stored in clear", secret)
			}
		}

		// One phone number id, one workspace, whichever asks.
		for _, tenant := range []tenant{a, b} {
			r := ts.do(req{Method: "POST", Path: "/api/workspace/" + tenant.WorkspaceID + "/whatsapp/numbers", Token: tenant.APIKey, Body: map[string]any{
				"phoneNumberId": numberA, "wabaId": wabaA, "displayPhoneNumber": "+1 555 000 9999",
				"accessToken": "t", "appSecret": "s", "verifyToken": "v"}}).want(t, http.StatusConflict, "CONFLICT")
			if strings.Contains(string(r.Body), a.WorkspaceID) {
				t.Fatalf("the conflict names the other workspace: %s", r.Body)
			}
		}

		// Bad input names every field.
		r = ts.do(req{Method: "POST", Path: path, Token: a.APIKey, Body: map[string]any{"phoneNumberId": "abc", "displayPhoneNumber": "x"}}).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
		if got := strings.Join(r.fields(), ","); got != "wabaId,accessToken,appSecret,verifyToken,phoneNumberId" {
			t.Fatalf("fields = %s", got)
		}

		// Agents cannot connect numbers; another workspace's number is not found.
		agent := ts.createUser(a, "agent@acme.test", "agent")
		ts.do(req{Method: "POST", Path: path, Token: agent, Workspace: a.WorkspaceID, Body: map[string]any{
			"phoneNumberId": numberB, "wabaId": wabaB, "displayPhoneNumber": "15550005678", "accessToken": "t", "appSecret": "s", "verifyToken": "v",
		}}).want(t, http.StatusForbidden, "FORBIDDEN")
		ts.do(req{Method: "DELETE", Path: "/api/workspace/" + b.WorkspaceID + "/whatsapp/numbers/" + n.ID, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		// A number's forwarding webhook goes with it.
		ts.do(req{Method: "POST", Path: path + "/" + n.ID + "/webhook", Token: a.APIKey,
			Body: map[string]any{"webhook": "https://receiver.example/hook"}}).want(t, http.StatusOK, "")
		if got := ts.count(`SELECT count(*) FROM webhook_endpoints WHERE whatsapp_number_id = $1`, n.ID); got != 1 {
			t.Fatalf("%d webhook endpoints, want 1", got)
		}
		ts.do(req{Method: "DELETE", Path: path + "/" + n.ID, Token: a.APIKey}).want(t, http.StatusOK, "")
		if got := ts.count(`SELECT count(*) FROM webhook_endpoints WHERE whatsapp_number_id = $1`, n.ID); got != 0 {
			t.Fatalf("%d webhook endpoints left after the number was disconnected", got)
		}
		var after []any
		ts.do(req{Method: "GET", Path: path, Token: a.APIKey}).want(t, http.StatusOK, "").into(t, &after)
		if len(after) != 0 {
			t.Fatalf("%d numbers after the delete", len(after))
		}
	})
}

func TestWhatsAppWebhook_Verification(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		get := func(query string) (int, string, string) {
			resp, err := http.Get(ts.URL + "/webhooks/whatsapp?" + query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
		}
		status, ctype, body := get(string(fixture(t, "other/verification_get.txt")))
		if status != 200 || body != "1158201444" || !strings.HasPrefix(ctype, "text/plain") {
			t.Fatalf("verification: %d %s %q", status, ctype, body)
		}
		for _, q := range []string{
			"hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
			"hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=plaza-test-verify-token",
			"hub.mode=subscribe&hub.challenge=1",
		} {
			ts.do(req{Method: "GET", Path: "/webhooks/whatsapp?" + q}).want(t, http.StatusForbidden, "FORBIDDEN")
		}
	})
}

func TestWhatsAppWebhook_Signature(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		stored := func() int { return ts.count(`SELECT count(*) FROM whatsapp_inbox`) }
		// The inbox row is the delivery's whole queue entry: no job beside it.
		jobs := func() int { return ts.count(`SELECT count(*) FROM river_job WHERE kind = 'whatsapp_inbox'`) }
		post := func(body []byte, signature string) *response {
			h := map[string]string{}
			if signature != "" {
				h["X-Hub-Signature-256"] = signature
			}
			return ts.do(req{Method: "POST", Path: "/webhooks/whatsapp", Header: h, Body: string(body)})
		}
		text := fixture(t, "inbound/text.json")

		// Refused, with nothing stored: no signature, another secret, a
		// body changed after signing, a signature over re-encoded JSON.
		post(text, "").want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		post(text, sign("not-the-secret", text)).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		post(append([]byte(" "), text...), sign(appSecretA, text)).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		post(text, "sha256=zz").want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		var v any
		json.Unmarshal(text, &v)
		reencoded, _ := json.Marshal(v)
		post(text, sign(appSecretA, reencoded)).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		if stored() != 0 || jobs() != 0 {
			t.Fatalf("%d deliveries and %d jobs stored from refused requests", stored(), jobs())
		}

		// Signed over the raw bytes (with Meta's \u escapes): stored,
		// unprocessed, for the drainer.
		post(text, sign(appSecretA, text)).want(t, http.StatusOK, "")
		if n := ts.count(`SELECT count(*) FROM whatsapp_inbox WHERE processed_at IS NULL AND attempts = 0`); n != 1 || jobs() != 0 {
			t.Fatalf("%d deliveries, %d jobs; want 1 and 0", n, jobs())
		}

		// A delivery naming another app's connected number is refused whole.
		ts.connectNumber(b, numberB, wabaB, "15550005678", appSecretB)
		two := fixture(t, "inbound/two_numbers_one_delivery.json")
		post(two, sign(appSecretA, two)).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		post(two, sign(appSecretB, two)).want(t, http.StatusUnauthorized, "UNAUTHORIZED")
		if stored() != 1 {
			t.Fatalf("%d deliveries stored, want 1", stored())
		}
		// Signed, but not a WhatsApp payload.
		junk := []byte(`{"object":"page","entry":[]}`)
		post(junk, sign(appSecretA, junk)).want(t, http.StatusBadRequest, "VALIDATION_FAILED")
	})
}
