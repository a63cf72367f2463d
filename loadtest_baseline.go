package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// The baseline of issue 7: the smallest server a team would write with the
// same stack, Echo + scs + redisstore on the same Redis (its own key prefix),
// with scs's idle timeout on. Its one page reads one session value; signing
// in and a write each put one. scs with IdleTimeout set saves the session on
// every request (to slide the idle deadline): a GET and a MULTI/SET/PEXPIREAT/EXEC.

const (
	baselinePrefix   = "lt-base:"
	baselineIdle     = 20 * time.Minute
	baselineLifetime = 12 * time.Hour
)

var baselinePage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="es-PY"><head><meta charset="utf-8"><title>Workspace</title></head>
<body><h1>Workspace</h1><p>Signed in as {{.User}}.</p>
<form method="post" action="/page"><input type="hidden" name="section" value="history"><button name="open" value="true">History</button></form>
</body></html>
`))

var baselineLogin = []byte(`<!doctype html>
<html lang="es-PY"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><form method="post" action="/login"><input name="username"><button>Sign in</button></form></body></html>
`)

// ltBaseline is the running baseline server.
type ltBaseline struct {
	addr     string
	stopOnce sync.Once
	stopErr  error
	stopFn   func() error
}

func (b *ltBaseline) stop() error {
	b.stopOnce.Do(func() { b.stopErr = b.stopFn() })
	return b.stopErr
}

// startBaseline serves the baseline on a free loopback port, with a Redis
// pool sized and timed as ours (storage.pool_size and the timeouts). label
// marks its goroutines side=server for CPU profiles, as ours.
func startBaseline(ctx context.Context, cfg sessionsvc.Config, label bool) (*ltBaseline, error) {
	s := cfg.Storage
	rawURL := s.RedisURL
	pool := &redigo.Pool{
		MaxIdle: s.PoolSize, MaxActive: s.PoolSize, Wait: true, IdleTimeout: 5 * time.Minute,
		DialContext: func(ctx context.Context) (redigo.Conn, error) {
			return redigo.DialURLContext(ctx, rawURL,
				redigo.DialConnectTimeout(time.Duration(s.DialTimeout)*time.Millisecond),
				redigo.DialReadTimeout(time.Duration(s.ReadTimeout)*time.Millisecond),
				redigo.DialWriteTimeout(time.Duration(s.WriteTimeout)*time.Millisecond))
		},
	}
	c, err := pool.GetContext(ctx)
	if err == nil {
		_, err = c.Do("PING")
		c.Close()
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("loadtest: baseline: redis %s: %w", redactRedisURL(rawURL), err)
	}

	sm := scs.New()
	sm.Store = redisstore.NewWithPrefix(pool, baselinePrefix)
	sm.IdleTimeout = baselineIdle
	sm.Lifetime = baselineLifetime
	sm.Cookie.Name = "lt_base"
	sm.Cookie.SameSite = http.SameSiteLaxMode

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echo.WrapMiddleware(sm.LoadAndSave))
	page := func(c echo.Context) error {
		user := sm.GetString(c.Request().Context(), "user")
		if user == "" {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(http.StatusOK)
		return baselinePage.Execute(c.Response(), struct{ User string }{user})
	}
	e.GET("/login", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, baselineLogin) })
	e.POST("/login", func(c echo.Context) error {
		ctx := c.Request().Context()
		if err := sm.RenewToken(ctx); err != nil {
			return err
		}
		sm.Put(ctx, "user", c.FormValue("username"))
		return c.Redirect(http.StatusSeeOther, "/page")
	})
	e.GET("/page", page)
	e.POST("/page", func(c echo.Context) error {
		sm.Put(c.Request().Context(), c.FormValue("section")+"_open", c.FormValue("open") == "true")
		return page(c)
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := sm.Destroy(c.Request().Context()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	})

	ln, err := freeLoopbackListener()
	if err != nil {
		pool.Close()
		return nil, err
	}
	var h http.Handler = e
	if label {
		h = labelled("server", e)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	b := &ltBaseline{addr: ln.Addr().String()}
	b.stopFn = func() error {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		err := srv.Shutdown(shutCtx)
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		pool.Close()
		if err != nil {
			return fmt.Errorf("loadtest: baseline server: %w", err)
		}
		return nil
	}
	return b, nil
}

// baselineTarget maps the mix onto the baseline's one page: views and API
// calls read it, writes put a value and render it.
type baselineTarget struct{ base string }

func (t *baselineTarget) baseURL() string { return t.base }

func (t *baselineTarget) describe(k ltKind) string {
	if k == ltWrite {
		return "POST /page"
	}
	return "GET /page"
}

func (t *baselineTarget) request(_ *ltSession, k ltKind, seq uint64) ltRequest {
	if k == ltWrite {
		return ltRequest{method: http.MethodPost, path: "/page", form: baselineWriteForm[seq%2]}
	}
	return ltGet("/page", "")
}

// baselineWriteForm is a write's body, open=true and open=false, as
// url.Values{"section": {"history"}, "open": {open}}.Encode() makes it.
var baselineWriteForm = [2]string{"open=true&section=history", "open=false&section=history"}

func (t *baselineTarget) probes() []ltProbe {
	return []ltProbe{
		{name: "GET /page", build: func(s *ltSession, seq uint64) ltRequest {
			return t.request(s, ltView, seq)
		}},
		{name: "POST /page", build: func(s *ltSession, seq uint64) ltRequest {
			return t.request(s, ltWrite, seq)
		}},
	}
}

func (t *baselineTarget) signIn(ctx context.Context, s *ltSession) error {
	res, err := roundTrip(ctx, s.conn, s, ltGet("/login", ""), false)
	if err != nil {
		return err
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("baseline GET /login = %d", res.status)
	}
	if res, err = roundTrip(ctx, s.conn, s, ltPost("/login", url.Values{"username": {s.acct.user}}), false); err != nil {
		return err
	}
	if res.status != http.StatusSeeOther || res.location != "/page" {
		return fmt.Errorf("baseline POST /login = %d", res.status)
	}
	return nil
}

func (t *baselineTarget) signOut(ctx context.Context, s *ltSession) error {
	_, err := roundTrip(ctx, s.conn, s, ltPost("/logout", nil), false)
	return err
}
