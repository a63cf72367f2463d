package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The load clients' HTTP/1.1, kept light so that the load test measures the
// servers rather than itself: clients and server share the process and its
// CPU, and net/http's Client (cookie jar, redirect logic, the Transport's
// read and write goroutines and their channel handoffs, a header map per
// request and response) cost about as much CPU per request as the server
// under test. Each ltConn is one keep-alive connection used by one goroutine
// at a time: a request is written with one write from a reused buffer, and
// the answer read through a bufio.Reader with only the headers the browser
// acts on looked at (Content-Length, Transfer-Encoding, Connection,
// Location, Set-Cookie, Content-Encoding) and its body drained, so a request
// allocates next to nothing. Bodies are Content-Length, chunked or (without
// either) read to the close; a connection the server closes, or answers
// with Connection: close, is dialled again for the next request.

const (
	ltDialTimeout     = 5 * time.Second
	ltRequestTimeout  = 30 * time.Second // as the http.Client's Timeout was
	ltMaxKeptBody     = 4 << 20          // a body read into memory is cut here
	ltReadBufferBytes = 16 << 10         // also the longest header line
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

// ltConn is one simulated browser connection to the server at addr.
type ltConn struct {
	addr string // host:port to dial
	host string // the Host header

	mu sync.Mutex // guards nc: close runs from other goroutines
	nc net.Conn   // nil: not connected

	// Used only by the goroutine sending requests.
	br       *bufio.Reader
	wbuf     []byte
	body     []byte
	deadline time.Time // nc's deadline
	lastUse  time.Time
	watched  context.Context
	unwatch  func() bool
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
	return &ltConn{addr: addr, host: u.Host}, nil
}

// close closes the connection; a request under way fails. It is how a
// cancelled context interrupts a request.
func (c *ltConn) close() {
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
	if c.unwatch != nil {
		c.unwatch()
		c.unwatch, c.watched = nil, nil
	}
	c.close()
}

// drop closes nc if it is still the connection.
func (c *ltConn) drop(nc net.Conn) {
	c.mu.Lock()
	if c.nc == nc {
		c.nc = nil
	}
	c.mu.Unlock()
	nc.Close()
}

// errNothingRead marks a failure before any byte of the answer arrived.
type errNothingRead struct{ err error }

func (e errNothingRead) Error() string { return e.err.Error() }
func (e errNothingRead) Unwrap() error { return e.err }

// do sends r with s's cookies and reads the answer to the end: into memory
// if keepBody (up to ltMaxKeptBody), else discarded. Set-Cookie headers
// update s's cookies; no redirect is followed. A request fails when ctx is
// cancelled (the connection is closed under it) or after ltRequestTimeout
// (20 to 30 s: the connection's deadline is moved on only every 10 s). A
// request that fails on a reused connection before any answer arrived is
// sent once more on a new one, as net/http's Transport does, when it is a
// GET, or when the connection sat idle for over a second (the server may
// have closed it then, without seeing the request).
func (c *ltConn) do(ctx context.Context, s *ltSession, r *ltRequest, keepBody bool) (ltResponse, error) {
	if err := ctx.Err(); err != nil {
		return ltResponse{}, err
	}
	if ctx != c.watched {
		// One watcher per context (a user's whole run), not per request.
		if c.unwatch != nil {
			c.unwatch()
		}
		c.watched, c.unwatch = ctx, context.AfterFunc(ctx, c.close)
	}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		nc := c.nc
		c.mu.Unlock()
		reused := nc != nil
		if nc == nil {
			var err error
			if nc, err = c.dial(ctx); err != nil {
				return ltResponse{}, err
			}
		}
		now := time.Now()
		idle := reused && now.Sub(c.lastUse) > time.Second
		if now.Add(ltRequestTimeout - 10*time.Second).After(c.deadline) {
			c.deadline = now.Add(ltRequestTimeout)
			if err := nc.SetDeadline(c.deadline); err != nil {
				c.drop(nc)
				return ltResponse{}, err
			}
		}
		res, closeAfter, err := c.exchange(nc, s, r, keepBody)
		c.lastUse = time.Now()
		if err == nil {
			if closeAfter {
				c.drop(nc)
			}
			return res, nil
		}
		c.drop(nc)
		if cerr := ctx.Err(); cerr != nil {
			return ltResponse{}, cerr
		}
		var nothing errNothingRead
		if attempt == 0 && reused && errors.As(err, &nothing) && (r.method == http.MethodGet || idle) {
			continue
		}
		return ltResponse{}, err
	}
}

