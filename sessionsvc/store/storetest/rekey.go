package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testRekey checks token renewal and role change: the session follows the
// new hash and role, and nothing answers to the old hash any more.
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
