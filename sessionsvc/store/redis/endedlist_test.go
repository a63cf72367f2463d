package redis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// endedListKeys returns the ended lists that exist.
func endedListKeys(t *testing.T, srv *redistest.Server, s *Store) []string {
	t.Helper()
	keys, err := redigo.Strings(srv.Do("KEYS", s.prefix+"x:end*"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// wantUnlisted fails the test if sid is in any ended list.
func wantUnlisted(t *testing.T, srv *redistest.Server, s *Store, sid string) {
	t.Helper()
	for _, k := range endedListKeys(t, srv, s) {
		var n int
		var err error
		if strings.HasSuffix(k, "x:end:who") {
			n, err = redigo.Int(srv.Do("HEXISTS", k, sid))
		} else {
			var sc any
			sc, err = srv.Do("ZSCORE", k, sid)
			if sc != nil {
				n = 1
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s is still in %s", sid, k)
		}
	}
}

func mustListEnded(t *testing.T, s *Store, q store.EndedQuery, now time.Time) store.EndedPage {
	t.Helper()
	p, err := s.ListEnded(t.Context(), q, now)
	if err != nil {
		t.Fatalf("ListEnded %+v: %v", q, err)
	}
	return p
}

// TestEndListsWithoutReads checks the cost that ending adds for the ended
// lists: per batch one ZADD per list and one HSET of who, per session one
// ZADD of its user's list (here every session has its own user), and no
// read at all.
func TestEndListsWithoutReads(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	const n = endChunk
	var sids []string
	for i := range n {
		rec := record(fmt.Sprintf("s%04d", i), fmt.Sprintf("u%d", i), "analyst", now)
		if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, rec.SID)
	}
	tomb := store.Tombstone{Reason: store.ReasonSecurity, Actor: "admin", At: now}
	if _, err := s.End(t.Context(), sids[0], tomb, time.Hour); err != nil { // loads the script
		t.Fatal(err)
	}
	stats := commandDelta(t, srv, func() {
		if got, err := s.EndMany(t.Context(), sids[1:], tomb, time.Hour); err != nil || got != n-1 {
			t.Fatalf("EndMany = %d, %v", got, err)
		}
	})
	// Before the lists: a ZADD of the user's recovery points per session and
	// one of the ended index; an HSET of the ended entry per session.
	// The lists add one ZADD per user and four (all, reason, recovery
	// points, their reason) and one HSET (who) for the batch.
	if want := int64(2*(n-1) + 1 + 4); stats["zadd"] != want {
		t.Errorf("zadd ran %d times, want %d", stats["zadd"], want)
	}
	if want := int64(n - 1 + 1); stats["hset"] != want {
		t.Errorf("hset ran %d times, want %d", stats["hset"], want)
	}
	for _, cmd := range []string{"zscore", "zcard", "hget", "hexists", "zrange", "zrevrange"} {
		if stats[cmd] != 0 {
			t.Errorf("EndMany ran %s %d times", cmd, stats[cmd])
		}
	}
	if p := mustListEnded(t, s, store.EndedQuery{Reason: store.ReasonSecurity, Recoverable: true}, now); p.Total != n {
		t.Errorf("ListEnded total = %d, want %d", p.Total, n)
	}
}

// TestEndedListsFollowDataLoss covers a listed session whose data a
// safety-net TTL removed before cleanup: ListEnded skips and unlists it
// (from every list, also the user's and the reason's), and so does
// cleanup's Ended for an ended entry.
func TestEndedListsFollowDataLoss(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	for _, sid := range []string{"s1", "s2", "s3"} {
		if _, err := s.Create(t.Context(), record(sid, "ana", "analyst", now), 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.End(t.Context(), sid, store.Tombstone{Reason: store.ReasonTerminated, Actor: "root", At: now}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	del := func(key string) {
		t.Helper()
		if _, err := srv.Do("DEL", s.prefix+key); err != nil {
			t.Fatal(err)
		}
	}

	// The walk meets s1's gone entry: it is skipped, unlisted and not counted.
	del("e:s1")
	p := mustListEnded(t, s, store.EndedQuery{}, now)
	if len(p.Entries) != 2 || p.Total != 2 {
		t.Errorf("ListEnded after s1's entry expired: %d rows, total %d; want 2, 2", len(p.Entries), p.Total)
	}
	wantUnlisted(t, srv, s, "s1")

	// Cleanup meets s2's gone entry first.
	del("e:s2")
	if ended, err := s.Ended(t.Context(), now.Add(time.Hour), 10); err != nil || len(ended) != 1 {
		t.Fatalf("Ended = %d, %v; want s3", len(ended), err)
	}
	wantUnlisted(t, srv, s, "s2")
	if p := mustListEnded(t, s, store.EndedQuery{User: "ana", Limit: 1}, now); p.Total != 1 || p.Next != "" {
		t.Errorf("ListEnded(ana) = total %d, Next %q; want 1, none", p.Total, p.Next)
	}

	// s3's archive expires (real time) before its retention by the passed now.
	ended, err := s.Ended(t.Context(), now.Add(time.Hour), 10)
	if err != nil || len(ended) != 1 {
		t.Fatalf("Ended = %d, %v", len(ended), err)
	}
	if err := s.Archive(t.Context(), ended[0], now.Add(time.Hour), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	del("a:s3")
	if p := mustListEnded(t, s, store.EndedQuery{Reason: store.ReasonTerminated}, now.Add(time.Hour)); len(p.Entries) != 0 || p.Total != 0 {
		t.Errorf("ListEnded after s3's archive expired: %d rows, total %d; want none", len(p.Entries), p.Total)
	}
	if keys := endedListKeys(t, srv, s); len(keys) != 0 {
		t.Errorf("ended lists left: %v", keys)
	}
}

// TestListEndedPrunesExpiredArchivesInBatches: more archives than one
// script call unlists expire at once; ListEnded calls again until none is
// left, so its Total is exact, and no list is left behind.
func TestListEndedPrunesExpiredArchivesInBatches(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	const n = 2*pruneBatch + 100
	var sids []string
	for i := range n {
		rec := record(fmt.Sprintf("s%05d", i), fmt.Sprintf("u%d", i%7), "analyst", now)
		if _, err := s.Create(t.Context(), rec, 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, rec.SID)
	}
	if _, err := s.EndMany(t.Context(), sids, store.Tombstone{Reason: store.ReasonLogout, Actor: "u", At: now}, time.Hour); err != nil {
		t.Fatal(err)
	}
	ended, err := s.Ended(t.Context(), now, 2*n)
	if err != nil || len(ended) != n {
		t.Fatalf("Ended = %d, %v; want %d", len(ended), err, n)
	}
	archAt := now.Add(time.Minute)
	for _, e := range ended {
		if err := s.Archive(t.Context(), e, archAt, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if p := mustListEnded(t, s, store.EndedQuery{User: "u3"}, archAt.Add(time.Hour-time.Millisecond)); p.Total != (n+3)/7 {
		t.Errorf("ListEnded(u3) before retention ends: total %d, want %d", p.Total, (n+3)/7)
	}
	stats := commandDelta(t, srv, func() {
		p := mustListEnded(t, s, store.EndedQuery{User: "u3"}, archAt.Add(time.Hour))
		if len(p.Entries) != 0 || p.Total != 0 {
			t.Errorf("ListEnded when every retention ended: %d rows, total %d; want none", len(p.Entries), p.Total)
		}
	})
	if stats["evalsha"] != 3 {
		t.Errorf("ListEnded ran %d scripts, want 3 (two full prune batches, then the list)", stats["evalsha"])
	}
	if keys := endedListKeys(t, srv, s); len(keys) != 0 {
		t.Errorf("ended lists left: %v", keys)
	}
}

// TestArchiveListsSessionsEndedBeforeTheLists: a session ended by a version
// without the ended lists is listed once cleanup archives it, with its
// recovery window read from the recovery-point index.
func TestArchiveListsSessionsEndedBeforeTheLists(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	ctx := context.Background()
	for _, e := range []struct {
		sid    string
		reason store.Reason
	}{{"s1", store.ReasonIdle}, {"s2", store.ReasonLogout}} {
		if _, err := s.Create(ctx, record(e.sid, "ana", "analyst", now), 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.End(ctx, e.sid, store.Tombstone{Reason: e.reason, Actor: "system", At: now}, time.Hour); err != nil {
			t.Fatal(err)
		}
		// What the older version wrote: no lists, no window in the entry.
		for _, k := range endedListKeys(t, srv, s) {
			if _, err := srv.Do("DEL", k); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := srv.Do("HDEL", s.prefix+"e:"+e.sid, fieldRecoverUntil); err != nil {
			t.Fatal(err)
		}
	}
	if p := mustListEnded(t, s, store.EndedQuery{}, now); p.Total != 0 {
		t.Fatalf("ListEnded of unlisted sessions: total %d, want 0", p.Total)
	}
	ended, err := s.Ended(ctx, now.Add(time.Hour), 10)
	if err != nil || len(ended) != 2 {
		t.Fatalf("Ended = %d, %v", len(ended), err)
	}
	for _, e := range ended {
		if err := s.Archive(ctx, e, now.Add(time.Hour), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	p := mustListEnded(t, s, store.EndedQuery{User: "ana"}, now.Add(time.Hour))
	if len(p.Entries) != 2 || p.Total != 2 {
		t.Fatalf("ListEnded after Archive: %d rows, total %d; want 2", len(p.Entries), p.Total)
	}
	for _, e := range p.Entries {
		want := time.Time{}
		if e.Record.SID == "s1" {
			want = now.Add(time.Hour)
		}
		if !e.Archived || !e.RecoverUntil.Equal(want) {
			t.Errorf("%s: Archived %v, RecoverUntil %v; want true, %v", e.Record.SID, e.Archived, e.RecoverUntil, want)
		}
	}
	if p := mustListEnded(t, s, store.EndedQuery{Recoverable: true, Reason: store.ReasonIdle}, now.Add(time.Hour)); p.Total != 1 {
		t.Errorf("ListEnded of recovery points: total %d, want 1", p.Total)
	}
}
