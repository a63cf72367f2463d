// Package storetest is the conformance suite of the storage contract in package
// store: every implementation (store/redis, store/sqlite) runs Run from its own
// tests, so the two backends are held to one behaviour instead of two sets of
// hand-written tests that drift apart.
//
// The suite tests behaviour only, through the store.Store interface. Time is
// passed in: each test starts from a base near the real clock (Redis applies
// real-time TTLs as a safety net, so deadlines must lie in the real future) and
// moves it forward instead of sleeping. The only real sleeps are the lease
// expiry case and the analytics retention cases, where a backend may rely on a
// real-time TTL; they are short and also move the passed time past the expiry,
// so a backend that measures retention against passed time passes too.
//
// It must never reach around the interface (no backend keys, no SQL), so that
// it stays valid for any backend.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Clocks used by records the suite creates, the defaults of config.yaml.
const (
	timeout  = 30 * time.Minute
	idle     = 20 * time.Minute
	lifetime = 12 * time.Hour
	keep     = time.Hour // tombstone retention passed to End
)

// Run runs the conformance suite against the store that newStore returns.
// newStore must return a fresh, empty store for each call and register its own
// cleanup (t.Cleanup) to close it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Ping", testPing},
		{"Blobs", testBlobs},
		{"Create", testCreate},
		{"End", testEnd},
		{"List", testList},
		{"Deadlines", testDeadlines},
		{"Rekey", testRekey},
		{"Throttle", testThrottle},
		{"Leases", testLeases},
		{"Previews", testPreviews},
		{"Concurrency", testConcurrency},
		{"Edges", testEdges},
		{"Lifecycle", testLifecycle},
		{"State", testState},
		{"Recovery", testRecovery},
		{"ListEnded", testListEnded},
		{"Analytics", testAnalytics},
		{"Accounts", testAccounts},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.fn(t, newStore) })
	}
}

// NewRecord returns a complete record of a session created at now, with the
// three deadlines derived from the clocks as the session service derives them
// (ExpiresAt capped at LifetimeAt) and a token hash derived from sid. Times are
// truncated to milliseconds, the precision every store keeps.
func NewRecord(sid, user, role string, now time.Time, timeout, idle, lifetime time.Duration) store.Record {
	now = now.Truncate(time.Millisecond)
	lifetimeAt := now.Add(lifetime)
	expiresAt := now.Add(timeout)
	if lifetimeAt.Before(expiresAt) {
		expiresAt = lifetimeAt
	}
	return store.Record{
		SID:             sid,
		TokenHash:       TokenHash(sid, 0),
		User:            user,
		Role:            role,
		CreatedAt:       now,
		AuthenticatedAt: now,
		LastActivity:    now,
		ExpiresAt:       expiresAt,
		IdleAt:          now.Add(idle),
		LifetimeAt:      lifetimeAt,
		FirstIP:         "192.0.2.10",
		LastIP:          "192.0.2.10",
		FirstUserAgent:  "Mozilla/5.0 (X11; Linux x86_64) storetest/1",
		LastUserAgent:   "Mozilla/5.0 (X11; Linux x86_64) storetest/1",
		Device:          "Firefox on Linux",
		Fingerprint:     "fp-" + sid,
		Path:            "/workspace",
		Processing:      "idle",
	}
}

// TokenHash returns a deterministic token hash for the gen-th token of sid,
// shaped like the hex SHA-256 that scs stores with HashTokenInStore.
func TokenHash(sid string, gen int) string {
	sum := sha256.Sum256([]byte("token:" + sid + ":" + strconv.Itoa(gen)))
	return hex.EncodeToString(sum[:])
}

// baseTime is the start of each test's clock: the real now, to the millisecond,
// so that deadlines computed from it lie in the real future.
func baseTime() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond)
}

// newRecord is NewRecord with the suite's default clocks.
func newRecord(sid, user, role string, now time.Time) store.Record {
	return NewRecord(sid, user, role, now, timeout, idle, lifetime)
}

// mustCreate creates rec with a generous per-user limit and fails the test on
// error or if anything was ended.
func mustCreate(t *testing.T, s store.Store, rec store.Record, now time.Time) {
	t.Helper()
	ended, err := s.Create(t.Context(), rec, 100, now, time.Hour)
	if err != nil {
		t.Fatalf("Create(%s): %v", rec.SID, err)
	}
	if len(ended) != 0 {
		t.Fatalf("Create(%s) ended %d sessions, want 0: %+v", rec.SID, len(ended), ended)
	}
}

func testPing(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
