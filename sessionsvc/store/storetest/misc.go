package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func testDeadlines(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("GetAndListBoundedByNow", func(t *testing.T) {
		cases := []struct {
			name                    string
			timeout, idle, lifetime time.Duration
		}{
			{"idle", 30 * time.Minute, 20 * time.Minute, lifetime},
			{"expired", 10 * time.Minute, 20 * time.Minute, lifetime},
			{"lifetime", 30 * time.Minute, 20 * time.Minute, 5 * time.Minute},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newStore(t)
				now := baseTime()
				rec := NewRecord("s-a", "ana", "analyst", now, c.timeout, c.idle, c.lifetime)
				mustCreate(t, s, rec, now)
				if got := rec.DueReason(rec.Deadline()); string(got) != c.name {
					t.Fatalf("test setup: DueReason = %q, want %q", got, c.name)
				}
				before := rec.Deadline().Add(-time.Millisecond)
				checkRecord(t, "Get a millisecond before the deadline", mustGet(t, s, rec.SID, before), rec)
				wantOrder(t, s, store.Query{}, before, []string{"s-a"})

				for _, at := range []time.Time{rec.Deadline(), rec.Deadline().Add(time.Hour)} {
					wantNoRecord(t, s, rec.SID, at)
					for _, sort := range []store.Sort{store.SortActivity, store.SortCreated, store.SortDeadline} {
						wantOrder(t, s, store.Query{Sort: sort}, at, nil)
						wantOrder(t, s, store.Query{Sort: sort, Filter: store.Filter{User: "ana"}}, at, nil)
						wantOrder(t, s, store.Query{Sort: sort, Filter: store.Filter{Role: "analyst"}}, at, nil)
						wantOrder(t, s, store.Query{Sort: sort, Filter: store.Filter{IP: rec.FirstIP}}, at, nil)
					}
				}
				// Not ended: its blob is still there, and cleanup finds it.
				due, err := s.Due(t.Context(), rec.Deadline(), 10)
				if err != nil {
					t.Fatalf("Due: %v", err)
				}
				if len(due) != 1 {
					t.Fatalf("Due at the deadline: got %v, want [s-a]", sids(due))
				}
				checkRecord(t, "Due record", due[0], rec)
			})
		}
	})

	t.Run("Due", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		// Deadlines (idle) at +20m+{3,1,4,2}s, out of sid order.
		offsets := map[string]int{"s-a": 3, "s-b": 1, "s-c": 4, "s-d": 2}
		for _, sid := range []string{"s-a", "s-b", "s-c", "s-d"} {
			at := now.Add(time.Duration(offsets[sid]) * time.Second)
			mustCreate(t, s, newRecord(sid, "user-"+sid, "analyst", at), at)
		}
		mustCreate(t, s, newRecord("s-late", "late", "analyst", now.Add(time.Hour)), now.Add(time.Hour))
		due := func(at time.Time, limit int) []string {
			t.Helper()
			recs, err := s.Due(t.Context(), at, limit)
			if err != nil {
				t.Fatalf("Due: %v", err)
			}
			return sids(recs)
		}
		base := now.Add(idle)
		cases := []struct {
			at    time.Time
			limit int
			want  []string
		}{
			{now, 10, nil},
			{base, 10, nil},
			{base.Add(time.Second), 10, []string{"s-b"}}, // at the deadline is due
			{base.Add(2500 * time.Millisecond), 10, []string{"s-b", "s-d"}},
			{base.Add(time.Minute), 10, []string{"s-b", "s-d", "s-a", "s-c"}},
			{base.Add(time.Minute), 2, []string{"s-b", "s-d"}},
			{base.Add(time.Minute), 1, []string{"s-b"}},
		}
		for _, c := range cases {
			if got := due(c.at, c.limit); !slices.Equal(got, c.want) {
				t.Errorf("Due(now+%s, %d): got %v, want %v", c.at.Sub(now), c.limit, got, c.want)
			}
		}
		at := base.Add(time.Minute)
		mustEnd(t, s, "s-b", store.Tombstone{SID: "s-b", Reason: store.ReasonIdle, Actor: "system", At: at})
		n, err := s.EndMany(t.Context(), []string{"s-a"}, store.Tombstone{Reason: store.ReasonIdle, Actor: "system", At: at}, keep)
		if err != nil || n != 1 {
			t.Fatalf("EndMany(s-a): got (%d, %v), want (1, nil)", n, err)
		}
		if got, want := due(at, 10), []string{"s-d", "s-c"}; !slices.Equal(got, want) {
			t.Errorf("Due after ending s-b and s-a: got %v, want %v", got, want)
		}
		// A touch before the deadline moves it off the due list.
		rec := mustGet(t, s, "s-late", now.Add(time.Hour))
		t2 := now.Add(time.Hour + 10*time.Minute)
		touch := &store.Touch{LastActivity: t2, ExpiresAt: t2.Add(timeout), IdleAt: t2.Add(idle), IP: rec.FirstIP, UserAgent: rec.FirstUserAgent, Path: "/"}
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("x"), touch, t2.Add(timeout))
		if got := due(now.Add(time.Hour+idle+time.Minute), 10); slices.Contains(got, "s-late") {
			t.Errorf("Due after a touch moved s-late's deadline: got %v, want it absent", got)
		}
	})
}

