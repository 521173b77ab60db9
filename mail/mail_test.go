package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small SMTP server that speaks enough of RFC 5321 (with
// STARTTLS and AUTH PLAIN when asked) to receive what the client sends.
type smtpServer struct {
	ln   net.Listener
	Addr string

	// TLS, when set, makes the server offer STARTTLS with this config.
	TLS *tls.Config
	// Auth makes the server offer AUTH PLAIN.
	Auth bool
	// RejectRcpt makes RCPT TO fail with 550.
	RejectRcpt bool
	// Silent makes the server accept connections and never answer.
	Silent bool

	msgs chan received
}

// received is one delivered message and how it arrived.
type received struct {
	From, To string
	Data     string
	// Auth is the decoded AUTH PLAIN response ("\x00user\x00pass").
	Auth string
	// TLS reports whether the session was encrypted when DATA came.
	TLS bool
}

// newSMTPServer listens on 127.0.0.1; implicitTLS makes it speak TLS from
// the first byte (smtps).
func newSMTPServer(t *testing.T, implicitTLS *tls.Config, configure func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS != nil {
		ln = tls.NewListener(ln, implicitTLS)
	}
	s := &smtpServer{ln: ln, Addr: ln.Addr().String(), msgs: make(chan received, 10)}
	if configure != nil {
		configure(s)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s.session(c, implicitTLS != nil)
			}()
		}
	}()
	return s
}

func (s *smtpServer) session(c net.Conn, encrypted bool) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if s.Silent {
		c.Read(make([]byte, 1)) // until the client gives up
		return
	}
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 test.invalid ESMTP ready")
	var msg received
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"test.invalid", "8BITMIME"}
			if s.TLS != nil && !encrypted {
				ext = append(ext, "STARTTLS")
			}
			if s.Auth {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			if s.TLS == nil || encrypted {
				tp.PrintfLine("502 not offered")
				continue
			}
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, encrypted = tc, true
			tp = textproto.NewConn(c)
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			if !strings.EqualFold(mech, "PLAIN") || err != nil {
				tp.PrintfLine("504 unsupported")
				continue
			}
			msg.Auth = string(b)
			tp.PrintfLine("235 authenticated")
		case "MAIL":
			msg.From = addrOf(arg)
			tp.PrintfLine("250 ok")
		case "RCPT":
			if s.RejectRcpt {
				tp.PrintfLine("550 no such mailbox")
				continue
			}
			msg.To = addrOf(arg)
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 end with <CRLF>.<CRLF>")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.Data, msg.TLS = string(b), encrypted
			s.msgs <- msg
			msg = received{Auth: msg.Auth}
			tp.PrintfLine("250 queued")
		case "RSET", "NOOP":
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 unknown command")
		}
	}
}

// addrOf returns the address of "FROM:<a@b> BODY=8BITMIME".
func addrOf(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

// next waits for the next delivered message.
func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message delivered")
		return received{}
	}
}

// none checks that nothing was delivered.
func (s *smtpServer) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-s.msgs:
		t.Fatalf("unexpected message delivered: %+v", m)
	default:
	}
}

// testCert returns a server TLS config with a certificate for 127.0.0.1
// and a client config that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func newSMTP(t *testing.T, rawURL, from string) *SMTP {
	t.Helper()
	m, err := NewSMTP(rawURL, from)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// headers splits a message into its header and body.
func headers(t *testing.T, data string) (map[string]string, string) {
	t.Helper()
	// textproto's ReadDotBytes has turned CRLF into LF.
	head, body, ok := strings.Cut(data, "\n\n")
	if !ok {
		t.Fatalf("message has no header/body separator:\n%s", data)
	}
	h := map[string]string{}
	for _, line := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("bad header line %q", line)
		}
		h[k] = v
	}
	return h, body
}

