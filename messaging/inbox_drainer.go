package messaging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// Defaults of a Drainer.
const (
	DefaultDrainBatch       = 100
	DefaultDrainLease       = time.Minute
	DefaultDrainPoll        = 5 * time.Second
	DefaultDrainMaxAttempts = 20
	DefaultDrainWorkers     = 1
)

// DrainWorkers is the Workers a drainer on a database of the dialect
// ("sqlite", "postgres") runs: on SQLite one, as every write goes through
// the one writer connection and more lanes only take it from the webhook;
// on PostgreSQL two, as each delivery waits on several round trips (four
// processed ~1.5x faster than one but halved what the webhook accepted
// meanwhile on a 2-core machine).
func DrainWorkers(dialect string) int {
	if dialect == "postgres" {
		return 2
	}
	return 1
}

// Drainer works the inbox of webhook deliveries, the durable queue the
// webhook writes to: it claims batches of due deliveries, oldest first,
// applies them with the InboxWorker (each customer's in arrival order) and
// marks them processed. Every process runs one; on a shared PostgreSQL their claims
// never overlap (see plaza.WhatsAppInbox), so no delivery is applied by two
// processes at once.
//
// It wakes when this process stores a delivery, when another replica does
// (PostgreSQL's LISTEN/NOTIFY), when a retry falls due, and every
// PollInterval as a safety net (for claims left by a process that died,
// whose lease expired).
//
// A delivery that fails is retried after Backoff(attempt), with its
// attempt count and last error stored; after MaxAttempts, or at once when
// it cannot be parsed, it is given up: logged, and kept for inspection.
type Drainer struct {
	Inbox  plaza.WhatsAppInbox
	Worker *InboxWorker
	Logger *slog.Logger

	// Owner names this process in its claims (default: host, pid and a
	// random suffix).
	Owner string
	// BatchSize is the most deliveries claimed at once.
	BatchSize int
	// Lease is how long a claim holds. The drainer starts no delivery of a
	// batch after half of it has passed: it releases the rest.
	Lease time.Duration
	// PollInterval is the safety net's period.
	PollInterval time.Duration
	// MaxAttempts is how many times a delivery is tried before it is given
	// up.
	MaxAttempts int
	// Backoff is the wait before attempt+1 after attempt failed (default:
	// 1 s doubling, at most an hour: the 20 attempts span about 12 hours).
	Backoff func(attempt int) time.Duration
	// ApplyTimeout bounds one delivery's processing (default 30 s).
	ApplyTimeout time.Duration
	// Workers is how many deliveries of a batch, of different customers,
	// are applied at once (default DefaultDrainWorkers).
	Workers int
	// Retention is how long processed deliveries are kept, and
	// FailedRetention deliveries given up (for inspection); PruneEvery how
	// often older ones are deleted (defaults: 7 days, 30 days, an hour).
	Retention, FailedRetention, PruneEvery time.Duration
}

// Inbox retention defaults.
const (
	DefaultInboxRetention       = 7 * 24 * time.Hour
	DefaultInboxFailedRetention = 30 * 24 * time.Hour
	DefaultInboxPruneEvery      = time.Hour
)

