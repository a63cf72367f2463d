package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// listAll pages through q at now and returns every record in order and the
// Total. It checks that Total is the same on every page, that every page but
// the last is full, and that the cursor does not loop.
func listAll(t *testing.T, s store.Store, q store.Query, now time.Time) (recs []store.Record, total int) {
	t.Helper()
	total = -1
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("List %+v: more than 1000 pages, cursor loops", q)
		}
		page, err := s.List(t.Context(), q, now)
		if err != nil {
			t.Fatalf("List %+v (page %d): %v", q, pages+1, err)
		}
		if total >= 0 && page.Total != total {
			t.Errorf("List %+v page %d: Total = %d, page 1 said %d", q, pages+1, page.Total, total)
		}
		total = page.Total
		recs = append(recs, page.Records...)
		if page.Next == "" {
			return recs, total
		}
		if len(page.Records) == 0 {
			t.Fatalf("List %+v page %d: no records but Next = %q", q, pages+1, page.Next)
		}
		// Every page but the last is full.
		if nq, err := store.NormalizeQuery(q); err == nil && len(page.Records) != nq.Limit {
			t.Errorf("List %+v page %d: %d rows and a Next cursor, want a full page of %d", q, pages+1, len(page.Records), nq.Limit)
		}
		q.Cursor = page.Next
	}
}

// wantOrder fails the test unless listing q at now (all pages) yields want,
// in order, with Total == len(want).
func wantOrder(t *testing.T, s store.Store, q store.Query, now time.Time, want []string) {
	t.Helper()
	recs, total := listAll(t, s, q, now)
	if got := sids(recs); !slices.Equal(got, want) {
		t.Errorf("List sort %q filter %+v: got %v, want %v", q.Sort, q.Filter, got, want)
	}
	if total != len(want) {
		t.Errorf("List sort %q filter %+v: Total = %d, want %d", q.Sort, q.Filter, total, len(want))
	}
}

// tieRecord returns a record whose activity, creation and deadline scores are
// the given offsets (in seconds) from now, so that sort orders and ties can be
// set independently. The deadline is its ExpiresAt.
func tieRecord(sid string, now time.Time, activity, created, deadline int) store.Record {
	rec := newRecord(sid, "user-"+sid, "analyst", now)
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	rec.CreatedAt = now.Add(sec(created))
	rec.AuthenticatedAt = rec.CreatedAt
	rec.LastActivity = now.Add(sec(activity))
	rec.ExpiresAt = now.Add(timeout + sec(deadline))
	rec.IdleAt = now.Add(timeout + time.Hour)
	rec.LifetimeAt = now.Add(lifetime)
	return rec
}