func (c *ltConn) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: ltDialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.nc = nc
	c.mu.Unlock()
	if ctx.Err() != nil { // cancelled while dialling: close saw no connection
		c.drop(nc)
		return nil, ctx.Err()
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, ltReadBufferBytes)
	} else {
		c.br.Reset(nc)
	}
	c.deadline = time.Time{}
	return nc, nil
}

// exchange writes r and reads its answer. closeAfter says the connection
// cannot carry another request.
func (c *ltConn) exchange(nc net.Conn, s *ltSession, r *ltRequest, keepBody bool) (res ltResponse, closeAfter bool, err error) {
	w := append(c.wbuf[:0], r.method...)
	w = append(w, ' ')
	w = append(w, r.path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, c.host...)
	w = append(w, "\r\nUser-Agent: "+ltUserAgent+"\r\nAccept-Language: "+ltAcceptLanguage+"\r\nAccept: "...)
	if r.accept != "" {
		w = append(w, r.accept...)
	} else {
		w = append(w, ltDefaultAccept...)
	}
	w = append(w, "\r\n"...)
	if r.hx {
		w = append(w, "HX-Request: true\r\n"...)
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		w = append(w, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(r.form)), 10)
		w = append(w, "\r\n"...)
	}
	if s != nil {
		if ck := s.cookies.header(r.path); ck != "" {
			w = append(w, "Cookie: "...)
			w = append(w, ck...)
			w = append(w, "\r\n"...)
		}
	}
	w = append(w, "Accept-Encoding: gzip\r\n\r\n"...)
	w = append(w, r.form...)
	c.wbuf = w
	if _, err := nc.Write(w); err != nil {
		return res, true, errNothingRead{err}
	}
	var cookies *ltCookies
	if s != nil {
		cookies = &s.cookies
	}
	if keepBody {
		c.body = c.body[:0]
	}
	res, closeAfter, err = readLTResponse(c.br, r.method, cookies, keepBody, &c.body)
	if err == nil && keepBody {
		res.body = bytes.Clone(c.body)
	}
	return res, closeAfter, err
}

