package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/plaza-crm/plaza"
)

// IdempotencyStore implements plaza.IdempotencyStore on the
// idempotency_keys table. The first request with a key inserts a pending
// row in a transaction of its own; the insert is the lock, so on
// PostgreSQL with many replicas exactly one request runs per key. Others
// wait for its response.
//
// The guarantee has one gap: a process that dies after the request's own
// write commits but before Complete leaves the key pending; once it is
// older than PendingTimeout another request takes it over and runs again.
type IdempotencyStore struct {
	db *DB
	// TTL is how long a key and its response are kept.
	TTL time.Duration
	// Wait is how long a request waits for the same key's request running
	// elsewhere before answering ECONFLICT.
	Wait time.Duration
	// PendingTimeout is when a pending key is deemed abandoned.
	PendingTimeout time.Duration
	// poll is the interval of checks while waiting.
	poll time.Duration
}

// NewIdempotencyStore returns the store of db: keys live 24 hours.
func NewIdempotencyStore(db *DB) *IdempotencyStore {
	return &IdempotencyStore{db: db, TTL: 24 * time.Hour, Wait: 10 * time.Second, PendingTimeout: 2 * time.Minute, poll: 20 * time.Millisecond}
}

var _ plaza.IdempotencyStore = (*IdempotencyStore)(nil)

var errKeyReused = plaza.Errorf(plaza.EUNPROCESSABLE,
	"This Idempotency-Key was already used for a different request; use a new key for a new request.")

// Claim claims key, or returns the response kept for it.
func (s *IdempotencyStore) Claim(ctx context.Context, workspaceID, key, requestHash string) (*plaza.IdempotentResponse, error) {
	deadline := time.Now().Add(s.Wait) // real time: this is waiting, not domain time
	for {
		claimed, row, err := s.tryClaim(ctx, workspaceID, key, requestHash)
		if err != nil || claimed {
			return nil, err
		}
		if row.hash != requestHash {
			return nil, errKeyReused
		}
		if row.state == "done" {
			return &plaza.IdempotentResponse{Status: row.status, Body: row.response}, nil
		}
		if time.Now().After(deadline) {
			return nil, plaza.Errorf(plaza.ECONFLICT, "A request with this Idempotency-Key is still being processed; retry later.")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(s.poll):
		}
	}
}

type idempotencyRow struct {
	hash, state string
	status      int
	response    []byte
}

// tryClaim inserts the pending row, or reads the existing one. Expired
// keys, and pending ones deemed abandoned, are taken over.
func (s *IdempotencyStore) tryClaim(ctx context.Context, workspaceID, key, requestHash string) (claimed bool, row idempotencyRow, err error) {
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE creation_date < $1`, tx.now.Add(-s.TTL)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2
			AND state = 'pending' AND creation_date < $3`, workspaceID, key, tx.now.Add(-s.PendingTimeout)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (workspace_id, key, request_hash, state, creation_date)
			VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (workspace_id, key) DO NOTHING`, workspaceID, key, requestHash, tx.now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		var status sql.NullInt64
		var response sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT request_hash, state, status, response FROM idempotency_keys
			WHERE workspace_id = $1 AND key = $2`, workspaceID, key).Scan(&row.hash, &row.state, &status, &response)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("idempotency key vanished during its claim")
		}
		row.status, row.response = int(status.Int64), []byte(response.String)
		return err
	})
	return claimed, row, err
}

// Complete keeps the response of a claimed key.
func (s *IdempotencyStore) Complete(ctx context.Context, workspaceID, key string, resp plaza.IdempotentResponse) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'done', status = $1, response = $2
			WHERE workspace_id = $3 AND key = $4`, resp.Status, string(resp.Body), workspaceID, key)
		return err
	})
}

// Release deletes a pending key.
func (s *IdempotencyStore) Release(ctx context.Context, workspaceID, key string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND state = 'pending'`,
			workspaceID, key)
		return err
	})
}
