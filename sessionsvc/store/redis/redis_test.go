package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

const (
	timeout  = 30 * time.Minute
	idle     = 20 * time.Minute
	lifetime = 12 * time.Hour
)

func record(sid, user, role string, now time.Time) store.Record {
	return storetest.NewRecord(sid, user, role, now, timeout, idle, lifetime)
}

func baseTime() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// commandDelta runs f and returns the commands the server ran meanwhile,
// including those called from scripts, less the INFO that reads them.
func commandDelta(t *testing.T, srv *redistest.Server, f func()) map[string]int64 {
	t.Helper()
	if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	f()
	stats, err := srv.CommandStats()
	if err != nil {
		t.Fatal(err)
	}
	delete(stats, "config|resetstat")
	delete(stats, "info")
	return stats
}

func TestFindIsOneGet(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	rec := record("s1", "ana", "analyst", now)
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID})
	if err := s.CommitCtx(ctx, rec.TokenHash, []byte("blob"), now.Add(timeout)); err != nil {
		t.Fatal(err)
	}
	stats := commandDelta(t, srv, func() {
		b, found, err := s.FindCtx(t.Context(), rec.TokenHash)
		if err != nil || !found || string(b) != "blob" {
			t.Fatalf("FindCtx = %q, %v, %v", b, found, err)
		}
	})
	if len(stats) != 1 || stats["get"] != 1 {
		t.Errorf("FindCtx ran %v, want exactly one GET", stats)
	}
}

func TestCommitWithTouchIsOneEvalsha(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	rec := record("s1", "ana", "analyst", now)
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID})
	// The first commit loads the script (EVALSHA, NOSCRIPT, EVAL).
	if err := s.CommitCtx(ctx, rec.TokenHash, []byte("v0"), now.Add(timeout)); err != nil {
		t.Fatal(err)
	}
	t1 := now.Add(time.Minute)
	touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle),
		IP: "192.0.2.99", UserAgent: "ua", Path: "/p"}
	ctx = store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID, Touch: touch})
	stats := commandDelta(t, srv, func() {
		if err := s.CommitCtx(ctx, rec.TokenHash, []byte("v1"), t1.Add(timeout)); err != nil {
			t.Fatal(err)
		}
	})
	if stats["evalsha"] != 1 || stats["eval"] != 0 {
		t.Errorf("CommitCtx with touch: evalsha %d, eval %d; want 1, 0 (all: %v)", stats["evalsha"], stats["eval"], stats)
	}
	for cmd, n := range stats {
		// Everything else ran inside the script.
		if cmd != "evalsha" && !strings.Contains("hmget hset zadd pexpireat set", cmd) {
			t.Errorf("CommitCtx ran %s %d times outside the expected script commands", cmd, n)
		}
	}
	got, _, _ := s.Get(t.Context(), rec.SID, t1)
	if !got.LastActivity.Equal(t1) || got.LastIP != "192.0.2.99" || !got.IPChanged {
		t.Errorf("record after touch: %+v", got)
	}
}

func TestConcurrentCreatesLeaveExactlyMax(t *testing.T) {
	s := newStore(t, nil)
	now := baseTime()
	const n, max = 20, 3
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		evicted int
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := record(fmt.Sprintf("s%02d", i), "ana", "analyst", now.Add(time.Duration(i)*time.Millisecond))
			ended, err := s.Create(context.Background(), rec, max, now.Add(time.Second), time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for _, ts := range ended {
				if ts.Reason != store.ReasonEvicted || ts.User != "ana" {
					errs = append(errs, fmt.Errorf("tombstone %+v", ts))
				}
			}
			evicted += len(ended)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	page, err := s.List(t.Context(), store.Query{Filter: store.Filter{User: "ana"}}, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != max || len(page.Records) != max {
		t.Errorf("after %d concurrent creates: total %d, rows %d; want %d", n, page.Total, len(page.Records), max)
	}
	if evicted != n-max {
		t.Errorf("evicted %d, want %d", evicted, n-max)
	}
	all, err := s.List(t.Context(), store.Query{}, now.Add(time.Second))
	if err != nil || all.Total != max {
		t.Errorf("unfiltered total %d, %v; want %d", all.Total, err, max)
	}
}

func TestNewErrors(t *testing.T) {
	srv := redistest.Start(t)
	addr := srv.Addr()
	srv.Kill()
	tests := []struct {
		name    string
		url     string
		want    string
		notWant string
	}{
		{"unreachable names the host, not the password", "redis://:s3cret@" + addr + "/0", addr, "s3cret"},
		{"malformed hides the URL", "redis://:s3cret@[::1/0", "malformed", "s3cret"},
		{"wrong scheme", "http://" + addr, "scheme", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			s, err := New(ctx, Options{URL: tt.url})
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.notWant != "" && strings.Contains(err.Error(), tt.notWant)) {
				t.Errorf("New error %q: want it to contain %q and not %q", err, tt.want, tt.notWant)
			}
		})
	}
}