func TestSMTPSendsResetCode(t *testing.T) {
	srv := newSMTPServer(t, nil, nil)
	m := newSMTP(t, "smtp://"+srv.Addr, "")
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "Ana", "c0de-XYZ_123"); err != nil {
		t.Fatal(err)
	}
	msg := srv.next(t)
	if msg.From != "plaza@127.0.0.1" || msg.To != "ana@example.com" {
		t.Errorf("envelope from %q to %q, want plaza@127.0.0.1 to ana@example.com", msg.From, msg.To)
	}
	if msg.Auth != "" || msg.TLS {
		t.Errorf("auth %q tls %v, want neither when the server offers neither and the URL has no user", msg.Auth, msg.TLS)
	}
	h, body := headers(t, msg.Data)
	if h["From"] != "plaza@127.0.0.1" || h["To"] != "ana@example.com" || h["Subject"] != "Your Plaza password reset code" {
		t.Errorf("headers %v", h)
	}
	if h["Content-Type"] != "text/plain; charset=utf-8" || h["MIME-Version"] != "1.0" {
		t.Errorf("headers %v", h)
	}
	if d, err := time.Parse(time.RFC1123Z, h["Date"]); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", h["Date"], err)
	}
	if !strings.HasPrefix(body, "Hello Ana,") || !strings.Contains(body, "\n    c0de-XYZ_123\n") {
		t.Errorf("body does not greet Ana and carry the code on its own line:\n%s", body)
	}
}

func TestSMTPFromAndNoName(t *testing.T) {
	srv := newSMTPServer(t, nil, nil)
	m := newSMTP(t, "smtp://"+srv.Addr, "CRM <crm@example.com>")
	if err := m.SendPasswordReset(context.Background(), "bo@example.com", "", "code1"); err != nil {
		t.Fatal(err)
	}
	msg := srv.next(t)
	h, body := headers(t, msg.Data)
	if h["From"] != `"CRM" <crm@example.com>` {
		t.Errorf("From header %q", h["From"])
	}
	if msg.From != "crm@example.com" {
		t.Errorf("envelope from %q", msg.From)
	}
	if !strings.HasPrefix(body, "Hello,\n") {
		t.Errorf("body %q", body)
	}
}

func TestSMTPAuthPlain(t *testing.T) {
	srv := newSMTPServer(t, nil, func(s *smtpServer) { s.Auth = true })
	// net/smtp sends PLAIN credentials unencrypted only to localhost.
	m := newSMTP(t, "smtp://mailer:p%40ss%3Aword@"+srv.Addr, "")
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code"); err != nil {
		t.Fatal(err)
	}
	if msg := srv.next(t); msg.Auth != "\x00mailer\x00p@ss:word" {
		t.Errorf("AUTH PLAIN sent %q", msg.Auth)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := newSMTPServer(t, nil, func(s *smtpServer) { s.TLS, s.Auth = serverTLS, true })
	m := newSMTP(t, "smtp://mailer:secret@"+srv.Addr, "")
	m.TLSConfig = clientTLS
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code"); err != nil {
		t.Fatal(err)
	}
	msg := srv.next(t)
	if !msg.TLS {
		t.Error("the server offered STARTTLS but the message came in the clear")
	}
	if msg.Auth != "\x00mailer\x00secret" {
		t.Errorf("AUTH PLAIN sent %q", msg.Auth)
	}
}

func TestSMTPStartTLSUntrustedCertificate(t *testing.T) {
	serverTLS, _ := testCert(t)
	srv := newSMTPServer(t, nil, func(s *smtpServer) { s.TLS = serverTLS })
	m := newSMTP(t, "smtp://"+srv.Addr, "") // default config: the system's roots
	err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code")
	if err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("err = %v, want a STARTTLS certificate error", err)
	}
	srv.none(t)
}

func TestSMTPS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := newSMTPServer(t, serverTLS, func(s *smtpServer) { s.Auth = true })
	m := newSMTP(t, "smtps://u:p@"+srv.Addr, "")
	m.TLSConfig = clientTLS
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code"); err != nil {
		t.Fatal(err)
	}
	if msg := srv.next(t); !msg.TLS || msg.Auth != "\x00u\x00p" {
		t.Errorf("tls %v auth %q", msg.TLS, msg.Auth)
	}
}

