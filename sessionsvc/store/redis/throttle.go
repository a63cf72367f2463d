package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// Fail counts one login failure for key. The counter restarts when now is a
// window or more after the last failure, and Redis forgets it a window after
// the last failure in real time.
func (s *Store) Fail(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	ms := window.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	n, err := redigo.Int(s.run(ctx, scriptFail, key, millis(now), ms))
	if err != nil {
		return 0, fmt.Errorf("redis: count failure: %w", err)
	}
	return n, nil
}

// Failures returns the count for key and the time of its last failure.
func (s *Store) Failures(ctx context.Context, key string) (int, time.Time, error) {
	v, err := optStrings(redigo.Values(s.do(ctx, "HMGET", s.prefix+"th:"+key, "n", "last")))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redis: read failures: %w", err)
	}
	if v[0] == "" {
		return 0, time.Time{}, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redis: failure count %q: %w", v[0], err)
	}
	last, err := parseMillis(v[1])
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redis: failure time %q: %w", v[1], err)
	}
	return n, last, nil
}

// Reset forgets key.
func (s *Store) Reset(ctx context.Context, key string) error {
	if _, err := s.do(ctx, "DEL", s.prefix+"th:"+key); err != nil {
		return fmt.Errorf("redis: reset failures: %w", err)
	}
	return nil
}

// Acquire takes or renews the named lease. The lease ends at now+ttl by the
// callers' clock and, as a safety net, ttl later in Redis's real time.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	ms := ttl.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	n, err := redigo.Int(s.run(ctx, scriptAcquire, name, holder, ms, millis(now)))
	if err != nil {
		return false, fmt.Errorf("redis: acquire lease %s: %w", name, err)
	}
	return n == 1, nil
}

// Release gives the lease up if holder holds it.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if _, err := s.run(ctx, scriptRelease, name, holder); err != nil {
		return fmt.Errorf("redis: release lease %s: %w", name, err)
	}
	return nil
}

// Holder reports who holds the named lease and until when (by the callers'
// clock), reading the lease hash with one HMGET. A lease whose until is at or
// before now is reported free even if Redis has not yet expired the key.
func (s *Store) Holder(ctx context.Context, name string, now time.Time) (string, time.Time, bool, error) {
	v, err := optStrings(redigo.Values(s.do(ctx, "HMGET", s.prefix+"l:"+name, "holder", "until")))
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("redis: lease holder %s: %w", name, err)
	}
	if v[0] == "" {
		return "", time.Time{}, false, nil
	}
	until, err := parseMillis(v[1])
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("redis: lease %s until %q: %w", name, v[1], err)
	}
	if !until.After(now) {
		return "", time.Time{}, false, nil
	}
	return v[0], until, true, nil
}
