package storetest

import (
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testThrottle checks the login failure counters and their sliding window,
// which is measured from the last failure in the passed time, not real time.
func testThrottle(t *testing.T, newStore func(t *testing.T) store.Store) {
	const window = 15 * time.Minute
	failures := func(t *testing.T, s store.Store, key string) (int, time.Time) {
		t.Helper()
		n, last, err := s.Failures(t.Context(), key)
		if err != nil {
			t.Fatalf("Failures(%s): %v", key, err)
		}
		return n, last
	}
	fail := func(t *testing.T, s store.Store, key string, at time.Time) int {
		t.Helper()
		n, err := s.Fail(t.Context(), key, at, window)
		if err != nil {
			t.Fatalf("Fail(%s): %v", key, err)
		}
		return n
	}

	t.Run("CountsAndResets", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		if n, last := failures(t, s, "user:ana"); n != 0 || !last.IsZero() {
			t.Errorf("Failures of a new key: got (%d, %s), want (0, zero)", n, fmtTime(last))
		}
		var at time.Time
		for i := 1; i <= 4; i++ {
			at = now.Add(time.Duration(i) * 1500 * time.Millisecond)
			if n := fail(t, s, "user:ana", at); n != i {
				t.Errorf("Fail #%d: got %d, want %d", i, n, i)
			}
		}
		if n, last := failures(t, s, "user:ana"); n != 4 || !last.Equal(at) {
			t.Errorf("Failures: got (%d, %s), want (4, %s)", n, fmtTime(last), fmtTime(at))
		}
		// Keys are independent.
		if n := fail(t, s, "ip:192.0.2.1", at); n != 1 {
			t.Errorf("Fail of another key: got %d, want 1", n)
		}
		if n, _ := failures(t, s, "user:ana"); n != 4 {
			t.Errorf("Failures(user:ana) after another key failed: got %d, want 4", n)
		}
		if err := s.Reset(t.Context(), "user:ana"); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if n, last := failures(t, s, "user:ana"); n != 0 || !last.IsZero() {
			t.Errorf("Failures after Reset: got (%d, %s), want (0, zero)", n, fmtTime(last))
		}
		if n, _ := failures(t, s, "ip:192.0.2.1"); n != 1 {
			t.Errorf("Failures of the other key after Reset: got %d, want 1", n)
		}
		if n := fail(t, s, "user:ana", at.Add(time.Second)); n != 1 {
			t.Errorf("Fail after Reset: got %d, want 1", n)
		}
		if err := s.Reset(t.Context(), "never-seen"); err != nil {
			t.Errorf("Reset of an unknown key: %v", err)
		}
	})

	t.Run("WindowSlidesFromLastFailure", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		steps := []struct {
			after time.Duration
			want  int
		}{
			{0, 1},
			{10 * time.Minute, 2},
			{20 * time.Minute, 3}, // 20m after the first, 10m after the last: still counted
			{20*time.Minute + window - time.Millisecond, 4},
			{20*time.Minute + 2*window, 1}, // a full window after the last: forgotten
		}
		for _, st := range steps {
			if n := fail(t, s, "user:bob", now.Add(st.after)); n != st.want {
				t.Errorf("Fail at +%s: got %d, want %d", st.after, n, st.want)
			}
		}
		if n, last := failures(t, s, "user:bob"); n != 1 || !last.Equal(now.Add(20*time.Minute+2*window)) {
			t.Errorf("Failures: got (%d, %s), want (1, the last failure)", n, fmtTime(last))
		}
	})
}
