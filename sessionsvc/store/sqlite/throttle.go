package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Fail counts one failure for key at now. A counter whose window ran out
// (window after its last failure) starts again from one. It also drops a
// batch of counters that ran out by now, so forgotten keys do not pile up.
func (s *Store) Fail(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
DELETE FROM throttle WHERE rowid IN (
	SELECT rowid FROM throttle INDEXED BY throttle_expiry WHERE expires_at <= ?1 AND k <> ?2 LIMIT ?3)`,
			ms(now), key, pruneBatch); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `
INSERT INTO throttle (k, n, last_at, expires_at) VALUES (?1, 1, ?2, ?3)
ON CONFLICT (k) DO UPDATE SET
	n          = CASE WHEN throttle.expires_at > ?2 THEN throttle.n + 1 ELSE 1 END,
	last_at    = CASE WHEN throttle.expires_at > ?2 THEN max(throttle.last_at, ?2) ELSE ?2 END,
	expires_at = CASE WHEN throttle.expires_at > ?2 THEN max(throttle.expires_at, ?3) ELSE ?3 END
RETURNING n`, key, ms(now), ms(now.Add(window))).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: record failure: %w", err)
	}
	return n, nil
}

// Failures returns the counter of key and its last failure. Having no now,
// it does not check the window: a counter is forgotten by the next Fail
// after its window ran out.
func (s *Store) Failures(ctx context.Context, key string) (int, time.Time, error) {
	var n int
	var last int64
	err := s.read.QueryRowContext(ctx, "SELECT n, last_at FROM throttle WHERE k = ?", key).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: failures: %w", err)
	}
	return n, fromMS(last), nil
}

// Reset forgets key.
func (s *Store) Reset(ctx context.Context, key string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM throttle WHERE k = ?", key); err != nil {
		return fmt.Errorf("sqlite: reset failures: %w", err)
	}
	return nil
}

// Acquire takes or renews the lease in one upsert: the row is written only
// if the lease is free, expired at now, or already held by holder.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `
INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE leases.holder = excluded.holder OR leases.until <= ?4`,
		name, holder, ms(now.Add(ttl)), ms(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %s: %w", name, err)
	}
	return n > 0, nil
}

// Release gives the lease up if holder holds it.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, holder); err != nil {
		return fmt.Errorf("sqlite: release lease %s: %w", name, err)
	}
	return nil
}

// Holder reports who holds the named lease and until when; a lease expired
// at now is reported free (Acquire would take it).
func (s *Store) Holder(ctx context.Context, name string, now time.Time) (string, time.Time, bool, error) {
	var holder string
	var until int64
	err := s.read.QueryRowContext(ctx,
		"SELECT holder, until FROM leases WHERE name = ? AND until > ?", name, ms(now)).Scan(&holder, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("sqlite: lease holder %s: %w", name, err)
	}
	return holder, fromMS(until), true, nil
}
