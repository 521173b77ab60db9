package plaza

import "context"

// IdempotentResponse is the response kept for an Idempotency-Key, replayed
// to every retry of the request.
type IdempotentResponse struct {
	Status int
	Body   []byte
}

// IdempotencyStore keeps Idempotency-Key records per workspace, so a POST
// retried with the same key is answered with its first response instead of
// writing again.
type IdempotencyStore interface {
	// Claim claims key for a request whose method, path and body hash to
	// requestHash. It returns nil when the caller should run the request
	// (and then Complete or Release the key); the kept response when the
	// key was used before by the same request; EUNPROCESSABLE when it was
	// used by a different request; ECONFLICT when the same request is still
	// running elsewhere after waiting for it.
	Claim(ctx context.Context, workspaceID, key, requestHash string) (*IdempotentResponse, error)
	// Complete keeps the response of a claimed key.
	Complete(ctx context.Context, workspaceID, key string, resp IdempotentResponse) error
	// Release gives a claimed key up (the request failed in a way worth
	// retrying), so the next request with it runs again.
	Release(ctx context.Context, workspaceID, key string) error
}
