package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// Defaults of an OutboxConfig left zero.
const (
	// DefaultSendWait is how long a send request waits for Meta's answer.
	DefaultSendWait = 2 * time.Second
	// DefaultCallTimeout bounds one call to Meta.
	DefaultCallTimeout = 30 * time.Second
	// DefaultReconcileAfter is how long a send whose answer was lost waits
	// for a status webhook naming it before it is sent again.
	DefaultReconcileAfter = 3 * time.Minute
	// DefaultRatePerNumber is Meta's default throughput of a number, in
	// messages per second.
	DefaultRatePerNumber = 80
)

// recordTimeout bounds the recording of Meta's answer, which goes on even
// when the job's context ends: an answer from Meta must not be dropped.
const recordTimeout = 10 * time.Second

// OutboxConfig tunes an Outbox.
type OutboxConfig struct {
	// Wait is how long SendWhatsAppText waits for Meta's answer before it
	// returns the message queued.
	Wait time.Duration
	// CallTimeout bounds one call to Meta's send endpoint.
	CallTimeout time.Duration
	// ReconcileAfter is how long a send left without Meta's answer (a
	// crash, a timeout) waits for a status webhook carrying its id before
	// Plaza concludes Meta never accepted it and sends it again. It must be
	// longer than CallTimeout, and should be longer than Meta takes to
	// deliver a status webhook (seconds, usually). The wait starts when a
	// job first finds the answer missing, so time Plaza was down (and
	// could not receive webhooks) does not count.
	ReconcileAfter time.Duration
	// RatePerNumber caps the messages per second each number sends from
	// this process. With N replicas a number may send N times as many:
	// set it to Meta's limit divided by N. Meta's throughput error
	// (130429) is retried with backoff either way.
	RatePerNumber float64
}

// Validate fills in the defaults of the settings left zero and checks
// them.
func (c *OutboxConfig) Validate() error {
	if c.Wait < 0 || c.CallTimeout < 0 || c.ReconcileAfter < 0 || c.RatePerNumber < 0 {
		return errors.New("messaging: negative outbox setting")
	}
	if c.Wait == 0 {
		c.Wait = DefaultSendWait
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.ReconcileAfter == 0 {
		c.ReconcileAfter = DefaultReconcileAfter
	}
	if c.RatePerNumber == 0 {
		c.RatePerNumber = DefaultRatePerNumber
	}
	if c.ReconcileAfter <= c.CallTimeout {
		return fmt.Errorf("messaging: the reconcile window (%s) must be longer than the call timeout (%s): a slow answer would be overtaken by a second send",
			c.ReconcileAfter, c.CallTimeout)
	}
	return nil
}

// Outbox sends outbound messages: it queues them (SendWhatsAppText, the
// plaza.OutboundService) and its SendWorker delivers them to Meta exactly
// once, whatever crashes and retries happen in between.
type Outbox struct {
	store   plaza.OutboundStore
	numbers plaza.WhatsAppNumberService
	graph   *whatsapp.Client
	logger  *slog.Logger
	cfg     OutboxConfig
	limiter *limiter
	waiters waiters
}

var _ plaza.OutboundService = (*Outbox)(nil)

// NewOutbox returns the outbox over store; numbers gives the numbers'
// credentials, graph calls Meta.
func NewOutbox(store plaza.OutboundStore, numbers plaza.WhatsAppNumberService, graph *whatsapp.Client, cfg OutboxConfig, logger *slog.Logger) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{store: store, numbers: numbers, graph: graph, logger: logger, cfg: cfg,
		limiter: newLimiter(cfg.RatePerNumber, time.Now)}, nil
}

// AddWorkers registers the outbox's job workers.
func (o *Outbox) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &SendWorker{outbox: o})
}

// JobTimeout bounds one run of a send job: the wait for a token of the
// number's throughput, the call, and the bookkeeping around them.
func (o *Outbox) JobTimeout() time.Duration { return 2*o.cfg.CallTimeout + 2*time.Second }

