package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// testBreaker is a breaker on a clock that moves only when told, probing
// every 200 ms exactly.
func testBreaker() (*breaker, func(time.Duration)) {
	now := time.Unix(1_000_000, 0)
	b := newBreaker(200 * time.Millisecond)
	b.now = func() time.Time { return now }
	b.jitter = func(d time.Duration) time.Duration { return d / 2 }
	return b, func(d time.Duration) { now = now.Add(d) }
}

func mustAllow(t *testing.T, b *breaker, force bool) ticket {
	t.Helper()
	tk, err := b.allow(force)
	if err != nil {
		t.Fatalf("allow: %v", err)
	}
	return tk
}

func mustRefuse(t *testing.T, b *breaker) {
	t.Helper()
	if tk, err := b.allow(false); err == nil || !errors.Is(err, ErrDown) {
		t.Fatalf("allow while down = %+v, %v; want ErrDown", tk, err)
	}
}

func TestBreakerTripsProbesAndCloses(t *testing.T) {
	b, advance := testBreaker()
	cause := errors.New("read tcp: i/o timeout")

	tk := mustAllow(t, b, false)
	if tk.probe {
		t.Fatal("closed gate handed out a probe")
	}
	b.record(tk, answered, nil)
	if b.open.Load() {
		t.Fatal("an answer opened the gate")
	}
	b.record(mustAllow(t, b, false), failed, cause)
	if !b.open.Load() {
		t.Fatal("a timeout did not open the gate")
	}

	// The first call after the trip probes at once; one probe at a time.
	p := mustAllow(t, b, false)
	if !p.probe {
		t.Fatal("first call after the trip is not a probe")
	}
	_, err := b.allow(false)
	if !errors.Is(err, ErrDown) || !strings.Contains(err.Error(), "i/o timeout") {
		t.Fatalf("second call during the probe: %v; want ErrDown naming the cause", err)
	}
	b.record(p, failed, cause)

	// A failed probe: the next one after the interval, not before.
	advance(199 * time.Millisecond)
	mustRefuse(t, b)
	advance(time.Millisecond)
	p = mustAllow(t, b, false)
	if !p.probe {
		t.Fatal("call after the interval is not a probe")
	}
	mustRefuse(t, b)
	next := b.record(p, answered, nil)
	if b.open.Load() {
		t.Fatal("an answered probe did not close the gate")
	}
	if next.probe {
		t.Fatal("the probe's connection stays a probe after its answer")
	}
	if tk := mustAllow(t, b, false); tk.probe {
		t.Fatal("closed gate handed out a probe")
	}
	// Failures on the probe's connection after the recovery count.
	b.record(next, failed, cause)
	if !b.open.Load() {
		t.Fatal("a failure after the recovery did not open the gate")
	}
}

func TestBreakerIgnoresFailuresOlderThanRecovery(t *testing.T) {
	b, advance := testBreaker()
	cause := io.EOF
	early := mustAllow(t, b, false) // a call that began before the outage...
	b.record(mustAllow(t, b, false), failed, cause)
	p := mustAllow(t, b, false)
	advance(50 * time.Millisecond)
	b.record(p, answered, nil)
	b.record(early, failed, cause) // ...and failed after the recovery
	if b.open.Load() {
		t.Fatal("a failure of a call from before the recovery re-opened the gate")
	}
	b.record(mustAllow(t, b, false), failed, cause)
	if !b.open.Load() {
		t.Fatal("a new failure did not open the gate")
	}
}

func TestBreakerNeutralOutcomes(t *testing.T) {
	b, _ := testBreaker()
	b.record(mustAllow(t, b, false), neutral, context.Canceled)
	if b.open.Load() {
		t.Fatal("a caller giving up opened the gate")
	}
	b.record(mustAllow(t, b, false), failed, io.EOF)
	p := mustAllow(t, b, false)
	mustRefuse(t, b)
	b.record(p, neutral, context.Canceled) // the probe's caller left: no news
	if !b.open.Load() {
		t.Fatal("a neutral probe closed the gate")
	}
	if p2 := mustAllow(t, b, false); !p2.probe {
		t.Fatal("probe slot not given back after a neutral probe")
	}
}

func TestBreakerForcedProbe(t *testing.T) {
	b, _ := testBreaker()
	b.record(mustAllow(t, b, false), failed, io.EOF)
	p := mustAllow(t, b, false) // a scheduled probe, still running
	ping := mustAllow(t, b, true)
	if !ping.probe {
		t.Fatal("forced call while down is not a probe")
	}
	b.record(ping, answered, nil)
	if b.open.Load() {
		t.Fatal("answered Ping did not close the gate")
	}
	b.record(p, failed, io.EOF) // the older probe fails late: stale
	if b.open.Load() {
		t.Fatal("a late failure of a probe from before the recovery re-opened the gate")
	}
	if b.probes != 0 {
		t.Fatalf("%d probes counted in flight, want 0", b.probes)
	}
}

