package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// mustPoints returns user's recovery points open at now.
func mustPoints(t *testing.T, s store.Store, user string, now time.Time) []store.RecoveryPoint {
	t.Helper()
	points, err := s.RecoveryPoints(t.Context(), user, now)
	if err != nil {
		t.Fatalf("RecoveryPoints(%s, %s): %v", user, fmtTime(now), err)
	}
	return points
}

func pointSIDs(points []store.RecoveryPoint) []string {
	out := make([]string, len(points))
	for i, p := range points {
		out[i] = p.SID
	}
	return out
}

// checkPoint fails the test if got differs from want in any field.
func checkPoint(t *testing.T, what string, got, want store.RecoveryPoint) {
	t.Helper()
	var d []string
	if got.SID != want.SID || got.User != want.User || got.Reason != want.Reason {
		d = append(d, fmt.Sprintf("(SID, User, Reason): got (%s, %s, %s), want (%s, %s, %s)", got.SID, got.User, got.Reason, want.SID, want.User, want.Reason))
	}
	if !got.EndedAt.Equal(want.EndedAt) {
		d = append(d, fmt.Sprintf("EndedAt: got %s, want %s", fmtTime(got.EndedAt), fmtTime(want.EndedAt)))
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		d = append(d, fmt.Sprintf("ExpiresAt: got %s, want %s", fmtTime(got.ExpiresAt), fmtTime(want.ExpiresAt)))
	}
	for _, r := range diffRecord(got.Record, want.Record) {
		d = append(d, "Record."+r)
	}
	if len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// mustClaim claims sid's recovery point for user at now or fails the test.
func mustClaim(t *testing.T, s store.Store, sid, user string, now time.Time) store.RecoveryPoint {
	t.Helper()
	p, ok, err := s.ClaimRecovery(t.Context(), sid, user, now)
	if err != nil {
		t.Fatalf("ClaimRecovery(%s, %s): %v", sid, user, err)
	}
	if !ok {
		t.Fatalf("ClaimRecovery(%s, %s, %s) = false, want true", sid, user, fmtTime(now))
	}
	return p
}

// wantNoClaim fails the test unless ClaimRecovery refuses.
func wantNoClaim(t *testing.T, s store.Store, sid, user string, now time.Time, why string) {
	t.Helper()
	p, ok, err := s.ClaimRecovery(t.Context(), sid, user, now)
	if err != nil {
		t.Fatalf("ClaimRecovery(%s, %s): %v", sid, user, err)
	}
	if ok {
		t.Errorf("ClaimRecovery(%s, %s, %s) = true (point %s), want false: %s", sid, user, fmtTime(now), p.SID, why)
	}
}

// sortedEndedSIDs returns the sids of ended sessions, sorted, for checks of
// membership rather than order.
func sortedEndedSIDs(ended []store.EndedSession) []string {
	return slices.Sorted(slices.Values(endedSIDs(ended)))
}

// writeState gives sid some state in three categories, with snapshots, and
// returns the resulting doc.
func writeState(t *testing.T, s store.Store, sid string, now time.Time) store.StateDoc {
	t.Helper()
	for i, u := range []store.StateUpdate{
		{Category: store.CatUserData, Set: vals{"uploaded_files": []byte(`["a.csv"]`), "bin": allBytes()}},
		{Category: store.CatUserData, Set: vals{"uploaded_files": []byte(`["a.csv","b.csv"]`)}},
		{Category: store.CatUIState, Set: vals{"current_page": []byte(`"results"`)}},
		{Category: store.CatTemporaryData, Set: vals{"scratch": []byte("tmp")}},
	} {
		u.Expect, u.Snapshots, u.Now = -1, 10, now.Add(time.Duration(i)*time.Millisecond)
		mustUpdate(t, s, sid, u)
	}
	return mustState(t, s, sid)
}

// testRecovery covers what happens to a session's state after it ends: it
// stays, with a recovery point unless the user logged out, until the window
// closes or the point is claimed; cleanup then archives or purges it with its
// state. It also covers recovery links.
func testRecovery(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("EndKeepsStateUntilCleanup", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		for _, reason := range []store.Reason{store.ReasonLogout, store.ReasonTerminated} {
			sid := "s-" + string(reason)
			rec := newRecord(sid, "ana", "analyst", now)
			mustCreate(t, s, rec, now)
			doc := writeState(t, s, sid, now)
			snaps := mustSnapshots(t, s, sid, store.CatUserData)
			if len(snaps) != 1 {
				t.Fatalf("Snapshots of %s: got %d, want 1", store.CatUserData, len(snaps))
			}
			at := now.Add(time.Minute)
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: reason, Actor: "ana", At: at})

			// Ended, not yet cleaned up: the state and its snapshots are still there.
			checkDoc(t, "GetState after End ("+string(reason)+")", mustState(t, s, sid), doc)
			if got := mustSnapshots(t, s, sid, store.CatUserData); len(got) != 1 || got[0].Version != snaps[0].Version {
				t.Errorf("Snapshots after End (%s): got versions %v, want %v", reason, snapVersions(got), snapVersions(snaps))
			}
		}
	})

	t.Run("ReadyForCleanup", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		at := now.Add(time.Minute)
		reasons := []store.Reason{
			store.ReasonLogout, store.ReasonExpired, store.ReasonIdle, store.ReasonLifetime, store.ReasonEvicted,
			store.ReasonTerminated, store.ReasonSecurity, store.ReasonAccountRemoved, store.ReasonAccountDisabled,
		}
		var all []string
		for _, r := range reasons {
			sid := "s-" + string(r)
			all = append(all, sid)
			mustCreate(t, s, newRecord(sid, "user-"+string(r), "analyst", now), now)
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: r, Actor: "system", At: at})
		}
		slices.Sort(all)
		steps := []struct {
			name string
			now  time.Time
			want []string
		}{
			// A logout leaves nothing to recover: cleanup may take it at once.
			{"at the end", at, []string{"s-logout"}},
			// Every other reason waits for its recovery window.
			{"just before the window closes", at.Add(keep - time.Millisecond), []string{"s-logout"}},
			{"when the window closes", at.Add(keep), all},
			{"later", at.Add(2 * keep), all},
		}
		for _, st := range steps {
			if got := sortedEndedSIDs(mustEnded(t, s, st.now, 100)); !slices.Equal(got, st.want) {
				t.Errorf("Ended %s: got %v, want %v", st.name, got, st.want)
			}
		}
		if got := mustEnded(t, s, at.Add(keep), 3); len(got) != 3 {
			t.Errorf("Ended with limit 3: got %d, want 3", len(got))
		}
	})

	t.Run("ClaimedIsReadyAtOnce", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		doc := writeState(t, s, rec.SID, now)
		other := newRecord("s-b", "ana", "analyst", now)
		mustCreate(t, s, other, now)
		at := now.Add(time.Minute)
		mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonExpired, Actor: "system", At: at})
		mustEnd(t, s, other.SID, store.Tombstone{SID: other.SID, Reason: store.ReasonExpired, Actor: "system", At: at})
		if got := mustEnded(t, s, at, 10); len(got) != 0 {
			t.Fatalf("Ended before the claim: got %v, want none", endedSIDs(got))
		}
		claimAt := at.Add(5 * time.Minute)
		mustClaim(t, s, rec.SID, "ana", claimAt)
		// The caller copies the state after claiming: it is still there.
		checkDoc(t, "GetState after ClaimRecovery", mustState(t, s, rec.SID), doc)
		ended := mustEnded(t, s, claimAt, 10)
		if got := endedSIDs(ended); !slices.Equal(got, []string{rec.SID}) {
			t.Fatalf("Ended after the claim: got %v, want [s-a] (claimed, so ready before its window closes)", got)
		}
		checkDoc(t, "Ended State of the claimed session", ended[0].State, doc)
		if got := pointSIDs(mustPoints(t, s, "ana", claimAt)); !slices.Equal(got, []string{other.SID}) {
			t.Errorf("RecoveryPoints after the claim: got %v, want [s-b] (a claimed point is used)", got)
		}
	})

	t.Run("ArchiveAndPurgeRemoveState", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		recs := map[string]store.Record{}
		docs := map[string]store.StateDoc{}
		for _, sid := range []string{"s-arch", "s-purge"} {
			rec := newRecord(sid, "ana", "analyst", now)
			recs[sid] = rec
			mustCreate(t, s, rec, now)
			docs[sid] = writeState(t, s, sid, now)
			mustCommit(t, s, sid, rec.TokenHash, []byte("final "+sid), nil, now.Add(timeout))
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: store.ReasonIdle, Actor: "system", At: now})
		}
		ready := now.Add(keep)
		ended := mustEnded(t, s, ready, 10)
		if got := sortedEndedSIDs(ended); !slices.Equal(got, []string{"s-arch", "s-purge"}) {
			t.Fatalf("Ended: got %v, want [s-arch s-purge]", got)
		}
		var e store.EndedSession
		for _, x := range ended {
			checkDoc(t, "Ended State of "+x.Record.SID, x.State, docs[x.Record.SID])
			if x.Record.SID == "s-arch" {
				e = x
			}
		}
		// What the service archives: the state without temporary_data, and the file list.
		cats := maps.Clone(e.State.Categories)
		delete(cats, store.CatTemporaryData)
		e.State = wantDoc(cats, e.State.Version, e.State.LastModified)
		e.Files = []string{"uploads/a.csv", "uploads/b.csv", "results/ñ report.json"}
		archAt := ready.Add(time.Second)
		for i := range 2 {
			if err := s.Archive(t.Context(), e, archAt, 7*24*time.Hour); err != nil {
				t.Fatalf("Archive #%d: %v", i+1, err)
			}
		}
		arch, found, err := s.Archived(t.Context(), "s-arch")
		if err != nil || !found {
			t.Fatalf("Archived(s-arch): got (found %v, %v), want found", found, err)
		}
		checkDoc(t, "Archived State", arch.State, e.State)
		if !slices.Equal(arch.Files, e.Files) {
			t.Errorf("Archived Files: got %q, want %q", arch.Files, e.Files)
		}
		checkRecord(t, "Archived Record", arch.Record, e.Record)

		if err := s.Purge(t.Context(), "s-purge"); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		if _, found, err := s.Archived(t.Context(), "s-purge"); err != nil || found {
			t.Errorf("Archived(s-purge): got (found %v, %v), want not found", found, err)
		}
		// Both are gone with their state, snapshots and recovery points.
		for _, sid := range []string{"s-arch", "s-purge"} {
			wantNoState(t, s, sid)
			for _, c := range store.Categories {
				if got := mustSnapshots(t, s, sid, c); len(got) != 0 {
					t.Errorf("Snapshots(%s, %s) after cleanup: got %d, want none", sid, c, len(got))
				}
			}
			wantNoClaim(t, s, sid, "ana", now.Add(time.Minute), "its session was cleaned up")
		}
		if got := mustPoints(t, s, "ana", now.Add(time.Minute)); len(got) != 0 {
			t.Errorf("RecoveryPoints after cleanup: got %v, want none", pointSIDs(got))
		}
		if got := mustEnded(t, s, archAt, 10); len(got) != 0 {
			t.Errorf("Ended after Archive and Purge: got %v, want none", endedSIDs(got))
		}
	})

	t.Run("RecoveryPointsOnEnd", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		finals := map[string]store.Record{}
		ends := map[string]time.Time{}
		add := func(sid, user string) store.Record {
			rec := newRecord(sid, user, "analyst", now)
			mustCreate(t, s, rec, now)
			finals[sid] = rec
			return rec
		}
		// s-1 has a history: activity on another page, a running analysis and state.
		rec := add("s-1", "ana")
		t1 := now.Add(3 * time.Minute)
		touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), IP: rec.FirstIP, UserAgent: rec.FirstUserAgent, Path: "/workspace/results/7"}
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("blob"), touch, t1.Add(timeout))
		if err := s.SetProcessing(t.Context(), rec.SID, "running", 37); err != nil {
			t.Fatalf("SetProcessing: %v", err)
		}
		doc := writeState(t, s, rec.SID, t1)
		rec.LastActivity, rec.ExpiresAt, rec.IdleAt, rec.Path = t1, t1.Add(timeout), t1.Add(idle), touch.Path
		rec.Processing, rec.Progress, rec.StateVersion = "running", 37, doc.Version
		finals[rec.SID] = rec
		add("s-2", "ana")
		add("s-3", "ana")
		add("s-4", "ana")
		add("s-5", "ana")
		add("s-b", "bob")

		// Ended out of sid order, so that no sid order can pass for end order.
		end := func(sid string, r store.Reason, at time.Time) {
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: r, Actor: "system", At: at})
			ends[sid] = at
		}
		end("s-3", store.ReasonIdle, now.Add(5*time.Minute))
		end("s-1", store.ReasonTerminated, now.Add(6*time.Minute))
		end("s-5", store.ReasonLogout, now.Add(7*time.Minute)) // no point
		end("s-b", store.ReasonEvicted, now.Add(8*time.Minute))
		n, err := s.EndMany(t.Context(), []string{"s-4"}, store.Tombstone{Reason: store.ReasonSecurity, Actor: "system", At: now.Add(9 * time.Minute)}, keep)
		if err != nil || n != 1 {
			t.Fatalf("EndMany(s-4): got (%d, %v), want (1, nil)", n, err)
		}
		ends["s-4"] = now.Add(9 * time.Minute)
		n, err = s.EndUser(t.Context(), "ana", nil, store.Tombstone{Reason: store.ReasonAccountDisabled, Actor: "root", At: now.Add(10 * time.Minute)}, keep)
		if err != nil || n != 1 {
			t.Fatalf("EndUser(ana): got (%d, %v), want (1, nil) for s-2", n, err)
		}
		ends["s-2"] = now.Add(10 * time.Minute)

		at := now.Add(10 * time.Minute)
		points := mustPoints(t, s, "ana", at)
		if got, want := pointSIDs(points), []string{"s-2", "s-4", "s-1", "s-3"}; !slices.Equal(got, want) {
			t.Fatalf("RecoveryPoints(ana): got %v, want %v (newest end first, none for the logout)", got, want)
		}
		reasons := map[string]store.Reason{"s-2": store.ReasonAccountDisabled, "s-4": store.ReasonSecurity, "s-1": store.ReasonTerminated, "s-3": store.ReasonIdle}
		for _, p := range points {
			want := store.RecoveryPoint{SID: p.SID, User: "ana", Reason: reasons[p.SID], EndedAt: ends[p.SID], ExpiresAt: ends[p.SID].Add(keep), Record: finals[p.SID]}
			checkPoint(t, "recovery point "+p.SID, p, want)
		}
		if got := pointSIDs(mustPoints(t, s, "bob", at)); !slices.Equal(got, []string{"s-b"}) {
			t.Errorf("RecoveryPoints(bob): got %v, want [s-b]", got)
		}
		for _, user := range []string{"nobody", "an", "Ana"} {
			if got := mustPoints(t, s, user, at); len(got) != 0 {
				t.Errorf("RecoveryPoints(%q): got %v, want none", user, pointSIDs(got))
			}
		}
		// The window is open until keep after the end, exclusive.
		s3closes := ends["s-3"].Add(keep)
		if got := pointSIDs(mustPoints(t, s, "ana", s3closes.Add(-time.Millisecond))); !slices.Equal(got, []string{"s-2", "s-4", "s-1", "s-3"}) {
			t.Errorf("RecoveryPoints just before s-3's window closes: got %v, want all four", got)
		}
		if got := pointSIDs(mustPoints(t, s, "ana", s3closes)); !slices.Equal(got, []string{"s-2", "s-4", "s-1"}) {
			t.Errorf("RecoveryPoints when s-3's window closes: got %v, want [s-2 s-4 s-1]", got)
		}
		if got := mustPoints(t, s, "ana", ends["s-2"].Add(keep)); len(got) != 0 {
			t.Errorf("RecoveryPoints after every window closed: got %v, want none", pointSIDs(got))
		}
	})

	t.Run("RecoveryPointsFromCreate", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const window = 45 * time.Minute // Create's keep, not the suite's
		old := newRecord("s-old", "ana", "analyst", now)
		mustCreate(t, s, old, now)
		// s-old is past its idle deadline when s-mid arrives: Create ends it.
		t1 := old.IdleAt.Add(time.Second)
		mid := newRecord("s-mid", "ana", "analyst", t1)
		if ended, err := s.Create(t.Context(), mid, 1, t1, window); err != nil || len(ended) != 1 || ended[0].Reason != store.ReasonIdle {
			t.Fatalf("Create(s-mid): got (%+v, %v), want s-old ended idle", ended, err)
		}
		// With max 1, s-new evicts s-mid.
		t2 := t1.Add(time.Minute)
		if ended, err := s.Create(t.Context(), newRecord("s-new", "ana", "analyst", t2), 1, t2, window); err != nil || len(ended) != 1 || ended[0].SID != "s-mid" {
			t.Fatalf("Create(s-new): got (%+v, %v), want s-mid evicted", ended, err)
		}
		points := mustPoints(t, s, "ana", t2)
		if got := pointSIDs(points); !slices.Equal(got, []string{"s-mid", "s-old"}) {
			t.Fatalf("RecoveryPoints after Create ended two sessions: got %v, want [s-mid s-old]", got)
		}
		checkPoint(t, "recovery point of the evicted session", points[0], store.RecoveryPoint{
			SID: "s-mid", User: "ana", Reason: store.ReasonEvicted, EndedAt: t2, ExpiresAt: t2.Add(window), Record: mid,
		})
		checkPoint(t, "recovery point of the session Create found due", points[1], store.RecoveryPoint{
			SID: "s-old", User: "ana", Reason: store.ReasonIdle, EndedAt: t1, ExpiresAt: t1.Add(window), Record: old,
		})
		// Their windows, and so their wait for cleanup, are Create's keep.
		if got := mustEnded(t, s, t2.Add(window-time.Millisecond), 10); !slices.Equal(endedSIDs(got), []string{"s-old"}) {
			t.Errorf("Ended just before s-mid's window closes: got %v, want [s-old]", endedSIDs(got))
		}
		if got := sortedEndedSIDs(mustEnded(t, s, t2.Add(window), 10)); !slices.Equal(got, []string{"s-mid", "s-old"}) {
			t.Errorf("Ended when s-mid's window closes: got %v, want [s-mid s-old]", got)
		}
	})

	t.Run("ClaimRecovery", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		for _, sid := range []string{"s-a", "s-late", "s-out", "s-live"} {
			mustCreate(t, s, newRecord(sid, "ana", "analyst", now), now)
		}
		rec := newRecord("s-a", "ana", "analyst", now)
		at := now.Add(time.Minute)
		for _, sid := range []string{"s-a", "s-late"} {
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: store.ReasonExpired, Actor: "system", At: at})
		}
		mustEnd(t, s, "s-out", store.Tombstone{SID: "s-out", Reason: store.ReasonLogout, Actor: "ana", At: at})
		closes := at.Add(keep)

		// Time only moves forward in this test: a store may forget what it saw expire.
		wantNoClaim(t, s, "s-a", "bob", at, "the point is ana's")
		wantNoClaim(t, s, "s-a", "Ana", at, "the point is ana's")
		wantNoClaim(t, s, "s-unknown", "ana", at, "no such session")
		wantNoClaim(t, s, "s-out", "ana", at, "a logout makes no recovery point")
		wantNoClaim(t, s, "s-live", "ana", at, "a live session has no recovery point")

		last := closes.Add(-time.Millisecond)
		p := mustClaim(t, s, "s-a", "ana", last)
		checkPoint(t, "claimed point", p, store.RecoveryPoint{SID: "s-a", User: "ana", Reason: store.ReasonExpired, EndedAt: at, ExpiresAt: closes, Record: rec})
		wantNoClaim(t, s, "s-a", "ana", last, "it was claimed before")
		wantNoClaim(t, s, "s-a", "bob", last, "it was claimed before, and is not bob's")
		if got := pointSIDs(mustPoints(t, s, "ana", last)); !slices.Equal(got, []string{"s-late"}) {
			t.Errorf("RecoveryPoints after the claim: got %v, want [s-late]", got)
		}
		if _, found, err := s.Get(t.Context(), "s-a", last); err != nil || found {
			t.Errorf("Get after the claim: got (found %v, %v), want not found (a claim never revives the session)", found, err)
		}

		wantNoClaim(t, s, "s-late", "ana", closes, "the window closed")
		wantNoClaim(t, s, "s-late", "ana", closes.Add(time.Hour), "the window closed")
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, newRecord("s-a", "ana", "analyst", now), now)
		mustEnd(t, s, "s-a", store.Tombstone{SID: "s-a", Reason: store.ReasonEvicted, Actor: "system", At: now})
		const n = 20
		var (
			wg   sync.WaitGroup
			won  atomic.Int32
			gate = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-gate
				_, ok, err := s.ClaimRecovery(t.Context(), "s-a", "ana", now.Add(time.Duration(i)*time.Millisecond))
				if err != nil {
					t.Errorf("ClaimRecovery: %v", err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		close(gate)
		wg.Wait()
		if got := won.Load(); got != 1 {
			t.Errorf("%d concurrent claims of one point: %d succeeded, want exactly 1", n, got)
		}
	})

	t.Run("RecoveryLinks", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		expires := now.Add(time.Hour)
		h1, h2, h3, h4 := TokenHash("link", 1), TokenHash("link", 2), TokenHash("link", 3), TokenHash("link", 4)
		for _, l := range []struct{ h, sid, user string }{{h1, "s-a", "ana"}, {h2, "s-a", "ana"}, {h3, "s-b", "bob"}, {h4, "s-b", "bob"}} {
			if err := s.SaveRecoveryLink(t.Context(), l.h, l.sid, l.user, expires); err != nil {
				t.Fatalf("SaveRecoveryLink: %v", err)
			}
		}
		look := func(what, h string, at time.Time, wantSID, wantUser string, wantOK bool) {
			t.Helper()
			sid, user, ok, err := s.RecoveryLink(t.Context(), h, at)
			if err != nil || ok != wantOK || sid != wantSID || user != wantUser {
				t.Errorf("RecoveryLink %s: got (%q, %q, %v, %v), want (%q, %q, %v, nil)", what, sid, user, ok, err, wantSID, wantUser, wantOK)
			}
		}
		use := func(what, h string, at time.Time, wantSID, wantUser string, wantOK bool) {
			t.Helper()
			sid, user, ok, err := s.UseRecoveryLink(t.Context(), h, at)
			if err != nil || ok != wantOK || (ok && (sid != wantSID || user != wantUser)) {
				t.Errorf("UseRecoveryLink %s: got (%q, %q, %v, %v), want (%q, %q, %v, nil)", what, sid, user, ok, err, wantSID, wantUser, wantOK)
			}
		}
		// Looking does not use it.
		look("first look", h1, now, "s-a", "ana", true)
		look("second look", h1, now, "s-a", "ana", true)
		look("of bob's link", h3, now, "s-b", "bob", true)
		look("unknown", TokenHash("link", 9), now, "", "", false)
		use("unknown", TokenHash("link", 9), now, "", "", false)

		use("first use", h1, now, "s-a", "ana", true)
		use("second use", h1, now, "", "", false)
		look("after use", h1, now, "", "", false)
		// Another link to the same point is its own.
		look("of a second link to the same point", h2, now, "s-a", "ana", true)

		// Expiry: open until expires, exclusive. Time only moves forward: a
		// store may forget a link once it has seen it expired.
		use("just before expiry", h4, expires.Add(-time.Millisecond), "s-b", "bob", true)
		look("just before expiry", h2, expires.Add(-time.Millisecond), "s-a", "ana", true)
		look("at expiry", h2, expires, "", "", false)
		use("at expiry", h2, expires, "", "", false)
		use("after expiry", h2, expires.Add(time.Minute), "", "", false)
	})

	t.Run("ConcurrentLinkUse", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		h := TokenHash("link", 1)
		if err := s.SaveRecoveryLink(t.Context(), h, "s-a", "ana", now.Add(time.Hour)); err != nil {
			t.Fatalf("SaveRecoveryLink: %v", err)
		}
		const n = 20
		var (
			wg   sync.WaitGroup
			won  atomic.Int32
			gate = make(chan struct{})
		)
		for range n {
			wg.Go(func() {
				<-gate
				_, _, ok, err := s.UseRecoveryLink(t.Context(), h, now)
				if err != nil {
					t.Errorf("UseRecoveryLink: %v", err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		close(gate)
		wg.Wait()
		if got := won.Load(); got != 1 {
			t.Errorf("%d concurrent uses of one link: %d succeeded, want exactly 1", n, got)
		}
	})
}
