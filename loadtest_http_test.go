package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ltTestConn is a client of srv with a fresh session.
func ltTestConn(t *testing.T, base string) (*ltConn, *ltSession) {
	t.Helper()
	c, err := newLTConn(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.shutdown)
	return c, &ltSession{conn: c}
}

// TestLoadtestClientRequests checks what the load client sends and what it
// does with net/http's answers: the browser's headers, the form, cookies
// set, replaced and deleted, Content-Length, chunked, gzip and empty bodies
// kept, no redirect followed, one keep-alive connection, and a new one after
// the server's Connection: close.
func TestLoadtestClientRequests(t *testing.T) {
	type seen struct {
		method, path, host, body string
		header                   http.Header
	}
	var (
		mu    sync.Mutex
		got   []seen
		conns atomic.Int64
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Host, string(b), r.Header.Clone()})
		mu.Unlock()
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sess", Value: "one", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: "en", Path: "/", MaxAge: 3600})
			http.SetCookie(w, &http.Cookie{Name: "sec", Value: "x", Path: "/", Secure: true})
			http.Redirect(w, r, "/workspace", http.StatusSeeOther)
		case "/renew":
			http.SetCookie(w, &http.Cookie{Name: "sess", Value: "two", Path: "/"})
			w.WriteHeader(http.StatusNoContent)
		case "/logout":
			http.SetCookie(w, &http.Cookie{Name: "sess", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0)})
			w.Header().Set("Set-Cookie", w.Header().Get("Set-Cookie")) // one header only
			w.Header().Add("Set-Cookie", "lang=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		case "/chunked":
			for i := range 3 {
				io.WriteString(w, strings.Repeat(string(rune('a'+i)), 5000))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, `<meta name="csrf-token" content="tok">`)
			zw.Close()
		default:
			io.WriteString(w, "hello "+r.URL.Path)
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, s := ltTestConn(t, srv.URL)
	ctx := t.Context()
	do := func(r ltRequest, keep bool) ltResponse {
		t.Helper()
		res, err := c.do(ctx, s, &r, keep)
		if err != nil {
			t.Fatalf("%s: %v", r.String(), err)
		}
		return res
	}

	res := do(ltPost("/login", url.Values{"username": {"ana"}, "csrf_token": {"a+b/c="}}), false)
	if res.status != http.StatusSeeOther || res.location != "/workspace" || res.body != nil {
		t.Errorf("POST /login = %+v, want 303 to /workspace, the redirect not followed", res)
	}
	if s.cookies.get("sess") != "one" || s.cookies.get("lang") != "en" || s.cookies.get("sec") != "" {
		t.Errorf("cookies after sign-in: %q", s.cookies.header("/"))
	}
	res = do(ltGet("/api/session?x=1", "application/json"), true)
	if res.status != 200 || string(res.body) != "hello /api/session" {
		t.Errorf("GET = %d %q", res.status, res.body)
	}
	do(ltRequest{method: http.MethodPost, path: "/workspace/sections", hx: true, form: oursWriteForm("t/k", "true")}, false)
	if res = do(ltGet("/renew", ""), true); res.status != http.StatusNoContent || len(res.body) != 0 {
		t.Errorf("GET /renew = %d %q", res.status, res.body)
	}
	do(ltGet("/after-renew", ""), false)
	res = do(ltGet("/chunked", ""), true)
	if want := strings.Repeat("a", 5000) + strings.Repeat("b", 5000) + strings.Repeat("c", 5000); string(res.body) != want {
		t.Errorf("chunked body: %d bytes, want %d", len(res.body), len(want))
	}
	do(ltGet("/chunked", ""), false) // drained, and the connection still works
	if res = do(ltGet("/gzip", ""), true); string(res.body) != `<meta name="csrf-token" content="tok">` {
		t.Errorf("gzip body kept as %q", res.body)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections before Connection: close, want 1 kept alive", n)
	}
	if res = do(ltGet("/close", ""), true); string(res.body) != "bye" {
		t.Errorf("GET /close = %q", res.body)
	}
	do(ltGet("/after-close", ""), false)
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after Connection: close, want a second one", n)
	}
	res = do(ltPost("/logout", nil), false)
	if res.status != http.StatusSeeOther || s.cookies.header("/") != "" {
		t.Errorf("after logout: %d, cookies %q, want none", res.status, s.cookies.header("/"))
	}
	do(ltGet("/after-logout", ""), false)

	mu.Lock()
	defer mu.Unlock()
	byPath := map[string]seen{}
	for _, g := range got {
		if g.host != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("%s %s: Host %q", g.method, g.path, g.host)
		}
		if g.header.Get("User-Agent") != ltUserAgent || g.header.Get("Accept-Language") != ltAcceptLanguage || g.header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("%s %s: browser headers %v", g.method, g.path, g.header)
		}
		byPath[g.path] = g
	}
	for path, want := range map[string]map[string]string{
		"/login": {"Accept": ltDefaultAccept, "Content-Type": "application/x-www-form-urlencoded",
			"Content-Length": "36", "Cookie": "", "HX-Request": ""},
		"/api/session?x=1": {"Accept": "application/json", "Cookie": "sess=one; lang=en", "Content-Type": "", "Content-Length": ""},
		"/workspace/sections": {"HX-Request": "true", "Cookie": "sess=one; lang=en",
			"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "42"},
		"/after-renew":  {"Cookie": "lang=en; sess=two"},
		"/after-close":  {"Cookie": "lang=en; sess=two"},
		"/logout":       {"Content-Length": "0", "Content-Type": "application/x-www-form-urlencoded"},
		"/after-logout": {"Cookie": ""},
	} {
		g, ok := byPath[path]
		if !ok {
			t.Errorf("no request for %s", path)
			continue
		}
		for k, v := range want {
			if g.header.Get(k) != v {
				t.Errorf("%s %s: %s %q, want %q", g.method, path, k, g.header.Get(k), v)
			}
		}
	}
	if b := byPath["/login"].body; b != "csrf_token=a%2Bb%2Fc%3D&username=ana" {
		t.Errorf("POST /login body %q", b)
	}
	if b := byPath["/workspace/sections"].body; b != "csrf_token=t%2Fk&open=true&section=history" {
		t.Errorf("POST /workspace/sections body %q", b)
	}
}

