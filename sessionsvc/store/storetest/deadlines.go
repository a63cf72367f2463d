package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testDeadlines checks that Get and List are bounded by now before cleanup
// runs, and that Due hands cleanup the sessions past their deadline.
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
