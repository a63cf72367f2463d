package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testEdges covers inputs that trip key schemes and encodings: names that
// contain separators or differ only in case, large binary blobs.
func testEdges(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("UserAndRoleNamesAreExact", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		users := []string{"ana", "Ana", "ana:x", "ana x", "José", "a*", "{ana}", "ana\\"}
		for i, u := range users {
			at := now.Add(time.Duration(i) * time.Second)
			mustCreate(t, s, newRecord(fmt.Sprintf("s-%d", i), u, "role:"+u, at), now.Add(time.Minute))
		}
		at := now.Add(time.Minute)
		for i, u := range users {
			want := []string{fmt.Sprintf("s-%d", i)}
			wantOrder(t, s, store.Query{Filter: store.Filter{User: u}}, at, want)
			wantOrder(t, s, store.Query{Filter: store.Filter{Role: "role:" + u}}, at, want)
			wantOrder(t, s, store.Query{Filter: store.Filter{User: u, Role: "role:" + u}}, at, want)
		}
		n, err := s.EndUser(t.Context(), "a*", nil, store.Tombstone{Reason: store.ReasonAccountRemoved, Actor: "root", At: at}, keep)
		if err != nil || n != 1 {
			t.Errorf("EndUser(%q): got (%d, %v), want (1, nil)", "a*", n, err)
		}
		if _, total := listAll(t, s, store.Query{}, at); total != len(users)-1 {
			t.Errorf("Total after EndUser(%q): got %d, want %d", "a*", total, len(users)-1)
		}
	})

	t.Run("LargeBinaryBlob", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-big", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		blob := make([]byte, 256<<10)
		rand.Read(blob)
		mustCommit(t, s, rec.SID, rec.TokenHash, blob, nil, now.Add(timeout))
		got, found, err := s.FindCtx(t.Context(), rec.TokenHash)
		if err != nil || !found || !bytes.Equal(got, blob) {
			t.Fatalf("FindCtx of a 256 KiB random blob: found %v, err %v, equal %v; want it back intact", found, err, bytes.Equal(got, blob))
		}
		mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonLogout, Actor: "ana", At: now})
		ended := mustEnded(t, s, now, 1)
		if len(ended) != 1 || !bytes.Equal(ended[0].Blob, blob) {
			t.Errorf("Ended blob of a 256 KiB session: not the final blob")
		}
	})

	t.Run("IPFilterOverManyRows", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 40
		var want []string
		for i := range n {
			rec := newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i), []string{"analyst", "admin"}[i%2], now.Add(time.Duration(i)*time.Second))
			if i%7 == 3 {
				rec.FirstIP, rec.LastIP = "203.0.113.77", "203.0.113.77"
				want = append(want, rec.SID)
			}
			mustCreate(t, s, rec, now.Add(time.Minute))
		}
		slices.Reverse(want) // activity order: newest first
		at := now.Add(time.Minute)
		for _, limit := range []int{1, 2, 5} {
			wantOrder(t, s, store.Query{Filter: store.Filter{IP: "203.0.113.77"}, Limit: limit}, at, want)
		}
		var wantAnalyst []string
		for _, sid := range want {
			var i int
			fmt.Sscanf(sid, "s-%d", &i)
			if i%2 == 0 {
				wantAnalyst = append(wantAnalyst, sid)
			}
		}
		wantOrder(t, s, store.Query{Filter: store.Filter{IP: "203.0.113.77", Role: "analyst"}, Limit: 1}, at, wantAnalyst)
	})
}

