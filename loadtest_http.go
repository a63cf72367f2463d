package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// The load clients' HTTP/1.1 is fasthttp's HostClient, a client built for a
// low cost per request: clients and server share the process and its CPU,
// and net/http's Client (cookie jar, redirect logic, the Transport's read and
// write goroutines and their channel handoffs, a header map per request and
// response) cost about as much CPU per request as the server under test.
// Each ltConn is one HostClient with one keep-alive connection (MaxConns 1)
// and its own fasthttp.Request and Response, reused for every request, used
// by one goroutine at a time; fasthttp reads the answer (Content-Length,
// chunked or to the close, interim 1xx skipped, Connection: close honoured)
// into the Response's reused buffer. What the browser acts on is done here:
// the session's cookies (ltCookies), no redirect followed (HostClient.Do
// never follows one), gzip undone on a body that is kept, and a cancelled
// context closing the connection under the request.

const (
	ltDialTimeout     = 5 * time.Second
	ltRequestTimeout  = 30 * time.Second // as the http.Client's Timeout was
	ltMaxKeptBody     = 4 << 20          // a body kept in memory is cut here
	ltReadBufferBytes = 16 << 10         // also the longest response header
	ltIdleRetryAfter  = time.Second      // a POST is sent again on a connection idle this long
	ltDefaultAccept   = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
)

// ltRequest is one request of the simulated browser. Every request carries
// Host, User-Agent, Accept-Language, Accept, the session's cookies and
// Accept-Encoding: gzip (as net/http's Transport sends it); a POST also
// Content-Type: application/x-www-form-urlencoded and Content-Length.
type ltRequest struct {
	method string
	path   string // with the query, if any
	accept string // "": a browser's Accept for pages
	hx     bool   // HX-Request: true, as htmx sends it
	form   string // a POST's body, URL-encoded
}

func ltGet(path, accept string) ltRequest {
	return ltRequest{method: http.MethodGet, path: path, accept: accept}
}

func ltPost(path string, form url.Values) ltRequest {
	return ltRequest{method: http.MethodPost, path: path, form: form.Encode()}
}

func (r *ltRequest) String() string { return r.method + " " + r.path }

// ltResponse is an answer read to the end.
type ltResponse struct {
	status   int
	location string
	body     []byte // only when asked for
}

// ltCookies is a browser session's cookies, as a cookie jar holds them for
// one host: Set-Cookie adds or replaces a cookie by name and path, and
// removes it with Max-Age=0 (or negative) or an Expires in the past. A
// Secure cookie is never sent over plain HTTP, so it is not kept; Domain
// is ignored (a loopback host takes host-only cookies), and a cookie without
// Path is kept for "/" (the servers set Path=/). Cookies with a future expiry
// are kept for the run. Safe for concurrent use: with -url, several users
// share one session.
type ltCookies struct {
	mu  sync.Mutex                  // serialises updates
	cur atomic.Pointer[ltCookieSet] // read without the lock on every request
}

type ltCookieSet struct {
	list []*http.Cookie // Name, Value and Path only
	all  string         // the Cookie header when every cookie has Path=/
	root bool           // ... which they do
}

// header is the Cookie header for a request to path: "" for none.
func (j *ltCookies) header(path string) string {
	set := j.cur.Load()
	if set == nil {
		return ""
	}
	if set.root {
		return set.all
	}
	var b strings.Builder
	for _, c := range set.list {
		if ltPathMatch(path, c.Path) {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(c.Name + "=" + c.Value)
		}
	}
	return b.String()
}

// ltPathMatch is RFC 6265's path-match.
func ltPathMatch(reqPath, cookiePath string) bool {
	if i := strings.IndexByte(reqPath, '?'); i >= 0 {
		reqPath = reqPath[:i]
	}
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return len(reqPath) == len(cookiePath) || strings.HasSuffix(cookiePath, "/") || reqPath[len(cookiePath)] == '/'
}

