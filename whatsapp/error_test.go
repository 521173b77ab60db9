package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClient_APIError(t *testing.T) {
	const window = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
	tests := []struct {
		fixture     string
		status      int
		want        *APIError
		retryable   bool
		rateLimited bool
		window      bool
		unauth      bool
	}{
		{
			fixture: "send/error_100_invalid_parameter.json", status: 400,
			want: &APIError{HTTPStatus: 400, Code: 100, Type: "OAuthException", Message: "(#100) Invalid parameter",
				Details: "Parameter 'text' is mandatory for component parameter type 'text'", FBTraceID: "ATestTrace100AbCdEfGh"},
		},
		{
			fixture: "send/error_130429_rate_limit.json", status: 400,
			want: &APIError{HTTPStatus: 400, Code: 130429, Subcode: 2494055, Type: "OAuthException", Message: "(#130429) Rate limit hit",
				Details: "Cloud API message throughput has been reached.", FBTraceID: "ATestTrace130429hIjKlMn"},
			retryable: true, rateLimited: true,
		},
		{
			fixture: "send/error_131047_reengagement.json", status: 400,
			want: &APIError{HTTPStatus: 400, Code: 131047, Type: "OAuthException", Message: "(#131047) Re-engagement message",
				Details: window, FBTraceID: "ATestTrace131047aBcDeFg"},
			window: true,
		},
		{
			fixture: "send/error_131056_pair_rate.json", status: 400,
			want: &APIError{HTTPStatus: 400, Code: 131056, Type: "OAuthException", Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
				Details: "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.", FBTraceID: "ATestTrace131056oPqRsTu"},
			retryable: true, rateLimited: true,
		},
		{
			fixture: "send/error_190_token_expired.json", status: 401,
			want: &APIError{HTTPStatus: 401, Code: 190, Subcode: 463, Type: "OAuthException",
				Message:   "Error validating access token: Session has expired on Friday, 27-Nov-26 06:00:00 PST. The current time is Friday, 27-Nov-26 07:00:00 PST.",
				FBTraceID: "ATestTrace190vWxYz0123"},
			unauth: true,
		},
		{
			// The same envelope with HTTP 400, as recorded Graph errors come.
			fixture: "send/error_190_token_expired.json", status: 400,
			want: &APIError{HTTPStatus: 400, Code: 190, Subcode: 463, Type: "OAuthException",
				Message:   "Error validating access token: Session has expired on Friday, 27-Nov-26 06:00:00 PST. The current time is Friday, 27-Nov-26 07:00:00 PST.",
				FBTraceID: "ATestTrace190vWxYz0123"},
			unauth: true,
		},
		{
			// A 5xx is retryable whatever its code.
			fixture: "send/error_100_invalid_parameter.json", status: 503,
			want: &APIError{HTTPStatus: 503, Code: 100, Type: "OAuthException", Message: "(#100) Invalid parameter",
				Details: "Parameter 'text' is mandatory for component parameter type 'text'", FBTraceID: "ATestTrace100AbCdEfGh"},
			retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+http.StatusText(tt.status), func(t *testing.T) {
			c, _ := newFakeGraph(t, respondWith(t, tt.status, tt.fixture))
			_, err := c.SendText(context.Background(), testPhoneID, testToken, lucia, "hola", TextOptions{})
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("APIError mismatch (-want +got):\n%s", diff)
			}
			if got.Retryable() != tt.retryable || got.RateLimited() != tt.rateLimited || got.WindowClosed() != tt.window || got.Unauthorized() != tt.unauth {
				t.Errorf("Retryable, RateLimited, WindowClosed, Unauthorized = %v, %v, %v, %v; want %v, %v, %v, %v",
					got.Retryable(), got.RateLimited(), got.WindowClosed(), got.Unauthorized(),
					tt.retryable, tt.rateLimited, tt.window, tt.unauth)
			}
			if !strings.Contains(got.Error(), tt.want.FBTraceID) {
				t.Errorf("Error() = %q lacks the fbtrace_id", got.Error())
			}
		})
	}
}

