package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// chromeUA is a common desktop user agent: 111 bytes, more than a hash's
// listpack value limit.
const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// realisticRecord is a record as sign-in writes it: a 22-character random
// sid, a SHA-256 token hash, a browser's user agent and its summary.
func realisticRecord(user, role string, now time.Time) store.Record {
	b := make([]byte, 16)
	rand.Read(b)
	sid := base64.RawURLEncoding.EncodeToString(b)
	rec := storetest.NewRecord(sid, user, role, now, timeout, idle, lifetime)
	rec.FirstUserAgent, rec.LastUserAgent = chromeUA, chromeUA
	rec.Device = "Chrome 126 on Windows"
	rec.FirstIP, rec.LastIP = "203.0.113.45", "203.0.113.45"
	rec.Path = "/workspace"
	return rec
}

// TestLongUserAgentKeepsListpack checks that a record with user agents
// longer than the listpack value limit stays a listpack hash, and that
// the agents round-trip through Create, a touch and End, also from a
// record written before they were split.
func TestLongUserAgentKeepsListpack(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	now := baseTime()
	long := "x" + strings.Repeat("é", 94) // 189 bytes, cut inside a character
	rec := realisticRecord("ana", "analyst", now)
	rec.FirstUserAgent, rec.LastUserAgent = long, long
	if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	enc, err := redigo.String(srv.Do("OBJECT", "ENCODING", s.prefix+"s:"+rec.SID))
	if err != nil || enc != "listpack" {
		t.Errorf("record encoding = %q, %v; want listpack", enc, err)
	}
	got, ok, err := s.Get(ctx, rec.SID, now)
	if err != nil || !ok || got.FirstUserAgent != long || got.LastUserAgent != long {
		t.Fatalf("Get = %q, %q, %v, %v", got.FirstUserAgent, got.LastUserAgent, ok, err)
	}
	touch := func(ua string, want store.Record) {
		t.Helper()
		tc := store.WithCommit(ctx, store.CommitInfo{SID: rec.SID, Touch: &store.Touch{
			LastActivity: now, ExpiresAt: now.Add(timeout), IdleAt: now.Add(idle), IP: rec.FirstIP, UserAgent: ua, Path: "/p"}})
		if err := s.CommitCtx(tc, rec.TokenHash, []byte("blob"), now.Add(timeout)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Get(ctx, rec.SID, now)
		if err != nil || !ok || got.FirstUserAgent != want.FirstUserAgent || got.LastUserAgent != want.LastUserAgent || got.UAChanged != want.UAChanged {
			t.Errorf("after touch with %d bytes: first %q, last %q, changed %v; want %q, %q, %v",
				len(ua), got.FirstUserAgent, got.LastUserAgent, got.UAChanged, want.FirstUserAgent, want.LastUserAgent, want.UAChanged)
		}
	}
	touch(long, store.Record{FirstUserAgent: long, LastUserAgent: long})
	touch("short", store.Record{FirstUserAgent: long, LastUserAgent: "short", UAChanged: true})
	touch(long+"x", store.Record{FirstUserAgent: long, LastUserAgent: long + "x", UAChanged: true})

	// A record written before the split keeps each agent whole in fua and
	// lua; a touch with the same agent is no change.
	old := realisticRecord("bob", "analyst", now)
	if _, err := s.Create(ctx, old, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	rk := s.prefix + "s:" + old.SID
	if _, err := srv.Do("HSET", rk, "fua", chromeUA, "lua", chromeUA); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("HDEL", rk, "fua2", "fua3", "lua2", "lua3"); err != nil {
		t.Fatal(err)
	}
	rec = old
	touch(chromeUA, store.Record{FirstUserAgent: chromeUA, LastUserAgent: chromeUA})
	ok, err = s.End(ctx, old.SID, store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: now}, time.Hour)
	if err != nil || !ok {
		t.Fatalf("End = %v, %v", ok, err)
	}
	page, err := s.ListEnded(ctx, store.EndedQuery{User: "bob"}, now)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Record.FirstUserAgent != chromeUA || page.Entries[0].Record.LastUserAgent != chromeUA {
		t.Errorf("ListEnded = %+v, %v", page.Entries, err)
	}
}

// BenchmarkMemoryPerSession creates 100,000 idle sessions as sign-in does
// (Create with realistic fields, two sessions per user, then a 213-byte
// blob through CommitCtx, no state or events) and reports the server's
// used_memory growth per session (bytes/session; issue 7's target is 1 KB),
// logging the share of the record, the blob and one index entry.
func BenchmarkMemoryPerSession(b *testing.B) {
	const n = 100_000
	srv := redistest.Start(b)
	// 213 bytes: a signed-in analyst's blob as the service stores it (the
	// envelope with the sid, the key id, nonce and tag around the 150-odd
	// bytes of the binary session record), measured with STRLEN.
	blob := bytes.Repeat([]byte("b"), 213)
	for b.Loop() {
		if _, err := srv.Do("FLUSHALL"); err != nil {
			b.Fatal(err)
		}
		s := newStore(b, srv)
		now := baseTime()
		before := usedMemory(b, srv)
		const workers = 8
		var wg sync.WaitGroup
		var failed atomic.Bool
		var sample atomic.Value
		for w := range workers {
			wg.Go(func() {
				ctx := context.Background()
				for i := w; i < n && !failed.Load(); i += workers {
					rec := realisticRecord(fmt.Sprintf("user%05d", i/2), benchRoles[i%len(benchRoles)], now)
					_, err := s.Create(ctx, rec, 3, now, time.Hour)
					if err == nil {
						err = s.CommitCtx(store.WithCommit(ctx, store.CommitInfo{SID: rec.SID}), rec.TokenHash, blob, now.Add(timeout))
					}
					if err != nil {
						b.Error(err)
						failed.Store(true)
						return
					}
					sample.Store(rec)
				}
			})
		}
		wg.Wait()
		if failed.Load() {
			b.FailNow()
		}
		perSession := float64(usedMemory(b, srv)-before) / n
		b.ReportMetric(perSession, "bytes/session")
		rec := sample.Load().(store.Record)
		usage := func(key string) int64 {
			v, err := redigo.Int64(srv.Do("MEMORY", "USAGE", s.prefix+key, "SAMPLES", "0"))
			if err != nil {
				b.Fatalf("MEMORY USAGE %s: %v", key, err)
			}
			return v
		}
		enc, _ := redigo.String(srv.Do("OBJECT", "ENCODING", s.prefix+"s:"+rec.SID))
		var roleIx int64
		for _, kind := range []string{"act", "cre", "dl"} {
			for _, role := range benchRoles {
				roleIx += usage("ix:" + kind + ":r:" + role)
			}
		}
		b.Logf("%.0f bytes/session: record %d (%s), blob %d, role indexes %d (three entries), user index %d (one entry of two)",
			perSession, usage("s:"+rec.SID), enc, usage("b:"+rec.TokenHash), roleIx/n, usage("u:"+rec.User)/2)
	}
}

// usedMemory reads INFO memory's used_memory.
func usedMemory(b *testing.B, srv *redistest.Server) int64 {
	b.Helper()
	info, err := redigo.String(srv.Do("INFO", "memory"))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}
