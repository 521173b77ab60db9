package messaging_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/plaza-crm/plaza/messaging"
)

// The Standard Webhooks specification's test vector, as its libraries'
// tests use it.
func TestSignWebhook_StandardWebhooksVector(t *testing.T) {
	got, err := messaging.SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestFetchGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	closed, _ := messaging.ParseFetchAllow("")
	// Refused when dialled, whatever the URL says (a name resolving to
	// loopback is refused the same way).
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", u, nil)
		if _, err := closed.HTTPClient().Do(req); err == nil || !strings.Contains(err.Error(), "refused to connect") {
			t.Fatalf("%s: got %v, want refused", u, err)
		}
	}
	for _, raw := range []string{"http://10.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/x", "http://localhost:8080/x"} {
		u, _ := url.Parse(raw)
		if closed.CheckURL(u) == nil {
			t.Errorf("%s accepted", raw)
		}
	}
	u, _ := url.Parse("https://example.com/hook")
	if err := closed.CheckURL(u); err != nil {
		t.Error(err)
	}
	open, err := messaging.ParseFetchAllow("127.0.0.0/8, example.internal")
	if err != nil {
		t.Fatal(err)
	}
	res, err := open.HTTPClient().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}
