package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// logBuffer collects a store's log lines; it outlives the test safely.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// openStore opens a store with opts under a fresh prefix, closed when the
// test ends. The read timeout defaults to 5 s: a loaded test machine can
// stall a test binary for longer than the production default.
func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	opts.Prefix = fmt.Sprintf("t%d:", prefixes.Add(1))
	s, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sentinelAddrs(nodes []*redistest.Node) []string {
	var a []string
	for _, n := range nodes {
		a = append(a, n.Addr())
	}
	return a
}

// createSession creates a session with a blob, as a sign-in does.
func createSession(ctx context.Context, s *Store, sid, user string) (store.Record, error) {
	now := baseTime()
	rec := record(sid, user, "analyst", now)
	if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
		return rec, err
	}
	cctx := store.WithCommit(ctx, store.CommitInfo{SID: sid})
	return rec, s.CommitCtx(cctx, rec.TokenHash, []byte("blob-"+sid), now.Add(timeout))
}

func mustCreate(t *testing.T, s *Store, sid, user string) store.Record {
	t.Helper()
	rec, err := createSession(t.Context(), s, sid, user)
	if err != nil {
		t.Fatalf("create %s: %v", sid, err)
	}
	return rec
}

// wantLive checks that a session's record and blob are there.
func wantLive(ctx context.Context, s *Store, rec store.Record) error {
	if _, found, err := s.Get(ctx, rec.SID, baseTime()); err != nil || !found {
		return fmt.Errorf("Get(%s) = found %v, %v", rec.SID, found, err)
	}
	if b, found, err := s.FindCtx(ctx, rec.TokenHash); err != nil || !found || string(b) != "blob-"+rec.SID {
		return fmt.Errorf("FindCtx(%s) = %q, %v, %v", rec.SID, b, found, err)
	}
	return nil
}

// wantEnded checks that an ended session stays ended: no record, no blob,
// a tombstone.
func wantEnded(t *testing.T, s *Store, rec store.Record) {
	t.Helper()
	if _, found, err := s.Get(t.Context(), rec.SID, baseTime()); err != nil || found {
		t.Errorf("ended session %s: Get = found %v, %v", rec.SID, found, err)
	}
	if _, found, err := s.FindCtx(t.Context(), rec.TokenHash); err != nil || found {
		t.Errorf("ended session %s: its blob came back (found %v, %v)", rec.SID, found, err)
	}
	if _, found, err := s.Tombstone(t.Context(), rec.TokenHash); err != nil || !found {
		t.Errorf("ended session %s: tombstone found %v, %v", rec.SID, found, err)
	}
}

func tomb(reason store.Reason) store.Tombstone {
	return store.Tombstone{Reason: reason, Actor: "test", At: baseTime()}
}

