package messaging

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// SignWebhook returns the Standard Webhooks 1.0 signature header value of
// a message: "v1," and the base64 HMAC-SHA256 of "id.timestamp.body",
// keyed with the base64-decoded part of secret after "whsec_".
func SignWebhook(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// WebhookRetryDelays is the wait before each retry of a delivery (after
// attempt 1, 2, ...): about a day in all, with plaza.WebhookMaxAttempts.
var WebhookRetryDelays = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// FetchGuard refuses connections to loopback, private, link-local,
// unspecified and multicast addresses unless allow-listed. It checks the
// address actually dialled (net.Dialer.Control), after DNS resolution, so
// a name resolving to a private address later (DNS rebinding) is refused
// too.
type FetchGuard struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
}

// ParseFetchAllow parses PLAZA_FETCH_ALLOW: a comma-separated list of host
// names, IP addresses and CIDR prefixes the server may call even though
// they are private.
func ParseFetchAllow(list string) (*FetchGuard, error) {
	g := &FetchGuard{hosts: map[string]bool{}}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("fetch allow list: %q: %w", item, err)
			}
			g.prefixes = append(g.prefixes, p.Masked())
		default:
			if a, err := netip.ParseAddr(item); err == nil {
				g.prefixes = append(g.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			} else {
				g.hosts[strings.ToLower(item)] = true
			}
		}
	}
	return g, nil
}

func (g *FetchGuard) allowedAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast()) {
		return true
	}
	if g == nil {
		return false
	}
	for _, p := range g.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckURL refuses, at registration, a URL whose host is a refused IP
// address or "localhost"; other names are checked when dialled.
func (g *FetchGuard) CheckURL(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	if g != nil && g.hosts[host] {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && !g.allowedAddr(a) {
		return fmt.Errorf("%s is a private, loopback or link-local address (see PLAZA_FETCH_ALLOW)", host)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%s is a loopback name (see PLAZA_FETCH_ALLOW)", host)
	}
	return nil
}

// HTTPClient returns a client for user-given URLs: no proxy, the guard at
// dial time, timeout 10 s, no redirects followed.
func (g *FetchGuard) HTTPClient() *http.Client {
	control := func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !g.allowedAddr(ap.Addr()) {
			return fmt.Errorf("refused to connect to %s: private, loopback or link-local address (see PLAZA_FETCH_ALLOW)", ap.Addr())
		}
		return nil
	}
	guarded := &net.Dialer{Timeout: 10 * time.Second, Control: control}
	open := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if g != nil && g.hosts[strings.ToLower(host)] {
				return open.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ForwardWorker delivers inbound messages to forwarding webhooks
// (plaza.WebhookForwardJob): one signed POST per attempt, each logged. A
// 2xx ends the delivery; 410 Gone fails it and disables the endpoint;
// anything else is retried on WebhookRetryDelays until
// plaza.WebhookMaxAttempts, then the delivery is left failed.
type ForwardWorker struct {
	river.WorkerDefaults[plaza.WebhookForwardJob]

	Store  plaza.WebhookForwardStore
	Client *http.Client
	Logger *slog.Logger
	// Now is the clock of webhook-timestamp (time.Now when nil).
	Now func() time.Time
	// RetryDelays overrides WebhookRetryDelays (tests).
	RetryDelays []time.Duration
}

// AddForwardWorker registers w on workers.
func AddForwardWorker(workers *river.Workers, w *ForwardWorker) { river.AddWorker(workers, w) }

// NextRetry follows WebhookRetryDelays.
func (w *ForwardWorker) NextRetry(job *river.Job[plaza.WebhookForwardJob]) time.Time {
	delays := WebhookRetryDelays
	if len(w.RetryDelays) > 0 {
		delays = w.RetryDelays
	}
	i := min(max(job.Attempt-1, 0), len(delays)-1)
	return time.Now().Add(delays[i])
}

// Timeout bounds an attempt, recording included.
func (w *ForwardWorker) Timeout(*river.Job[plaza.WebhookForwardJob]) time.Duration {
	return 30 * time.Second
}

// Work makes one attempt of a delivery.
func (w *ForwardWorker) Work(ctx context.Context, job *river.Job[plaza.WebhookForwardJob]) error {
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("delivery_id", job.Args.DeliveryID, "workspace_id", job.Args.WorkspaceID, "attempt", job.Attempt)
	send, err := w.Store.WebhookSendOf(ctx, job.Args.WorkspaceID, job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if send == nil {
		log.Info("webhook forward: delivery no longer pending, or its endpoint was replaced, removed or disabled")
		return nil
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	start := now()
	code, sendErr := w.post(ctx, send, start.Unix())
	a := plaza.WebhookAttempt{AttemptedAt: plaza.NewTime(start), DurationMs: time.Since(start).Milliseconds()}
	if code != 0 {
		a.StatusCode = &code
	}
	if sendErr != nil {
		msg := sendErr.Error()
		a.Error = &msg
	}
	last := job.Attempt >= job.MaxAttempts
	status, disable := plaza.WebhookPending, ""
	switch {
	case code >= 200 && code < 300:
		status = plaza.WebhookDelivered
	case code == http.StatusGone:
		status, disable = plaza.WebhookFailed, "The receiver answered 410 Gone."
	case last:
		status = plaza.WebhookFailed
	}
	if err := w.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), send.WorkspaceID, send.DeliveryID, a, status, disable); err != nil {
		return err
	}
	log.Info("webhook forward: attempt", "status_code", code, "error", a.Error, "status", status)
	if status != plaza.WebhookPending {
		return nil
	}
	if sendErr == nil {
		sendErr = fmt.Errorf("the receiver answered %d", code)
	}
	return sendErr
}

// post sends the delivery once; code is 0 when no response came.
func (w *ForwardWorker) post(ctx context.Context, send *plaza.WebhookSend, ts int64) (code int, err error) {
	sig, err := SignWebhook(send.Secret, send.DeliveryID, ts, send.Body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, send.URL, bytes.NewReader(send.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Plaza-Webhooks/1")
	req.Header.Set("webhook-id", send.DeliveryID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	client := w.Client
	if client == nil {
		client = (*FetchGuard)(nil).HTTPClient()
	}
	res, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}