func TestBreakerJitter(t *testing.T) {
	b := newBreaker(200 * time.Millisecond)
	for range 1000 {
		if d := b.backoff(); d < 150*time.Millisecond || d >= 250*time.Millisecond {
			t.Fatalf("backoff %v outside [150ms, 250ms)", d)
		}
	}
}

func TestBreakerStaleConnections(t *testing.T) {
	b, advance := testBreaker()
	idle := b.now()
	if b.stale(idle) {
		t.Fatal("connection stale before any trip")
	}
	advance(time.Second)
	b.record(mustAllow(t, b, false), failed, io.EOF)
	if !b.stale(idle) {
		t.Fatal("connection idle across a trip is not stale")
	}
	advance(time.Second)
	if b.stale(b.now()) {
		t.Fatal("connection returned after the trip is stale")
	}
}

func TestClassify(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want outcome
	}{
		{"nil", nil, nil, answered},
		{"error reply", nil, redigo.Error("WRONGTYPE Operation against a key"), answered},
		{"no script", live, redigo.Error("NOSCRIPT No matching script"), answered},
		{"read-only replica", live, redigo.Error("READONLY You can't write against a read only replica."), answered},
		{"loading", nil, redigo.Error("LOADING Redis is loading the dataset in memory"), failed},
		{"busy script", nil, redigo.Error("BUSY Redis is busy running a script"), failed},
		{"eof", nil, io.EOF, failed},
		{"read timeout", live, opErr, failed},
		{"dial timeout", live, &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, failed},
		{"caller left", done, context.Canceled, neutral},
		{"timeout after the caller left", done, opErr, neutral},
	}
	for _, tt := range tests {
		if got := classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: classify = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// gateStore is a store with short timeouts on its own server.
func gateStore(t *testing.T, srv *redistest.Server, pool int, timeout time.Duration) *Store {
	t.Helper()
	s, err := New(t.Context(), Options{URL: srv.URL(), PoolSize: pool,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill makes n pooled connections idle.
func fill(t *testing.T, s *Store, n int) {
	t.Helper()
	var cs []redigo.Conn
	for range n {
		c, err := s.conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := redigo.DoContext(c, t.Context(), "PING"); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		c.Close()
	}
}

// waitRecovered polls Get until it succeeds and returns how long that took.
func waitRecovered(t *testing.T, s *Store, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, _, err := s.Get(t.Context(), "s1", baseTime())
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("store not back %v after the server: %v", limit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGatePausedServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := redistest.Start(t)
	s := gateStore(t, srv, 4, timeout)
	fill(t, s, 4)
	srv.Pause()
	defer srv.Resume()

	start := time.Now()
	if _, _, err := s.Get(t.Context(), "s1", baseTime()); err == nil || errors.Is(err, ErrDown) {
		t.Fatalf("first call on a paused server: %v; want its timeout", err)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("first call failed after %v, before the read timeout %v", d, timeout)
	}
	if !s.gate.open.Load() {
		t.Fatal("the timeout did not open the gate")
	}

	// Many callers for a second: all but one probe at a time fail at once,
	// without a connection.
	var (
		mu           sync.Mutex
		fast, probed int
		worst        time.Duration
		wg           sync.WaitGroup
		stop         = time.Now().Add(time.Second)
	)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				t0 := time.Now()
				_, _, err := s.Get(t.Context(), "s1", baseTime())
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err == nil:
					t.Errorf("Get on a paused server succeeded")
				case errors.Is(err, ErrDown):
					fast++
				default:
					probed++
				}
				worst = max(worst, d)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	poolBusyAtEnd := s.pool.ActiveCount() - s.pool.IdleCount()
	t.Logf("paused 1 s: %d calls failed fast, %d probes, worst %v", fast, probed, worst)
	// One probe takes a read timeout, the next comes 150-250 ms after it:
	// at most 3 in a second (and the one that tripped the gate began before).
	if probed > 3 || fast < 10*probed {
		t.Errorf("%d probes and %d fast failures in 1 s: want at most 3 probes, the rest fast", probed, fast)
	}
	// Generous: a probe is bounded by the read timeout; CI scheduling adds.
	if worst > timeout+500*time.Millisecond {
		t.Errorf("a call took %v with the read timeout at %v", worst, timeout)
	}
	if poolBusyAtEnd > 1 {
		t.Errorf("%d connections in use while down, want at most the probe's", poolBusyAtEnd)
	}

	srv.Resume()
	d := waitRecovered(t, s, 3*time.Second)
	t.Logf("recovered %v after SIGCONT", d)
	if d > time.Second {
		t.Errorf("recovery took %v, want under 1 s", d)
	}
}

func TestGateRestartedServerDropsStaleConnections(t *testing.T) {
	srv := redistest.Start(t)
	s := gateStore(t, srv, 8, 500*time.Millisecond)
	fill(t, s, 8)
	srv.Kill()
	if _, _, err := s.Get(t.Context(), "s1", baseTime()); err == nil {
		t.Fatal("Get on a killed server succeeded")
	}
	if !s.gate.open.Load() {
		t.Fatal("the failure did not open the gate")
	}
	srv.Restart()
	d := waitRecovered(t, s, 3*time.Second)
	t.Logf("recovered %v after the restart", d)
	// Without the PING of connections idle across the trip, each of the 8
	// dead ones would fail a probe in turn: 8 × 200 ms.
	if d > time.Second {
		t.Errorf("recovery took %v, want under 1 s", d)
	}
	epoch := s.gate.epoch.Load()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, _, err := s.Get(t.Context(), "s1", baseTime()); err != nil {
					t.Errorf("Get after recovery: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if s.gate.open.Load() || s.gate.epoch.Load() != epoch {
		t.Error("a stale connection tripped the gate again after the recovery")
	}
}

func TestGateBoundsWaitForConnection(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := redistest.Start(t)
	s := gateStore(t, srv, 1, timeout)
	held, err := s.conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = s.Get(t.Context(), "s1", baseTime())
	d := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no free connection") {
		t.Fatalf("Get with the pool taken: %v; want no free connection", err)
	}
	if d < timeout || d > timeout+time.Second {
		t.Errorf("waited %v for a connection, want about %v", d, timeout)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, _, err := s.Get(ctx, "s1", baseTime()); err == nil {
		t.Fatal("Get with the pool taken succeeded")
	}
	if d := time.Since(start); d >= timeout {
		t.Errorf("waited %v past the caller's 20 ms deadline", d)
	}
	if s.gate.open.Load() {
		t.Fatal("a busy pool opened the gate: busy is not down")
	}
	held.Close()
	if _, _, err := s.Get(t.Context(), "s1", baseTime()); err != nil {
		t.Fatalf("Get after the connection came back: %v", err)
	}
}

// TestGateBoundsWaitPlusCommand: a call that waited for a connection and
// then meets a stalled server fails when the wait bound (here the read
// timeout) runs out, not a whole read timeout after it got the connection.
func TestGateBoundsWaitPlusCommand(t *testing.T) {
	const timeout = 500 * time.Millisecond
	srv := redistest.Start(t)
	s := gateStore(t, srv, 1, timeout)
	held, err := s.conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	time.AfterFunc(300*time.Millisecond, func() { held.Close() })
	start := time.Now()
	_, _, err = s.Get(t.Context(), "s1", baseTime())
	d := time.Since(start)
	if err == nil {
		t.Fatal("Get on a paused server succeeded")
	}
	// Uncapped it would take 300 ms + 500 ms; the margin is for a loaded machine.
	if d > timeout+200*time.Millisecond {
		t.Errorf("wait plus command took %v, want about %v: %v", d, timeout, err)
	}
	t.Logf("waited 300 ms for the connection, failed after %v: %v", d, err)
}

// TestGateCoversEveryPath opens the gate by hand and checks that calls of
// each kind (blob reads and writes, scripts, registry reads, pipelines)
// fail with ErrDown without a command reaching the server.
func TestGateCoversEveryPath(t *testing.T) {
	srv := redistest.Start(t)
	s := gateStore(t, srv, 4, time.Second)
	s.gate.interval = time.Hour
	s.gate.record(mustAllow(t, s.gate, false), failed, io.EOF)
	s.gate.record(mustAllow(t, s.gate, false), failed, io.EOF) // the immediate probe fails
	if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := baseTime()
	calls := map[string]func() error{
		"FindCtx": func() error { _, _, err := s.FindCtx(ctx, "th"); return err },
		"CommitCtx": func() error {
			return s.CommitCtx(store.WithCommit(ctx, store.CommitInfo{SID: "s1"}), "th", []byte("b"), now.Add(time.Hour))
		},
		"DeleteCtx":   func() error { return s.DeleteCtx(ctx, "th") },
		"Get":         func() error { _, _, err := s.Get(ctx, "s1", now); return err },
		"List":        func() error { _, err := s.List(ctx, store.Query{}, now); return err },
		"Tombstone":   func() error { _, _, err := s.Tombstone(ctx, "th"); return err },
		"Days":        func() error { _, err := s.Days(ctx, []string{"2026-01-01"}); return err },
		"Persistence": func() error { _, _, err := s.Persistence(ctx); return err },
		"End": func() error {
			_, err := s.End(ctx, "s1", store.Tombstone{SID: "s1", Reason: store.ReasonTerminated, At: now}, time.Hour)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrDown) {
			t.Errorf("%s while down: %v; want ErrDown", name, err)
		}
	}
	stats, err := srv.CommandStats()
	if err != nil {
		t.Fatal(err)
	}
	delete(stats, "config|resetstat")
	delete(stats, "info")
	if len(stats) != 0 {
		t.Errorf("commands reached the server while the gate was open: %v", stats)
	}
	// Ping always asks, and its answer closes the gate.
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := calls["Get"](); err != nil {
		t.Fatalf("Get after Ping closed the gate: %v", err)
	}
}