// TestSentinelFailover kills the primary under light load: the store follows
// Sentinel to the promoted replica, loses at most the writes of the last
// second before the kill, and no session ended (and acknowledged by the
// replica) before the kill comes back.
func TestSentinelFailover(t *testing.T) {
	primary := redistest.StartNode(t)
	replica := redistest.StartNode(t, redistest.Args("--replicaof", "127.0.0.1", strconv.Itoa(primary.Port())))
	sentinels := redistest.StartSentinels(t, 3, "m", primary.Addr(), 2, nil)
	redistest.WaitSentinels(t, sentinels, "m", 1, 30*time.Second)
	waitReplicaOnline(t, primary)
	logs := &logBuffer{}
	s := openStore(t, Options{
		URL:      "redis:///0",
		Sentinel: SentinelOptions{MasterName: "m", Addrs: sentinelAddrs(sentinels)},
		Logger:   logs.logger(),
		// Generous, so that a loaded machine does not miss an acknowledgement.
		ReplicaWait: 2 * time.Second,
	})
	if got := *s.ha.d.current.Load(); got != primary.Addr() {
		t.Fatalf("store found the primary at %s, want %s", got, primary.Addr())
	}

	// Sessions ended before the kill, each end acknowledged by the replica.
	var ended []store.Record
	for i := range 6 {
		ended = append(ended, mustCreate(t, s, fmt.Sprintf("end%d", i), fmt.Sprintf("e%d", i)))
	}
	for _, rec := range ended[:2] {
		if ok, err := s.End(t.Context(), rec.SID, tomb(store.ReasonTerminated), time.Hour); err != nil || !ok {
			t.Fatalf("End(%s) = %v, %v", rec.SID, ok, err)
		}
	}
	if n, err := s.EndMany(t.Context(), []string{ended[2].SID, ended[3].SID}, tomb(store.ReasonSecurity), time.Hour); err != nil || n != 2 {
		t.Fatalf("EndMany = %d, %v", n, err)
	}
	for _, rec := range ended[4:] {
		if n, err := s.EndUser(t.Context(), rec.User, nil, tomb(store.ReasonAccountDisabled), time.Hour); err != nil || n != 1 {
			t.Fatalf("EndUser(%s) = %d, %v", rec.User, n, err)
		}
	}
	if acked, missed := s.ha.wait.acked.Load(), s.ha.wait.missed.Load(); acked != 5 || missed != 0 {
		t.Fatalf("replica acknowledged %d ends and missed %d, want 5 and 0; logs:\n%s", acked, missed, logs)
	}

	// Light load: a goroutine creates a session and reads it back every 10 ms.
	type result struct {
		rec store.Record
		at  time.Time // when the operation returned
		err error
	}
	var (
		mu      sync.Mutex
		results []result
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			rec, err := createSession(ctx, s, fmt.Sprintf("load%05d", i), fmt.Sprintf("u%05d", i))
			if err == nil {
				err = wantLive(ctx, s, rec)
			}
			cancel()
			mu.Lock()
			results = append(results, result{rec, time.Now(), err})
			mu.Unlock()
		}
	}()
	defer func() {
		select {
		case <-done:
		default:
			close(stop)
			<-done
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	killedAt := time.Now()
	primary.Kill()

	// Wait until the load runs clean again: 50 operations in a row succeed.
	var recovered time.Time
	deadline := killedAt.Add(30 * time.Second)
	for recovered.IsZero() {
		if time.Now().After(deadline) {
			mu.Lock()
			last := results[len(results)-1]
			mu.Unlock()
			t.Fatalf("no recovery within 30 s of the kill; last error %v; store logs:\n%s\nsentinel: %s",
				last.err, logs, sentinels[0].Output())
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		run := 0
		for i := len(results) - 1; i >= 0 && results[i].at.After(killedAt) && results[i].err == nil; i-- {
			run++
			if run == 50 {
				recovered = results[i].at
			}
		}
		mu.Unlock()
	}
	close(stop)
	<-done

	var firstOK time.Time
	failed := 0
	for _, r := range results {
		if !r.at.After(killedAt) {
			continue
		}
		if r.err != nil {
			failed++
		} else if firstOK.IsZero() {
			firstOK = r.at
		}
	}
	t.Logf("failover: first successful operation %v after the kill (%d operations failed meanwhile); 50 in a row by %v",
		firstOK.Sub(killedAt).Round(time.Millisecond), failed, recovered.Sub(killedAt).Round(time.Millisecond))
	if d := firstOK.Sub(killedAt); d > 20*time.Second {
		t.Errorf("failover took %v", d)
	}
	if got := *s.ha.d.current.Load(); got != replica.Addr() {
		t.Errorf("store's primary after the failover is %s, want the promoted replica %s", got, replica.Addr())
	}
	if got, err := redistest.MasterAddr(sentinels[1], "m"); err != nil || got != replica.Addr() {
		t.Errorf("sentinel names %s (%v) as primary, want %s", got, err, replica.Addr())
	}
	if !strings.Contains(logs.String(), "redis primary changed") {
		t.Errorf("no log line about the new primary; logs:\n%s", logs)
	}

	// At most the writes of the last second before the kill are lost.
	lostRecent, checked := 0, 0
	for _, r := range results {
		if r.err != nil || !r.at.Before(killedAt) {
			continue
		}
		checked++
		if err := wantLive(t.Context(), s, r.rec); err != nil {
			if r.at.Before(killedAt.Add(-time.Second)) {
				t.Errorf("session acknowledged %v before the kill is lost: %v", killedAt.Sub(r.at), err)
			} else {
				lostRecent++
			}
		}
	}
	t.Logf("%d sessions created before the kill, %d of those of its last second lost", checked, lostRecent)
	if checked < 20 {
		t.Errorf("only %d sessions created before the kill; the load did not run", checked)
	}

	// No ended session comes back.
	for _, rec := range ended {
		wantEnded(t, s, rec)
	}

	// The new primary has no replica: ends do not wait for one.
	rec := mustCreate(t, s, "after", "after")
	start := time.Now()
	if ok, err := s.End(t.Context(), rec.SID, tomb(store.ReasonLogout), 0); err != nil || !ok {
		t.Fatalf("End after the failover = %v, %v", ok, err)
	}
	if d := time.Since(start); d >= s.ha.wait.timeout {
		t.Errorf("End without replicas took %v, as long as a WAIT", d)
	}
	if missed := s.ha.wait.missed.Load(); missed != 0 {
		t.Errorf("%d ends waited for a replica that was not there", missed)
	}
}

// fakeSentinel answers SENTINEL get-master-addr-by-name with its address
// ("" answers null), or never answers when silent.
type fakeSentinel struct {
	ln     net.Listener
	silent bool
	addr   atomic.Pointer[string]
	asked  atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

func startFakeSentinel(t *testing.T, addr string, silent bool) *fakeSentinel {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSentinel{ln: ln, silent: silent}
	f.addr.Store(&addr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			go f.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	return f
}

func (f *fakeSentinel) Addr() string { return f.ln.Addr().String() }

func (f *fakeSentinel) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var n int
		if _, err := fmt.Fscanf(r, "*%d\r\n", &n); err != nil {
			return
		}
		args := make([]string, n)
		for i := range args {
			var l int
			if _, err := fmt.Fscanf(r, "$%d\r\n", &l); err != nil {
				return
			}
			b := make([]byte, l+2)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			args[i] = string(b[:l])
		}
		if f.silent {
			continue
		}
		var reply string
		switch {
		case len(args) == 3 && strings.EqualFold(args[0], "SENTINEL") && args[1] == "get-master-addr-by-name":
			f.asked.Add(1)
			host, port, err := net.SplitHostPort(*f.addr.Load())
			if err != nil {
				reply = "*-1\r\n"
			} else {
				reply = fmt.Sprintf("*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(host), host, len(port), port)
			}
		default:
			reply = "-ERR unknown command\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// TestSentinelAsksEachInTurn: a sentinel that is down, one that never
// answers and one that does not know the master are passed over, within
// their timeouts; the one that answered is asked first from then on.
func TestSentinelAsksEachInTurn(t *testing.T) {
	srv := redistest.StartNode(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	silent := startFakeSentinel(t, "", true)
	unknown := startFakeSentinel(t, "", false)
	good := startFakeSentinel(t, srv.Addr(), false)

	start := time.Now()
	s := openStore(t, Options{
		URL:         "redis:///0",
		ReadTimeout: 200 * time.Millisecond,
		Sentinel: SentinelOptions{MasterName: "m",
			Addrs: []string{down, silent.Addr(), unknown.Addr(), good.Addr()}},
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("New took %v past an unresponsive sentinel with a 200 ms read timeout", d)
	}
	if got := s.ha.d.sentinel.addrs[0]; got != good.Addr() {
		t.Errorf("first sentinel now %s, want the one that answered (%s)", got, good.Addr())
	}
	if unknown.asked.Load() != 1 {
		t.Errorf("the sentinel without the master was asked %d times, want 1", unknown.asked.Load())
	}

	// No sentinel knows the master: the error says so, naming each.
	good.addr.Store(new(string))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = New(ctx, Options{URL: "redis:///0", ReadTimeout: 200 * time.Millisecond,
		Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{unknown.Addr(), good.Addr()}}})
	if err == nil || !strings.Contains(err.Error(), `does not know master "m"`) || !strings.Contains(err.Error(), good.Addr()) {
		t.Errorf("New with no sentinel knowing the master: %v", err)
	}
}

// TestSentinelDropsDemotedPrimary: after a failover that left the old
// primary running as a replica, connections to it are dropped (a write gets
// READONLY; an idle one fails the ROLE check; any is refused once a dial
// found the new primary), and the store follows the sentinel to the new one.
func TestSentinelDropsDemotedPrimary(t *testing.T) {
	a := redistest.StartNode(t)
	b := redistest.StartNode(t)
	fake := startFakeSentinel(t, a.Addr(), false)
	s := openStore(t, Options{URL: "redis:///0",
		Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{fake.Addr()}}, // RoleCheckIdle 1 s
		Logger:   (&logBuffer{}).logger()})
	rec := mustCreate(t, s, "s1", "ana")

	// One GET per read, no ROLE, while connections are busy.
	stats := func(n *redistest.Node) map[string]int64 {
		info, err := redigo.String(n.Do("INFO", "commandstats"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for line := range strings.SplitSeq(info, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
			if !ok {
				continue
			}
			calls, _, _ := strings.Cut(rest, ",")
			m[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(calls, 10, 64)
		}
		return m
	}
	if _, err := a.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	if err := wantLive(t.Context(), s, rec); err != nil {
		t.Fatal(err)
	}
	if got := stats(a); got["role"] != 0 || got["get"] != 1 {
		t.Errorf("a read on a busy connection ran %v, want one GET and no ROLE", got)
	}

	// Fail over by hand: b becomes the primary with a's data, a its replica.
	if _, err := b.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(a.Port())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		info, _ := redigo.String(b.Do("INFO", "replication"))
		return strings.Contains(info, "master_link_status:up")
	})
	if _, err := b.Do("REPLICAOF", "NO", "ONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(b.Port())); err != nil {
		t.Fatal(err)
	}

	// A write on a pooled connection to a reaches a replica: it fails with
	// READONLY and the connection is dropped; the sentinel still names a,
	// so the next dial's ROLE check refuses it too.
	_, err := createSession(t.Context(), s, "s2", "bea")
	if err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("write on the demoted primary: %v, want READONLY", err)
	}
	if _, err := createSession(t.Context(), s, "s2", "bea"); err == nil ||
		!(strings.Contains(err.Error(), "is a slave") || strings.Contains(err.Error(), "READONLY")) {
		t.Errorf("write while the sentinel still names the demoted primary: %v, want a role error", err)
	}
	fake.addr.Store(new(b.Addr()))
	rec2 := mustCreate(t, s, "s2", "bea")
	if got := *s.ha.d.current.Load(); got != b.Addr() {
		t.Errorf("primary %s, want %s", got, b.Addr())
	}

	// Reads go to b, never to the stale a: s1 came with a's data.
	if _, err := a.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		for _, r := range []store.Record{rec, rec2} {
			if err := wantLive(t.Context(), s, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := stats(a); got["get"] != 0 || got["evalsha"] != 0 {
		t.Errorf("the demoted primary served %v", got)
	}

	// A connection idle past RoleCheckIdle is asked ROLE before use.
	if _, err := b.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := wantLive(t.Context(), s, rec2); err != nil {
		t.Fatal(err)
	}
	if got := stats(b); got["role"] < 1 {
		t.Errorf("after idling, a read ran %v, want a ROLE check first", got)
	}
}

// waitReplicaOnline waits until the primary's ROLE lists a replica, as the
// store's check before WAIT reads it, and the replica acknowledges a write
// (it may be listed before its first sync is done).
func waitReplicaOnline(t *testing.T, primary *redistest.Node) {
	t.Helper()
	start := time.Now()
	waitFor(t, 20*time.Second, func() bool {
		_, n, err := roleOf(primary.Do("ROLE"))
		if err != nil || n < 1 {
			return false
		}
		// WAIT counts the writes of its own connection.
		c, err := redigo.Dial("tcp", primary.Addr(), redigo.DialReadTimeout(time.Second))
		if err != nil {
			return false
		}
		defer c.Close()
		if _, err := c.Do("SET", "redistest:probe", time.Now().UnixNano()); err != nil {
			return false
		}
		acks, err := redigo.Int(c.Do("WAIT", 1, 100))
		return err == nil && acks >= 1
	})
	if d := time.Since(start); d > time.Second {
		t.Logf("the replica took %v to acknowledge a write", d)
	}
}

func waitFor(t *testing.T, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEndWaitsForReplica: with a replica, End, EndMany and EndUser each run
// one WAIT after the script; without one, none. A replica that does not
// acknowledge costs the WAIT timeout once, is logged, and the end succeeds.
func TestEndWaitsForReplica(t *testing.T) {
	primary := redistest.StartNode(t)
	replica := redistest.StartNode(t, redistest.Args("--replicaof", "127.0.0.1", strconv.Itoa(primary.Port())))
	waitReplicaOnline(t, primary)
	logs := &logBuffer{}
	s := openStore(t, Options{URL: "redis://" + primary.Addr() + "/0", Logger: logs.logger(),
		ReplicaWait: 200 * time.Millisecond})
	var recs []store.Record
	for i := range 4 {
		recs = append(recs, mustCreate(t, s, fmt.Sprintf("s%d", i), fmt.Sprintf("u%d", i)))
	}
	waits := func(f func()) int64 {
		t.Helper()
		if _, err := primary.Do("CONFIG", "RESETSTAT"); err != nil {
			t.Fatal(err)
		}
		f()
		info, err := redigo.String(primary.Do("INFO", "commandstats"))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(info, "cmdstat_wait:calls=")
		if !ok {
			return 0
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		return n
	}
	if n := waits(func() {
		if ok, err := s.End(t.Context(), recs[0].SID, tomb(store.ReasonLogout), 0); err != nil || !ok {
			t.Fatalf("End = %v, %v", ok, err)
		}
	}); n != 1 {
		t.Errorf("End ran WAIT %d times, want 1", n)
	}
	if n := waits(func() {
		if n, err := s.EndMany(t.Context(), []string{recs[1].SID}, tomb(store.ReasonTerminated), 0); err != nil || n != 1 {
			t.Fatalf("EndMany = %v, %v", n, err)
		}
	}); n != 1 {
		t.Errorf("EndMany ran WAIT %d times, want 1", n)
	}
	if n := waits(func() {
		if n, err := s.EndUser(t.Context(), recs[2].User, nil, tomb(store.ReasonTerminated), 0); err != nil || n != 1 {
			t.Fatalf("EndUser = %v, %v", n, err)
		}
	}); n != 1 {
		t.Errorf("EndUser ran WAIT %d times, want 1", n)
	}
	if acked := s.ha.wait.acked.Load(); acked != 3 {
		t.Errorf("%d ends acknowledged, want 3", acked)
	}

	// The replica dies; the store still counts it (ROLE is asked every
	// 10 s), so the next end waits the timeout, logs, and succeeds; the one
	// after asks ROLE again and does not wait.
	replica.Kill()
	start := time.Now()
	if ok, err := s.End(t.Context(), recs[3].SID, tomb(store.ReasonLogout), 0); err != nil || !ok {
		t.Fatalf("End with the replica gone = %v, %v", ok, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("End with an unacknowledging replica took %v, want the 200 ms WAIT timeout", d)
	}
	if missed := s.ha.wait.missed.Load(); missed != 1 {
		t.Errorf("missed = %d, want 1", missed)
	}
	if !strings.Contains(logs.String(), "no replica acknowledged") {
		t.Errorf("no warning logged; logs:\n%s", logs)
	}
	rec := mustCreate(t, s, "s9", "u9")
	if n := waits(func() {
		if ok, err := s.End(t.Context(), rec.SID, tomb(store.ReasonLogout), 0); err != nil || !ok {
			t.Fatalf("End = %v, %v", ok, err)
		}
	}); n != 0 {
		t.Errorf("End without replicas ran WAIT %d times", n)
	}

	// A lone server: no WAIT at all.
	lone := openStore(t, Options{URL: shared.URL()})
	r := mustCreate(t, lone, "l1", "lu")
	if ok, err := lone.End(t.Context(), r.SID, tomb(store.ReasonLogout), 0); err != nil || !ok {
		t.Fatalf("End = %v, %v", ok, err)
	}
	if a, m := lone.ha.wait.acked.Load(), lone.ha.wait.missed.Load(); a != 0 || m != 0 {
		t.Errorf("a store without replicas waited: acked %d, missed %d", a, m)
	}
}

// TestAuth: requirepass and an ACL user, in the URL or as separate options,
// without and with Sentinel (which has a password of its own).
func TestAuth(t *testing.T) {
	pw := redistest.StartNode(t, redistest.Args("--requirepass", "s3cret"))
	acl := redistest.StartNode(t)
	if _, err := acl.Do("ACL", "SETUSER", "app", "on", ">secret", "~*", "+@all"); err != nil {
		t.Fatal(err)
	}
	if _, err := acl.Do("ACL", "SETUSER", "default", "off"); err != nil {
		t.Fatal(err)
	}
	sentinel := redistest.StartSentinels(t, 1, "m", acl.Addr(), 1,
		[]string{"sentinel auth-user m app", "sentinel auth-pass m secret", "requirepass sentpw"},
		redistest.Dial(redigo.DialPassword("sentpw")))[0]

	ok := []struct {
		name string
		opts Options
	}{
		{"requirepass in the URL", Options{URL: "redis://:s3cret@" + pw.Addr() + "/0"}},
		{"requirepass as an option", Options{URL: "redis://" + pw.Addr() + "/0", Password: "s3cret"}},
		{"ACL user in the URL", Options{URL: "redis://app:secret@" + acl.Addr() + "/0"}},
		{"ACL user as options", Options{URL: "redis://" + acl.Addr() + "/0", Username: "app", Password: "secret"}},
		{"options replace the URL's", Options{URL: "redis://app:wrong@" + acl.Addr() + "/0", Username: "app", Password: "secret"}},
		{"sentinel with its password, ACL user on the primary", Options{URL: "redis://app:secret@/0",
			Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{sentinel.Addr()}, Password: "sentpw"}}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, tt.opts)
			rec := mustCreate(t, s, "a1", "ana")
			if err := wantLive(t.Context(), s, rec); err != nil {
				t.Error(err)
			}
		})
	}

	bad := []struct {
		name, want string
		opts       Options
	}{
		{"wrong password", "WRONGPASS", Options{URL: "redis://app:nottheone@" + acl.Addr() + "/0"}},
		{"no password", "NOAUTH", Options{URL: "redis://" + pw.Addr() + "/0"}},
		{"sentinel without its password", "NOAUTH", Options{URL: "redis://app:secret@/0",
			Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{sentinel.Addr()}}}},
		{"sentinel, primary without the ACL user", "NOAUTH", Options{URL: "redis:///0",
			Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{sentinel.Addr()}, Password: "sentpw"}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			s, err := New(ctx, tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %s", err, tt.want)
			}
			for _, secret := range []string{"nottheone", "secret", "sentpw", "s3cret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a password", err)
				}
			}
		})
	}
}

// TestTLS: rediss:// verified against a CA file, without and with Sentinel
// (itself over TLS); the system roots do not trust the test's CA.
func TestTLS(t *testing.T) {
	cert := redistest.NewCert(t)
	node, err := redistest.TryStartNode(t, redistest.TLSOnly(cert))
	if errors.Is(err, redistest.ErrNoTLS) {
		t.Skipf("skipping the TLS test: %v (build redis-server with BUILD_TLS=yes to run it)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	sentinel := redistest.StartSentinels(t, 1, "m", node.Addr(), 1, nil, redistest.TLSOnly(cert))[0]
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"plain", Options{URL: "rediss://" + node.Addr() + "/0", CAFile: cert.CAFile}},
		{"sentinel", Options{URL: "rediss:///0", CAFile: cert.CAFile,
			Sentinel: SentinelOptions{MasterName: "m", Addrs: []string{sentinel.Addr()}, TLS: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, tt.opts)
			rec := mustCreate(t, s, "t1", "ana")
			if err := wantLive(t.Context(), s, rec); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("system roots refuse the test CA", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		s, err := New(ctx, Options{URL: "rediss://" + node.Addr() + "/0"})
		if err == nil {
			s.Close()
			t.Fatal("New trusted a certificate of an unknown authority")
		}
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("New: %v, want a certificate error", err)
		}
	})
	t.Run("plain connection to a TLS port fails", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		s, err := New(ctx, Options{URL: "redis://" + node.Addr() + "/0", ReadTimeout: 300 * time.Millisecond})
		if err == nil {
			s.Close()
			t.Fatal("New succeeded without TLS")
		}
	})
}
