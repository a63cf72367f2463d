package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func TestLoginThrottleSharedAndNotResetByForwardedFor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		bk := newBackend(t, be, cfg)
		clk := newClock()
		a1 := newAppOn(t, bk, cfg, clk)
		a2 := newAppOn(t, bk, cfg, clk)
		b1, b2 := a1.browser(), a2.browser()
		// Three free failures, spread over both instances.
		for i, b := range []*browser{b1, b2, b1} {
			if res := b.tryLogin("ana", "wrong"); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d = %d, want 401", i, res.StatusCode)
			}
		}
		// The next attempt on the other instance is throttled, even with the right
		// password and a forged X-Forwarded-For from an untrusted peer.
		b2.Header.Set("X-Forwarded-For", "203.0.113.7")
		res := b2.tryLogin("ana", "ana-pw")
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("throttled attempt = %d, want 429\n%s", res.StatusCode, res.Body)
		}
		if res.Header.Get("Retry-After") == "" || !strings.Contains(res.Body, "Demasiados intentos fallidos") {
			t.Errorf("429 lacks Retry-After or message: %q", res.Header.Get("Retry-After"))
		}
		// After the wait it works and resets the counter.
		clk.Add(2 * time.Second)
		if res := b2.tryLogin("ana", "ana-pw"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("after the wait login = %d", res.StatusCode)
		}
		// Failures per client IP, across accounts, throttle too: 3 so far, 10 free.
		b3 := a1.browser()
		for i := range 7 {
			if res := b3.tryLogin("nobody"+strings.Repeat("x", i), "wrong"); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("ip failure %d = %d", i, res.StatusCode)
			}
		}
		b3.Header.Set("X-Forwarded-For", "198.51.100.1")
		if res := b3.tryLogin("olga", "olga-pw"); res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("IP-throttled attempt = %d, want 429", res.StatusCode)
		}
	})
}

func TestRemovedAccountSessionsEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		b.login("ana")
		a.Svc.SetAccounts(a.Cfg.Accounts[1:])
		assertEnded(t, b, b.get("/workspace"), "ya no está activa")
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("removed account still has %d sessions", n)
		}
		// A disabled account cannot sign in and its sessions end.
		c := a.browser()
		c.login("olga")
		a.Svc.SetAccountDisabled("olga", true)
		assertEnded(t, c, c.get("/admin"), "ya no está activa")
		if res := c.tryLogin("olga", "olga-pw"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("disabled account login = %d, want 401", res.StatusCode)
		}
	})
}

func TestFingerprintAndIPValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		t.Run("user agent change", func(t *testing.T) {
			a := newApp(t, be)
			b := a.browser()
			b.login("ana")
			b.UA = "curl/8.0"
			assertEnded(t, b, b.get("/workspace"), "por tu seguridad")
		})
		t.Run("client IP change behind a trusted proxy", func(t *testing.T) {
			a := newApp(t, be, func(c *sessionsvc.Config) {
				c.Security.IPValidation = true
				c.Security.TrustedProxies = []string{"127.0.0.0/8"}
			})
			b := a.browser()
			b.Header.Set("X-Forwarded-For", "198.51.100.10")
			b.login("ana")
			if res := b.get("/workspace"); res.StatusCode != 200 {
				t.Fatalf("same IP = %d", res.StatusCode)
			}
			recs := sessionsOf(t, a, "ana")
			if len(recs) != 1 || recs[0].FirstIP != "198.51.100.10" {
				t.Fatalf("recorded IP = %+v", recs)
			}
			b.Header.Set("X-Forwarded-For", "198.51.100.99")
			assertEnded(t, b, b.get("/workspace"), "por tu seguridad")
			if logs := a.Logs.String(); !strings.Contains(logs, "198.51.100.10") || !strings.Contains(logs, "198.51.100.99") {
				t.Errorf("the IP change was not logged with both values")
			}
		})
	})
}

// gateStore holds CommitCtx until released, to model a request that is in
// flight while its session is terminated; it can also fail List or corrupt Find.
type gateStore struct {
	store.Store
	mu       sync.Mutex
	hold     chan struct{}
	held     chan struct{}
	failList bool
	corrupt  bool
	flipBlob bool
}

