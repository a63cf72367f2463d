package redis

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// BenchmarkAppendEvents measures flush throughput: one AppendEvents call per
// op with a batch of events spread over 100 sessions (mostly page views and
// API calls, some analyses, each with a small Data map), as the service's
// buffer flushes them. events/s is what one flusher reaches against a local
// Redis; ns/op is the cost of a whole batch; redis-µs/event is the server's
// time in the script.
func BenchmarkAppendEvents(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			srv := redistest.Start(b)
			s := newStore(b, srv)
			now := baseTime()
			types := []string{store.EventPageView, store.EventPageView, store.EventAPICall, store.EventAnalysisRun}
			batch := make([]store.Event, size)
			for i := range batch {
				t := now.Add(time.Duration(i) * time.Millisecond)
				e := store.Event{SID: fmt.Sprintf("sid-%03d", i%100), User: fmt.Sprintf("user-%d", i%100),
					Type: types[i%len(types)], At: t, Day: t.Format("2006-01-02"), Hour: t.Format("2006-01-02T15"),
					Data: map[string]string{"path": "/workspace/files/" + strconv.Itoa(i)}}
				if e.Type == store.EventAnalysisRun {
					e.Data["comments"] = "1200"
				}
				batch[i] = e
			}
			ctx := b.Context()
			// Load the script and start counting from an empty slate.
			if err := s.AppendEvents(ctx, batch[:1], retention); err != nil {
				b.Fatal(err)
			}
			if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.AppendEvents(ctx, batch, retention); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
			// Redis's own time per event bounds what one server takes from
			// all app instances together, whatever the clients do.
			b.ReportMetric(usecPerCall(b, srv, "evalsha")/float64(size), "redis-µs/event")
		})
	}
}
