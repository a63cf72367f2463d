package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// mustEnd ends sid and fails the test unless this call ended it.
func mustEnd(t *testing.T, s store.Store, sid string, tomb store.Tombstone) {
	t.Helper()
	ok, err := s.End(t.Context(), sid, tomb, keep)
	if err != nil {
		t.Fatalf("End(%s): %v", sid, err)
	}
	if !ok {
		t.Fatalf("End(%s) = false, want true", sid)
	}
}

// mustTombstone returns the tombstone kept for hash or fails the test.
func mustTombstone(t *testing.T, s store.Store, hash string) store.Tombstone {
	t.Helper()
	tomb, found, err := s.Tombstone(t.Context(), hash)
	if err != nil {
		t.Fatalf("Tombstone: %v", err)
	}
	if !found {
		t.Fatalf("Tombstone(%s…): found = false, want true", hash[:8])
	}
	return tomb
}

// wantNoTombstone fails the test if a tombstone is kept for hash.
func wantNoTombstone(t *testing.T, s store.Store, hash string) {
	t.Helper()
	tomb, found, err := s.Tombstone(t.Context(), hash)
	if err != nil {
		t.Fatalf("Tombstone: %v", err)
	}
	if found {
		t.Fatalf("Tombstone(%s…): found %+v, want not found", hash[:8], tomb)
	}
}

// mustEnded returns up to limit sessions of the ended holding area that are
// ready for cleanup at now.
func mustEnded(t *testing.T, s store.Store, now time.Time, limit int) []store.EndedSession {
	t.Helper()
	ended, err := s.Ended(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("Ended(%s, %d): %v", fmtTime(now), limit, err)
	}
	return ended
}

func endedSIDs(ended []store.EndedSession) []string {
	out := make([]string, len(ended))
	for i, e := range ended {
		out[i] = e.Record.SID
	}
	return out
}