func (g *gateStore) CommitCtx(ctx context.Context, h string, b []byte, exp time.Time) error {
	g.mu.Lock()
	hold, held := g.hold, g.held
	g.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	return g.Store.CommitCtx(ctx, h, b, exp)
}

func (g *gateStore) FindCtx(ctx context.Context, h string) ([]byte, bool, error) {
	b, ok, err := g.Store.FindCtx(ctx, h)
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok && g.corrupt {
		return []byte("\x00not json"), true, nil
	}
	if ok && g.flipBlob {
		b = append([]byte(nil), b...)
		b[len(b)-3] ^= 0x01
	}
	return b, ok, err
}

func (g *gateStore) List(ctx context.Context, q store.Query, now time.Time) (store.Page, error) {
	g.mu.Lock()
	fail := g.failList
	g.mu.Unlock()
	if fail {
		return store.Page{}, errors.New("injected failure")
	}
	return g.Store.List(ctx, q, now)
}

func newGatedApp(t *testing.T, be string) (*app, *gateStore) {
	cfg := testConfig(t)
	bk := newBackend(t, be, cfg)
	g := &gateStore{Store: bk.store}
	return newAppOn(t, &backend{name: be, store: g, redis: bk.redis}, cfg, newClock()), g
}

func TestTerminationSticksUnderInFlightRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a, g := newGatedApp(t, be)
		b := a.browser()
		b.login("ana")
		sid := sessionsOf(t, a, "ana")[0].SID
		a.Clock.Add(2 * time.Minute) // the next request writes activity

		g.mu.Lock()
		g.hold, g.held = make(chan struct{}), make(chan struct{})
		hold, held := g.hold, g.held
		g.mu.Unlock()
		done := make(chan *response)
		go func() { done <- b.get("/workspace") }()
		<-held // the request has loaded the session and is about to write it
		if err := a.Svc.Terminate(context.Background(), sid, "adam", "laptop stolen"); err != nil {
			t.Fatal(err)
		}
		g.mu.Lock()
		g.hold = nil
		g.mu.Unlock()
		close(hold)
		<-done

		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Fatalf("terminated session came back: %d sessions", n)
		}
		if _, ok, err := g.Store.FindCtx(context.Background(), "x"); ok || err != nil {
			t.Fatalf("find: %v %v", ok, err)
		}
		c := a.browser()
		c.setCookie(b.cookie())
		if b.cookie() != "" {
			// The in-flight response may have cleared the cookie already; if not, the
			// next request must be sent to the login page with the reason.
			assertEnded(t, b, b.get("/workspace"), "Un administrador cerró tu sesión: laptop stolen")
		}
	})
}

func TestTombstoneReasonReachesLoginPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		b.login("ana")
		sid := sessionsOf(t, a, "ana")[0].SID
		if err := a.Svc.Terminate(context.Background(), sid, "adam", "policy <review>"); err != nil {
			t.Fatal(err)
		}
		res := b.get("/workspace")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("terminated session GET = %d", res.StatusCode)
		}
		page := b.get("/login")
		if !strings.Contains(page.Body, "Un administrador cerró tu sesión: policy &lt;review&gt;") {
			t.Fatalf("login page lacks the escaped reason:\n%s", page.Body)
		}
		// Ending another of one's own sessions from /account/sessions.
		x, y := a.browser(), a.browser()
		x.login("olga")
		y.login("olga")
		tok := x.csrf()
		res = x.post("/account/sessions/end-others", url.Values{"csrf_token": {tok}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("end others = %d", res.StatusCode)
		}
		assertEnded(t, y, y.get("/admin"), "Se cerró tu sesión desde otra de tus sesiones")
	})
}

func TestOneSetCookieOnErrorPath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a, g := newGatedApp(t, be)
		b := a.browser()
		b.login("ana")
		// A role change renews the token on this request; the page then fails.
		accts := append([]sessionsvc.Account(nil), a.Cfg.Accounts...)
		accts[0].Role = sessionsvc.RoleAdmin
		a.Svc.SetAccounts(accts)
		g.mu.Lock()
		g.failList = true
		g.mu.Unlock()
		res := b.get("/account/sessions")
		if res.StatusCode != http.StatusInternalServerError && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("failing page = %d", res.StatusCode)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 1 {
			t.Fatalf("error response has %d Set-Cookie headers, want 1: %q", len(sc), sc)
		}
		g.mu.Lock()
		g.failList = false
		g.mu.Unlock()
		if res := b.get("/admin"); res.StatusCode != 200 {
			t.Fatalf("after the error the renewed session does not work: %d", res.StatusCode)
		}
	})
}

func TestCorruptBlobClearsCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a, g := newGatedApp(t, be)
		b := a.browser()
		b.login("ana")
		g.mu.Lock()
		g.corrupt = true
		g.mu.Unlock()
		res := b.get("/workspace")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("corrupt blob request = %d, want redirect to login", res.StatusCode)
		}
		if b.cookie() != "" {
			t.Fatalf("corrupt blob cookie not cleared")
		}
		if res := b.get("/login"); res.StatusCode != 200 {
			t.Fatalf("login page after corrupt blob = %d", res.StatusCode)
		}
	})
}

func TestBrokenCookieIsCleared(t *testing.T) {
	a := newApp(t, "sqlite")
	b := a.browser()
	b.setCookie("not a token; <script>")
	res := b.get("/login")
	if res.StatusCode != 200 {
		t.Fatalf("GET /login with a broken cookie = %d", res.StatusCode)
	}
	if b.cookie() != "" {
		t.Errorf("broken cookie kept")
	}
}

func TestRedisOutageGives503ThenRecovers(t *testing.T) {
	t.Run("paused", func(t *testing.T) {
		a := newApp(t, "redis")
		b := a.browser()
		b.login("ana")
		a.Backend.redis.Pause()
		start := time.Now()
		res := b.get("/workspace")
		elapsed := time.Since(start)
		a.Backend.redis.Resume()
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Body, `data-testid="error-page"`) {
			t.Fatalf("paused redis: %d\n%s", res.StatusCode, res.Body)
		}
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("503 touched the cookie")
		}
		if elapsed > 5*time.Second {
			t.Errorf("503 took %v; the read timeout is 1s", elapsed)
		}
		waitOK(t, b, "/workspace")
	})
	t.Run("killed and restarted", func(t *testing.T) {
		a := newApp(t, "redis")
		b := a.browser()
		b.login("ana")
		a.Backend.redis.Kill()
		if res := b.get("/workspace"); res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("killed redis: %d", res.StatusCode)
		}
		if res := b.get("/readyz"); res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("readyz with redis down = %d", res.StatusCode)
		}
		if res := b.get("/healthz"); res.StatusCode != http.StatusOK {
			t.Errorf("healthz with redis down = %d", res.StatusCode)
		}
		a.Backend.redis.Restart()
		// Without persistence the session is gone: the app recovers to the login page.
		deadline := time.Now().Add(5 * time.Second)
		for {
			res := b.get("/login")
			if res.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("app did not recover: %d", res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.login("ana")
		waitOK(t, b, "/workspace")
	})
}

