// Package whatsapp speaks Meta's WhatsApp Business Cloud API: a Client for
// the Graph API (sending messages, media, templates) and the webhook side
// (signature and challenge verification, typed parsing of notifications,
// status ordering).
//
// The package holds no credentials and no state: every Client method takes
// the number's ids and access token explicitly, so one Client serves every
// workspace and number. It knows nothing about Plaza's storage or HTTP API.
package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the Graph API root used when Client.BaseURL is empty.
const DefaultBaseURL = "https://graph.facebook.com/v23.0"

// Default limits of a Client whose fields are left zero.
const (
	// DefaultTimeout bounds one Graph API call (request and response).
	DefaultTimeout = 30 * time.Second
	// DefaultTransferTimeout bounds a media upload, and a media download
	// until its body is closed.
	DefaultTransferTimeout = 5 * time.Minute
	// DefaultMaxMediaSize is the largest file WhatsApp carries (a 100 MB
	// document); it caps uploads, and downloads given no limit.
	DefaultMaxMediaSize = 100 << 20
)

// maxResponseSize caps the JSON answers the client reads (a page of
// templates is the largest).
const maxResponseSize = 16 << 20

// Client calls the Graph API. The zero value is ready to use and talks to
// DefaultBaseURL. A Client is safe for concurrent use.
type Client struct {
	// BaseURL is the Graph API root including its version, e.g.
	// "https://graph.facebook.com/v23.0". Tests point it at an httptest
	// server.
	BaseURL string
	// HTTP is the HTTP client used; nil means http.DefaultClient. Timeouts
	// are applied through the request context, so a client without
	// Timeout is fine.
	HTTP *http.Client
	// Timeout bounds each API call; zero means DefaultTimeout. A deadline
	// already on the caller's context wins when it is earlier.
	Timeout time.Duration
	// TransferTimeout bounds UploadMedia and DownloadMedia; zero means
	// DefaultTransferTimeout.
	TransferTimeout time.Duration
	// UserAgent is sent on every request; empty means "Plaza-WhatsApp/1".
	// WhatsApp's media CDN has been seen to refuse requests without one.
	UserAgent string
}

func (c *Client) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c *Client) transferTimeout() time.Duration {
	if c.TransferTimeout <= 0 {
		return DefaultTransferTimeout
	}
	return c.TransferTimeout
}

func (c *Client) userAgent() string {
	if c.UserAgent == "" {
		return "Plaza-WhatsApp/1"
	}
	return c.UserAgent
}

// newRequest builds a Graph request for path (ids already checked) with
// the token and the headers every call carries.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, token string, body io.Reader) (*http.Request, error) {
	u := c.baseURL() + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent())
	return req, nil
}

// call sends one JSON request (in may be nil for a GET) and decodes a 2xx
// JSON answer into out. A non-2xx answer is an *APIError.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, token string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()

	var body io.Reader
	if in != nil {
		b, err := encodeRequest(in)
		if err != nil {
			return fmt.Errorf("whatsapp: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, query, token, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.roundTrip(req, out)
}

// roundTrip executes req and decodes its JSON answer into out.
func (c *Client) roundTrip(req *http.Request, out any) error {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("whatsapp: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("whatsapp: %s %s: read response: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp.StatusCode, data)
	}
	if len(data) > maxResponseSize {
		return fmt.Errorf("whatsapp: %s %s: response larger than %d bytes", req.Method, req.URL.Path, maxResponseSize)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("whatsapp: %s %s: decode response: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// checkID refuses an empty or non-numeric Graph id before it is put in a
// URL path: every id Meta issues is numeric, and anything else could make
// the request (and its token) reach another endpoint.
func checkID(field, id string) error {
	if id == "" {
		return invalid(field, "is required")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return invalid(field, "must be a numeric Graph id")
		}
	}
	return nil
}

func checkToken(token string) error {
	if token == "" {
		return invalid("token", "is required")
	}
	return nil
}
