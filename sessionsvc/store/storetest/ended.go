package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// listEndedAll pages through q at now and returns every entry in order and
// the Total. Like listAll it checks that Total is the same on every page,
// that every page but the last is full, and that the cursor does not loop.
func listEndedAll(t *testing.T, s store.Store, q store.EndedQuery, now time.Time) (entries []store.EndedEntry, total int) {
	t.Helper()
	total = -1
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("ListEnded %+v: more than 1000 pages, cursor loops", q)
		}
		page, err := s.ListEnded(t.Context(), q, now)
		if err != nil {
			t.Fatalf("ListEnded %+v (page %d): %v", q, pages+1, err)
		}
		if total >= 0 && page.Total != total {
			t.Errorf("ListEnded %+v page %d: Total = %d, page 1 said %d", q, pages+1, page.Total, total)
		}
		total = page.Total
		entries = append(entries, page.Entries...)
		if page.Next == "" {
			return entries, total
		}
		if len(page.Entries) == 0 {
			t.Fatalf("ListEnded %+v page %d: no entries but Next = %q", q, pages+1, page.Next)
		}
		if nq, err := store.NormalizeEndedQuery(q); err == nil && len(page.Entries) != nq.Limit {
			t.Errorf("ListEnded %+v page %d: %d rows and a Next cursor, want a full page of %d", q, pages+1, len(page.Entries), nq.Limit)
		}
		q.Cursor = page.Next
	}
}

func entrySIDs(entries []store.EndedEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Record.SID
	}
	return out
}

// wantEnded fails the test unless listing q at now (all pages) yields want,
// in order, with Total == len(want).
func wantEnded(t *testing.T, s store.Store, q store.EndedQuery, now time.Time, want []string) []store.EndedEntry {
	t.Helper()
	entries, total := listEndedAll(t, s, q, now)
	if got := entrySIDs(entries); !slices.Equal(got, want) {
		t.Errorf("ListEnded %+v at %s:\n got  %v\n want %v", q, fmtTime(now), got, want)
	}
	if total != len(want) {
		t.Errorf("ListEnded %+v at %s: Total = %d, want %d", q, fmtTime(now), total, len(want))
	}
	return entries
}