// maxRateWait is the longest a job waits in process for a throughput
// token; a longer wait is a snooze.
func (o *Outbox) maxRateWait() time.Duration { return o.cfg.CallTimeout / 2 }

// SendWhatsAppText queues the text and waits a little for Meta's answer.
// Once the message is queued nothing fails the request but Meta's refusal:
// a send that is durable must not look failed, or a client retrying it
// would send it twice. (A message Meta accepted whose delivery failed
// within the wait is answered as sent, with its failed status.)
func (o *Outbox) SendWhatsAppText(ctx context.Context, in plaza.MessageSend) (*plaza.MessageSent, error) {
	sent, err := o.store.QueueWhatsAppText(ctx, in)
	if err != nil {
		return nil, err
	}
	return o.await(ctx, sent)
}

// await waits a little for Meta's answer to a queued send: the answer is
// the message as it then is, or Meta's refusal as an error.
func (o *Outbox) await(ctx context.Context, sent *plaza.MessageSent) (*plaza.MessageSent, error) {
	id := sent.Message.ID
	woken, cancel := o.waiters.add(id)
	defer cancel()
	timeout := time.NewTimer(o.cfg.Wait)
	defer timeout.Stop()
	// Another replica may work the job: its answer is seen by polling.
	poll := time.NewTicker(min(o.cfg.Wait/4+time.Millisecond, 250*time.Millisecond))
	defer poll.Stop()
	for last := false; ; {
		m, err := o.store.FindOutboundMessage(ctx, id)
		if err != nil {
			o.logger.Warn("send: reading the queued message", "message_id", id, "err", err.Error())
			return sent, nil
		}
		sent.Message = m
		answered := m.Status != nil && *m.Status != plaza.SendQueued
		if answered && m.MessageWhatsappID == nil && *m.Status == plaza.SendFailed {
			return nil, refusal(sent)
		}
		if answered || last {
			return sent, nil
		}
		select {
		case <-woken:
			woken = nil
		case <-poll.C:
		case <-timeout.C:
			last = true
		case <-ctx.Done():
			return sent, nil
		}
	}
}

// SendWhatsAppTemplates queues the template to each destination; the
// send jobs deliver them (a campaign does not wait for Meta).
func (o *Outbox) SendWhatsAppTemplates(ctx context.Context, in plaza.ConversationSend) (*plaza.ConversationSent, error) {
	return o.store.QueueWhatsAppTemplates(ctx, in)
}

// templateOfPayload reads the template a template message's payload (Meta's
// request, as queued) carries.
func templateOfPayload(payload string) (whatsapp.Template, error) {
	var req struct {
		Template plaza.TemplateMessage `json:"template"`
	}
	if err := json.Unmarshal([]byte(payload), &req); err != nil {
		return whatsapp.Template{}, err
	}
	m := req.Template
	if m.Name == "" {
		return whatsapp.Template{}, errors.New("no template name")
	}
	t := whatsapp.Template{Name: m.Name, Language: m.Language.Code}
	media := func(m *plaza.TemplateMedia) *whatsapp.MediaRef {
		if m == nil {
			return nil
		}
		return &whatsapp.MediaRef{Link: m.Link, Filename: m.Filename}
	}
	for _, c := range m.Components {
		wc := whatsapp.Component{Type: c.Type}
		for _, p := range c.Parameters {
			wc.Parameters = append(wc.Parameters, whatsapp.Parameter{Type: p.Type, ParameterName: p.ParameterName,
				Text: p.Text, Image: media(p.Image), Document: media(p.Document), Video: media(p.Video)})
		}
		t.Components = append(t.Components, wc)
	}
	return t, nil
}