func testRekey(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("MovesToNewHashAndRole", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		mustCreate(t, s, newRecord("s-b", "bob", "analyst", now), now)
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("old"), nil, now.Add(timeout))

		newHash := TokenHash(rec.SID, 1)
		at := now.Add(time.Minute)
		if err := s.Rekey(t.Context(), rec.SID, rec.TokenHash, newHash, "admin", at); err != nil {
			t.Fatalf("Rekey: %v", err)
		}
		want := rec
		want.TokenHash, want.Role = newHash, "admin"
		checkRecord(t, "Get after Rekey", mustGet(t, s, rec.SID, at), want)
		wantNoBlob(t, s, rec.TokenHash)
		wantNoBlob(t, s, newHash)

		err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte("stale"), nil, at.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("CommitCtx with the old hash: got %v, want ErrSessionGone", err)
		}
		wantNoBlob(t, s, rec.TokenHash)
		mustCommit(t, s, rec.SID, newHash, []byte("new"), nil, at.Add(timeout))
		wantBlob(t, s, newHash, []byte("new"))

		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "admin"}}, at, []string{"s-a"})
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "analyst"}}, at, []string{"s-b"})
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana", Role: "admin"}}, at, []string{"s-a"})
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana", Role: "analyst"}}, at, nil)
		for _, sort := range []store.Sort{store.SortCreated, store.SortDeadline} {
			wantOrder(t, s, store.Query{Sort: sort, Filter: store.Filter{Role: "admin"}}, at, []string{"s-a"})
			wantOrder(t, s, store.Query{Sort: sort, Filter: store.Filter{Role: "analyst"}}, at, []string{"s-b"})
		}

		// Ending it now tombstones the new hash.
		mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonLogout, Actor: "ana", At: at})
		tomb := mustTombstone(t, s, newHash)
		if tomb.TokenHash != newHash || tomb.SID != rec.SID {
			t.Errorf("Tombstone after Rekey and End: sid %s hash %s…, want %s and the new hash", tomb.SID, tomb.TokenHash[:min(8, len(tomb.TokenHash))], rec.SID)
		}
		wantNoBlob(t, s, newHash)
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "admin"}}, at, nil)
	})

	t.Run("KeepsRole", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		h1, h2 := TokenHash(rec.SID, 1), TokenHash(rec.SID, 2)
		for _, step := range [][2]string{{rec.TokenHash, h1}, {h1, h2}} {
			if err := s.Rekey(t.Context(), rec.SID, step[0], step[1], "analyst", now); err != nil {
				t.Fatalf("Rekey: %v", err)
			}
		}
		want := rec
		want.TokenHash = h2
		checkRecord(t, "Get after two Rekeys", mustGet(t, s, rec.SID, now), want)
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "analyst"}}, now, []string{"s-a"})
	})

	t.Run("GoneUnlessLiveWithOldHash", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		b := newRecord("s-b", "bob", "analyst", now)
		mustCreate(t, s, a, now)
		mustCreate(t, s, b, now)
		mustCommit(t, s, a.SID, a.TokenHash, []byte("a"), nil, now.Add(timeout))
		mustEnd(t, s, b.SID, store.Tombstone{SID: b.SID, Reason: store.ReasonLogout, Actor: "bob", At: now})

		cases := []struct {
			name, sid, old string
		}{
			{"wrong old hash", a.SID, TokenHash(a.SID, 5)},
			{"another session's hash", a.SID, b.TokenHash},
			{"ended session", b.SID, b.TokenHash},
			{"unknown session", "s-unknown", TokenHash("s-unknown", 0)},
		}
		for _, c := range cases {
			err := s.Rekey(t.Context(), c.sid, c.old, TokenHash(c.sid, 9), "admin", now)
			if !errors.Is(err, store.ErrSessionGone) {
				t.Errorf("Rekey with %s: got %v, want ErrSessionGone", c.name, err)
			}
		}
		checkRecord(t, "Get after refused Rekeys", mustGet(t, s, a.SID, now), a)
		wantBlob(t, s, a.TokenHash, []byte("a"))
		wantNoRecord(t, s, b.SID, now)
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "admin"}}, now, nil)
	})
}

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