// checkEntry fails the test if got differs from want in any field.
func checkEntry(t *testing.T, what string, got, want store.EndedEntry) {
	t.Helper()
	var d []string
	for _, r := range diffRecord(got.Record, want.Record) {
		d = append(d, "Record."+r)
	}
	for _, r := range diffTombstone(got.Tombstone, want.Tombstone) {
		d = append(d, "Tombstone."+r)
	}
	if got.Archived != want.Archived || got.Claimed != want.Claimed {
		d = append(d, fmt.Sprintf("(Archived, Claimed): got (%v, %v), want (%v, %v)", got.Archived, got.Claimed, want.Archived, want.Claimed))
	}
	if !got.ArchivedAt.Equal(want.ArchivedAt) {
		d = append(d, fmt.Sprintf("ArchivedAt: got %s, want %s", fmtTime(got.ArchivedAt), fmtTime(want.ArchivedAt)))
	}
	if !got.RecoverUntil.Equal(want.RecoverUntil) {
		d = append(d, fmt.Sprintf("RecoverUntil: got %s, want %s", fmtTime(got.RecoverUntil), fmtTime(want.RecoverUntil)))
	}
	if len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// archiveReady archives the sessions named in sids, taking them from Ended
// at ready as cleanup does, at archAt for retention.
func archiveReady(t *testing.T, s store.Store, ready, archAt time.Time, retention time.Duration, sids ...string) {
	t.Helper()
	ended := mustEnded(t, s, ready, 1000)
	for _, sid := range sids {
		i := slices.IndexFunc(ended, func(e store.EndedSession) bool { return e.Record.SID == sid })
		if i < 0 {
			t.Fatalf("archive %s: not ready for cleanup at %s (ready: %v)", sid, fmtTime(ready), endedSIDs(ended))
		}
		if err := s.Archive(t.Context(), ended[i], archAt, retention); err != nil {
			t.Fatalf("Archive(%s): %v", sid, err)
		}
	}
}

// endedEntries records what the suite expects ListEnded to say of each
// session it ends, and the order it expects.
type endedEntries map[string]store.EndedEntry

// end ends rec with tomb and keep, as End, and records the entry.
func (x endedEntries) end(t *testing.T, s store.Store, rec store.Record, tomb store.Tombstone, k time.Duration) {
	t.Helper()
	ok, err := s.End(t.Context(), rec.SID, tomb, k)
	if err != nil || !ok {
		t.Fatalf("End(%s): got (%v, %v), want (true, nil)", rec.SID, ok, err)
	}
	x.ended(rec, tomb, k)
}

// ended records that rec was ended with tomb and keep.
func (x endedEntries) ended(rec store.Record, tomb store.Tombstone, k time.Duration) {
	tomb.SID, tomb.TokenHash, tomb.User = rec.SID, rec.TokenHash, rec.User
	e := store.EndedEntry{Record: rec, Tombstone: tomb}
	if tomb.Reason != store.ReasonLogout && k > 0 {
		e.RecoverUntil = tomb.At.Add(k)
	}
	x[rec.SID] = e
}

// archived records that sid was archived at archAt.
func (x endedEntries) archived(sid string, archAt time.Time) {
	e := x[sid]
	e.Archived, e.ArchivedAt = true, archAt
	x[sid] = e
}

// order returns the sids of the entries that match q, in ListEnded's order.
func (x endedEntries) order(q store.EndedQuery) []string {
	var es []store.EndedEntry
	for _, e := range x {
		if (q.User != "" && e.Tombstone.User != q.User) || (q.Reason != "" && e.Tombstone.Reason != q.Reason) ||
			(q.Recoverable && e.RecoverUntil.IsZero()) {
			continue
		}
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b store.EndedEntry) int {
		return cmp.Or(b.Tombstone.At.Compare(a.Tombstone.At), strings.Compare(b.Record.SID, a.Record.SID))
	})
	return entrySIDs(es)
}

// check lists every entry and compares each with what was recorded.
func (x endedEntries) check(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	for _, e := range wantEnded(t, s, store.EndedQuery{}, now, x.order(store.EndedQuery{})) {
		checkEntry(t, "ListEnded entry "+e.Record.SID, e, x[e.Record.SID])
	}
}