// readLTResponse reads one answer to a request of method from br: the status
// line, the headers (Set-Cookie applied to cookies, if not nil), and the
// body, appended to *body if keepBody (gzip undone), else discarded.
// Interim 1xx answers are skipped. closeAfter says the connection is done.
func readLTResponse(br *bufio.Reader, method string, cookies *ltCookies, keepBody bool, body *[]byte) (res ltResponse, closeAfter bool, err error) {
	var (
		length  int64
		chunked bool
		gz      bool
	)
	for first := true; ; first = false {
		line, err := ltReadLine(br)
		if err != nil {
			if first && len(line) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				err = errNothingRead{err}
			}
			return res, true, err
		}
		// HTTP/1.x SP 3DIGIT [SP reason]
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
			return res, true, fmt.Errorf("malformed status line %q", line)
		}
		status := 0
		for _, d := range line[9:12] {
			if d < '0' || d > '9' {
				return res, true, fmt.Errorf("malformed status line %q", line)
			}
			status = status*10 + int(d-'0')
		}
		res = ltResponse{status: status}
		http10 := line[7] == '0'
		closeAfter = http10 // HTTP/1.0 closes unless told otherwise
		length, chunked, gz = -1, false, false
		for {
			line, err = ltReadLine(br)
			if err != nil {
				return res, true, err
			}
			if len(line) == 0 {
				break
			}
			i := bytes.IndexByte(line, ':')
			if i <= 0 {
				if line[0] == ' ' || line[0] == '\t' {
					continue // obsolete line folding: not a header we read
				}
				return res, true, fmt.Errorf("malformed header line %q", line)
			}
			name, val := line[:i], bytes.TrimSpace(line[i+1:])
			switch {
			case ltIs(name, "Content-Length"):
				n, perr := strconv.ParseInt(string(val), 10, 64)
				if perr != nil || n < 0 || length >= 0 && n != length {
					return res, true, fmt.Errorf("bad Content-Length %q", val)
				}
				length = n
			case ltIs(name, "Transfer-Encoding"):
				if !ltIs(val, "chunked") {
					return res, true, fmt.Errorf("unsupported Transfer-Encoding %q", val)
				}
				chunked = true
			case ltIs(name, "Connection"):
				for tok := range bytes.SplitSeq(val, []byte(",")) {
					switch tok = bytes.TrimSpace(tok); {
					case ltIs(tok, "close"):
						closeAfter = true
					case ltIs(tok, "keep-alive") && http10:
						closeAfter = false
					}
				}
			case ltIs(name, "Location"):
				res.location = string(val)
			case ltIs(name, "Set-Cookie"):
				if cookies != nil {
					cookies.setCookie(string(val), time.Now())
				}
			case ltIs(name, "Content-Encoding"):
				gz = ltIs(val, "gzip")
			}
		}
		if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
			continue // an interim answer; the real one follows
		}
		break
	}
	if chunked {
		length = -1 // Transfer-Encoding wins over Content-Length
	}
	start := len(*body)
	switch {
	case method == http.MethodHead || res.status == http.StatusNoContent || res.status == http.StatusNotModified ||
		res.status < 200:
	case chunked:
		err = ltReadChunked(br, keepBody, body)
	case length >= 0:
		err = ltReadBody(br, length, keepBody, body)
	default: // the body runs to the close
		closeAfter = true
		err = ltReadBody(br, -1, keepBody, body)
	}
	if err != nil {
		return res, true, err
	}
	if keepBody && gz {
		zr, zerr := gzip.NewReader(bytes.NewReader((*body)[start:]))
		if zerr != nil {
			return res, true, fmt.Errorf("gzip body: %w", zerr)
		}
		plain, zerr := io.ReadAll(io.LimitReader(zr, ltMaxKeptBody))
		if zerr != nil {
			return res, true, fmt.Errorf("gzip body: %w", zerr)
		}
		*body = append((*body)[:start], plain...)
	}
	return res, closeAfter, nil
}

// ltIs says whether b is s, ASCII case folded.
func ltIs(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ltReadLine reads one CRLF (or LF) terminated line, without it. The slice
// points into br's buffer: valid until the next read.
func ltReadLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("header line longer than %d bytes", br.Size())
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// ltReadBody reads n bytes (n < 0: up to EOF), kept in *body up to
// ltMaxKeptBody or discarded.
func ltReadBody(br *bufio.Reader, n int64, keep bool, body *[]byte) error {
	for n != 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if n < 0 && errors.Is(err, io.EOF) {
					return nil
				}
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		chunk := int64(br.Buffered())
		if n >= 0 {
			chunk = min(chunk, n)
		}
		if keep {
			p, _ := br.Peek(int(chunk))
			if room := ltMaxKeptBody - len(*body); room > 0 {
				*body = append(*body, p[:min(len(p), room)]...)
			}
		}
		br.Discard(int(chunk))
		if n > 0 {
			n -= chunk
		}
	}
	return nil
}

// ltReadChunked reads a chunked body and its trailer.
func ltReadChunked(br *bufio.Reader, keep bool, body *[]byte) error {
	for {
		line, err := ltReadLine(br)
		if err != nil {
			return ltUnexpectedEOF(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 62)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for { // the trailer, up to the empty line
				line, err = ltReadLine(br)
				if err != nil {
					return ltUnexpectedEOF(err)
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := ltReadBody(br, int64(size), keep, body); err != nil {
			return err
		}
		if line, err = ltReadLine(br); err != nil {
			return ltUnexpectedEOF(err)
		}
		if len(line) != 0 {
			return errors.New("chunk not followed by CRLF")
		}
	}
}

func ltUnexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
