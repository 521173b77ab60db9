package messaging

import (
	"testing"
	"time"

	"github.com/plaza-crm/plaza/whatsapp"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1795791600, 0)
	l := newLimiter(80, func() time.Time { return now })
	// A second's worth goes at once, per number.
	for i := range 80 {
		if wait := l.reserve("A"); wait != 0 {
			t.Fatalf("token %d: wait %s", i+1, wait)
		}
	}
	if wait := l.reserve("B"); wait != 0 {
		t.Fatalf("another number waits %s", wait)
	}
	// Then one every 12.5 ms, queued in order.
	for i, want := range []time.Duration{12500 * time.Microsecond, 25 * time.Millisecond, 37500 * time.Microsecond} {
		if wait := l.reserve("A"); wait != want {
			t.Errorf("token %d: wait %s, want %s", 81+i, wait, want)
		}
	}
	l.release("A")
	if wait := l.reserve("A"); wait != 37500*time.Microsecond {
		t.Errorf("after a release: wait %s", wait)
	}
	// Time refills the bucket, up to a second's worth.
	now = now.Add(time.Hour)
	for i := range 80 {
		if wait := l.reserve("A"); wait != 0 {
			t.Fatalf("after an hour, token %d: wait %s", i+1, wait)
		}
	}
	if wait := l.reserve("A"); wait == 0 {
		t.Error("more than a second's worth banked")
	}
}

func TestOutboxConfig(t *testing.T) {
	var c OutboxConfig
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c != (OutboxConfig{Wait: DefaultSendWait, CallTimeout: DefaultCallTimeout, ReconcileAfter: DefaultReconcileAfter, RatePerNumber: 80}) {
		t.Errorf("defaults %+v", c)
	}
	for _, bad := range []OutboxConfig{
		{CallTimeout: time.Minute, ReconcileAfter: time.Minute},
		{CallTimeout: 10 * time.Minute},
		{Wait: -time.Second},
		{RatePerNumber: -1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestRefusedByMeta(t *testing.T) {
	for _, tc := range []struct {
		err  whatsapp.APIError
		want bool
	}{
		{whatsapp.APIError{HTTPStatus: 400, Code: 131047}, true},
		{whatsapp.APIError{HTTPStatus: 500, Code: 131000}, true}, // Meta's own envelope
		{whatsapp.APIError{HTTPStatus: 429}, true},
		{whatsapp.APIError{HTTPStatus: 502}, false}, // a gateway's page: Meta may have it
		{whatsapp.APIError{HTTPStatus: 504}, false},
	} {
		if got := refusedByMeta(&tc.err); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.err, got, tc.want)
		}
	}
	if got := errorTitle(&whatsapp.APIError{Message: "(#131047) Re-engagement message"}); got != "Re-engagement message" {
		t.Errorf("title %q", got)
	}
}