// ltRawServer answers every request on a connection from answers, in turn
// (the last one repeated), reading each request's headers and
// Content-Length body first. An answer "CLOSE" closes the connection
// without answering; one that starts with "CLOSE:" closes it after the rest.
// It allocates nothing per request, for TestLoadtestClientAllocs.
func ltRawServer(t *testing.T, answers ...string) (base string, conns *atomic.Int64) {
	t.Helper()
	raw := make([][]byte, len(answers))
	for i, a := range answers {
		raw[i] = []byte(a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int64{}
	var next atomic.Int64
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					length := 0
					for {
						line, err := br.ReadSlice('\n') // no allocation
						if err != nil {
							return
						}
						if string(line) == "\r\n" {
							break
						}
						if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
							for _, d := range bytes.TrimSpace(v) {
								length = length*10 + int(d-'0')
							}
						}
					}
					if _, err := br.Discard(length); err != nil {
						return
					}
					a := raw[min(int(next.Add(1))-1, len(raw)-1)]
					if string(a) == "CLOSE" {
						return
					}
					a, closeAfter := bytes.CutPrefix(a, []byte("CLOSE:"))
					if _, err := nc.Write(a); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), conns
}

// TestLoadtestClientStaleConnection: a server that closes a kept-alive
// connection without answering gets a GET again on a new connection, as
// net/http's Transport sends it; a POST on a connection in use is not sent
// twice, but one on a connection idle for over a second is.
func TestLoadtestClientStaleConnection(t *testing.T) {
	ctx := t.Context()
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	base, conns := ltRawServer(t, ok, "CLOSE", ok, "CLOSE", ok, "CLOSE", ok)
	lc, s := ltTestConn(t, base)
	get, post := ltGet("/", ""), ltPost("/", url.Values{"a": {"b"}})
	for i, c := range []struct {
		r      ltRequest
		idle   bool
		wantOK bool
	}{
		{get, false, true},   // ok
		{get, false, true},   // CLOSE, then ok on a new connection
		{post, false, false}, // CLOSE: an error
		{post, false, true},  // ok on a new connection
		{post, true, true},   // CLOSE after a long idle: ok on a new one
	} {
		if c.idle {
			lc.lastUse = time.Now().Add(-2 * time.Second)
		}
		res, err := lc.do(ctx, s, &c.r, false)
		if (err == nil && res.status == 200) != c.wantOK {
			t.Errorf("request %d (%s): %d %v, want success %v", i, c.r.String(), res.status, err, c.wantOK)
		}
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("%d connections, want 4", n)
	}
}