// setCookie applies one Set-Cookie header; an unparsable one is ignored, as
// a browser ignores it.
func (j *ltCookies) setCookie(line string, now time.Time) {
	c, err := http.ParseSetCookie(line)
	if err != nil || c.Secure {
		return
	}
	if c.Path == "" || c.Path[0] != '/' {
		c.Path = "/"
	}
	remove := c.MaxAge < 0 || c.MaxAge == 0 && !c.Expires.IsZero() && !c.Expires.After(now)
	j.mu.Lock()
	defer j.mu.Unlock()
	var list []*http.Cookie
	if old := j.cur.Load(); old != nil {
		for _, o := range old.list {
			if o.Name != c.Name || o.Path != c.Path {
				list = append(list, o)
			}
		}
	}
	if !remove {
		list = append(list, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path})
	}
	set := &ltCookieSet{list: list, root: true}
	var parts []string
	for _, o := range list {
		set.root = set.root && o.Path == "/"
		parts = append(parts, o.Name+"="+o.Value)
	}
	set.all = strings.Join(parts, "; ")
	j.cur.Store(set)
}

// get is the value of the cookie named name, "" if there is none.
func (j *ltCookies) get(name string) string {
	if set := j.cur.Load(); set != nil {
		for _, c := range set.list {
			if c.Name == name {
				return c.Value
			}
		}
	}
	return ""
}

// ltConn is one simulated browser connection to the server at addr: a
// fasthttp.HostClient limited to one connection, and the Request and
// Response it reuses.
type ltConn struct {
	hc   *fasthttp.HostClient
	host string // the Host header
	req  fasthttp.Request
	resp fasthttp.Response

	mu  sync.Mutex      // guards nc and ctx: interrupt runs from other goroutines
	nc  net.Conn        // the connection last dialled, nil: none
	ctx context.Context // the context requests are made under, for the dialler

	// Used only by the goroutine sending requests (RetryIfErr runs in it).
	method   string        // the request under way's
	idle     bool          // ... and whether its connection sat idle for ltIdleRetryAfter
	lastUse  time.Time     // when the last answer (or error) came
	deadline time.Time     // nc's (the dialler runs in this goroutine too)
	unwatch  func() bool   // stops ctx's interrupt
	stopped  chan struct{} // closed when ctx's interrupt, once started, is done
}