func TestSMTPRecipientRefused(t *testing.T) {
	srv := newSMTPServer(t, nil, func(s *smtpServer) { s.RejectRcpt = true })
	m := newSMTP(t, "smtp://"+srv.Addr, "")
	err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code")
	if err == nil || !strings.Contains(err.Error(), "rcpt") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("err = %v, want the server's 550 on RCPT", err)
	}
	srv.none(t)
}

func TestSMTPHeaderInjection(t *testing.T) {
	srv := newSMTPServer(t, nil, nil)
	m := newSMTP(t, "smtp://"+srv.Addr, "")
	if err := m.SendPasswordReset(context.Background(), "ana@example.com\r\nBcc: eve@example.com", "", "code"); err == nil {
		t.Fatal("a recipient with CRLF was accepted")
	}
	srv.none(t)
}

func TestSMTPContextDeadline(t *testing.T) {
	srv := newSMTPServer(t, nil, func(s *smtpServer) { s.Silent = true })
	m := newSMTP(t, "smtp://"+srv.Addr, "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.SendPasswordReset(ctx, "ana@example.com", "", "code")
	if err == nil {
		t.Fatal("a server that never answers did not fail the send")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the send took %v, want it to end near the context's deadline", d)
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := newSMTP(t, "smtp://"+addr, "")
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code"); err == nil {
		t.Fatal("no error with nothing listening")
	}
}

func TestNewSMTPErrors(t *testing.T) {
	for _, u := range []string{"http://mail.example.com", "smtp://", "smtp:///path", "::bad", "mail.example.com:587"} {
		if _, err := NewSMTP(u, ""); err == nil {
			t.Errorf("NewSMTP(%q) accepted it", u)
		}
	}
	for _, from := range []string{"not an address", "a@example.com\r\nBcc: eve@example.com", "a@example.com, b@example.com"} {
		if _, err := NewSMTP("smtp://mail.example.com", from); err == nil {
			t.Errorf("NewSMTP accepted From %q", from)
		}
	}
	for u, want := range map[string]string{
		"smtps://mail.example.com":  "plaza@mail.example.com",
		"smtp://u:p@127.0.0.1:2525": "plaza@127.0.0.1",
		"smtp://[::1]:2525":         "plaza@[::1]",
	} {
		m, err := NewSMTP(u, "")
		if err != nil {
			t.Errorf("NewSMTP(%q): %v", u, err)
		} else if m.From != want {
			t.Errorf("NewSMTP(%q): default From %q, want %q", u, m.From, want)
		}
	}
}

func TestSMTPNonASCIIName(t *testing.T) {
	srv := newSMTPServer(t, nil, nil)
	m := newSMTP(t, "smtp://"+srv.Addr, "Zoë CRM <crm@example.com>")
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "", "code"); err != nil {
		t.Fatal(err)
	}
	msg := srv.next(t)
	h, _ := headers(t, msg.Data)
	if msg.From != "crm@example.com" || h["From"] != "=?utf-8?q?Zo=C3=AB_CRM?= <crm@example.com>" {
		t.Errorf("envelope from %q, From header %q", msg.From, h["From"])
	}
}

func TestLogWritesTheCode(t *testing.T) {
	var buf bytes.Buffer
	m := Log{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := m.SendPasswordReset(context.Background(), "ana@example.com", "Ana", "the-code-42"); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log is not one JSON record: %v\n%s", err, buf.String())
	}
	if rec["level"] != "WARN" || rec["to"] != "ana@example.com" || rec["verificationId"] != "the-code-42" {
		t.Errorf("log record %v", rec)
	}
	if !strings.Contains(fmt.Sprint(rec["msg"]), "PLAZA_SMTP_URL") {
		t.Errorf("log message %q does not say how to configure SMTP", rec["msg"])
	}
}