func TestClient_APIError_WrongToken(t *testing.T) {
	c, _ := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
	_, err := c.SendText(context.Background(), testPhoneID, "EAAexpired", lucia, "hola", TextOptions{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.Unauthorized() || apiErr.Retryable() {
		t.Fatalf("err = %v, want an unauthorized, non-retryable *APIError", err)
	}
}

func TestAPIError_Codes(t *testing.T) {
	tests := []struct {
		err                                 APIError
		retryable, rateLimited, windowClose bool
	}{
		{APIError{HTTPStatus: 400, Code: CodeTooManyCalls}, true, true, false},
		{APIError{HTTPStatus: 400, Code: CodeRateLimit613}, true, true, false},
		{APIError{HTTPStatus: 400, Code: CodeRateLimitIssues}, true, true, false},
		{APIError{HTTPStatus: 429}, true, true, false},
		{APIError{HTTPStatus: 503, Code: CodeAPIService}, true, false, false},
		{APIError{HTTPStatus: 400, Code: CodeSomethingWentWrong}, true, false, false},
		{APIError{HTTPStatus: 400, Code: CodeServiceUnavailable}, true, false, false},
		{APIError{HTTPStatus: 400, Code: CodeServerUnavailable}, true, false, false},
		{APIError{HTTPStatus: 400, Code: 1, Transient: true}, true, false, false},
		{APIError{HTTPStatus: 400, Code: CodeSpamRateLimit}, false, false, false},
		{APIError{HTTPStatus: 400, Code: CodeReengagement}, false, false, true},
		{APIError{HTTPStatus: 400, Code: 131026}, false, false, false},
	}
	for _, tt := range tests {
		e := tt.err
		if e.Retryable() != tt.retryable || e.RateLimited() != tt.rateLimited || e.WindowClosed() != tt.windowClose {
			t.Errorf("%v: Retryable, RateLimited, WindowClosed = %v, %v, %v; want %v, %v, %v",
				&e, e.Retryable(), e.RateLimited(), e.WindowClosed(), tt.retryable, tt.rateLimited, tt.windowClose)
		}
	}
}

func TestClient_APIError_NotAnEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantMsg   string
		retryable bool
	}{
		{"ProxyHTML502", 502, "<html><body>Bad Gateway</body></html>", "Bad Gateway: <html><body>Bad Gateway</body></html>", true},
		{"Empty404", 404, "", "Not Found", false},
		{"ErrorDataString", 400, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_data":"Template name already exists","fbtrace_id":"T"}}`, "Invalid parameter", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			_, err := c.SendText(context.Background(), testPhoneID, testToken, lucia, "hola", TextOptions{})
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if got.HTTPStatus != tt.status || got.Message != tt.wantMsg || got.Retryable() != tt.retryable {
				t.Errorf("got %#v (retryable %v), want status %d, message %q, retryable %v", got, got.Retryable(), tt.status, tt.wantMsg, tt.retryable)
			}
			if tt.name == "ErrorDataString" && got.Details != "Template name already exists" {
				t.Errorf("Details = %q", got.Details)
			}
		})
	}
}

// TestClient_NetworkError checks that a failure to reach Meta is an
// ordinary error, not an *APIError: the caller decides.
func TestClient_NetworkError(t *testing.T) {
	c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
	g.Close()
	_, err := c.SendText(context.Background(), testPhoneID, testToken, lucia, "hola", TextOptions{})
	if err == nil {
		t.Fatal("SendText to a closed server succeeded")
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("network error reported as an *APIError: %v", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

// blockingGraph answers only when the request's context ends, telling the
// test once the request arrived.
func blockingGraph(t *testing.T) (*Client, <-chan struct{}) {
	started := make(chan struct{}, 1)
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	return c, started
}

func TestClient_ContextCancel(t *testing.T) {
	t.Run("BeforeTheCall", func(t *testing.T) {
		c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.SendText(ctx, testPhoneID, testToken, lucia, "hola", TextOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(g.Calls()); n != 0 {
			t.Errorf("a cancelled call reached the server %d times", n)
		}
	})
	t.Run("InFlight", func(t *testing.T) {
		c, started := blockingGraph(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-started
			cancel()
		}()
		_, err := c.ListTemplates(ctx, testWABA, testToken)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("ClientTimeout", func(t *testing.T) {
		c, _ := blockingGraph(t)
		c.Timeout = time.Millisecond
		_, err := c.MediaURL(context.Background(), "1000000000000101", testToken)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("Download", func(t *testing.T) {
		c, started := blockingGraph(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-started
			cancel()
		}()
		_, err := c.DownloadMedia(ctx, c.BaseURL+"/media/1000000000000101", testToken, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}
