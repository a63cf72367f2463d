package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/argon2"

	"github.com/ppfiber/sessionconsole/handlers"
	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	redisstore "github.com/ppfiber/sessionconsole/sessionsvc/store/redis"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/sqlite"
	"github.com/ppfiber/sessionconsole/static"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cheapHash is an argon2id PHC string with tiny parameters, so tests that sign
// in many times stay fast; VerifyPassword reads the parameters from the string.
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key))
}

// backends lists the stores every app test runs on.
var backends = []string{"sqlite", "redis"}

type backend struct {
	name  string
	store store.Store
	redis *redistest.Server
	files string        // files_path shared by the app instances on this backend
	ring  *seal.Keyring // nil: testKeyA
}

func (b *backend) filesRoot(t *testing.T) string {
	if b.files == "" {
		b.files = t.TempDir()
	}
	return b.files
}

var (
	testKeyA = seal.Key{ID: "a", Secret: bytes.Repeat([]byte{0xA1}, 32)}
	testKeyB = seal.Key{ID: "b", Secret: bytes.Repeat([]byte{0xB2}, 32)}
)

func testRing(t testing.TB, keys ...seal.Key) *seal.Keyring {
	t.Helper()
	r, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newBackend opens a fresh store of the named kind.
func newBackend(t *testing.T, name string, cfg sessionsvc.Config) *backend {
	t.Helper()
	ctx := context.Background()
	switch name {
	case "redis":
		srv := redistest.Start(t)
		st, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL(), PoolSize: 16,
			DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
			Grace: cfg.Grace()})
		if err != nil {
			t.Fatalf("redis store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return &backend{name: name, store: st, redis: srv}
	default:
		st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir() + "/sessions.db"})
		if err != nil {
			t.Fatalf("sqlite store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return &backend{name: name, store: st}
	}
}

type app struct {
	t       *testing.T
	URL     string
	Clock   *clock
	Svc     *sessionsvc.Service
	Backend *backend
	Cfg     sessionsvc.Config
	Logs    *syncBuffer
	Echo    *echo.Echo // the app's router, for tests that walk its routes
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testConfig is the default config with three accounts whose password is
// "<name>-pw", cheap to verify.
func testConfig(t testing.TB) sessionsvc.Config {
	cfg := sessionsvc.DefaultConfig()
	cfg.Accounts = []sessionsvc.Account{
		{Username: "ana", Role: sessionsvc.RoleAnalyst, PasswordHash: cheapHash(t, "ana-pw")},
		{Username: "olga", Role: sessionsvc.RoleOperator, PasswordHash: cheapHash(t, "olga-pw")},
		{Username: "adam", Role: sessionsvc.RoleAdmin, PasswordHash: cheapHash(t, "adam-pw")},
	}
	cfg.Security.SecretKey = base64.StdEncoding.EncodeToString(make([]byte, 32))
	return cfg
}

// newApp serves the whole app over HTTP on a fresh store.
func newApp(t *testing.T, backendName string, mutate ...func(*sessionsvc.Config)) *app {
	t.Helper()
	cfg := testConfig(t)
	for _, m := range mutate {
		m(&cfg)
	}
	be := newBackend(t, backendName, cfg)
	return newAppOn(t, be, cfg, newClock())
}

// newAppOn serves another app instance over an existing backend (several
// instances sharing one store).
func newAppOn(t *testing.T, be *backend, cfg sessionsvc.Config, clk *clock, opts ...func(*sessionsvc.Options)) *app {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil))
	fm, err := files.NewManager(be.filesRoot(t), cfg.Storage.QuotaBytes())
	if err != nil {
		t.Fatal(err)
	}
	ring := be.ring
	if ring == nil && cfg.Security.SessionEncryption {
		ring = testRing(t, testKeyA)
	}
	o := sessionsvc.Options{Config: cfg, Store: be.store, Logger: log, Now: clk.Now, Keys: ring, Files: fm}
	for _, f := range opts {
		f(&o)
	}
	svc, err := sessionsvc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the store's cleanup, so it runs first: the flusher
	// stops (and stops logging) while the store is still open.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Close(ctx)
	})
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	handlers.New(handlers.Deps{Sessions: svc, Console: svc, Assets: assets, Static: assets, Logger: log, Now: clk.Now}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &app{t: t, URL: srv.URL, Clock: clk, Svc: svc, Backend: be, Cfg: cfg, Logs: logs, Echo: e}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// browser is a cookie-jar client that does not follow redirects, so tests see them.
type browser struct {
	t      *testing.T
	app    *app
	c      *http.Client
	UA     string
	Lang   string
	Header http.Header // extra headers on every request
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: a.t, app: a, UA: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Lang: "es-PY",
		Header: http.Header{},
		c: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

type response struct {
	*http.Response
	Body string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) *response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.app.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", b.UA)
	req.Header.Set("Accept-Language", b.Lang)
	for k, v := range b.Header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &response{Response: res, Body: string(raw)}
}

func (b *browser) get(path string, hdr ...string) *response { return b.do("GET", path, nil, hdr...) }
func (b *browser) post(path string, form url.Values, hdr ...string) *response {
	return b.do("POST", path, form, hdr...)
}

var hiddenRe = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"`)

// csrfFrom returns the csrf_token hidden field of a page.
func csrfFrom(t testing.TB, body string) string {
	t.Helper()
	m := hiddenRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token field in page:\n%s", body)
	}
	if m[1] != "" {
		return htmlUnescape(m[1])
	}
	return htmlUnescape(m[2])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// login signs in through the form and fails the test unless it worked.
func (b *browser) login(user string) *response {
	b.t.Helper()
	res := b.tryLogin(user, user+"-pw")
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login %s: status %d, want 303\n%s", user, res.StatusCode, res.Body)
	}
	return res
}

func (b *browser) tryLogin(user, password string) *response {
	b.t.Helper()
	// The form token is not bound to a session; a signed-in browser gets
	// redirected away from the form, so take it from an anonymous one.
	page := b.app.browser().get("/login")
	return b.post("/login", url.Values{"username": {user}, "password": {password}, "csrf_token": {csrfFrom(b.t, page.Body)}})
}

// csrf returns the signed-in page's synchronizer token.
func (b *browser) csrf() string {
	b.t.Helper()
	res := b.get("/account/sessions")
	if res.StatusCode != 200 {
		b.t.Fatalf("GET /account/sessions: %d", res.StatusCode)
	}
	return csrfFrom(b.t, res.Body)
}

// cookie returns the browser's session cookie value, "" if none.
func (b *browser) cookie() string {
	u, _ := url.Parse(b.app.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "sc_session") {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(v string) {
	u, _ := url.Parse(b.app.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sc_session", Value: v, Path: "/"}})
}

func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, name := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, name)
		})
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

func urlValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