func TestPasswordInURL(t *testing.T) {
	srv := redistest.Start(t)
	if _, err := srv.Do("CONFIG", "SET", "requirepass", "s3cret"); err != nil {
		t.Fatal(err)
	}
	url := "redis://:s3cret@" + srv.Addr() + "/0"
	s, err := New(t.Context(), Options{URL: url, Prefix: "pw:"})
	if err != nil {
		t.Fatalf("New with password: %v", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err = New(t.Context(), Options{URL: "redis://:wrong@" + srv.Addr() + "/0"})
	if err == nil || strings.Contains(err.Error(), "wrong@") {
		t.Errorf("New with a wrong password: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	tests := []struct {
		name    string
		opts    []redistest.Option
		wantAOF bool
	}{
		{"none", nil, false},
		{"append-only", []redistest.Option{redistest.AppendOnly()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, redistest.Start(t, tt.opts...))
			aof, rdb, err := s.Persistence(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if aof != tt.wantAOF || rdb {
				t.Errorf("Persistence = aof %v, rdb %v; want %v, false", aof, rdb, tt.wantAOF)
			}
		})
	}
}

func TestSurvivesRestartWithAOF(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	s := newStore(t, srv)
	now := baseTime()
	var sids []string
	for i := range 1200 {
		rec := record(fmt.Sprintf("s%04d", i), fmt.Sprintf("u%d", i), "analyst", now)
		if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, rec.SID)
	}
	time.Sleep(1500 * time.Millisecond) // one appendfsync everysec
	srv.Kill()
	if _, _, err := s.Get(t.Context(), "s0000", now); err == nil {
		t.Fatal("Get on a killed server succeeded")
	}
	srv.Restart()
	if _, found, err := s.Get(t.Context(), "s0000", now); err != nil || !found {
		t.Fatalf("Get after restart = %v, %v; want found", found, err)
	}
	// The restarted server has no scripts cached: EndMany must load them again.
	n, err := s.EndMany(t.Context(), sids, store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: now}, time.Hour)
	if err != nil || n != len(sids) {
		t.Fatalf("EndMany after restart = %d, %v; want %d", n, err, len(sids))
	}
}

func TestPausedServerTimesOut(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	srv.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := s.Get(ctx, "s1", baseTime())
	if err == nil {
		t.Fatal("Get on a paused server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Get on a paused server took %v", d)
	}
	srv.Resume()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after resume: %v", err)
	}
}

