package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

var benchRoles = []string{"analyst", "operator", "admin"}

// seed creates n sessions (one user each, roles cycling, activity spread over
// an hour) through the Create script, pipelined in batches, and returns their
// sids.
func seed(b *testing.B, s *Store, n int, now time.Time) []string {
	b.Helper()
	c, err := s.pool.GetContext(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sids := make([]string, n)
	args := func(i int) []any {
		created := now.Add(-time.Duration(i%600) * time.Second)
		rec := record(fmt.Sprintf("sid-%07d", i), fmt.Sprintf("user-%d", i), benchRoles[i%len(benchRoles)], created)
		rec.LastActivity = now.Add(-time.Duration(i%1800) * time.Millisecond)
		rec.IdleAt = rec.LastActivity.Add(idle)
		sids[i] = rec.SID
		a := []any{s.prefix, now.UnixMilli(), 3, time.Hour.Milliseconds(), s.endedTTL(time.Hour), s.ttlAt(rec.Deadline())}
		return append(a, encodeRecord(rec)...)
	}
	if _, err := scriptCreate.Do(c, args(0)...); err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	for start := 1; start < n; start += batch {
		end := min(start+batch, n)
		for i := start; i < end; i++ {
			if err := scriptCreate.SendHash(c, args(i)...); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
		for i := start; i < end; i++ {
			if _, err := c.Receive(); err != nil {
				b.Fatalf("seed %d: %v", i, err)
			}
		}
	}
	return sids
}

func BenchmarkList100k(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	now := baseTime()
	seed(b, s, 100_000, now)
	ctx := context.Background()
	page, err := s.List(ctx, store.Query{}, now)
	if err != nil || page.Total != 100_000 || len(page.Records) != 50 {
		b.Fatalf("List = total %d, rows %d, %v", page.Total, len(page.Records), err)
	}
	next := page.Next
	tests := []struct {
		name string
		q    store.Query
	}{
		{"activity", store.Query{}},
		{"created", store.Query{Sort: store.SortCreated}},
		{"deadline", store.Query{Sort: store.SortDeadline}},
		{"role", store.Query{Filter: store.Filter{Role: "operator"}}},
		{"user", store.Query{Filter: store.Filter{User: "user-4242"}}},
		{"second page", store.Query{Cursor: next}},
		{"limit 500", store.Query{Limit: 500}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.List(ctx, tt.q, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEndMany100k(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	now := baseTime()
	ctx := context.Background()
	t := store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", Note: "bench", At: now}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := srv.Do("FLUSHALL"); err != nil {
			b.Fatal(err)
		}
		sids := seed(b, s, 100_000, now)
		b.StartTimer()
		n, err := s.EndMany(ctx, sids, t, time.Hour)
		if err != nil || n != len(sids) {
			b.Fatalf("EndMany = %d, %v", n, err)
		}
	}
}