func waitOK(t *testing.T, b *browser, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := b.get(path)
		if res.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s did not recover: %d", path, res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCleanupOneInstanceAtATime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		bk := newBackend(t, be, cfg)
		clk := newClock()
		a1 := newAppOn(t, bk, cfg, clk)
		a2 := newAppOn(t, bk, cfg, clk)
		var sids []string
		for _, u := range []string{"ana", "olga", "adam"} {
			a1.browser().login(u)
			sid := sessionsOf(t, a1, u)[0].SID
			sids = append(sids, sid)
			writeFile(t, a1, sid, "data.csv", "comentario\nhola\n")
		}
		logoutB, _ := signedIn(t, a1, "olga") // a fourth session, signed out: nothing to recover
		logoutB.post("/logout", urlValues("csrf_token", logoutB.csrf()))
		clk.Add(21 * time.Minute)

		// Two schedulers at once: one runs the pass, the other finds the lease taken.
		pass := func() []sessionsvc.CleanupStats {
			var wg sync.WaitGroup
			stats := make([]sessionsvc.CleanupStats, 2)
			for i, a := range []*app{a1, a2} {
				wg.Go(func() {
					s, err := a.Svc.Cleanup(context.Background())
					if err != nil {
						t.Error(err)
					}
					stats[i] = s
				})
			}
			wg.Wait()
			if stats[0].Ran && stats[1].Ran && stats[0].Ended+stats[0].Archived > 0 && stats[1].Ended+stats[1].Archived > 0 {
				t.Errorf("both instances worked at once: %+v", stats)
			}
			return stats
		}
		sum := func(stats []sessionsvc.CleanupStats) (ended, archived int) {
			return stats[0].Ended + stats[1].Ended, stats[0].Archived + stats[1].Archived
		}
		// The idle sessions end; only the signed-out one is archived at once:
		// the others wait out their recovery window with state and files.
		if ended, archived := sum(pass()); ended != 3 || archived != 1 {
			t.Fatalf("first pass ended %d archived %d, want 3 and 1", ended, archived)
		}
		for _, sid := range sids {
			if _, ok := readFile(t, a1, sid, "data.csv"); !ok {
				t.Fatalf("files of %s removed inside the recovery window", sid)
			}
		}
		clk.Add(61 * time.Minute)
		if ended, archived := sum(pass()); ended != 0 || archived != 3 {
			t.Fatalf("after the window: ended %d archived %d, want 0 and 3", ended, archived)
		}
		// A further pass finds nothing; the archive holds the sessions, the
		// files are gone.
		s, err := a2.Svc.Cleanup(context.Background())
		if err != nil || s.Ended+s.Archived+s.Purged != 0 {
			t.Fatalf("third pass: %+v %v", s, err)
		}
		for _, sid := range sids {
			arc, ok, err := bk.store.Archived(context.Background(), sid)
			if err != nil || !ok {
				t.Fatalf("session %s not archived: %v", sid, err)
			}
			if arc.Tombstone.Reason != store.ReasonIdle || arc.Tombstone.Actor != "system" || len(arc.Blob) == 0 || arc.Record.SID != sid {
				t.Errorf("archive of %s = reason %q actor %q blob %d bytes", sid, arc.Tombstone.Reason, arc.Tombstone.Actor, len(arc.Blob))
			}
			if len(arc.Files) != 1 || arc.Files[0] != "data.csv" {
				t.Errorf("archived file list of %s = %v", sid, arc.Files)
			}
			if _, ok := arc.State.Categories[store.CatUserData]; !ok {
				t.Errorf("archive of %s has no final state", sid)
			}
			if _, ok := arc.State.Categories[store.CatTemporaryData]; ok {
				t.Errorf("archive of %s kept temporary_data", sid)
			}
			if _, ok := readFile(t, a1, sid, "data.csv"); ok {
				t.Errorf("files of %s outlived cleanup", sid)
			}
			// The console reads the archive through the service, decrypted.
			as, err := a1.Svc.Archived(context.Background(), sid)
			if err != nil || as.Tombstone.Reason != store.ReasonIdle || !strings.Contains(string(as.State.Categories[store.CatUserData].Values["context"]), "user_agent") {
				t.Errorf("service archive of %s = %+v %v", sid, as.State.Categories[store.CatUserData], err)
			}
		}
		// With archive_expired off, cleanup removes without archiving.
		cfg.Cleanup.ArchiveExpired = false
		a3 := newAppOn(t, bk, cfg, clk)
		a3.browser().login("ana")
		clk.Add(21 * time.Minute)
		if s, err = a3.Svc.Cleanup(context.Background()); err != nil || s.Ended != 1 || s.Purged != 0 {
			t.Fatalf("cleanup without archive, inside the window: %+v %v", s, err)
		}
		clk.Add(61 * time.Minute)
		s, err = a3.Svc.Cleanup(context.Background())
		if err != nil || s.Purged != 1 || s.Archived != 0 {
			t.Fatalf("cleanup without archive: %+v %v", s, err)
		}
	})
}

// TestNoKeysOrScan keeps KEYS, SCAN and scs's All/Iterate off every non-test
// path: listing must come from the indexes.
func TestNoKeysOrScan(t *testing.T) {
	forbidden := regexp.MustCompile("(?i:[\"'`](KEYS|[HSZ]?SCAN)[\"'`])|\\.(All|AllCtx|Iterate)\\(")
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "redistest" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "//")
			if forbidden.MatchString(code) {
				t.Errorf("%s:%d: forbidden outside tests: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pattern itself must catch what it is for.
	for _, bad := range []string{`conn.Do("KEYS", "*")`, `redis.call('scan', 0)`, `sm.Iterate(ctx, f)`, `st.All()`} {
		if !forbidden.MatchString(bad) {
			t.Errorf("pattern misses %s", bad)
		}
	}
}