// refusal is the error of a send Meta refused during the request.
func refusal(sent *plaza.MessageSent) error {
	e := sent.Message.Error
	if e == nil {
		e = &plaza.MessageError{Title: "Unknown error"}
	}
	code := plaza.EUNPROCESSABLE
	if e.Code == whatsapp.CodeReengagement {
		code = plaza.EWINDOWCLOSED
	}
	msg := fmt.Sprintf("WhatsApp refused the message: %s (code %d).", e.Title, e.Code)
	if e.Details != "" {
		msg = fmt.Sprintf("WhatsApp refused the message: %s (code %d): %s", e.Title, e.Code, e.Details)
	}
	return &plaza.Error{Code: code, Message: msg, Data: sent}
}

// RecoverSends takes over, now and then every little while until ctx
// ends, the send jobs and campaign fan-out jobs whose process died while
// running them (see sqldb's RecoverWhatsAppSends). Run it in every
// replica.
func (o *Outbox) RecoverSends(ctx context.Context) {
	stuckAfter := o.JobTimeout() + time.Second
	interval := min(max(o.JobTimeout()/2, time.Second), 30*time.Second)
	for {
		n, err := o.store.RecoverWhatsAppSends(ctx, stuckAfter)
		if err != nil && ctx.Err() == nil {
			o.logger.Error("send recovery", "err", err.Error())
		} else if n > 0 {
			o.logger.Warn("send recovery: took over the send and campaign jobs of a process that died", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// SendWorker works WhatsAppSendJobs. The message row decides what a run
// does, so a job run twice, or two jobs for one message, send it once:
//
//   - sent or failed: nothing.
//   - sending: a previous run lost Meta's answer. Meta may have the
//     message; its status webhook will say so (the inbound side marks it
//     sent). Wait for it (snooze) until the reconcile window ends, then
//     send again: Meta never accepted it.
//   - queued: take a throughput token, mark it sending and commit, call
//     Meta, record the answer. An error answer from Meta proves it did not
//     accept the message: retryable ones (5xx, throttling) put it back to
//     queued and River retries with backoff; others fail it. No answer,
//     or one that proves nothing (a timeout, a proxy's 502), leaves it
//     sending: the reconcile path above decides.
type SendWorker struct {
	river.WorkerDefaults[plaza.WhatsAppSendJob]
	outbox *Outbox
}

// Timeout bounds a run; see Outbox.JobTimeout.
func (w *SendWorker) Timeout(*river.Job[plaza.WhatsAppSendJob]) time.Duration {
	return w.outbox.JobTimeout()
}

// Work sends the job's message, or finds it already sent.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[plaza.WhatsAppSendJob]) error {
	o := w.outbox
	ws, id := job.Args.WorkspaceID, job.Args.MessageID
	log := o.logger.With("message_id", id, "workspace_id", ws, "job_id", job.ID)
	send, err := o.store.OutboundSend(ctx, ws, id)
	if plaza.ErrorCode(err) == plaza.ENOTFOUND {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	switch send.SendState {
	case plaza.SendSent, plaza.SendFailed:
		o.waiters.wake(id)
		return nil
	case plaza.SendSending:
		if send.ReconcileUntil == nil {
			until, err := o.store.StartWhatsAppReconcile(ctx, *send, o.cfg.ReconcileAfter)
			if err != nil {
				return err
			}
			log.Warn("send: Meta's answer was lost; waiting for a status webhook before sending again", "until", until)
			return snoozeUntil(until)
		}
		if time.Now().Before(*send.ReconcileUntil) {
			return snoozeUntil(*send.ReconcileUntil)
		}
		log.Warn("send: no status webhook named the message; Meta never accepted it: sending it again", "attempts", send.Attempts)
	case plaza.SendQueued:
	default:
		return river.JobCancel(fmt.Errorf("message %s: unknown send state %q", id, send.SendState))
	}
	var tpl *whatsapp.Template
	var media *whatsapp.Media
	switch send.Type {
	case "text":
	case "image", "audio", "video", "document", "sticker":
		m, err := mediaOfPayload(send.Type, send.Payload)
		if err != nil {
			e := plaza.MessageError{Title: "Invalid message", Details: "The stored file message could not be read: " + err.Error()}
			return o.fail(ctx, log, send, e, err)
		}
		m.BizOpaqueCallbackData = plaza.OutboundCallbackData(id)
		media = &m
	case "template":
		t, err := templateOfPayload(send.Payload)
		if err != nil {
			e := plaza.MessageError{Title: "Invalid message", Details: "The stored template could not be read: " + err.Error()}
			return o.fail(ctx, log, send, e, err)
		}
		t.BizOpaqueCallbackData = plaza.OutboundCallbackData(id)
		tpl = &t
	default:
		return river.JobCancel(fmt.Errorf("message %s: sending %s messages is not supported", id, send.Type))
	}

	var creds *plaza.WhatsAppCredentials
	if send.PhoneNumberID != "" {
		creds, err = o.numbers.WhatsAppCredentialsByPhoneNumberID(ctx, send.PhoneNumberID)
		if plaza.ErrorCode(err) == plaza.ENOTFOUND {
			creds = nil
		} else if err != nil {
			return err
		}
	}
	if creds == nil || creds.WorkspaceID != ws {
		e := plaza.MessageError{Title: "Number disconnected", Details: "The WhatsApp number of the conversation was disconnected before the message was sent."}
		return o.fail(ctx, log, send, e, errors.New(e.Details))
	}

	if wait := o.limiter.reserve(creds.PhoneNumberID); wait > 0 {
		if wait > o.maxRateWait() {
			o.limiter.release(creds.PhoneNumberID)
			return river.JobSnooze(wait)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	claimed, err := o.store.BeginWhatsAppSend(ctx, *send)
	if err != nil {
		return err
	}
	if !claimed { // another job moved it meanwhile: look again
		return river.JobSnooze(time.Second)
	}
	sending := *send
	sending.SendState, sending.Attempts, sending.ReconcileUntil = plaza.SendSending, send.Attempts+1, nil

	callCtx, cancel := context.WithTimeout(ctx, o.cfg.CallTimeout)
	var res whatsapp.SendResult
	switch {
	case tpl != nil:
		// Meta's template requests name the recipient by its digits.
		res, err = o.graph.SendTemplate(callCtx, creds.PhoneNumberID, creds.AccessToken, strings.TrimPrefix(send.To, "+"), *tpl)
	case media != nil:
		res, err = o.graph.SendMedia(callCtx, creds.PhoneNumberID, creds.AccessToken, send.To, *media)
	default:
		res, err = o.graph.SendText(callCtx, creds.PhoneNumberID, creds.AccessToken, send.To, send.Content,
			whatsapp.TextOptions{BizOpaqueCallbackData: plaza.OutboundCallbackData(id)})
	}
	cancel()

	// Meta's answer is recorded even if the job's context has ended.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	var apiErr *whatsapp.APIError
	var invalid *whatsapp.ValidationError
	switch {
	case err == nil:
		if err := o.store.RecordWhatsAppSent(rctx, ws, id, res.MessageID); err != nil {
			// The status webhook will attach the wamid; until then the
			// message is sending and the retry reconciles.
			return err
		}
		o.waiters.wake(id)
		return nil
	case errors.As(err, &apiErr) && refusedByMeta(apiErr):
		e := plaza.MessageError{Code: apiErr.Code, Title: errorTitle(apiErr), Details: apiErr.Details}
		if apiErr.Retryable() && job.Attempt < job.MaxAttempts {
			log.Warn("send: Meta refused for now; retrying with backoff", "err", apiErr.Error(), "attempt", job.Attempt)
			if err := o.store.RecordWhatsAppRefused(rctx, ws, id, e, true); err != nil {
				return errors.Join(apiErr, err)
			}
			return apiErr
		}
		return o.fail(rctx, log, &sending, e, apiErr)
	case errors.As(err, &invalid) || refusedBeforeSending(err):
		if invalid != nil {
			// Nothing left Plaza: the request is one Meta would refuse.
			return o.fail(rctx, log, &sending, plaza.MessageError{Title: "Invalid message", Details: invalid.Error()}, err)
		}
		// The connection was never made: Meta has not seen it.
		log.Warn("send: Meta could not be reached; retrying with backoff", "err", err.Error(), "attempt", job.Attempt)
		if job.Attempt >= job.MaxAttempts {
			return o.fail(rctx, log, &sending, plaza.MessageError{Title: "Unreachable", Details: err.Error()}, err)
		}
		if rerr := o.store.RecordWhatsAppRefused(rctx, ws, id, plaza.MessageError{}, true); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	default:
		// No answer, or one that proves nothing: Meta may have accepted it.
		log.Warn("send: no answer from Meta; waiting for a status webhook before sending again", "err", err.Error())
		until, rerr := o.store.StartWhatsAppReconcile(rctx, sending, o.cfg.ReconcileAfter)
		if rerr != nil {
			return errors.Join(err, rerr) // retried: the next run starts the wait
		}
		return snoozeUntil(until)
	}
}

// fail records a permanent failure of the send and ends the job.
func (o *Outbox) fail(ctx context.Context, log *slog.Logger, send *plaza.OutboundSend, e plaza.MessageError, cause error) error {
	log.Warn("send: failed", "code", e.Code, "title", e.Title, "details", e.Details)
	if err := o.store.RecordWhatsAppRefused(ctx, send.WorkspaceID, send.MessageID, e, false); err != nil {
		return errors.Join(cause, err)
	}
	o.waiters.wake(send.MessageID)
	return river.JobCancel(cause)
}

// snoozeUntil snoozes the job until t; the zero time looks again soon.
func snoozeUntil(t time.Time) error {
	return river.JobSnooze(max(time.Until(t), 100*time.Millisecond))
}

// refusedByMeta reports whether an error answer proves Meta did not
// accept the message: Meta's own error envelope, or a 4xx. A bare 5xx (a
// proxy's or a load balancer's, with no Graph error) proves nothing: the
// request may have reached Meta before the gateway gave up.
func refusedByMeta(e *whatsapp.APIError) bool {
	return e.Code != 0 || e.HTTPStatus < 500
}

// refusedBeforeSending reports whether a call failed before its request
// left Plaza: the connection to Meta could not be made.
func refusedBeforeSending(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

var graphCodePrefix = regexp.MustCompile(`^\(#\d+\)\s*`)

// errorTitle is Meta's error message without its "(#code) " prefix, as
// status webhooks give the title.
func errorTitle(e *whatsapp.APIError) string {
	return graphCodePrefix.ReplaceAllString(e.Message, "")
}

// waiters lets a send request be woken when the job records Meta's
// answer in this process.
type waiters struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (w *waiters) add(id string) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	w.m[id] = ch
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.m[id] == ch {
			delete(w.m, id)
		}
	}
}

func (w *waiters) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.m[id]; ok {
		close(ch)
		delete(w.m, id)
	}
}

// limiter is a token bucket per key (a number's phone number id): rate
// tokens a second, up to a second's worth banked. It holds in one process
// only (see OutboxConfig.RatePerNumber).
type limiter struct {
	rate    float64
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, now: now, buckets: map[string]*bucket{}}
}

func (l *limiter) burst() float64 { return max(l.rate, 1) }

// reserve takes a token for key and returns how long to wait before
// using it: tokens may be taken ahead, so concurrent callers queue up.
func (l *limiter) reserve(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst(), at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst(), b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / l.rate * float64(time.Second))
}

// release gives back a token reserved and not used.
func (l *limiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = min(l.burst(), b.tokens+1)
	}
}
