// Package mail delivers Plaza's e-mails (password reset codes) over SMTP,
// or, when no SMTP server is configured, writes them to the log so a
// self-hosted operator can still hand a code to a user.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
)

// SMTP sends e-mail through the server of an smtp:// (STARTTLS when the
// server offers it) or smtps:// (TLS from the start) URL, with the URL's
// user and password as PLAIN credentials. net/smtp refuses to send those
// credentials over an unencrypted connection to anything but localhost.
type SMTP struct {
	url *url.URL
	// From is the sender, "plaza@example.com" or "Plaza <plaza@example.com>".
	From string
	// TLSConfig is used for smtps:// and STARTTLS; nil means the defaults.
	TLSConfig *tls.Config
}

// NewSMTP parses rawURL ("smtp://user:pass@host:587") and returns a sender
// that writes From: from.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("smtp url: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("smtp url: no host")
	}
	if from == "" {
		from = "plaza@" + u.Hostname()
		if strings.Contains(u.Hostname(), ":") { // an IPv6 address
			from = "plaza@[" + u.Hostname() + "]"
		}
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", from, err)
	}
	return &SMTP{url: u, From: from}, nil
}

// SendPasswordReset mails the reset code to the user.
func (m *SMTP) SendPasswordReset(ctx context.Context, to, name, code string) error {
	return m.send(ctx, to, "Your Plaza password reset code", resetBody(name, code))
}

func resetBody(name, code string) string {
	greeting := "Hello,"
	if name != "" {
		greeting = "Hello " + name + ","
	}
	return greeting + "\r\n\r\nSomeone asked to reset the password of your Plaza account. " +
		"To choose a new password, send this verification code with your e-mail and the new password " +
		"to POST /api/user/resetPassword:\r\n\r\n    " + code + "\r\n\r\n" +
		"The code works once and expires in one hour. If you did not ask for it, ignore this e-mail.\r\n"
}

func (m *SMTP) send(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to, "\r\n") {
		return fmt.Errorf("smtp: bad recipient")
	}
	// The envelope takes the bare address; the header may carry a name.
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("smtp from %q: %w", m.From, err)
	}
	host := m.url.Hostname()
	port := m.url.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[m.url.Scheme]
	}
	tlsConfig := m.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host}
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	if m.url.Scheme == "smtps" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	}
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && m.url.Scheme == "smtp" {
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if u := m.url.User; u != nil {
		pass, _ := u.Password()
		if err := c.Auth(smtp.PlainAuth("", u.Username(), pass, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	fromHeader := from.Address
	if from.Name != "" {
		fromHeader = from.String() // quoted, or RFC 2047 encoded
	}
	msg := "From: " + fromHeader + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
	if _, err := wc.Write([]byte(msg)); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// Log "sends" e-mails by logging them: the choice when no SMTP server is
// configured.
type Log struct{ Logger *slog.Logger }

// SendPasswordReset logs the reset code for the operator to pass on.
func (m Log) SendPasswordReset(_ context.Context, to, _, code string) error {
	m.Logger.Warn("no SMTP server configured (PLAZA_SMTP_URL): password reset code logged instead of mailed",
		"to", to, "verificationId", code)
	return nil
}

// Async sends in the background, so a request's answer never waits on (or
// reveals, by its timing) an SMTP exchange. Wait waits for sends under way.
type Async struct {
	Mailer  plaza.Mailer
	Logger  *slog.Logger
	Timeout time.Duration
	wg      sync.WaitGroup
}

// SendPasswordReset starts the send and returns at once.
func (a *Async) SendPasswordReset(ctx context.Context, to, name, code string) error {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		timeout := a.Timeout
		if timeout == 0 {
			timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := a.Mailer.SendPasswordReset(ctx, to, name, code); err != nil {
			a.Logger.Error("password reset e-mail not sent", "to", to, "err", err.Error())
		}
	}()
	return nil
}

// Wait blocks until every send started has ended.
func (a *Async) Wait() { a.wg.Wait() }