func TestSafetyNetTTLs(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	rec := record("s1", "ana", "analyst", now)
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID})
	if err := s.CommitCtx(ctx, rec.TokenHash, []byte("b"), now.Add(timeout)); err != nil {
		t.Fatal(err)
	}
	pttl := func(key string) time.Duration {
		t.Helper()
		ms, err := redigo.Int64(srv.Do("PTTL", s.prefix+key))
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(ms) * time.Millisecond
	}
	wantAbout := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-5*time.Second || got > want+time.Second {
			t.Errorf("%s TTL = %v, want about %v", what, got, want)
		}
	}
	wantAbout("record", pttl("s:s1"), idle+s.grace)
	wantAbout("blob", pttl("b:"+rec.TokenHash), timeout+s.grace)

	// A now far in the past still gives TTLs of at least Grace.
	old := record("s2", "bob", "analyst", now.Add(-48*time.Hour))
	if _, err := s.Create(t.Context(), old, 3, now.Add(-48*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	wantAbout("record created in the past", pttl("s:s2"), s.grace)

	keep := 10 * time.Minute
	if ok, err := s.End(t.Context(), "s1", store.Tombstone{Reason: store.ReasonLogout, Actor: "ana", At: now}, keep); !ok || err != nil {
		t.Fatalf("End = %v, %v", ok, err)
	}
	wantAbout("tombstone", pttl("t:"+rec.TokenHash), keep)
	wantAbout("ended entry", pttl("e:s1"), keep+s.grace)
	if n, err := redigo.Int(srv.Do("EXISTS", s.prefix+"s:s1", s.prefix+"b:"+rec.TokenHash)); err != nil || n != 0 {
		t.Errorf("record and blob left after End: %d, %v", n, err)
	}
}

func TestIndexesEmptyAfterEnd(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	var sids []string
	for i := range 1100 {
		rec := record(fmt.Sprintf("s%04d", i), fmt.Sprintf("u%d", i%7), []string{"admin", "analyst"}[i%2], now)
		if _, err := s.Create(t.Context(), rec, 0, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, rec.SID)
	}
	n, err := s.EndMany(t.Context(), sids, store.Tombstone{Reason: store.ReasonSecurity, Actor: "admin", At: now}, time.Hour)
	if err != nil || n != len(sids) {
		t.Fatalf("EndMany = %d, %v; want %d", n, err, len(sids))
	}
	// Only the holding area, tombstones, recovery points and the ended
	// lists remain: every index of live sessions is gone.
	wantOnly := func(when string, allowed func(rest string) bool) {
		t.Helper()
		keys, err := redigo.Strings(srv.Do("KEYS", s.prefix+"*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if rest := strings.TrimPrefix(k, s.prefix); !allowed(rest) && rest != "roles" && !strings.HasPrefix(rest, "t:") {
				t.Errorf("key %s left %s", k, when)
			}
		}
	}
	wantOnly("after ending every session", func(rest string) bool {
		return strings.HasPrefix(rest, "e:") || strings.HasPrefix(rest, "rp:") || rest == "ended" || strings.HasPrefix(rest, "x:end")
	})
	page, err := s.ListEnded(t.Context(), store.EndedQuery{Limit: 1}, now)
	if err != nil || page.Total != len(sids) {
		t.Fatalf("ListEnded = total %d, %v; want %d", page.Total, err, len(sids))
	}
	// They are ready for cleanup once their recovery window has closed.
	if ended, err := s.Ended(t.Context(), now, 2000); err != nil || len(ended) != 0 {
		t.Fatalf("Ended inside the recovery window = %d, %v; want 0", len(ended), err)
	}
	ended, err := s.Ended(t.Context(), now.Add(time.Hour), 2000)
	if err != nil || len(ended) != len(sids) {
		t.Fatalf("Ended = %d, %v; want %d", len(ended), err, len(sids))
	}
	// Purged, they leave no ended list behind.
	for _, sid := range sids {
		if err := s.Purge(t.Context(), sid); err != nil {
			t.Fatal(err)
		}
	}
	wantOnly("after purging every session", func(string) bool { return false })
}

func TestRecordWithZeroAuthenticatedAt(t *testing.T) {
	s := newStore(t, nil)
	now := baseTime()
	rec := record("s1", "ana", "analyst", now)
	rec.AuthenticatedAt = time.Time{}
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Get(t.Context(), "s1", now)
	if err != nil || !found || !got.AuthenticatedAt.IsZero() {
		t.Errorf("Get = %+v, %v, %v; want zero AuthenticatedAt", got.AuthenticatedAt, found, err)
	}
}