// testEnd checks that ending is sticky, idempotent and leaves a tombstone and
// an entry in the ended holding area.
func testEnd(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("EndIsSticky", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		b := newRecord("s-b", "bob", "analyst", now)
		mustCreate(t, s, a, now)
		mustCreate(t, s, b, now)
		mustCommit(t, s, a.SID, a.TokenHash, []byte("a"), nil, now.Add(timeout))
		mustCommit(t, s, b.SID, b.TokenHash, []byte("b"), nil, now.Add(timeout))
		wantOrder(t, s, store.Query{}, now, []string{"s-b", "s-a"})

		t1 := now.Add(time.Minute)
		mustEnd(t, s, a.SID, store.Tombstone{SID: a.SID, Reason: store.ReasonLogout, Actor: "ana", At: t1})

		wantNoBlob(t, s, a.TokenHash)
		wantNoRecord(t, s, a.SID, t1)
		wantOrder(t, s, store.Query{}, t1, []string{"s-b"})
		wantOrder(t, s, store.Query{Filter: store.Filter{User: "ana"}}, t1, nil)

		// A request that was in flight cannot bring it back.
		err := commit(t.Context(), s, a.SID, a.TokenHash, []byte("late"), nil, t1.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("CommitCtx after End: got %v, want ErrSessionGone", err)
		}
		touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), IP: a.FirstIP, UserAgent: a.FirstUserAgent, Path: "/"}
		err = commit(t.Context(), s, a.SID, a.TokenHash, []byte("late"), touch, t1.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("CommitCtx with touch after End: got %v, want ErrSessionGone", err)
		}
		wantNoBlob(t, s, a.TokenHash)
		wantNoRecord(t, s, a.SID, t1)
		wantOrder(t, s, store.Query{}, t1, []string{"s-b"})
		due, err := s.Due(t.Context(), t1.Add(lifetime), 10)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		if got := sids(due); !slices.Equal(got, []string{"s-b"}) {
			t.Errorf("Due after the end of every deadline: got %v, want [s-b]", got)
		}

		// The other session is untouched.
		wantBlob(t, s, b.TokenHash, []byte("b"))
		checkRecord(t, "Get of the other session", mustGet(t, s, b.SID, t1), b)
	})

	t.Run("EndTwiceAndUnknown", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, a, now)
		tomb := store.Tombstone{SID: a.SID, Reason: store.ReasonTerminated, Actor: "root", Note: "first", At: now}
		mustEnd(t, s, a.SID, tomb)

		second := store.Tombstone{SID: a.SID, Reason: store.ReasonSecurity, Actor: "system", Note: "second", At: now.Add(time.Second)}
		ok, err := s.End(t.Context(), a.SID, second, keep)
		if err != nil || ok {
			t.Errorf("End of an ended session: got (%v, %v), want (false, nil)", ok, err)
		}
		// The second End changes nothing: the first tombstone stays.
		want := tomb
		want.TokenHash, want.User = a.TokenHash, a.User
		checkTombstone(t, "Tombstone after a second End", mustTombstone(t, s, a.TokenHash), want)
		if got := mustEnded(t, s, now.Add(keep), 10); len(got) != 1 {
			t.Errorf("Ended after two Ends: got %d sessions, want 1", len(got))
		}

		ok, err = s.End(t.Context(), "s-unknown", store.Tombstone{SID: "s-unknown", Reason: store.ReasonLogout, Actor: "x", At: now}, keep)
		if err != nil || ok {
			t.Errorf("End of an unknown session: got (%v, %v), want (false, nil)", ok, err)
		}
		if got := mustEnded(t, s, now.Add(keep), 10); len(got) != 1 {
			t.Errorf("Ended after End of an unknown session: got %d sessions, want 1", len(got))
		}
	})

	t.Run("TombstoneByTokenHash", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		b := newRecord("s-b", "bob", "admin", now)
		mustCreate(t, s, a, now)
		mustCreate(t, s, b, now)
		wantNoTombstone(t, s, a.TokenHash) // live: no tombstone

		at := now.Add(90*time.Second + 123*time.Millisecond)
		mustEnd(t, s, a.SID, store.Tombstone{SID: a.SID, Reason: store.ReasonTerminated, Actor: "root", Note: "shared screen, ends now", At: at})

		want := store.Tombstone{SID: a.SID, TokenHash: a.TokenHash, User: "ana", Reason: store.ReasonTerminated, Actor: "root", Note: "shared screen, ends now", At: at}
		checkTombstone(t, "Tombstone", mustTombstone(t, s, a.TokenHash), want)
		wantNoTombstone(t, s, b.TokenHash)
		wantNoTombstone(t, s, TokenHash("s-unknown", 0))
	})

	t.Run("TombstoneForEveryReason", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		reasons := []store.Reason{
			store.ReasonLogout, store.ReasonExpired, store.ReasonIdle, store.ReasonLifetime, store.ReasonEvicted,
			store.ReasonTerminated, store.ReasonSecurity, store.ReasonAccountRemoved, store.ReasonAccountDisabled,
		}
		for i, r := range reasons {
			rec := newRecord("s-"+string(r), "user"+string(r), "analyst", now)
			mustCreate(t, s, rec, now)
			at := now.Add(time.Duration(i) * time.Millisecond)
			mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: r, Actor: "system", At: at})
			want := store.Tombstone{SID: rec.SID, TokenHash: rec.TokenHash, User: rec.User, Reason: r, Actor: "system", At: at}
			checkTombstone(t, "Tombstone with reason "+string(r), mustTombstone(t, s, rec.TokenHash), want)
		}
	})

	t.Run("EndedHoldingArea", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		if got := mustEnded(t, s, now, 10); len(got) != 0 {
			t.Fatalf("Ended of an empty store: got %v, want none", endedSIDs(got))
		}
		// Names deliberately out of end order, so that no sid order can pass for end order.
		recs := map[string]store.Record{}
		for _, sid := range []string{"s-c", "s-a", "s-b"} {
			rec := newRecord(sid, "user-"+sid, "analyst", now)
			recs[sid] = rec
			mustCreate(t, s, rec, now)
		}
		// s-a gets activity, so its final record is not the created one.
		t1 := now.Add(time.Minute)
		touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), IP: "198.51.100.1", UserAgent: "ua/2", Path: "/last"}
		mustCommit(t, s, "s-a", recs["s-a"].TokenHash, []byte("final a"), touch, t1.Add(timeout))
		finalA := recs["s-a"]
		finalA.LastActivity, finalA.ExpiresAt, finalA.IdleAt, finalA.Path = t1, t1.Add(timeout), t1.Add(idle), "/last"
		finalA.LastIP, finalA.LastUserAgent, finalA.IPChanged, finalA.UAChanged = "198.51.100.1", "ua/2", true, true
		recs["s-a"] = finalA
		mustCommit(t, s, "s-c", recs["s-c"].TokenHash, []byte("final c"), nil, now.Add(timeout))
		blobs := map[string][]byte{"s-a": []byte("final a"), "s-c": []byte("final c")}

		order := []string{"s-c", "s-a", "s-b"}
		reasons := []store.Reason{store.ReasonLogout, store.ReasonIdle, store.ReasonTerminated}
		tombs := map[string]store.Tombstone{}
		for i, sid := range order {
			at := t1.Add(time.Duration(i+1) * time.Second)
			tomb := store.Tombstone{SID: sid, Reason: reasons[i], Actor: "actor-" + sid, Note: "note " + sid, At: at}
			mustEnd(t, s, sid, tomb)
			tomb.TokenHash, tomb.User = recs[sid].TokenHash, recs[sid].User
			tombs[sid] = tomb
		}

		// Once every recovery window has closed, all three are ready for cleanup.
		ready := t1.Add(3*time.Second + keep)
		ended := mustEnded(t, s, ready, 10)
		if got := endedSIDs(ended); !slices.Equal(got, order) {
			t.Fatalf("Ended(10): got %v, want %v (oldest end first)", got, order)
		}
		for _, e := range ended {
			sid := e.Record.SID
			checkRecord(t, "Ended record of "+sid, e.Record, recs[sid])
			checkTombstone(t, "Ended tombstone of "+sid, e.Tombstone, tombs[sid])
			if !bytes.Equal(e.Blob, blobs[sid]) {
				t.Errorf("Ended blob of %s: got %q, want %q", sid, e.Blob, blobs[sid])
			}
		}
		if got := endedSIDs(mustEnded(t, s, ready, 2)); !slices.Equal(got, order[:2]) {
			t.Errorf("Ended(2): got %v, want %v", got, order[:2])
		}

		// Archive the oldest: it leaves the holding area and can be read back.
		archAt := t1.Add(time.Hour)
		for i := range 2 {
			if err := s.Archive(t.Context(), ended[0], archAt, 30*24*time.Hour); err != nil {
				t.Fatalf("Archive #%d: %v", i+1, err)
			}
		}
		if got := endedSIDs(mustEnded(t, s, ready, 10)); !slices.Equal(got, order[1:]) {
			t.Errorf("Ended after Archive(s-c): got %v, want %v", got, order[1:])
		}
		arch, found, err := s.Archived(t.Context(), "s-c")
		if err != nil || !found {
			t.Fatalf("Archived(s-c): got (found %v, %v), want found", found, err)
		}
		checkRecord(t, "Archived record", arch.Record, recs["s-c"])
		checkTombstone(t, "Archived tombstone", arch.Tombstone, tombs["s-c"])
		if !bytes.Equal(arch.Blob, blobs["s-c"]) {
			t.Errorf("Archived blob: got %q, want %q", arch.Blob, blobs["s-c"])
		}
		if !arch.ArchivedAt.Equal(archAt) {
			t.Errorf("ArchivedAt: got %s, want %s", fmtTime(arch.ArchivedAt), fmtTime(archAt))
		}

		// Purge drops without archiving; twice and unknown are fine.
		for i := range 2 {
			if err := s.Purge(t.Context(), "s-a"); err != nil {
				t.Fatalf("Purge #%d: %v", i+1, err)
			}
		}
		if err := s.Purge(t.Context(), "s-unknown"); err != nil {
			t.Fatalf("Purge of an unknown sid: %v", err)
		}
		if got := endedSIDs(mustEnded(t, s, ready, 10)); !slices.Equal(got, []string{"s-b"}) {
			t.Errorf("Ended after Purge(s-a): got %v, want [s-b]", got)
		}
		for _, sid := range []string{"s-a", "s-b", "s-unknown"} {
			if a, found, err := s.Archived(t.Context(), sid); err != nil || found {
				t.Errorf("Archived(%s): got (%+v, %v, %v), want not found", sid, a.Record.SID, found, err)
			}
		}
		// Archiving does not bring a session back, nor does it drop its tombstone.
		wantNoRecord(t, s, "s-c", archAt)
		wantNoBlob(t, s, recs["s-c"].TokenHash)
		checkTombstone(t, "Tombstone after Archive", mustTombstone(t, s, recs["s-c"].TokenHash), tombs["s-c"])
	})

	t.Run("EndMany", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		recs := map[string]store.Record{}
		for _, sid := range []string{"s-a", "s-b", "s-c", "s-d"} {
			rec := newRecord(sid, "user-"+sid, "analyst", now)
			recs[sid] = rec
			mustCreate(t, s, rec, now)
		}
		mustEnd(t, s, "s-d", store.Tombstone{SID: "s-d", Reason: store.ReasonLogout, Actor: "user-s-d", At: now})

		at := now.Add(time.Minute)
		tomb := store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", Note: "bulk", At: at}
		n, err := s.EndMany(t.Context(), []string{"s-a", "s-unknown", "s-d", "s-b", "s-a"}, tomb, keep)
		if err != nil {
			t.Fatalf("EndMany: %v", err)
		}
		if n != 2 {
			t.Errorf("EndMany: ended %d, want 2 (s-a and s-b; s-d was ended, s-unknown never existed)", n)
		}
		wantOrder(t, s, store.Query{}, at, []string{"s-c"})
		for _, sid := range []string{"s-a", "s-b"} {
			want := tomb
			want.SID, want.TokenHash, want.User = sid, recs[sid].TokenHash, recs[sid].User
			checkTombstone(t, "Tombstone of "+sid+" after EndMany", mustTombstone(t, s, recs[sid].TokenHash), want)
		}
		// s-d keeps the tombstone of its own end.
		if got := mustTombstone(t, s, recs["s-d"].TokenHash); got.Reason != store.ReasonLogout {
			t.Errorf("Tombstone of s-d: reason %q, want %q", got.Reason, store.ReasonLogout)
		}
		if got := endedSIDs(mustEnded(t, s, at.Add(keep), 10)); len(got) != 3 {
			t.Errorf("Ended: got %v, want s-d, s-a and s-b", got)
		}
		n, err = s.EndMany(t.Context(), nil, tomb, keep)
		if err != nil || n != 0 {
			t.Errorf("EndMany(nil): got (%d, %v), want (0, nil)", n, err)
		}
	})

	t.Run("EndUser", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		recs := map[string]store.Record{}
		add := func(sid, user string) {
			rec := newRecord(sid, user, "analyst", now)
			recs[sid] = rec
			mustCreate(t, s, rec, now)
		}
		add("s-a1", "ana")
		add("s-a2", "ana")
		add("s-a3", "ana")
		add("s-b1", "bob")
		add("s-n1", "ana2") // a user whose name starts with another's

		at := now.Add(time.Minute)
		tomb := store.Tombstone{Reason: store.ReasonAccountDisabled, Actor: "root", At: at}
		n, err := s.EndUser(t.Context(), "ana", []string{"s-a2", "s-b1"}, tomb, keep)
		if err != nil {
			t.Fatalf("EndUser: %v", err)
		}
		if n != 2 {
			t.Errorf("EndUser(ana except s-a2): ended %d, want 2", n)
		}
		wantOrder(t, s, store.Query{Sort: store.SortCreated, Filter: store.Filter{User: "ana"}}, at, []string{"s-a2"})
		wantOrder(t, s, store.Query{Sort: store.SortDeadline}, at, []string{"s-a2", "s-b1", "s-n1"})
		for _, sid := range []string{"s-a1", "s-a3"} {
			want := tomb
			want.SID, want.TokenHash, want.User = sid, recs[sid].TokenHash, "ana"
			checkTombstone(t, "Tombstone of "+sid+" after EndUser", mustTombstone(t, s, recs[sid].TokenHash), want)
		}

		n, err = s.EndUser(t.Context(), "ana", nil, tomb, keep)
		if err != nil || n != 1 {
			t.Errorf("EndUser(ana) without except: got (%d, %v), want (1, nil)", n, err)
		}
		n, err = s.EndUser(t.Context(), "ana", nil, tomb, keep)
		if err != nil || n != 0 {
			t.Errorf("EndUser(ana) again: got (%d, %v), want (0, nil)", n, err)
		}
		n, err = s.EndUser(t.Context(), "nobody", nil, tomb, keep)
		if err != nil || n != 0 {
			t.Errorf("EndUser of an unknown user: got (%d, %v), want (0, nil)", n, err)
		}
		wantOrder(t, s, store.Query{Sort: store.SortDeadline}, at, []string{"s-b1", "s-n1"})
	})
}
