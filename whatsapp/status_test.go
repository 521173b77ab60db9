package whatsapp

import "testing"

func TestAdvance(t *testing.T) {
	tests := []struct {
		current, next string
		want          string
		changed       bool
	}{
		{"", "sent", "sent", true},
		{"queued", "sent", "sent", true}, // a state of Plaza's own
		{"sent", "delivered", "delivered", true},
		{"delivered", "read", "read", true},
		{"sent", "read", "read", true}, // delivered skipped: read at once
		{"", "read", "read", true},
		{"read", "delivered", "read", false},
		{"read", "sent", "read", false},
		{"delivered", "sent", "delivered", false},
		{"sent", "sent", "sent", false}, // a repeated webhook
		{"", "failed", "failed", true},
		{"sent", "failed", "failed", true},
		{"failed", "sent", "failed", false},
		// failed from any state, and nothing leaves it.
		{"failed", "delivered", "failed", false},
		{"failed", "read", "failed", false},
		{"delivered", "failed", "failed", true},
		{"read", "failed", "failed", true},
		{"failed", "failed", "failed", false},
		// Statuses this package does not know never move a message.
		{"sent", "deleted", "sent", false},
		{"delivered", "", "delivered", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.current+"->"+tt.next, func(t *testing.T) {
			got, changed := Advance(tt.current, tt.next)
			if got != tt.want || changed != tt.changed {
				t.Errorf("Advance(%q, %q) = %q, %v; want %q, %v", tt.current, tt.next, got, changed, tt.want, tt.changed)
			}
		})
	}
}

// TestAdvance_OrderIndependent checks that any arrival order of the same
// webhooks ends in the same status.
func TestAdvance_OrderIndependent(t *testing.T) {
	sets := []struct {
		statuses []string
		want     string
	}{
		{[]string{"sent", "delivered", "read"}, "read"},
		{[]string{"sent", "failed"}, "failed"},
		{[]string{"sent", "failed", "delivered"}, "failed"},
		{[]string{"sent", "delivered", "failed", "read", "delivered"}, "failed"},
	}
	for _, s := range sets {
		permute(s.statuses, func(order []string) {
			current := ""
			for _, next := range order {
				current, _ = Advance(current, next)
			}
			if current != s.want {
				t.Errorf("arrival order %v ends in %q, want %q", order, current, s.want)
			}
		})
	}
}

// permute calls f with every ordering of xs.
func permute(xs []string, f func([]string)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(xs) {
			f(xs)
			return
		}
		for i := k; i < len(xs); i++ {
			xs[k], xs[i] = xs[i], xs[k]
			rec(k + 1)
			xs[k], xs[i] = xs[i], xs[k]
		}
	}
	rec(0)
}

func TestStatusRank(t *testing.T) {
	order := []string{"sent", "delivered", "read", "failed"}
	for i := 1; i < len(order); i++ {
		if StatusRank(order[i-1]) >= StatusRank(order[i]) {
			t.Errorf("StatusRank(%q) >= StatusRank(%q)", order[i-1], order[i])
		}
	}
	if StatusRank("sent") <= StatusRank("") || StatusRank("accepted") != 0 {
		t.Error("unknown statuses must rank below sent")
	}
}