// testLifecycle covers interactions between operations.
func testLifecycle(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RekeyPastDeadlineIsGone", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		err := s.Rekey(t.Context(), rec.SID, rec.TokenHash, TokenHash(rec.SID, 1), rec.Role, rec.Deadline())
		if !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("Rekey at the session's deadline: got %v, want ErrSessionGone (the session is not live at now)", err)
		}
	})

	t.Run("EvictionAfterRekeyTombstonesTheNewHash", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		newHash := TokenHash(rec.SID, 1)
		if err := s.Rekey(t.Context(), rec.SID, rec.TokenHash, newHash, "admin", now); err != nil {
			t.Fatalf("Rekey: %v", err)
		}
		mustCommit(t, s, rec.SID, newHash, []byte("a"), nil, now.Add(timeout))
		at := now.Add(time.Second)
		ended, err := s.Create(t.Context(), newRecord("s-b", "ana", "analyst", at), 1, at, time.Hour)
		if err != nil {
			t.Fatalf("Create(s-b): %v", err)
		}
		if len(ended) != 1 || ended[0].SID != rec.SID || ended[0].TokenHash != newHash {
			t.Fatalf("Create(s-b) with max 1: ended %+v, want s-a with its new token hash", ended)
		}
		if got := mustTombstone(t, s, newHash); got.SID != rec.SID || got.Reason != store.ReasonEvicted {
			t.Errorf("Tombstone of the new hash: sid %s reason %q, want s-a evicted", got.SID, got.Reason)
		}
		wantNoBlob(t, s, newHash)
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "admin"}}, at, nil)
		wantOrder(t, s, store.Query{Filter: store.Filter{Role: "analyst"}}, at, []string{"s-b"})
	})

	t.Run("CreateMovesDueSessionsToEnded", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		old := newRecord("s-old", "ana", "analyst", now)
		mustCreate(t, s, old, now)
		mustCommit(t, s, old.SID, old.TokenHash, []byte("final"), nil, now.Add(timeout))
		at := old.Deadline().Add(time.Second)
		ended, err := s.Create(t.Context(), newRecord("s-new", "ana", "analyst", at), 3, at, time.Hour)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if len(ended) != 1 || ended[0].SID != old.SID || ended[0].Reason != store.ReasonIdle {
			t.Fatalf("Create: ended %+v, want s-old idle", ended)
		}
		wantNoBlob(t, s, old.TokenHash)
		e := mustEnded(t, s, at.Add(keep), 10)
		if len(e) != 1 || e[0].Record.SID != old.SID || e[0].Tombstone.Reason != store.ReasonIdle || !bytes.Equal(e[0].Blob, []byte("final")) {
			t.Fatalf("Ended after Create ended a due session: got %v, want s-old with its final blob", endedSIDs(e))
		}
		due, err := s.Due(t.Context(), at, 10)
		if err != nil || len(due) != 0 {
			t.Errorf("Due after Create ended the due session: got (%v, %v), want none", sids(due), err)
		}
	})

	t.Run("CleanupEndsDueSessions", func(t *testing.T) {
		// What the cleanup job does: Due, then End with the due reason.
		s := newStore(t)
		now := baseTime()
		recs := []store.Record{
			NewRecord("s-idle", "ana", "analyst", now, 30*time.Minute, 20*time.Minute, lifetime),
			NewRecord("s-exp", "bob", "analyst", now, 10*time.Minute, time.Hour, lifetime),
		}
		for _, rec := range recs {
			mustCreate(t, s, rec, now)
		}
		at := now.Add(time.Hour)
		due, err := s.Due(t.Context(), at, 10)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		if got := sids(due); !slices.Equal(got, []string{"s-exp", "s-idle"}) {
			t.Fatalf("Due: got %v, want [s-exp s-idle]", got)
		}
		for _, rec := range due {
			mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: rec.DueReason(at), Actor: "system", At: at})
		}
		if due, err := s.Due(t.Context(), at, 10); err != nil || len(due) != 0 {
			t.Errorf("Due after cleanup: got (%v, %v), want none", sids(due), err)
		}
		if got := mustTombstone(t, s, recs[1].TokenHash); got.Reason != store.ReasonExpired {
			t.Errorf("Tombstone of s-exp: reason %q, want expired", got.Reason)
		}
		if got := endedSIDs(mustEnded(t, s, at.Add(keep), 10)); !slices.Equal(got, []string{"s-exp", "s-idle"}) {
			t.Errorf("Ended: got %v, want [s-exp s-idle]", got)
		}
	})

	t.Run("ConcurrentFailsCountEachOnce", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 30
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[int]int{}
		)
		for i := range n {
			wg.Go(func() {
				c, err := s.Fail(t.Context(), "user:ana", now.Add(time.Duration(i)*time.Millisecond), 15*time.Minute)
				if err != nil {
					t.Errorf("Fail: %v", err)
					return
				}
				mu.Lock()
				seen[c]++
				mu.Unlock()
			})
		}
		wg.Wait()
		for c := 1; c <= n; c++ {
			if seen[c] != 1 {
				t.Errorf("%d concurrent Fails: count %d returned %d times, want once each of 1..%d", n, c, seen[c], n)
				break
			}
		}
		if got, _, err := s.Failures(t.Context(), "user:ana"); err != nil || got != n {
			t.Errorf("Failures: got (%d, %v), want (%d, nil)", got, err, n)
		}
	})

	t.Run("ConcurrentCreatesAndEnds", func(t *testing.T) {
		// Logins of one user racing a terminate-all: the limit holds, and
		// whatever survives is consistent across Get, List and Due.
		s := newStore(t)
		now := baseTime()
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				at := now.Add(time.Duration(i) * time.Millisecond)
				if _, err := s.Create(t.Context(), newRecord(fmt.Sprintf("s-%02d", i), "ana", "analyst", at), 3, at, time.Hour); err != nil {
					t.Errorf("Create: %v", err)
				}
			})
			if i%4 == 3 {
				wg.Go(func() {
					if _, err := s.EndUser(t.Context(), "ana", nil, store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", At: now}, keep); err != nil {
						t.Errorf("EndUser: %v", err)
					}
				})
			}
		}
		wg.Wait()
		at := now.Add(time.Second)
		recs, total := listAll(t, s, store.Query{Filter: store.Filter{User: "ana"}}, at)
		if total > 3 || len(recs) != total {
			t.Fatalf("after racing Creates and EndUsers: Total %d, %d rows; want at most 3 and equal", total, len(recs))
		}
		for _, rec := range recs {
			mustGet(t, s, rec.SID, at)
		}
		ended := mustEnded(t, s, at.Add(keep), 100)
		if len(ended)+total != 12 {
			t.Errorf("live %d + ended %d, want 12", total, len(ended))
		}
		for _, e := range ended {
			wantNoRecord(t, s, e.Record.SID, at)
			if tomb := mustTombstone(t, s, e.Record.TokenHash); tomb.SID != e.Record.SID {
				t.Errorf("Tombstone of %s: sid %s", e.Record.SID, tomb.SID)
			}
		}
	})
}