// gateMailer blocks each send until released, and remembers the context it
// was given.
type gateMailer struct {
	release chan struct{}
	err     error
	mu      sync.Mutex
	ctxs    []context.Context
	sent    []string
}

func (m *gateMailer) SendPasswordReset(ctx context.Context, to, _, _ string) error {
	m.mu.Lock()
	m.ctxs = append(m.ctxs, ctx)
	m.mu.Unlock()
	<-m.release
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, to)
	return m.err
}

func TestAsyncReturnsAtOnceAndWaitWaits(t *testing.T) {
	gate := &gateMailer{release: make(chan struct{})}
	var logs bytes.Buffer
	a := &Async{Mailer: gate, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Timeout: 5 * time.Second}
	reqCtx, cancelReq := context.WithCancel(context.Background())
	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := a.SendPasswordReset(reqCtx, to, "", "code"); err != nil {
			t.Fatal(err)
		}
	}
	cancelReq() // the request has been answered; the sends go on

	waited := make(chan struct{})
	go func() { a.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while sends were under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate.release)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the sends ended")
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	if len(gate.sent) != 2 {
		t.Errorf("sent %v, want both", gate.sent)
	}
	for _, ctx := range gate.ctxs {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("send context: %v", ctx.Err())
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a send has no deadline")
		}
	}
	if logs.Len() != 0 {
		t.Errorf("successful sends logged %s", logs.String())
	}
}

func TestAsyncSendOutlivesTheRequest(t *testing.T) {
	gate := &gateMailer{release: make(chan struct{})}
	a := &Async{Mailer: gate, Logger: slog.New(slog.DiscardHandler)}
	reqCtx, cancelReq := context.WithCancel(context.Background())
	a.SendPasswordReset(reqCtx, "a@example.com", "", "code")
	cancelReq()
	// Let the goroutine start and observe its context after the cancel.
	for i := 0; ; i++ {
		gate.mu.Lock()
		n := len(gate.ctxs)
		gate.mu.Unlock()
		if n == 1 {
			break
		}
		if i > 1000 {
			t.Fatal("the send never started")
		}
		time.Sleep(time.Millisecond)
	}
	gate.mu.Lock()
	ctx := gate.ctxs[0]
	gate.mu.Unlock()
	if ctx.Err() != nil {
		t.Errorf("cancelling the request cancelled the send: %v", ctx.Err())
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Minute {
		t.Errorf("send deadline %v %v, want the one-minute default", d, ok)
	}
	close(gate.release)
	a.Wait()
}

func TestAsyncLogsFailures(t *testing.T) {
	gate := &gateMailer{release: make(chan struct{}), err: errors.New("mailbox unavailable")}
	close(gate.release)
	var logs bytes.Buffer
	a := &Async{Mailer: gate, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := a.SendPasswordReset(context.Background(), "a@example.com", "", "secret-code"); err != nil {
		t.Fatalf("a failing send surfaced to the caller: %v", err)
	}
	a.Wait()
	var rec map[string]any
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, logs.String())
	}
	if rec["level"] != "ERROR" || rec["to"] != "a@example.com" || rec["err"] != "mailbox unavailable" {
		t.Errorf("log record %v", rec)
	}
	if strings.Contains(logs.String(), "secret-code") {
		t.Error("a failed send logged the reset code")
	}
}

// TestSMTPThroughAsync is the path plaza serve uses: Async over SMTP.
func TestSMTPThroughAsync(t *testing.T) {
	srv := newSMTPServer(t, nil, nil)
	a := &Async{Mailer: newSMTP(t, "smtp://"+srv.Addr, ""), Logger: slog.New(slog.DiscardHandler)}
	a.SendPasswordReset(context.Background(), "ana@example.com", "", "code-via-async")
	a.Wait()
	if msg := srv.next(t); !strings.Contains(msg.Data, "code-via-async") {
		t.Errorf("message %q", msg.Data)
	}
}