// TestLoadtestClientCancel: cancelling the context interrupts a request
// waiting for its answer, and the client still works with another context.
func TestLoadtestClientCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	lc, s := ltTestConn(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	r := ltGet("/slow", "")
	if _, err := lc.do(ctx, s, &r, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	r = ltGet("/fast", "")
	if res, err := lc.do(t.Context(), s, &r, true); err != nil || string(res.body) != "ok" {
		t.Errorf("after the cancel: %q %v", res.body, err)
	}
	// A cancel between requests closes the idle connection; a POST under
	// another context is then sent on a new one, once.
	ctx, cancel = context.WithCancel(t.Context())
	if _, err := lc.do(ctx, s, &r, false); err != nil {
		t.Fatal(err)
	}
	cancel()
	p := ltPost("/form", url.Values{"a": {"b"}})
	if res, err := lc.do(t.Context(), s, &p, true); err != nil || string(res.body) != "ok" {
		t.Errorf("POST after a cancel between requests: %q %v", res.body, err)
	}
}

// TestLoadtestClientSharedSession: users sharing one session (-url with
// more users than -sessions), each on its own connection, send the
// session's cookie while one answer after another renews it.
func TestLoadtestClientSharedSession(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("sess")
		if err != nil || !strings.HasPrefix(c.Value, "v") {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		if i := n.Add(1); i%7 == 0 {
			http.SetCookie(w, &http.Cookie{Name: "sess", Value: "v" + strconv.FormatInt(i, 10), Path: "/"})
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	s := &ltSession{}
	s.cookies.setCookie("sess=v0; Path=/", time.Now())
	var wg sync.WaitGroup
	for range 4 {
		c, err := newLTConn(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.shutdown()
		wg.Go(func() {
			for range 100 {
				r := ltGet("/api/session", "application/json")
				if res, err := c.do(t.Context(), s, &r, false); err != nil || res.status != 200 {
					t.Errorf("%d %v", res.status, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v := s.cookies.get("sess"); v == "v0" {
		t.Errorf("session cookie never renewed: %q", v)
	}
}

// TestLoadtestClientCookies: the cookie holder replaces by name and path,
// removes on Max-Age=0 or a past Expires, keeps a future one, path-matches,
// drops Secure cookies, and serves readers while it is updated.
func TestLoadtestClientCookies(t *testing.T) {
	var j ltCookies
	now := time.Now()
	for _, l := range []string{
		"a=1; Path=/; HttpOnly; SameSite=Lax",
		"b=2",
		"c=3; Path=/admin",
		"d=4; Secure; Path=/",
		"e=5; Max-Age=3600",
		"f=6; Expires=" + now.Add(time.Hour).UTC().Format(http.TimeFormat),
		"not a cookie",
	} {
		j.setCookie(l, now)
	}
	if h := j.header("/"); h != "a=1; b=2; e=5; f=6" {
		t.Errorf("header(/) = %q", h)
	}
	if h := j.header("/admin/x?q=1"); h != "a=1; b=2; c=3; e=5; f=6" {
		t.Errorf("header(/admin/x) = %q", h)
	}
	if h := j.header("/administrator"); strings.Contains(h, "c=3") {
		t.Errorf("header(/administrator) = %q: /admin does not path-match it", h)
	}
	j.setCookie("a=9; Path=/", now)
	j.setCookie("b=; Max-Age=0", now)
	j.setCookie("e=; Expires=Thu, 01 Jan 1970 00:00:01 GMT", now)
	j.setCookie("c=; Path=/admin; Max-Age=-1", now)
	if h := j.header("/admin"); h != "f=6; a=9" {
		t.Errorf("after updates: %q", h)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for n := range 200 {
				if i == 0 {
					j.setCookie("s=v"+string(rune('0'+n%10)), now)
				} else if h := j.header("/"); !strings.HasPrefix(h, "f=6; a=9") {
					t.Errorf("concurrent header %q", h)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLoadtestClientAllocs: a request on a kept-alive connection, cookies
// and all, allocates nothing in the client (the server here is a canned one
// that allocates nothing per request either; net/http's client made about
// 70 allocations per request: BenchmarkLoadtestClient). fasthttp reuses the
// Request, the Response and their buffers; the bound of 1 leaves room for
// its pooled bufio.Reader and Writer made again after a GC empties the pool.
func TestLoadtestClientAllocs(t *testing.T) {
	base, _ := ltRawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"user\":\"lt-analyst-001\"}\r\n")
	lc, s := ltTestConn(t, base)
	s.cookies.setCookie("sc_session=abcdefghijklmnopqrstuvwxyz0123456789; Path=/; HttpOnly", time.Now())
	ctx := t.Context()
	r := ltGet("/api/session", "application/json")
	for range 10 {
		if _, err := lc.do(ctx, s, &r, false); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(200, func() {
		if res, err := lc.do(ctx, s, &r, false); err != nil || res.status != 200 {
			t.Fatalf("%d %v", res.status, err)
		}
	})
	if n > 1 {
		t.Errorf("%.1f allocations per request and answer, want at most 1", n)
	}
}

// BenchmarkLoadtestClient compares the load client (fasthttp) with the
// net/http client and cookie jar it replaced, against the same net/http server; run with
// -benchmem. The difference of the two is the client's cost.
func BenchmarkLoadtestClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":"lt-analyst-001","role":"analyst"}`)
	}))
	defer srv.Close()
	cookie := &http.Cookie{Name: "sc_session", Value: strings.Repeat("x", 43), Path: "/"}
	b.Run("fasthttp", func(b *testing.B) {
		lc, err := newLTConn(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer lc.shutdown()
		s := &ltSession{conn: lc}
		s.cookies.setCookie(cookie.String(), time.Now())
		r := ltGet("/api/session", "application/json")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := lc.do(b.Context(), s, &r, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net/http", func(b *testing.B) {
		jar, err := cookiejar.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(srv.URL)
		jar.SetCookies(u, []*http.Cookie{cookie})
		c := &http.Client{Jar: jar, Transport: &http.Transport{}, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			ctx := b.Context()
			r, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/session", nil)
			r.Header.Set("User-Agent", ltUserAgent)
			r.Header.Set("Accept-Language", ltAcceptLanguage)
			r.Header.Set("Accept", "application/json")
			res, err := c.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}
