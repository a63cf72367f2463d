package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/handlers"
	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	redisstore "github.com/ppfiber/sessionconsole/sessionsvc/store/redis"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
	"github.com/ppfiber/sessionconsole/static"
)

// BenchmarkSessionsPage100k is the performance figure: the first page
// (50 rows) of GET /admin/sessions with 100,000 live sessions in Redis, as an
// operator sees it. server-ms/op is the time inside the app's handler stack
// (middleware, session load, list, render); ns/op adds the loopback HTTP
// round trip of the test client.
//
//	go test -run '^$' -bench BenchmarkSessionsPage100k -benchtime 200x ./handlers/
func BenchmarkSessionsPage100k(b *testing.B) { benchSessionsPage(b, 100_000) }

// BenchmarkSessionsPage1M is the same at a million sessions. Seeding takes a
// few minutes and about 2 GB of Redis memory, so it runs only when
// SESSIONS_BENCH_1M=1.
func BenchmarkSessionsPage1M(b *testing.B) {
	if os.Getenv("SESSIONS_BENCH_1M") != "1" {
		b.Skip("set SESSIONS_BENCH_1M=1 to seed a million sessions")
	}
	benchSessionsPage(b, 1_000_000)
}

func benchSessionsPage(b *testing.B, n int) {
	ctx := context.Background()
	cfg := testConfig(b)
	srv := redistest.Start(b)
	st, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL(), PoolSize: 16,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, Grace: cfg.Grace()})
	if err != nil {
		b.Fatalf("redis store: %v", err)
	}
	b.Cleanup(func() { st.Close() })
	clk := newClock()

	start := time.Now()
	benchSeed(b, st, n, clk.Now())
	b.Logf("seeded %d sessions in %v", n, time.Since(start).Round(time.Millisecond))

	h, url := benchServer(b, st, cfg, clk)
	c := benchLogin(b, url, "olga")

	// One checked request: the page is the real one, with the exact total.
	body := benchGet(b, c, url+"/admin/sessions")
	if want := strconv.Itoa(n+1) + " sessions"; !strings.Contains(body, want) {
		b.Fatalf("page does not say %q", want)
	}
	if rows := strings.Count(body, `data-testid="session-row"`); rows != 50 {
		b.Fatalf("page has %d rows, want 50", rows)
	}

	h.total.Store(0)
	h.count.Store(0)
	b.ResetTimer()
	for b.Loop() {
		benchGet(b, c, url+"/admin/sessions")
	}
	b.StopTimer()
	if k := h.count.Load(); k > 0 {
		b.ReportMetric(float64(h.total.Load())/float64(k)/1e6, "server-ms/op")
	}
}

// benchSeed creates n sessions (one user each, roles cycling, creation and
// activity spread over the last minutes) through Create, from a few
// goroutines so the pool keeps Redis busy.
func benchSeed(b *testing.B, st store.Store, n int, now time.Time) {
	b.Helper()
	roles := []string{sessionsvc.RoleAnalyst, sessionsvc.RoleOperator, sessionsvc.RoleAdmin}
	const workers = 8
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		fail atomic.Pointer[error]
	)
	for range workers {
		wg.Go(func() {
			for fail.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rec := storetest.NewRecord(fmt.Sprintf("bench%07d", i), fmt.Sprintf("user-%d", i), roles[i%len(roles)],
					now.Add(-time.Duration(i%600)*time.Second), 30*time.Minute, 20*time.Minute, 12*time.Hour)
				rec.LastActivity = now.Add(-time.Duration(i%1800) * time.Millisecond)
				rec.IdleAt = rec.LastActivity.Add(20 * time.Minute)
				if _, err := st.Create(context.Background(), rec, 3, now, time.Hour); err != nil {
					err = fmt.Errorf("seed %d: %w", i, err)
					fail.Store(&err)
				}
			}
		})
	}
	wg.Wait()
	if err := fail.Load(); err != nil {
		b.Fatal(*err)
	}
}

// timedHandler adds up the time the app spends serving requests.
type timedHandler struct {
	next         http.Handler
	total, count atomic.Int64
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.next.ServeHTTP(w, r)
	t.total.Add(int64(time.Since(start)))
	t.count.Add(1)
}

// benchServer serves the whole app over st, as newAppOn does for tests
// (newAppOn takes a *testing.T), without logging.
func benchServer(b *testing.B, st store.Store, cfg sessionsvc.Config, clk *clock) (*timedHandler, string) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	fm, err := files.NewManager(b.TempDir(), cfg.Storage.QuotaBytes())
	if err != nil {
		b.Fatal(err)
	}
	ring := testRing(b, testKeyA)
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Logger: log, Now: clk.Now, Keys: ring, Files: fm})
	if err != nil {
		b.Fatal(err)
	}
	assets, err := static.New()
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	handlers.New(handlers.Deps{Sessions: svc, Console: svc, Assets: assets, Static: assets, Logger: log, Now: clk.Now}).Register(e)
	th := &timedHandler{next: e}
	hs := httptest.NewServer(th)
	b.Cleanup(hs.Close)
	return th, hs.URL
}

// benchLogin signs user in through the login form and returns its client.
func benchLogin(b *testing.B, base, user string) *http.Client {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	page := benchGet(b, c, base+"/login")
	res, err := c.PostForm(base+"/login", url.Values{"username": {user}, "password": {user + "-pw"}, "csrf_token": {csrfFrom(b, page)}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login %s: status %d", user, res.StatusCode)
	}
	return c
}

func benchGet(b *testing.B, c *http.Client, u string) string {
	res, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d, %v", u, res.StatusCode, err)
	}
	return string(body)
}