// prune deletes the deliveries past their retention, in batches of 1,000
// and at most 20 batches a round (the next round goes on).
func (d *Drainer) prune(ctx context.Context) {
	now := time.Now()
	total := 0
	for range 20 {
		n, err := d.Inbox.PruneWhatsAppDeliveries(ctx, now.Add(-d.Retention), now.Add(-d.FailedRetention), 1000)
		if err != nil {
			if ctx.Err() == nil {
				d.Logger.Error("whatsapp inbox: prune failed", "error", err.Error())
			}
			return
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if total > 0 {
		d.Logger.Info("whatsapp inbox: pruned deliveries", "deleted", total)
	}
}

// DefaultBackoff waits 1 s after the first failure, doubling each time up
// to an hour.
func DefaultBackoff(attempt int) time.Duration {
	if attempt > 12 {
		return time.Hour
	}
	return min(time.Second<<max(attempt-1, 0), time.Hour)
}

func (d *Drainer) defaults() {
	if d.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		d.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if d.BatchSize <= 0 {
		d.BatchSize = DefaultDrainBatch
	}
	if d.Lease <= 0 {
		d.Lease = DefaultDrainLease
	}
	if d.PollInterval <= 0 {
		d.PollInterval = DefaultDrainPoll
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = DefaultDrainMaxAttempts
	}
	if d.Backoff == nil {
		d.Backoff = DefaultBackoff
	}
	if d.Workers <= 0 {
		d.Workers = DefaultDrainWorkers
	}
	if d.Retention <= 0 {
		d.Retention = DefaultInboxRetention
	}
	if d.FailedRetention <= 0 {
		d.FailedRetention = DefaultInboxFailedRetention
	}
	if d.PruneEvery <= 0 {
		d.PruneEvery = DefaultInboxPruneEvery
	}
	if d.ApplyTimeout <= 0 {
		d.ApplyTimeout = 30 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run drains until ctx ends, then returns once the delivery it was
// applying is done (deliveries of the batch not started are released, so
// another process takes them at once). Call it once per Drainer.
func (d *Drainer) Run(ctx context.Context) {
	d.defaults()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	wake := d.Inbox.WatchWhatsAppDeliveries(wctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	pruneTick := time.NewTicker(d.PruneEvery)
	defer pruneTick.Stop()
	failures := 0
	var retries []time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		case <-pruneTick.C:
			d.prune(ctx)
			continue
		}
		start := time.Now()
		scheduled, err := d.drain(ctx)
		// The retries this drainer scheduled that no round has covered
		// yet: a round woken early must not forget them.
		retries = slices.DeleteFunc(retries, func(t time.Time) bool { return !t.After(start) })
		retries = append(retries, scheduled...)
		wait := d.PollInterval
		if err != nil && ctx.Err() == nil {
			failures++
			wait = min(DefaultBackoff(failures), d.PollInterval)
			d.Logger.Error("whatsapp inbox: drain failed", "error", err.Error(), "retry_in", wait.String())
		} else {
			failures = 0
		}
		if len(retries) > 0 {
			wait = max(min(wait, time.Until(slices.MinFunc(retries, time.Time.Compare))), time.Millisecond)
		}
		timer.Reset(wait)
	}
}

// drain claims and applies batches until none is full. It returns the
// retry times it scheduled.
func (d *Drainer) drain(ctx context.Context) (retries []time.Time, err error) {
	for ctx.Err() == nil {
		claimed := time.Now()
		batch, err := d.Inbox.ClaimWhatsAppDeliveries(ctx, plaza.WhatsAppInboxClaim{Owner: d.Owner, Limit: d.BatchSize, Lease: d.Lease})
		if err != nil {
			return retries, err
		}
		scheduled, err := d.apply(ctx, batch, claimed.Add(d.Lease/2))
		retries = append(retries, scheduled...)
		if err != nil || len(batch) < d.BatchSize {
			return retries, err
		}
	}
	return retries, nil
}

// apply applies a claimed batch and records the outcome of each delivery,
// starting none after startBy or once ctx ends. The batch is split in
// Workers lanes by customer (laneKey): a lane applies its deliveries one
// after the other in arrival order, so one customer's messages are stored
// in the order they came, while different customers' are applied side by
// side.
func (d *Drainer) apply(ctx context.Context, batch []plaza.WhatsAppDelivery, startBy time.Time) (retries []time.Time, err error) {
	lanes := make([][]int, d.Workers)
	for i, dl := range batch {
		h := fnv.New32a()
		h.Write([]byte(laneKey(dl.Body)))
		k := int(h.Sum32() % uint32(d.Workers))
		lanes[k] = append(lanes[k], i)
	}
	// The outcomes are written even as the process stops.
	bg := context.WithoutCancel(ctx)
	started := make([]bool, len(batch))
	results := make([]error, len(batch))
	var wg sync.WaitGroup
	for _, lane := range lanes {
		if len(lane) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			numbers := map[string]*plaza.WhatsAppCredentials{}
			for _, i := range lane {
				if ctx.Err() != nil || time.Now().After(startBy) {
					return
				}
				started[i] = true
				if results[i] = d.applyOne(bg, batch[i], numbers); results[i] != nil {
					// Numbers looked up before the failure may be what failed.
					clear(numbers)
				}
			}
		}()
	}
	wg.Wait()

	var done, release []string
	for i, dl := range batch {
		aerr := results[i]
		switch {
		case !started[i]:
			release = append(release, dl.ID)
			continue
		case aerr == nil:
			done = append(done, dl.ID)
			continue
		}
		log := d.Logger.With("inbox_id", dl.ID, "attempt", dl.Attempt, "error", aerr.Error())
		var retryAt time.Time
		if dl.Attempt < d.MaxAttempts && !errors.Is(aerr, errUnparsable) {
			retryAt = time.Now().Add(d.Backoff(dl.Attempt))
			retries = append(retries, retryAt)
			log.Warn("whatsapp inbox: delivery failed; will retry", "retry_at", retryAt.UTC().Format(time.RFC3339Nano))
		} else {
			log.Error("whatsapp inbox: delivery given up; kept for inspection", "max_attempts", d.MaxAttempts)
		}
		if err := d.Inbox.RetryWhatsAppDelivery(bg, dl.ID, aerr.Error(), retryAt); err != nil {
			return retries, err
		}
	}
	if err := d.Inbox.ReleaseWhatsAppDeliveries(bg, d.Owner, release); err != nil {
		d.Logger.Error("whatsapp inbox: release", "error", err.Error())
	}
	return retries, d.Inbox.MarkWhatsAppDeliveriesProcessed(bg, done)
}

// laneKey names the customer a delivery is about: the number and the
// sender of its first message, or the recipient of its first status;
// a template review goes by its WABA. "" for what cannot be parsed.
func laneKey(body []byte) string {
	note, err := whatsapp.Parse(body)
	if err != nil {
		return ""
	}
	for _, e := range note.Entry {
		for _, c := range e.Changes {
			if v := c.Messages; v != nil {
				switch {
				case len(v.Messages) > 0:
					return v.Metadata.PhoneNumberID + "/" + v.Messages[0].From
				case len(v.Statuses) > 0:
					return v.Metadata.PhoneNumberID + "/" + v.Statuses[0].RecipientID
				}
			}
			return e.ID
		}
	}
	return ""
}

// applyOne applies one delivery, a panic counting as its failure.
func (d *Drainer) applyOne(ctx context.Context, dl plaza.WhatsAppDelivery, numbers map[string]*plaza.WhatsAppCredentials) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.ApplyTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return d.Worker.Apply(ctx, dl, numbers)
}
