package redis

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// TestListMergesRoleIndexes checks the lists without a role filter, which
// merge the per-role indexes: sessions of three roles (and a role whose
// index emptied) with few distinct scores, so that ties cross roles, some
// past their deadline, paged with several limits, in each sort order and
// with an IP filter, against the order the contract defines (score, then
// sid by bytes, descending but for the deadline). Then a cursor whose row
// ended in the meantime.
func TestListMergesRoleIndexes(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	roles := []string{"analyst", "operator", "admin"}
	var recs []store.Record
	for i := range 60 {
		rec := record(fmt.Sprintf("s-%02d", (i*7)%60), fmt.Sprintf("u%d", i), roles[i%3], now)
		sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
		rec.LastActivity = now.Add(sec(i % 4))
		rec.CreatedAt = now.Add(-sec(i % 5))
		rec.ExpiresAt = now.Add(sec(1 + i%6)) // live at now+3s: 4, 5 and 6
		rec.IdleAt = now.Add(time.Hour)
		rec.LastIP = []string{"192.0.2.1", "192.0.2.2"}[i/2%2]
		if _, err := s.Create(ctx, rec, 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	// A role that was indexed once and has no session now.
	ghost := record("s-ghost", "g", "auditor", now)
	if _, err := s.Create(ctx, ghost, 0, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Rekey(ctx, ghost.SID, ghost.TokenHash, ghost.TokenHash, "admin", now); err != nil {
		t.Fatal(err)
	}
	ghost.Role = "admin"
	recs = append(recs, ghost)

	at := now.Add(3 * time.Second)
	expect := func(sort store.Sort, ip string) []string {
		var want []store.Record
		for _, r := range recs {
			if r.Deadline().After(at) && (ip == "" || r.LastIP == ip || r.FirstIP == ip) {
				want = append(want, r)
			}
		}
		slices.SortFunc(want, func(a, b store.Record) int {
			c := cmp.Or(cmp.Compare(store.Score(a, sort), store.Score(b, sort)), cmp.Compare(a.SID, b.SID))
			if sort != store.SortDeadline {
				c = -c
			}
			return c
		})
		out := make([]string, len(want))
		for i, r := range want {
			out[i] = r.SID
		}
		return out
	}
	listAll := func(q store.Query) (got []string, total int) {
		t.Helper()
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("List %+v: the cursor loops", q)
			}
			p, err := s.List(ctx, q, at)
			if err != nil {
				t.Fatal(err)
			}
			total = p.Total
			for _, r := range p.Records {
				got = append(got, r.SID)
			}
			if p.Next == "" {
				return got, total
			}
			if len(p.Records) != q.Limit {
				t.Fatalf("List %+v: %d rows and a cursor", q, len(p.Records))
			}
			q.Cursor = p.Next
		}
	}
	for _, sort := range []store.Sort{store.SortActivity, store.SortCreated, store.SortDeadline} {
		for _, ip := range []string{"", "192.0.2.2"} {
			want := expect(sort, ip)
			if len(want) < 10 {
				t.Fatalf("only %d rows to list", len(want))
			}
			for _, limit := range []int{1, 4, 7, 50} {
				got, total := listAll(store.Query{Sort: sort, Limit: limit, Filter: store.Filter{IP: ip}})
				if !slices.Equal(got, want) || total != len(want) {
					t.Errorf("sort %s, ip %q, limit %d:\n got  %v (total %d)\n want %v", sort, ip, limit, got, total, want)
				}
			}
		}
	}

	// The row a cursor names ends: the next page starts after where it was.
	want := expect(store.SortActivity, "")
	p1, err := s.List(ctx, store.Query{Limit: 5}, at)
	if err != nil || len(p1.Records) != 5 {
		t.Fatalf("page 1: %d rows, %v", len(p1.Records), err)
	}
	if ok, err := s.End(ctx, want[4], store.Tombstone{Reason: store.ReasonLogout, At: at}, time.Hour); !ok || err != nil {
		t.Fatalf("End = %v, %v", ok, err)
	}
	p2, err := s.List(ctx, store.Query{Limit: 5, Cursor: p1.Next}, at)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p2.Records {
		got = append(got, r.SID)
	}
	if !slices.Equal(got, want[5:10]) || p2.Total != len(want)-1 {
		t.Errorf("page after an ended cursor row: %v (total %d), want %v (total %d)", got, p2.Total, want[5:10], len(want)-1)
	}
}

// TestDueMergesRoleIndexes checks that Due returns the due sessions of
// every role earliest first (ties by sid), skipping and unindexing those
// whose record a safety-net TTL removed.
func TestDueMergesRoleIndexes(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	now := baseTime()
	roles := []string{"analyst", "operator", "admin"}
	type due struct {
		sid string
		dl  time.Time
	}
	var all []due
	indexed := map[string]int{} // per role, the entries left after Due
	for i := range 40 {
		rec := record(fmt.Sprintf("s-%02d", (i*11)%40), fmt.Sprintf("u%d", i), roles[i%3], now)
		rec.ExpiresAt = now.Add(time.Duration(1+i%4) * time.Second)
		if _, err := s.Create(ctx, rec, 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if i%5 == 2 {
			// Its record's TTL fired: once due, Due drops it from the indexes.
			if _, err := srv.Do("DEL", s.prefix+"s:"+rec.SID); err != nil {
				t.Fatal(err)
			}
			if rec.Deadline().After(now.Add(3 * time.Second)) {
				indexed[rec.Role]++
			}
			continue
		}
		indexed[rec.Role]++
		all = append(all, due{rec.SID, rec.Deadline()})
	}
	at := now.Add(3 * time.Second)
	var want []string
	slices.SortFunc(all, func(a, b due) int { return cmp.Or(a.dl.Compare(b.dl), cmp.Compare(a.sid, b.sid)) })
	for _, d := range all {
		if !d.dl.After(at) {
			want = append(want, d.sid)
		}
	}
	for _, limit := range []int{1, 5, 1000} {
		recs, err := s.Due(ctx, at, limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.SID)
		}
		if w := want[:min(limit, len(want))]; !slices.Equal(got, w) {
			t.Errorf("Due limit %d:\n got  %v\n want %v", limit, got, w)
		}
	}
	for _, role := range roles {
		n, err := redigo.Int(srv.Do("ZCARD", s.prefix+"ix:dl:r:"+role))
		if err != nil || n != indexed[role] {
			t.Errorf("deadline index of %s has %d entries (%v), want %d", role, n, err, indexed[role])
		}
	}
}

// TestLegacyGlobalIndexesDeleted checks that the global indexes of older
// versions do not linger: New deletes them, and so does cleanup's Due (for
// an older instance still writing them during a rolling upgrade).
func TestLegacyGlobalIndexesDeleted(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	legacy := []string{s.prefix + "ix:act", s.prefix + "ix:cre", s.prefix + "ix:dl"}
	write := func() {
		t.Helper()
		for _, k := range legacy {
			if _, err := srv.Do("ZADD", k, 1, "old-sid"); err != nil {
				t.Fatal(err)
			}
		}
	}
	left := func(when string) {
		t.Helper()
		args := make([]any, len(legacy))
		for i, k := range legacy {
			args[i] = k
		}
		if n, err := redigo.Int(srv.Do("EXISTS", args...)); err != nil || n != 0 {
			t.Errorf("%d global indexes left %s (%v)", n, when, err)
		}
	}
	write()
	s2, err := New(ctx, Options{URL: srv.URL(), Prefix: s.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	left("after New")
	write()
	if _, err := s.Due(ctx, baseTime(), 10); err != nil {
		t.Fatal(err)
	}
	left("after Due")
}
