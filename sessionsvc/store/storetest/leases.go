package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testLeases checks that one holder at a time holds a lease.
func testLeases(t *testing.T, newStore func(t *testing.T) store.Store) {
	acquire := func(t *testing.T, s store.Store, name, holder string, ttl time.Duration, now time.Time) bool {
		t.Helper()
		ok, err := s.Acquire(t.Context(), name, holder, ttl, now)
		if err != nil {
			t.Fatalf("Acquire(%s, %s): %v", name, holder, err)
		}
		return ok
	}
	release := func(t *testing.T, s store.Store, name, holder string) {
		t.Helper()
		if err := s.Release(t.Context(), name, holder); err != nil {
			t.Fatalf("Release(%s, %s): %v", name, holder, err)
		}
	}

	t.Run("AcquireRenewRelease", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		ttl := time.Minute
		steps := []struct {
			holder string
			after  time.Duration
			want   bool
		}{
			{"A", 0, true},
			{"B", time.Second, false},
			{"A", 30 * time.Second, true}, // renews until +90s
			{"B", 70 * time.Second, false},
		}
		for _, st := range steps {
			if got := acquire(t, s, "cleanup", st.holder, ttl, now.Add(st.after)); got != st.want {
				t.Errorf("Acquire by %s at +%s: got %v, want %v", st.holder, st.after, got, st.want)
			}
		}
		// Names are independent.
		if !acquire(t, s, "other-job", "B", ttl, now.Add(71*time.Second)) {
			t.Errorf("Acquire of another lease name by B: got false, want true")
		}

		release(t, s, "cleanup", "B") // not the holder: nothing happens
		if acquire(t, s, "cleanup", "B", ttl, now.Add(72*time.Second)) {
			t.Errorf("Acquire by B after B's Release of A's lease: got true, want false")
		}
		release(t, s, "cleanup", "A")
		if !acquire(t, s, "cleanup", "B", ttl, now.Add(73*time.Second)) {
			t.Errorf("Acquire by B after A's Release: got false, want true")
		}
		if acquire(t, s, "cleanup", "A", ttl, now.Add(74*time.Second)) {
			t.Errorf("Acquire by A while B holds it: got true, want false")
		}
		release(t, s, "never-held", "A")
	})

	t.Run("Holder", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		holder := func(at time.Time) (string, time.Time, bool) {
			t.Helper()
			h, until, ok, err := s.Holder(t.Context(), "cleanup", at)
			if err != nil {
				t.Fatalf("Holder(cleanup): %v", err)
			}
			return h, until, ok
		}
		if h, until, ok := holder(now); ok || h != "" || !until.IsZero() {
			t.Errorf("Holder of a never-taken lease: (%q, %v, %v), want free", h, until, ok)
		}
		if !acquire(t, s, "cleanup", "A", time.Minute, now) {
			t.Fatalf("Acquire by A: got false, want true")
		}
		h, until, ok := holder(now.Add(time.Second))
		if !ok || h != "A" || !until.Equal(now.Add(time.Minute)) {
			t.Errorf("Holder while A holds it: (%q, %v, %v), want (A, %v, true)", h, until, ok, now.Add(time.Minute))
		}
		// By the callers' clock the lease is over at until, even if the
		// backend has not dropped it yet.
		if h, _, ok := holder(now.Add(time.Minute)); ok {
			t.Errorf("Holder at the lease's end: (%q, %v), want free", h, ok)
		}
		if h, _, ok := holder(now.Add(time.Second)); !ok || h != "A" {
			t.Errorf("Holder after asking with a later clock: (%q, %v), want A still (Holder only reads)", h, ok)
		}
		if h, _, ok, err := s.Holder(t.Context(), "other-job", now); err != nil || ok {
			t.Errorf("Holder of another name: (%q, %v, %v), want free", h, ok, err)
		}
		release(t, s, "cleanup", "A")
		if h, _, ok := holder(now.Add(2 * time.Second)); ok {
			t.Errorf("Holder after A's Release: (%q, %v), want free", h, ok)
		}
	})

	t.Run("ExpiredLeaseIsFree", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		ttl := 50 * time.Millisecond
		if !acquire(t, s, "cleanup", "A", ttl, now) {
			t.Fatalf("Acquire by A: got false, want true")
		}
		// A backend may expire leases with a real-time TTL (PX), so real time
		// must pass too; this is the suite's only sleep.
		time.Sleep(3 * ttl)
		later := now.Add(3 * ttl)
		if !acquire(t, s, "cleanup", "B", time.Minute, later) {
			t.Fatalf("Acquire by B after A's lease expired: got false, want true")
		}
		if acquire(t, s, "cleanup", "A", time.Minute, later.Add(time.Millisecond)) {
			t.Errorf("Acquire by A after B took the expired lease: got true, want false")
		}
	})

	t.Run("ConcurrentAcquireHasOneWinner", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []string
		)
		for i := range 20 {
			wg.Go(func() {
				holder := fmt.Sprintf("instance-%d", i)
				ok, err := s.Acquire(t.Context(), "cleanup", holder, time.Minute, now)
				if err != nil {
					t.Errorf("Acquire(%s): %v", holder, err)
					return
				}
				if ok {
					mu.Lock()
					wins = append(wins, holder)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Errorf("20 concurrent Acquires: %d winners %v, want exactly 1", len(wins), wins)
		}
	})
}
