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

// testCreate checks that records round-trip and that the per-user limit
// holds, also under concurrent logins.
func testCreate(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("FieldsRoundTrip", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := store.Record{
			SID:             "s-full",
			TokenHash:       TokenHash("s-full", 0),
			User:            "ana",
			Role:            "analyst",
			CreatedAt:       now.Add(-1500 * time.Millisecond),
			AuthenticatedAt: now.Add(-1499 * time.Millisecond),
			LastActivity:    now.Add(-3 * time.Millisecond),
			ExpiresAt:       now.Add(timeout + 1*time.Millisecond),
			IdleAt:          now.Add(idle + 2*time.Millisecond),
			LifetimeAt:      now.Add(lifetime + 3*time.Millisecond),
			FirstIP:         "2001:db8::1",
			LastIP:          "203.0.113.9",
			FirstUserAgent:  "Mozilla/5.0 (Macintosh) Safari/17",
			LastUserAgent:   "Mozilla/5.0 (Macintosh) Safari/18 \"quoted\" ünïcode",
			IPChanged:       true,
			UAChanged:       true,
			Device:          "Safari on macOS",
			Fingerprint:     "d2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26",
			Path:            "/workspace/analysis?id=42&tab=results",
			Processing:      "running",
			Progress:        57,
			StateVersion:    12,
			RecoveredFrom:   "s-old",
		}
		mustCreate(t, s, rec, now)
		checkRecord(t, "Get", mustGet(t, s, rec.SID, now), rec)

		// A Get at another instant returns the same record.
		checkRecord(t, "Get a minute later", mustGet(t, s, rec.SID, now.Add(time.Minute)), rec)

		page, err := s.List(t.Context(), store.Query{}, now)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(page.Records) != 1 || page.Total != 1 {
			t.Fatalf("List: got %d records, total %d; want 1, 1", len(page.Records), page.Total)
		}
		checkRecord(t, "List row", page.Records[0], rec)
	})

	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		s := newStore(t)
		wantNoRecord(t, s, "s-unknown", baseTime())
	})

	t.Run("EvictsLeastRecentlyActive", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		other := newRecord("s-bob", "bob", "analyst", now)
		mustCreate(t, s, other, now)
		// Created in sid order, but s-2 is the least recently active.
		activity := map[string]time.Duration{"s-1": 30 * time.Second, "s-2": 10 * time.Second, "s-3": 20 * time.Second}
		recs := map[string]store.Record{}
		for i, sid := range []string{"s-1", "s-2", "s-3"} {
			rec := newRecord(sid, "ana", "analyst", now.Add(time.Duration(i)*time.Millisecond))
			rec.LastActivity = now.Add(activity[sid])
			rec.IdleAt = rec.LastActivity.Add(idle)
			recs[sid] = rec
			if _, err := s.Create(t.Context(), rec, 3, now.Add(time.Minute), time.Hour); err != nil {
				t.Fatalf("Create(%s): %v", sid, err)
			}
			mustCommit(t, s, sid, rec.TokenHash, []byte(sid), nil, now.Add(timeout))
		}

		at := now.Add(2 * time.Minute)
		s4 := newRecord("s-4", "ana", "analyst", at)
		ended, err := s.Create(t.Context(), s4, 3, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-4): %v", err)
		}
		if len(ended) != 1 {
			t.Fatalf("Create(s-4): ended %d sessions, want 1 (s-2)", len(ended))
		}
		want := store.Tombstone{SID: "s-2", TokenHash: recs["s-2"].TokenHash, User: "ana", Reason: store.ReasonEvicted, Actor: "system", At: at}
		checkTombstone(t, "Create's tombstone", ended[0], want)
		checkTombstone(t, "Tombstone of the evicted session", mustTombstone(t, s, recs["s-2"].TokenHash), want)
		wantNoBlob(t, s, recs["s-2"].TokenHash)
		wantNoRecord(t, s, "s-2", at)
		err = commit(t.Context(), s, "s-2", recs["s-2"].TokenHash, []byte("late"), nil, at.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("CommitCtx of the evicted session: got %v, want ErrSessionGone", err)
		}
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at, []string{"s-4", "s-1", "s-3"})
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "bob"}}, at, []string{"s-bob"})
		if got := endedSIDs(mustEnded(t, s, at.Add(keep), 10)); !slices.Equal(got, []string{"s-2"}) {
			t.Errorf("Ended after an eviction: got %v, want [s-2]", got)
		}
	})

	t.Run("EvictionTieGoesToOldestCreated", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		// Same LastActivity; s-b was created first. Inserted out of creation order.
		created := map[string]time.Duration{"s-a": 2 * time.Second, "s-b": 1 * time.Second, "s-c": 3 * time.Second}
		for _, sid := range []string{"s-a", "s-c", "s-b"} {
			rec := newRecord(sid, "ana", "analyst", now)
			rec.CreatedAt = now.Add(created[sid])
			rec.AuthenticatedAt = rec.CreatedAt
			rec.LastActivity = now.Add(5 * time.Second)
			rec.IdleAt = rec.LastActivity.Add(idle)
			if _, err := s.Create(t.Context(), rec, 3, now.Add(5*time.Second), time.Hour); err != nil {
				t.Fatalf("Create(%s): %v", sid, err)
			}
		}
		at := now.Add(time.Minute)
		ended, err := s.Create(t.Context(), newRecord("s-d", "ana", "analyst", at), 3, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-d): %v", err)
		}
		if len(ended) != 1 || ended[0].SID != "s-b" || ended[0].Reason != store.ReasonEvicted {
			t.Fatalf("Create(s-d): ended %+v, want s-b evicted", ended)
		}
		wantOrder(t, s, store.Query{Sort: store.SortCreated, Filter: store.Filter{User: "ana"}}, at, []string{"s-d", "s-c", "s-a"})
	})

	t.Run("MaxOneReplaces", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		first := newRecord("s-1", "ana", "analyst", now)
		if _, err := s.Create(t.Context(), first, 1, now, time.Hour); err != nil {
			t.Fatalf("Create(s-1): %v", err)
		}
		at := now.Add(time.Second)
		ended, err := s.Create(t.Context(), newRecord("s-2", "ana", "analyst", at), 1, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-2): %v", err)
		}
		if len(ended) != 1 || ended[0].SID != "s-1" {
			t.Fatalf("Create(s-2) with max 1: ended %+v, want s-1", ended)
		}
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at, []string{"s-2"})
	})

	t.Run("EndsDueSessionsWithTheirReason", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		// Each record's deadline passes by at, through a different clock.
		recs := []store.Record{
			NewRecord("s-idle", "ana", "analyst", now, 30*time.Minute, 20*time.Minute, lifetime),
			NewRecord("s-expired", "ana", "analyst", now, 10*time.Minute, time.Hour, lifetime),
			NewRecord("s-lifetime", "ana", "analyst", now, 30*time.Minute, time.Hour, 15*time.Minute),
			NewRecord("s-bob-idle", "bob", "analyst", now, 30*time.Minute, 20*time.Minute, lifetime),
		}
		for _, rec := range recs {
			mustCreate(t, s, rec, now)
		}
		live := newRecord("s-live", "ana", "analyst", now.Add(9*time.Minute))
		mustCreate(t, s, live, now.Add(9*time.Minute))

		at := now.Add(25 * time.Minute)
		for _, rec := range recs {
			wantNoRecord(t, s, rec.SID, at)
		}
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at, []string{"s-live"})

		ended, err := s.Create(t.Context(), newRecord("s-new", "ana", "analyst", at), 3, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-new): %v", err)
		}
		wantReason := map[string]store.Reason{"s-idle": store.ReasonIdle, "s-expired": store.ReasonExpired, "s-lifetime": store.ReasonLifetime}
		got := map[string]store.Reason{}
		for _, tomb := range ended {
			got[tomb.SID] = tomb.Reason
			if tomb.User != "ana" {
				t.Errorf("tombstone of %s: User %q, want ana", tomb.SID, tomb.User)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(wantReason) {
			t.Errorf("Create ended %v, want %v (due sessions with their reason, no eviction)", got, wantReason)
		}
		for _, rec := range recs[:3] {
			tomb := mustTombstone(t, s, rec.TokenHash)
			if tomb.Reason != wantReason[rec.SID] || tomb.SID != rec.SID {
				t.Errorf("Tombstone of %s: got sid %s reason %q, want reason %q", rec.SID, tomb.SID, tomb.Reason, wantReason[rec.SID])
			}
		}
		// Due sessions do not count toward the limit: both live ones stay.
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at, []string{"s-new", "s-live"})
		// Another user's due session is left for cleanup.
		due, err := s.Due(t.Context(), at, 10)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		if got := sids(due); !slices.Equal(got, []string{"s-bob-idle"}) {
			t.Errorf("Due after Create: got %v, want [s-bob-idle]", got)
		}
	})

	t.Run("DueAndEvictionTogether", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, NewRecord("s-old", "ana", "analyst", now, 30*time.Minute, 5*time.Minute, lifetime), now)
		for i, sid := range []string{"s-1", "s-2", "s-3"} {
			at := now.Add(time.Duration(i+1) * time.Minute)
			if _, err := s.Create(t.Context(), newRecord(sid, "ana", "analyst", at), 4, at, time.Hour); err != nil {
				t.Fatalf("Create(%s): %v", sid, err)
			}
		}
		at := now.Add(10 * time.Minute)
		ended, err := s.Create(t.Context(), newRecord("s-4", "ana", "analyst", at), 3, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-4): %v", err)
		}
		got := map[string]store.Reason{}
		for _, tomb := range ended {
			got[tomb.SID] = tomb.Reason
		}
		want := map[string]store.Reason{"s-old": store.ReasonIdle, "s-1": store.ReasonEvicted}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Create(s-4) ended %v, want %v", got, want)
		}
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at, []string{"s-4", "s-3", "s-2"})
	})

	t.Run("ConcurrentCreatesKeepTheLimit", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n, max = 20, 3
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			tombs []store.Tombstone
			errs  []error
		)
		for i := range n {
			wg.Go(func() {
				at := now.Add(time.Duration(i) * time.Millisecond)
				rec := newRecord(fmt.Sprintf("s-%02d", i), "ana", "analyst", at)
				ended, err := s.Create(t.Context(), rec, max, at, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				tombs = append(tombs, ended...)
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Errorf("concurrent Create: %v", err)
		}
		at := now.Add(time.Second)
		recs, total := listAll(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at)
		if total != max || len(recs) != max {
			t.Fatalf("after %d concurrent Creates: Total %d, %d rows; want %d", n, total, len(recs), max)
		}
		seen := map[string]bool{}
		for _, sid := range sids(recs) {
			seen[sid] = true
		}
		for _, tomb := range tombs {
			if tomb.Reason != store.ReasonEvicted {
				t.Errorf("tombstone of %s: reason %q, want evicted", tomb.SID, tomb.Reason)
			}
			if seen[tomb.SID] {
				t.Errorf("%s reported ended twice, or ended and live", tomb.SID)
			}
			seen[tomb.SID] = true
		}
		if len(seen) != n || len(tombs) != n-max {
			t.Errorf("live %d + tombstones %d (distinct sids %d), want %d + %d covering all %d", len(recs), len(tombs), len(seen), max, n-max, n)
		}
		if got := len(mustEnded(t, s, now.Add(time.Second+keep), 100)); got != n-max {
			t.Errorf("Ended: got %d sessions, want %d", got, n-max)
		}
	})
}
