package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testConcurrency runs writers at once; run it with -race.
func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ConcurrentTouches", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n, writes = 50, 5
		recs := make([]store.Record, n)
		for i := range n {
			recs[i] = newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i%10), "analyst", now)
			if _, err := s.Create(t.Context(), recs[i], n, now, time.Hour); err != nil {
				t.Fatalf("Create: %v", err)
			}
		}
		last := func(i int) time.Time { return now.Add(time.Duration(writes*(i+1)) * time.Second) }
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rec := recs[i]
				for w := 1; w <= writes; w++ {
					at := now.Add(time.Duration(w*(i+1)) * time.Second)
					touch := &store.Touch{LastActivity: at, ExpiresAt: at.Add(timeout), IdleAt: at.Add(idle), IP: "198.51.100.1", UserAgent: rec.FirstUserAgent, Path: fmt.Sprintf("/p/%d", w)}
					if err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte(fmt.Sprintf("%s#%d", rec.SID, w)), touch, at.Add(timeout)); err != nil {
						t.Errorf("CommitCtx(%s #%d): %v", rec.SID, w, err)
						return
					}
				}
			})
		}
		wg.Wait()
		at := last(n - 1)
		for i, rec := range recs {
			got := mustGet(t, s, rec.SID, at)
			if !got.LastActivity.Equal(last(i)) || got.Path != fmt.Sprintf("/p/%d", writes) || !got.IPChanged {
				t.Errorf("%s after %d touches: LastActivity %s Path %q IPChanged %v; want %s, /p/%d, true",
					rec.SID, writes, fmtTime(got.LastActivity), got.Path, got.IPChanged, fmtTime(last(i)), writes)
			}
			wantBlob(t, s, rec.TokenHash, []byte(fmt.Sprintf("%s#%d", rec.SID, writes)))
		}
		want := make([]string, n)
		for i := range n {
			want[i] = recs[n-1-i].SID
		}
		wantOrder(t, s, store.Query{Limit: 7}, at, want)
	})

	t.Run("EndRacesCommits", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			rec := newRecord(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i), "analyst", now)
			mustCreate(t, s, rec, now)
			started, ended := make(chan struct{}), make(chan struct{})
			start := sync.OnceFunc(func() { close(started) })
			// The writer commits until it sees the session gone; once End has
			// returned, the very next commit must see it gone.
			wg.Go(func() {
				defer start() // never leave End waiting
				for w := 0; ; w++ {
					select {
					case <-ended:
						err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte("late"), nil, now.Add(timeout))
						if !errors.Is(err, store.ErrSessionGone) {
							t.Errorf("CommitCtx(%s) after End returned: got %v, want ErrSessionGone", rec.SID, err)
						}
						return
					default:
					}
					err := commit(t.Context(), s, rec.SID, rec.TokenHash, []byte("blob"), nil, now.Add(timeout))
					if errors.Is(err, store.ErrSessionGone) {
						return
					}
					if err != nil {
						t.Errorf("CommitCtx(%s): %v", rec.SID, err)
						return
					}
					if w == 2 {
						start()
					}
				}
			})
			wg.Go(func() {
				<-started
				defer close(ended)
				if _, err := s.End(t.Context(), rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonTerminated, Actor: "root", At: now}, keep); err != nil {
					t.Errorf("End(%s): %v", rec.SID, err)
				}
			})
		}
		wg.Wait()
		for i := range n {
			sid := fmt.Sprintf("s-%02d", i)
			wantNoBlob(t, s, TokenHash(sid, 0))
			wantNoRecord(t, s, sid, now)
		}
		wantOrder(t, s, store.Query{}, now, nil)
	})
}