// testListEnded covers the console's list of ended sessions: held and
// archived together, newest end first, paged, filtered by user, reason and
// recoverability, and forgotten after Purge or the archive's retention.
func testListEnded(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, newRecord("s-live", "ana", "analyst", now), now)
		for _, q := range []store.EndedQuery{{}, {User: "ana"}, {Reason: store.ReasonLogout}, {Recoverable: true}} {
			wantEnded(t, s, q, now, nil)
		}
	})

	t.Run("OrderAndPagingAcrossHeldAndArchived", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		x := endedEntries{}
		recs := map[string]store.Record{}
		const n = 17
		for i := range n {
			// Names out of end order, and few distinct end times, so that
			// many rows tie and the cursor must use the sid.
			sid := fmt.Sprintf("s-%02d", (i*7)%n)
			rec := newRecord(sid, fmt.Sprintf("user-%d", i%3), "analyst", now)
			mustCreate(t, s, rec, now)
			recs[sid] = rec
		}
		// One session has a history, so its final record is not the created one.
		t1 := now.Add(time.Minute)
		r := recs["s-07"]
		touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), IP: "198.51.100.7", UserAgent: "ua/7", Path: "/last"}
		mustCommit(t, s, r.SID, r.TokenHash, []byte("final"), touch, t1.Add(timeout))
		if err := s.SetProcessing(t.Context(), r.SID, "running", 64); err != nil {
			t.Fatalf("SetProcessing: %v", err)
		}
		r.LastActivity, r.ExpiresAt, r.IdleAt, r.Path = t1, t1.Add(timeout), t1.Add(idle), "/last"
		r.LastIP, r.LastUserAgent, r.IPChanged, r.UAChanged = "198.51.100.7", "ua/7", true, true
		r.Processing, r.Progress = "running", 64
		recs[r.SID] = r

		i := 0
		for sid, rec := range recs {
			reason := store.ReasonTerminated
			if i%4 == 0 {
				reason = store.ReasonLogout
			}
			at := t1.Add(time.Duration(1+i%4) * time.Second)
			x.end(t, s, rec, store.Tombstone{Reason: reason, Actor: "actor-" + sid, Note: "note " + sid, At: at}, keep)
			i++
		}
		// Cleanup archives some once every window has closed; the rest stay held.
		ready := t1.Add(5*time.Second + keep)
		archAt := ready.Add(time.Second)
		var arch []string
		for sid := range x {
			if sid < "s-09" {
				arch = append(arch, sid)
				x.archived(sid, archAt)
			}
		}
		archiveReady(t, s, ready, archAt, 30*24*time.Hour, arch...)

		want := x.order(store.EndedQuery{})
		for _, limit := range []int{0, 1, 2, 3, 5, n - 1, n, 500} {
			t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
				wantEnded(t, s, store.EndedQuery{Limit: limit}, archAt, want)
			})
		}
		x.check(t, s, archAt)
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 53
		var sids []string
		for i := range n {
			sid := fmt.Sprintf("s-%02d", i)
			mustCreate(t, s, newRecord(sid, "ana", "analyst", now), now)
			sids = append(sids, sid)
		}
		if _, err := s.EndMany(t.Context(), sids, store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", At: now}, keep); err != nil {
			t.Fatalf("EndMany: %v", err)
		}
		for _, limit := range []int{0, -1} {
			p, err := s.ListEnded(t.Context(), store.EndedQuery{Limit: limit}, now)
			if err != nil {
				t.Fatalf("ListEnded: %v", err)
			}
			if len(p.Entries) != 50 || p.Next == "" || p.Total != n {
				t.Errorf("ListEnded with Limit %d: %d rows, Next %q, Total %d; want 50 rows (the default), a cursor, %d", limit, len(p.Entries), p.Next, p.Total, n)
			}
		}
		p, err := s.ListEnded(t.Context(), store.EndedQuery{Limit: 1000}, now)
		if err != nil {
			t.Fatalf("ListEnded: %v", err)
		}
		if len(p.Entries) != n || p.Next != "" {
			t.Errorf("ListEnded with Limit 1000: %d rows, Next %q; want all %d and no cursor", len(p.Entries), p.Next, n)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		x := endedEntries{}
		type end struct {
			sid, user string
			reason    store.Reason
			keep      time.Duration
		}
		ends := []end{
			{"s-a1", "ana", store.ReasonLogout, keep},
			{"s-a2", "ana", store.ReasonTerminated, keep},
			{"s-a3", "ana", store.ReasonIdle, keep},
			{"s-a4", "ana", store.ReasonTerminated, 0},   // no recovery window: no recovery point
			{"s-n1", "an", store.ReasonTerminated, keep}, // a user whose name is a prefix of another
			{"s-b1", "bob", store.ReasonLogout, keep},
			{"s-b2", "bob", store.ReasonSecurity, keep},
			{"s-b3", "bob", store.ReasonTerminated, keep},
			{"s-c1", "cy", store.ReasonAccountDisabled, 2 * keep},
		}
		for i, e := range ends {
			rec := newRecord(e.sid, e.user, "analyst", now)
			mustCreate(t, s, rec, now)
			x.end(t, s, rec, store.Tombstone{Reason: e.reason, Actor: "system", At: now.Add(time.Duration(i+1) * time.Second)}, e.keep)
		}
		// Half are archived, among them a logout, a recovery point and the
		// one without a window.
		ready := now.Add(10*time.Second + keep)
		for _, sid := range []string{"s-a1", "s-a4", "s-b3", "s-n1"} {
			x.archived(sid, ready)
		}
		archiveReady(t, s, ready, ready, 24*time.Hour, "s-a1", "s-a4", "s-b3", "s-n1")

		queries := []store.EndedQuery{
			{},
			{User: "ana"},
			{User: "an"},
			{User: "bob"},
			{User: "nobody"},
			{Reason: store.ReasonTerminated},
			{Reason: store.ReasonLogout},
			{Reason: store.ReasonEvicted},
			{Recoverable: true},
			{User: "ana", Recoverable: true},
			{User: "ana", Reason: store.ReasonTerminated},
			{User: "ana", Reason: store.ReasonTerminated, Recoverable: true},
			{User: "bob", Reason: store.ReasonLogout},
			{User: "bob", Reason: store.ReasonLogout, Recoverable: true},
			{Reason: store.ReasonTerminated, Recoverable: true},
			{Reason: store.ReasonLogout, Recoverable: true},
			{User: "cy", Reason: store.ReasonAccountDisabled, Recoverable: true},
		}
		for _, q := range queries {
			t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
				for _, limit := range []int{1, 2, 50} {
					q.Limit = limit
					wantEnded(t, s, q, ready, x.order(q))
				}
			})
		}
		// The filters' expectations spelled out, lest order() share a
		// mistake with a store.
		wantEnded(t, s, store.EndedQuery{Recoverable: true}, ready, []string{"s-c1", "s-b3", "s-b2", "s-n1", "s-a3", "s-a2"})
		wantEnded(t, s, store.EndedQuery{User: "ana", Reason: store.ReasonTerminated}, ready, []string{"s-a4", "s-a2"})
		wantEnded(t, s, store.EndedQuery{Reason: store.ReasonTerminated, Recoverable: true}, ready, []string{"s-b3", "s-n1", "s-a2"})
		x.check(t, s, ready)
	})

	t.Run("UnknownReasonAndBadCursor", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, newRecord("s-a", "ana", "analyst", now), now)
		mustEnd(t, s, "s-a", store.Tombstone{SID: "s-a", Reason: store.ReasonLogout, Actor: "ana", At: now})
		for _, c := range []string{"!!not base64!!", "AA", "gA", "%%"} {
			_, err := s.ListEnded(t.Context(), store.EndedQuery{Cursor: c}, now)
			if !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("ListEnded with cursor %q: got %v, want an error wrapping ErrBadCursor", c, err)
			}
		}
		if _, err := s.ListEnded(t.Context(), store.EndedQuery{Reason: "bored"}, now); err == nil {
			t.Errorf("ListEnded with an unknown reason: err = nil, want an error")
		}
	})

	t.Run("RecoveryWindowAndClaim", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		x := endedEntries{}
		recs := map[string]store.Record{}
		for _, sid := range []string{"s-claimed", "s-open", "s-out", "s-closed"} {
			recs[sid] = newRecord(sid, "ana", "analyst", now)
			mustCreate(t, s, recs[sid], now)
		}
		at := now.Add(time.Minute)
		x.end(t, s, recs["s-closed"], store.Tombstone{Reason: store.ReasonIdle, Actor: "system", At: at}, keep)
		x.end(t, s, recs["s-claimed"], store.Tombstone{Reason: store.ReasonExpired, Actor: "system", At: at.Add(time.Second)}, keep)
		x.end(t, s, recs["s-open"], store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", Note: "why", At: at.Add(2 * time.Second)}, 3*keep)
		x.end(t, s, recs["s-out"], store.Tombstone{Reason: store.ReasonLogout, Actor: "ana", At: at.Add(3 * time.Second)}, keep)
		x.check(t, s, at)
		if e := x["s-out"]; !e.RecoverUntil.IsZero() {
			t.Fatalf("suite: a logout has a recovery window")
		}

		// The user resumes one: it is listed as claimed, before and after
		// cleanup archives it.
		claimAt := at.Add(10 * time.Minute)
		mustClaim(t, s, "s-claimed", "ana", claimAt)
		e := x["s-claimed"]
		e.Claimed = true
		x["s-claimed"] = e
		x.check(t, s, claimAt)
		archiveReady(t, s, claimAt, claimAt, 24*time.Hour, "s-claimed", "s-out")
		x.archived("s-claimed", claimAt)
		x.archived("s-out", claimAt)
		x.check(t, s, claimAt)

		// A closed window stays listed, with its end, until cleanup; an
		// archived one keeps it too.
		closed := at.Add(keep + time.Minute)
		x.check(t, s, closed)
		archiveReady(t, s, closed, closed, 24*time.Hour, "s-closed")
		x.archived("s-closed", closed)
		x.check(t, s, closed)
		wantEnded(t, s, store.EndedQuery{User: "ana", Recoverable: true}, closed, []string{"s-open", "s-claimed", "s-closed"})
	})

	t.Run("PurgeAndRetention", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		x := endedEntries{}
		for i, sid := range []string{"s-1", "s-2", "s-3", "s-4", "s-5", "s-6"} {
			rec := newRecord(sid, "ana", "analyst", now)
			mustCreate(t, s, rec, now)
			reason := store.ReasonLogout
			if sid == "s-6" {
				reason = store.ReasonSecurity
			}
			x.end(t, s, rec, store.Tombstone{Reason: reason, Actor: "ana", At: now.Add(time.Duration(i) * time.Second)}, keep)
		}
		archAt := now.Add(time.Minute)
		archiveReady(t, s, archAt, archAt, time.Hour, "s-1")
		archiveReady(t, s, archAt, archAt, 2*time.Hour, "s-2")
		x.archived("s-1", archAt)
		x.archived("s-2", archAt)
		x.check(t, s, archAt)

		// Purge forgets a held session at once, also when it was a recovery
		// point: the first page's Total already counts without s-3, which
		// lies beyond that page.
		for _, sid := range []string{"s-3", "s-6"} {
			if err := s.Purge(t.Context(), sid); err != nil {
				t.Fatalf("Purge(%s): %v", sid, err)
			}
			delete(x, sid)
		}
		wantEnded(t, s, store.EndedQuery{Limit: 1}, archAt, []string{"s-5", "s-4", "s-2", "s-1"})
		x.check(t, s, archAt)
		wantEnded(t, s, store.EndedQuery{User: "ana"}, archAt, []string{"s-5", "s-4", "s-2", "s-1"})
		wantEnded(t, s, store.EndedQuery{Recoverable: true}, archAt, nil)
		wantEnded(t, s, store.EndedQuery{Reason: store.ReasonSecurity}, archAt, nil)

		// An archive is listed until its retention passes, measured from
		// its archiving; time only moves forward.
		for _, st := range []struct {
			name string
			at   time.Time
			want []string
		}{
			{"just before s-1's retention ends", archAt.Add(time.Hour - time.Millisecond), []string{"s-5", "s-4", "s-2", "s-1"}},
			{"when s-1's retention ends", archAt.Add(time.Hour), []string{"s-5", "s-4", "s-2"}},
			{"when s-2's retention ends", archAt.Add(2 * time.Hour), []string{"s-5", "s-4"}},
		} {
			t.Run(st.name, func(t *testing.T) {
				for _, q := range []store.EndedQuery{{Limit: 1}, {}, {User: "ana"}, {Reason: store.ReasonLogout}} {
					wantEnded(t, s, q, st.at, st.want)
				}
			})
		}
		// The last ones go with cleanup too.
		for _, sid := range []string{"s-4", "s-5"} {
			if err := s.Purge(t.Context(), sid); err != nil {
				t.Fatalf("Purge(%s): %v", sid, err)
			}
		}
		wantEnded(t, s, store.EndedQuery{}, archAt.Add(2*time.Hour), nil)
		wantEnded(t, s, store.EndedQuery{User: "ana"}, archAt.Add(2*time.Hour), nil)
	})

	t.Run("EveryWayToEnd", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		x := endedEntries{}
		const window = 45 * time.Minute // Create's keep, not the suite's

		// Create ends a session found past its deadline, and evicts beyond max.
		old := newRecord("s-old", "ana", "analyst", now)
		mustCreate(t, s, old, now)
		t1 := old.IdleAt.Add(time.Second)
		mid := newRecord("s-mid", "ana", "analyst", t1)
		if ended, err := s.Create(t.Context(), mid, 1, t1, window); err != nil || len(ended) != 1 {
			t.Fatalf("Create(s-mid): got (%+v, %v), want s-old ended", ended, err)
		}
		x.ended(old, store.Tombstone{Reason: store.ReasonIdle, Actor: "system", At: t1}, window)
		t2 := t1.Add(time.Minute)
		if ended, err := s.Create(t.Context(), newRecord("s-new", "ana", "analyst", t2), 1, t2, window); err != nil || len(ended) != 1 {
			t.Fatalf("Create(s-new): got (%+v, %v), want s-mid evicted", ended, err)
		}
		x.ended(mid, store.Tombstone{Reason: store.ReasonEvicted, Actor: "system", At: t2}, window)

		// EndMany and EndUser.
		recs := map[string]store.Record{}
		for _, sid := range []string{"s-b1", "s-b2", "s-c1", "s-c2"} {
			user := "bob"
			if strings.HasPrefix(sid, "s-c") {
				user = "cy"
			}
			recs[sid] = newRecord(sid, user, "analyst", t2)
			mustCreate(t, s, recs[sid], t2)
		}
		t3 := t2.Add(time.Minute)
		tomb := store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", Note: "bulk", At: t3}
		if n, err := s.EndMany(t.Context(), []string{"s-b1", "s-c1", "s-unknown"}, tomb, keep); err != nil || n != 2 {
			t.Fatalf("EndMany: got (%d, %v), want (2, nil)", n, err)
		}
		x.ended(recs["s-b1"], tomb, keep)
		x.ended(recs["s-c1"], tomb, keep)
		tomb = store.Tombstone{Reason: store.ReasonAccountDisabled, Actor: "root", Note: "left", At: t3.Add(time.Second)}
		if n, err := s.EndUser(t.Context(), "bob", nil, tomb, keep); err != nil || n != 1 {
			t.Fatalf("EndUser(bob): got (%d, %v), want (1, nil)", n, err)
		}
		x.ended(recs["s-b2"], tomb, keep)

		x.check(t, s, t3.Add(time.Second))
		wantEnded(t, s, store.EndedQuery{Reason: store.ReasonEvicted}, t3, []string{"s-mid"})
		wantEnded(t, s, store.EndedQuery{User: "ana", Recoverable: true}, t3, []string{"s-mid", "s-old"})
		wantEnded(t, s, store.EndedQuery{User: "bob"}, t3, []string{"s-b2", "s-b1"})
	})

	t.Run("CursorIsStable", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		for i := range 6 {
			sid := fmt.Sprintf("s-%d", i)
			mustCreate(t, s, newRecord(sid, "ana", "analyst", now), now)
		}
		mustCreate(t, s, newRecord("s-late", "ana", "analyst", now), now)
		for i := range 6 {
			sid := fmt.Sprintf("s-%d", i)
			mustEnd(t, s, sid, store.Tombstone{SID: sid, Reason: store.ReasonLogout, Actor: "ana", At: now.Add(time.Duration(i) * time.Second)})
		}
		at := now.Add(time.Minute)
		p1, err := s.ListEnded(t.Context(), store.EndedQuery{Limit: 3}, at)
		if err != nil {
			t.Fatalf("ListEnded: %v", err)
		}
		if got := entrySIDs(p1.Entries); !slices.Equal(got, []string{"s-5", "s-4", "s-3"}) || p1.Next == "" || p1.Total != 6 {
			t.Fatalf("page 1: got %v Next %q Total %d, want [s-5 s-4 s-3], a cursor, 6", got, p1.Next, p1.Total)
		}
		// Before the next page: the cursor's row is archived, a row of the
		// next page is purged, and another session ends (newest of all).
		archiveReady(t, s, at, at, 24*time.Hour, "s-3")
		if err := s.Purge(t.Context(), "s-1"); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		mustEnd(t, s, "s-late", store.Tombstone{SID: "s-late", Reason: store.ReasonTerminated, Actor: "root", At: at})
		p2, err := s.ListEnded(t.Context(), store.EndedQuery{Limit: 3, Cursor: p1.Next}, at)
		if err != nil {
			t.Fatalf("ListEnded page 2: %v", err)
		}
		if got := entrySIDs(p2.Entries); !slices.Equal(got, []string{"s-2", "s-0"}) || p2.Next != "" || p2.Total != 6 {
			t.Errorf("page 2: got %v Next %q Total %d, want [s-2 s-0], \"\", 6", got, p2.Next, p2.Total)
		}
	})
}
