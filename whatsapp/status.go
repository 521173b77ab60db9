package whatsapp

// Outbound message statuses, as status webhooks spell them.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// StatusRank orders statuses for Advance: sent 1 < delivered 2 < read 3
// < failed 4. Any other value (none yet, Plaza's own "queued", a status
// Meta adds later) ranks 0.
//
// failed ranks last: a message moves to failed from any state and never
// leaves it, and it keeps Meta's error. Meta can report failed for one
// device of a multi-device user and delivered for another, in either
// order; Plaza keeps the failure (with its error code and text) rather
// than hide it, and taking the maximum makes the result the same whatever
// order the webhooks arrive in.
func StatusRank(status string) int {
	switch status {
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusRead:
		return 3
	case StatusFailed:
		return 4
	}
	return 0
}

// Advance returns the status a message moves to when next is reported
// while it is at current, and whether that is a change. It never moves
// backwards (read then delivered stays read), skips freely (sent then read
// is read: delivered may never come), ignores unknown statuses, and is
// idempotent, so repeated and reordered webhooks are harmless.
func Advance(current, next string) (string, bool) {
	if StatusRank(next) > StatusRank(current) {
		return next, true
	}
	return current, false
}
