package sessionsvc_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	redisstore "github.com/ppfiber/sessionconsole/sessionsvc/store/redis"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// BenchmarkStateUpdateRedis measures state updates through the service on
// Redis, sealed with AES-256-GCM as in production: one session with many
// concurrent writers, and 1,000 sessions.
//
//	go test -run '^$' -bench StateUpdateRedis ./sessionsvc/
func BenchmarkStateUpdateRedis(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	cfg := sessionsvc.DefaultConfig()
	st, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL(), PoolSize: 64, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, Grace: cfg.Grace()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ring, err := seal.New(seal.Key{ID: "bench", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Keys: ring})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	sids := make([]string, 1000)
	for i := range sids {
		sids[i] = fmt.Sprintf("bench-%04d", i)
		rec := storetest.NewRecord(sids[i], fmt.Sprintf("user%04d", i), "analyst", now, time.Hour, time.Hour, 12*time.Hour)
		if _, err := st.Create(ctx, rec, 3, now, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		sessions int
		cat      string
	}{
		{"one session", 1, store.CatUIState},
		{"1000 sessions", 1000, store.CatUIState},
		{"1000 sessions with snapshots", 1000, store.CatUserData},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					sid := sids[int(i)%tc.sessions]
					if _, err := svc.SetStateValue(ctx, sid, tc.cat, fmt.Sprintf("k%d", i%50), i); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}

// BenchmarkRecordEvent is what recording an event costs a request: building it
// and queueing it in the buffer (the flush happens elsewhere).
//
//	go test -run '^$' -bench 'RecordEvent|FlushEvents' -benchmem ./sessionsvc/
func BenchmarkRecordEvent(b *testing.B) {
	svc, _ := benchService(b, func(c *sessionsvc.Config) { c.Analytics.BufferSize = 1 << 20; c.Analytics.FlushBatch = 1000 })
	data := map[string]string{"path": "/workspace"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		svc.Record("bench-0001", "user0001", store.EventPageView, data)
	}
	b.StopTimer()
	svc.Close(context.Background())
}

// BenchmarkFlushEvents measures how many events per second the service's
// flusher writes to Redis (batches of analytics.flush_batch over 100 sessions).
func BenchmarkFlushEvents(b *testing.B) {
	svc, _ := benchService(b, func(c *sessionsvc.Config) { c.Analytics.BufferSize = 1 << 20; c.Analytics.FlushBatch = 1000 })
	data := map[string]string{"path": "/workspace"}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		svc.Record(fmt.Sprintf("bench-%04d", i%100), "user", store.EventPageView, data)
		if i%10000 == 9999 {
			if err := svc.FlushEvents(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := svc.FlushEvents(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if d := svc.EventsDropped(); d != 0 {
		b.Fatalf("%d events dropped", d)
	}
}

func benchService(b *testing.B, mutate func(*sessionsvc.Config)) (*sessionsvc.Service, store.Store) {
	srv := redistest.Start(b)
	ctx := context.Background()
	cfg := sessionsvc.DefaultConfig()
	mutate(&cfg)
	st, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL(), PoolSize: 16, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, Grace: cfg.Grace()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ring, _ := seal.New(seal.Key{ID: "bench", Secret: bytes.Repeat([]byte{7}, 32)})
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Keys: ring})
	if err != nil {
		b.Fatal(err)
	}
	return svc, st
}