// testList checks sort orders with their tie-breaks, paging, filters and
// cursors.
func testList(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("SortOrdersAndTieBreaks", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		//          activity created deadline
		// s-a          5       0       2
		// s-b          5       1       1
		// s-c          2       1       1
		// s-d          3       3       0
		recs := []store.Record{
			tieRecord("s-c", now, 2, 1, 1),
			tieRecord("s-a", now, 5, 0, 2),
			tieRecord("s-d", now, 3, 3, 0),
			tieRecord("s-b", now, 5, 1, 1),
		}
		for _, rec := range recs {
			mustCreate(t, s, rec, now.Add(10*time.Second))
		}
		at := now.Add(10 * time.Second)
		cases := []struct {
			sort store.Sort
			want []string
		}{
			{store.SortActivity, []string{"s-b", "s-a", "s-d", "s-c"}}, // score desc, ties sid desc
			{store.SortCreated, []string{"s-d", "s-c", "s-b", "s-a"}},  // score desc, ties sid desc
			{store.SortDeadline, []string{"s-d", "s-b", "s-c", "s-a"}}, // score asc, ties sid asc
			{"", []string{"s-b", "s-a", "s-d", "s-c"}},                 // default: activity
		}
		for _, c := range cases {
			for _, limit := range []int{0, 1, 2, 3, 4} {
				t.Run(fmt.Sprintf("sort=%q/limit=%d", c.sort, limit), func(t *testing.T) {
					wantOrder(t, s, store.Query{Sort: c.sort, Limit: limit}, at, c.want)
				})
			}
		}
	})

	t.Run("Paging", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 23
		var recs []store.Record
		for i := range n {
			// Few distinct scores, so that many rows tie and the cursor must use the sid.
			rec := tieRecord(fmt.Sprintf("s-%02d", (i*7)%n), now, i%4, i%3, i%5)
			recs = append(recs, rec)
			mustCreate(t, s, rec, now.Add(10*time.Second))
		}
		at := now.Add(10 * time.Second)
		for _, sort := range []store.Sort{store.SortActivity, store.SortCreated, store.SortDeadline} {
			t.Run(string(sort), func(t *testing.T) {
				want := slices.Clone(recs)
				slices.SortFunc(want, func(a, b store.Record) int {
					c := cmp.Or(cmp.Compare(store.Score(a, sort), store.Score(b, sort)), cmp.Compare(a.SID, b.SID))
					if sort != store.SortDeadline {
						c = -c
					}
					return c
				})
				q := store.Query{Sort: sort, Limit: 5}
				var got []string
				for page := 1; ; page++ {
					p, err := s.List(t.Context(), q, at)
					if err != nil {
						t.Fatalf("List page %d: %v", page, err)
					}
					if p.Total != n {
						t.Errorf("page %d: Total = %d, want %d", page, p.Total, n)
					}
					wantRows := min(5, n-len(got))
					if len(p.Records) != wantRows {
						t.Fatalf("page %d: %d rows, want %d", page, len(p.Records), wantRows)
					}
					got = append(got, sids(p.Records)...)
					if len(got) == n {
						if p.Next != "" {
							t.Errorf("page %d is the last: Next = %q, want \"\"", page, p.Next)
						}
						break
					}
					if p.Next == "" {
						t.Fatalf("page %d: Next = \"\" after %d of %d rows", page, len(got), n)
					}
					q.Cursor = p.Next
				}
				if w := sids(want); !slices.Equal(got, w) {
					t.Errorf("paged order:\n got  %v\n want %v", got, w)
				}
				checkRecord(t, "first row", mustList(t, s, store.Query{Sort: sort, Limit: 1}, at).Records[0], want[0])
			})
		}
	})

	t.Run("LastPageExactlyFull", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		for i := range 10 {
			mustCreate(t, s, newRecord(fmt.Sprintf("s-%02d", i), "ana", "analyst", now.Add(time.Duration(i)*time.Second)), now.Add(10*time.Second))
		}
		at := now.Add(10 * time.Second)
		p1 := mustList(t, s, store.Query{Limit: 5}, at)
		if p1.Next == "" || len(p1.Records) != 5 {
			t.Fatalf("page 1: %d rows, Next %q; want 5 rows and a cursor", len(p1.Records), p1.Next)
		}
		p2 := mustList(t, s, store.Query{Limit: 5, Cursor: p1.Next}, at)
		if len(p2.Records) != 5 || p2.Next != "" {
			t.Errorf("page 2 (the last, exactly full): %d rows, Next %q; want 5 rows and Next \"\"", len(p2.Records), p2.Next)
		}
		all := mustList(t, s, store.Query{Limit: 10}, at)
		if len(all.Records) != 10 || all.Next != "" || all.Total != 10 {
			t.Errorf("one page of everything: %d rows, Next %q, Total %d; want 10, \"\", 10", len(all.Records), all.Next, all.Total)
		}
	})

	t.Run("CursorSurvivesEndedRow", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		for i := range 6 {
			mustCreate(t, s, newRecord(fmt.Sprintf("s-%d", i), "ana", "analyst", now.Add(time.Duration(i)*time.Second)), now.Add(10*time.Second))
		}
		at := now.Add(10 * time.Second)
		p1 := mustList(t, s, store.Query{Limit: 3}, at)
		if got := sids(p1.Records); !slices.Equal(got, []string{"s-5", "s-4", "s-3"}) {
			t.Fatalf("page 1: got %v", got)
		}
		// The row the cursor names ends before the next page is read.
		mustEnd(t, s, "s-3", store.Tombstone{SID: "s-3", Reason: store.ReasonLogout, Actor: "ana", At: at})
		p2 := mustList(t, s, store.Query{Limit: 3, Cursor: p1.Next}, at)
		if got := sids(p2.Records); !slices.Equal(got, []string{"s-2", "s-1", "s-0"}) || p2.Next != "" || p2.Total != 5 {
			t.Errorf("page 2: got %v Next %q Total %d, want [s-2 s-1 s-0], \"\", 5", got, p2.Next, p2.Total)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		add := func(sid, user, role, ip string, offset int) {
			rec := newRecord(sid, user, role, now.Add(time.Duration(offset)*time.Second))
			rec.FirstIP, rec.LastIP = ip, ip
			mustCreate(t, s, rec, now.Add(time.Minute))
		}
		add("s-ana1", "ana", "analyst", "192.0.2.1", 1)
		add("s-ana2", "ana", "analyst", "192.0.2.2", 2)
		add("s-ana3", "ana", "admin", "192.0.2.1", 3) // the same user with another role
		add("s-bob1", "bob", "analyst", "192.0.2.3", 4)
		add("s-bob2", "bob", "analyst", "192.0.2.1", 5)
		add("s-root", "root", "admin", "198.51.100.9", 6)
		add("s-op", "op", "operator", "192.0.2.10", 7) // an IP that has another as prefix
		add("s-an", "an", "analyst", "192.0.2.4", 8)   // a user whose name is a prefix of another

		// s-bob1 moves: it now matches its first and its last IP.
		t1 := now.Add(time.Minute)
		rec := mustGet(t, s, "s-bob1", t1)
		touch := &store.Touch{LastActivity: now.Add(4 * time.Second), ExpiresAt: rec.ExpiresAt, IdleAt: rec.IdleAt, IP: "203.0.113.5", UserAgent: rec.FirstUserAgent, Path: "/"}
		mustCommit(t, s, "s-bob1", rec.TokenHash, []byte("b"), touch, rec.ExpiresAt)

		cases := []struct {
			name   string
			filter store.Filter
			want   []string // in activity order
		}{
			{"none", store.Filter{}, []string{"s-an", "s-op", "s-root", "s-bob2", "s-bob1", "s-ana3", "s-ana2", "s-ana1"}},
			{"user", store.Filter{User: "ana"}, []string{"s-ana3", "s-ana2", "s-ana1"}},
			{"user prefix is not a match", store.Filter{User: "an"}, []string{"s-an"}},
			{"unknown user", store.Filter{User: "nobody"}, nil},
			{"role analyst", store.Filter{Role: "analyst"}, []string{"s-an", "s-bob2", "s-bob1", "s-ana2", "s-ana1"}},
			{"role admin", store.Filter{Role: "admin"}, []string{"s-root", "s-ana3"}},
			{"role operator", store.Filter{Role: "operator"}, []string{"s-op"}},
			{"unknown role", store.Filter{Role: "ghost"}, nil},
			{"user and role", store.Filter{User: "ana", Role: "analyst"}, []string{"s-ana2", "s-ana1"}},
			{"user and other role", store.Filter{User: "bob", Role: "admin"}, nil},
			{"ip", store.Filter{IP: "192.0.2.1"}, []string{"s-bob2", "s-ana3", "s-ana1"}},
			{"ip first or last", store.Filter{IP: "192.0.2.3"}, []string{"s-bob1"}},
			{"ip last", store.Filter{IP: "203.0.113.5"}, []string{"s-bob1"}},
			{"ip exact", store.Filter{IP: "192.0.2.10"}, []string{"s-op"}},
			{"role and ip", store.Filter{Role: "analyst", IP: "192.0.2.1"}, []string{"s-bob2", "s-ana1"}},
			{"user and ip", store.Filter{User: "ana", IP: "192.0.2.1"}, []string{"s-ana3", "s-ana1"}},
			{"user, role and ip", store.Filter{User: "ana", Role: "admin", IP: "192.0.2.2"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, limit := range []int{2, 50} {
					wantOrder(t, s, store.Query{Filter: c.filter, Limit: limit}, t1, c.want)
				}
				rev := slices.Clone(c.want)
				slices.Reverse(rev)
				wantOrder(t, s, store.Query{Filter: c.filter, Sort: store.SortCreated, Limit: 2}, t1, c.want)
				wantOrder(t, s, store.Query{Filter: c.filter, Sort: store.SortDeadline, Limit: 2}, t1, rev)
			})
		}
	})

	t.Run("BadCursor", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, newRecord("s-a", "ana", "analyst", now), now)
		for _, c := range []string{"!!not base64!!", "AA", "gA", "%%"} {
			_, err := s.List(t.Context(), store.Query{Cursor: c}, now)
			if !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("List with cursor %q: got %v, want an error wrapping ErrBadCursor", c, err)
			}
		}
	})

	t.Run("UnknownSort", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.List(t.Context(), store.Query{Sort: "alphabetical"}, baseTime()); err == nil {
			t.Errorf("List with an unknown sort: err = nil, want an error")
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 53
		for i := range n {
			mustCreate(t, s, newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i), "analyst", now.Add(time.Duration(i)*time.Millisecond)), now.Add(time.Second))
		}
		at := now.Add(time.Second)
		for _, limit := range []int{0, -1} {
			p := mustList(t, s, store.Query{Limit: limit}, at)
			if len(p.Records) != 50 || p.Next == "" || p.Total != n {
				t.Errorf("List with Limit %d: %d rows, Next %q, Total %d; want 50 rows (the default), a cursor, %d", limit, len(p.Records), p.Next, p.Total, n)
			}
		}
		p := mustList(t, s, store.Query{Limit: 1000}, at)
		if len(p.Records) != n || p.Next != "" {
			t.Errorf("List with Limit 1000: %d rows, Next %q; want all %d and no cursor", len(p.Records), p.Next, n)
		}
	})

	t.Run("NormalizeQuery", func(t *testing.T) {
		cases := []struct {
			in      store.Query
			want    store.Query
			wantErr bool
		}{
			{store.Query{}, store.Query{Sort: store.SortActivity, Limit: 50}, false},
			{store.Query{Limit: -3}, store.Query{Sort: store.SortActivity, Limit: 50}, false},
			{store.Query{Limit: 501, Sort: store.SortDeadline}, store.Query{Sort: store.SortDeadline, Limit: 500}, false},
			{store.Query{Limit: 7, Sort: store.SortCreated, Cursor: "x"}, store.Query{Sort: store.SortCreated, Limit: 7, Cursor: "x"}, false},
			{store.Query{Sort: "name"}, store.Query{}, true},
		}
		for _, c := range cases {
			got, err := store.NormalizeQuery(c.in)
			if (err != nil) != c.wantErr {
				t.Errorf("NormalizeQuery(%+v): err %v, want error %v", c.in, err, c.wantErr)
				continue
			}
			if !c.wantErr && got != c.want {
				t.Errorf("NormalizeQuery(%+v) = %+v, want %+v", c.in, got, c.want)
			}
		}
	})
}

// mustList returns one page or fails the test.
func mustList(t *testing.T, s store.Store, q store.Query, now time.Time) store.Page {
	t.Helper()
	p, err := s.List(t.Context(), q, now)
	if err != nil {
		t.Fatalf("List %+v: %v", q, err)
	}
	return p
}