func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ConcurrentTouches", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n, writes = 50, 5
		recs := make([]store.Record, n)
		for i := range n {
			recs[i] = newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i%10), "analyst", now)
			if _, err := s.Create(t.Context(), recs[i], n, now); err != nil {
				t.Fatalf("Create: %v", err)
			}
		}
		last := func(i int) time.Time { return now.Add(time.Duration(writes*(i+1)) * time.Second) }
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rec := recs[i]
				for w := 1; w <= writes; w++ {
					at := now.Add(time.Duration(w*(i+1)) * time.Second)
					touch := &store.Touch{LastActivity: at, ExpiresAt: at.Add(timeout), IdleAt: at.Add(idle), IP: "198.51.100.1", UserAgent: rec.FirstUserAgent, Path: fmt.Sprintf("/p/%d", w)}
					if err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte(fmt.Sprintf("%s#%d", rec.SID, w)), touch, at.Add(timeout)); err != nil {
						t.Errorf("CommitCtx(%s #%d): %v", rec.SID, w, err)
						return
					}
				}
			})
		}
		wg.Wait()
		at := last(n - 1)
		for i, rec := range recs {
			got := mustGet(t, s, rec.SID, at)
			if !got.LastActivity.Equal(last(i)) || got.Path != fmt.Sprintf("/p/%d", writes) || !got.IPChanged {
				t.Errorf("%s after %d touches: LastActivity %s Path %q IPChanged %v; want %s, /p/%d, true",
					rec.SID, writes, fmtTime(got.LastActivity), got.Path, got.IPChanged, fmtTime(last(i)), writes)
			}
			wantBlob(t, s, rec.TokenHash, []byte(fmt.Sprintf("%s#%d", rec.SID, writes)))
		}
		want := make([]string, n)
		for i := range n {
			want[i] = recs[n-1-i].SID
		}
		wantOrder(t, s, store.Query{Limit: 7}, at, want)
	})

	t.Run("EndRacesCommits", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			rec := newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i), "analyst", now)
			mustCreate(t, s, rec, now)
			started, ended := make(chan struct{}), make(chan struct{})
			start := sync.OnceFunc(func() { close(started) })
			// The writer commits until it sees the session gone; once End has
			// returned, the very next commit must see it gone.
			wg.Go(func() {
				defer start() // never leave End waiting
				for w := 0; ; w++ {
					select {
					case <-ended:
						err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte("late"), nil, now.Add(timeout))
						if !errors.Is(err, store.ErrSessionGone) {
							t.Errorf("CommitCtx(%s) after End returned: got %v, want ErrSessionGone", rec.SID, err)
						}
						return
					default:
					}
					err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte("blob"), nil, now.Add(timeout))
					if errors.Is(err, store.ErrSessionGone) {
						return
					}
					if err != nil {
						t.Errorf("CommitCtx(%s): %v", rec.SID, err)
						return
					}
					if w == 2 {
						start()
					}
				}
			})
			wg.Go(func() {
				<-started
				defer close(ended)
				if _, err := s.End(t.Context(), rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonTerminated, Actor: "root", At: now}, keep); err != nil {
					t.Errorf("End(%s): %v", rec.SID, err)
				}
			})
		}
		wg.Wait()
		for i := range n {
			sid := fmt.Sprintf("s-%02d", i)
			wantNoBlob(t, s, TokenHash(sid, 0))
			wantNoRecord(t, s, sid, now)
		}
		wantOrder(t, s, store.Query{}, now, nil)
	})
}