// newLTConn is a client for base, http://host[:port].
func newLTConn(base string) (*ltConn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("loadtest: base URL %q: want http://host:port", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	c := &ltConn{host: u.Host}
	c.hc = &fasthttp.HostClient{
		Addr:                      addr,
		Dial:                      c.dial,
		MaxConns:                  1, // one user, one request at a time
		MaxIdemponentCallAttempts: 2, // one retry, decided by retry
		RetryIfErr:                c.retry,
		ReadBufferSize:            ltReadBufferBytes,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true, // the path as given
	}
	return c, nil
}

// dial opens the connection, under the requests' context so that a cancel
// interrupts a dial too.
func (c *ltConn) dial(addr string) (net.Conn, error) {
	c.mu.Lock()
	ctx := c.ctx
	c.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	d := net.Dialer{Timeout: ltDialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.deadline = time.Now().Add(ltRequestTimeout)
	if err := nc.SetDeadline(c.deadline); err != nil {
		nc.Close()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil { // cancelled while dialling: interrupt saw no connection
		nc.Close()
		return nil, err
	}
	c.nc = nc
	return nc, nil
}

// interrupt closes the connection: a request under way fails at once, and
// the HostClient drops the connection (an idle one fails its next write, and
// retry sends the request again on a new one). It is how a cancelled context
// interrupts a request, since fasthttp's client takes no context.
func (c *ltConn) interrupt() {
	c.mu.Lock()
	nc := c.nc
	c.nc = nil
	c.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
}

// shutdown closes the connection for good.
func (c *ltConn) shutdown() {
	c.unwatchCtx()
	c.hc.CloseIdleConnections()
	c.interrupt()
}

// unwatchCtx stops the interrupt on a cancel of the context requests were
// made under; one that has started is waited for, so that it cannot close
// the connection under a request made under the next context.
func (c *ltConn) unwatchCtx() {
	if c.unwatch != nil && !c.unwatch() {
		<-c.stopped
	}
	c.unwatch, c.stopped = nil, nil
}

// retry is the HostClient's RetryIfErr: a request that failed before any
// answer arrived (fasthttp reports any failure on the first byte as io.EOF,
// and a failed write as that write's error) is sent once more on a new
// connection, as net/http's Transport does, when it is a GET, or when the
// connection sat idle for over ltIdleRetryAfter (the server may have closed
// it then, without seeing the request), or when interrupt closed an idle
// connection (nothing was sent on it). Not after a cancel.
func (c *ltConn) retry(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts > 1 || c.ctx.Err() != nil {
		return false, false
	}
	if errors.Is(err, net.ErrClosed) {
		return false, true
	}
	nothingRead := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	return false, nothingRead && (c.method == http.MethodGet || c.idle)
}

// do sends r with s's cookies and reads the answer to the end: kept in memory
// if keepBody (up to ltMaxKeptBody, gzip undone), else dropped. Set-Cookie
// headers update s's cookies; no redirect is followed. A request fails when
// ctx is cancelled (interrupt closes the connection under it) or after
// ltRequestTimeout (20 to 30 s: the connection's deadline, set when it is
// dialled, is moved on only every 10 s).
func (c *ltConn) do(ctx context.Context, s *ltSession, r *ltRequest, keepBody bool) (ltResponse, error) {
	if err := ctx.Err(); err != nil {
		return ltResponse{}, err
	}
	if ctx != c.ctx {
		// One watcher per context (a user's whole run), not per request.
		c.unwatchCtx()
		c.mu.Lock()
		c.ctx = ctx
		c.mu.Unlock()
		stopped := make(chan struct{})
		c.unwatch = context.AfterFunc(ctx, func() {
			defer close(stopped)
			c.interrupt()
		})
		c.stopped = stopped
	}
	req, resp := &c.req, &c.resp
	req.Reset()
	req.Header.SetMethod(r.method)
	req.Header.SetRequestURI(r.path)
	req.Header.SetHost(c.host)
	req.Header.SetUserAgent(ltUserAgent)
	req.Header.Set("Accept-Language", ltAcceptLanguage)
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	} else {
		req.Header.Set("Accept", ltDefaultAccept)
	}
	if r.hx {
		req.Header.Set("HX-Request", "true")
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(r.form) // Content-Length is set from it
	}
	ck := ""
	if s != nil {
		ck = s.cookies.header(r.path)
	}
	if ck != "" {
		req.Header.Set("Cookie", ck)
	}
	req.Header.Set("Accept-Encoding", "gzip")

	c.method = r.method
	now := time.Now()
	c.idle = now.Sub(c.lastUse) > ltIdleRetryAfter
	if now.Add(ltRequestTimeout - 10*time.Second).After(c.deadline) {
		// The kept connection's deadline, moved on only every 10 s
		// rather than the two deadlines (timer updates) per request that
		// fasthttp's DoTimeout sets.
		c.mu.Lock()
		nc := c.nc
		c.mu.Unlock()
		if nc != nil {
			c.deadline = now.Add(ltRequestTimeout)
			_ = nc.SetDeadline(c.deadline) // a closed one is dialled again
		}
	}
	err := c.hc.Do(req, resp)
	c.lastUse = time.Now()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return ltResponse{}, cerr
		}
		return ltResponse{}, err
	}
	res := ltResponse{status: resp.StatusCode()}
	if loc := resp.Header.Peek("Location"); len(loc) > 0 {
		res.location = string(loc)
	}
	if s != nil {
		var now time.Time
		for _, line := range resp.Header.Cookies() {
			if now.IsZero() {
				now = time.Now()
			}
			s.cookies.setCookie(string(line), now)
		}
	}
	if keepBody {
		body := resp.Body()
		if bytes.EqualFold(resp.Header.ContentEncoding(), []byte("gzip")) {
			if body, err = resp.BodyGunzip(); err != nil {
				return res, fmt.Errorf("gzip body: %w", err)
			}
		}
		res.body = bytes.Clone(body[:min(len(body), ltMaxKeptBody)])
	}
	return res, nil
}
