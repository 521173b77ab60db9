package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/plaza-crm/plaza"
)

// throttleKey is one counter of failures and its limit.
type throttleKey struct {
	key   string
	limit int
}

// throttleKeys are the counters of an attempt of one kind ("login",
// "reset"): the e-mail's first, then the client address's. Kinds count
// apart, so reset requests cannot lock a user out of logging in. E-mails are
// hashed so the table holds no addresses.
func (s *UserService) throttleKeys(kind, email, clientAddr string) []throttleKey {
	keys := []throttleKey{{kind + ":email:" + sha256Hex(plaza.NormalizeEmail(email)), s.Throttle.PerEmail}}
	if clientAddr != "" {
		keys = append(keys, throttleKey{kind + ":addr:" + clientAddr, s.Throttle.PerAddr})
	}
	return keys
}

// checkThrottle returns ERATELIMITED when any key has reached its limit in
// the current window. The counters live in the database, so every replica
// sees the same ones.
func (db *DB) checkThrottle(ctx context.Context, keys []throttleKey, window time.Duration) error {
	for _, k := range keys {
		var n int
		var start sqlTime
		now := db.now()
		err := db.read.QueryRowContext(ctx, `SELECT count, window_start FROM auth_failures WHERE key = $1 AND window_start > $2`,
			k.key, now.Add(-window)).Scan(&n, &start)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && n >= k.limit {
			wait := start.t.Add(window).Sub(now)
			return &plaza.Error{Code: plaza.ERATELIMITED, RetryAfter: wait,
				Message: fmt.Sprintf("Too many attempts. Try again in %d minutes.", int(math.Ceil(wait.Minutes())))}
		}
	}
	return nil
}

// recordFailure counts one failure against every key; a counter whose
// window has passed starts over.
func (db *DB) recordFailure(ctx context.Context, keys []throttleKey, window time.Duration) error {
	return db.inTx(ctx, func(tx *Tx) error {
		stale := tx.now.Add(-window)
		for _, k := range keys {
			_, err := tx.ExecContext(ctx, `INSERT INTO auth_failures (key, count, window_start) VALUES ($1, 1, $2)
				ON CONFLICT (key) DO UPDATE SET
					count = CASE WHEN auth_failures.window_start <= $3 THEN 1 ELSE auth_failures.count + 1 END,
					window_start = CASE WHEN auth_failures.window_start <= $3 THEN $2 ELSE auth_failures.window_start END`,
				k.key, tx.now, stale)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// clearFailures forgets the failures of one key, after a success.
func (db *DB) clearFailures(ctx context.Context, key string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE key = $1`, key)
		return err
	})
}
