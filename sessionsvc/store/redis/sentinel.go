package redis

// Connections to the primary: the server named by Options.URL, or the one
// Redis Sentinel names (SENTINEL get-master-addr-by-name, asking each sentinel
// in turn), with AUTH (requirepass or an ACL user), TLS, a ROLE check of
// connections that idled, the dropping of connections to a demoted primary,
// and WAIT for one replica after the end scripts.
//
// No Sentinel client for redigo is used: this is the small part of one the
// store needs (see https://redis.io/docs/latest/develop/reference/sentinel-clients/).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// SentinelOptions finds the primary through Redis Sentinel.
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the primary under
	// (sentinel monitor <name> ...). "" means no Sentinel: the host of
	// Options.URL is the server.
	MasterName string
	// Addrs are the sentinels' host:port, asked in turn until one names the
	// primary; the one that answered is asked first next time.
	Addrs []string
	// Username and Password authenticate to the sentinels themselves (their
	// requirepass, or an ACL user), not to the data nodes.
	Username, Password string
	// TLS makes the connections to the sentinels use TLS, verified as the
	// data nodes' are (Options.CAFile or the system roots).
	TLS bool
	// RoleCheckIdle: a pooled connection idle for longer than this is asked
	// ROLE before it is lent out, and dropped unless it reaches a primary.
	// Busier connections are not checked (no round trip per request): a
	// demoted primary answers their writes with READONLY, which drops them.
	// Default 1 s.
	RoleCheckIdle time.Duration
}

// defaultReplicaWait bounds the WAIT after an end when Options.ReplicaWait is 0.
const defaultReplicaWait = 100 * time.Millisecond

// replicaRecheck is how long a count of the primary's replicas (from ROLE) is
// trusted before the next end asks again.
const replicaRecheck = 10 * time.Second

// ha is the connection side of a Store: how it dials, and its replica WAIT.
type ha struct {
	d    *dialer
	wait replicaWait
}

// dialer dials the primary for the pool.
type dialer struct {
	addr     string // host:port without Sentinel
	nodeOpts []redigo.DialOption
	sentinel *sentinels // nil without Sentinel
	roleIdle time.Duration
	log      *slog.Logger

	current  atomic.Pointer[string] // the primary at the last dial (Sentinel)
	onSwitch func()                 // called when that address changes
}

// newDialer reads the URL and options (after New's defaults). host names the
// server in error messages; it never holds a password.
func newDialer(opts Options, log *slog.Logger) (d *dialer, host string, err error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		// url.Parse errors quote the URL, which may hold a password.
		return nil, "", errors.New("redis: malformed redis URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("redis: URL scheme %q: want redis or rediss", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, "", errors.New("redis: malformed redis URL (want redis://[user:password@]host:port/db)")
	}
	db := 0
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return nil, "", fmt.Errorf("redis: URL database %q is not a number", p)
		}
	}
	user, pass := urlAuth(u)
	if opts.Username != "" || opts.Password != "" {
		user, pass = opts.Username, opts.Password
	}
	var tlsCfg *tls.Config
	if opts.CAFile != "" {
		if tlsCfg, err = loadCA(opts.CAFile); err != nil {
			return nil, "", err
		}
	}
	common := []redigo.DialOption{
		redigo.DialConnectTimeout(opts.DialTimeout),
		redigo.DialReadTimeout(opts.ReadTimeout),
		redigo.DialWriteTimeout(opts.WriteTimeout),
		redigo.DialTLSHandshakeTimeout(opts.DialTimeout),
	}
	withTLS := func(o []redigo.DialOption, on bool) []redigo.DialOption {
		if !on {
			return o
		}
		o = append(o, redigo.DialUseTLS(true))
		if tlsCfg != nil {
			o = append(o, redigo.DialTLSConfig(tlsCfg))
		}
		return o
	}
	withAuth := func(o []redigo.DialOption, user, pass string) []redigo.DialOption {
		if pass == "" {
			return o
		}
		if user != "" {
			o = append(o, redigo.DialUsername(user))
		}
		return append(o, redigo.DialPassword(pass))
	}
	d = &dialer{log: log}
	d.nodeOpts = withAuth(withTLS(append([]redigo.DialOption(nil), common...), u.Scheme == "rediss"), user, pass)
	d.nodeOpts = append(d.nodeOpts, redigo.DialDatabase(db))

	so := opts.Sentinel
	if so.MasterName == "" {
		// As redigo's DialURL: the host defaults to localhost, the port to 6379.
		h, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			h, port = u.Host, "6379"
		}
		if h == "" {
			h = "localhost"
		}
		d.addr = net.JoinHostPort(h, port)
		return d, u.Host, nil
	}
	if len(so.Addrs) == 0 {
		return nil, "", fmt.Errorf("redis: sentinel master %q: no sentinel addresses", so.MasterName)
	}
	d.roleIdle = so.RoleCheckIdle
	if d.roleIdle <= 0 {
		d.roleIdle = time.Second
	}
	d.sentinel = &sentinels{
		master:  so.MasterName,
		addrs:   append([]string(nil), so.Addrs...),
		opts:    withAuth(withTLS(append([]redigo.DialOption(nil), common...), so.TLS), so.Username, so.Password),
		stagger: min(sentinelStagger, opts.ReadTimeout/4),
	}
	return d, fmt.Sprintf("primary %q via sentinels %s", so.MasterName, strings.Join(so.Addrs, ",")), nil
}

// urlAuth is the user and password of a redis URL, read as redigo's DialURL
// does: redis://user:pass@ is an ACL user, redis://:pass@ requirepass, and a
// lone redis://pass@ is a password too (as redis-cli reads it).
func urlAuth(u *url.URL) (user, pass string) {
	if u.User == nil {
		return "", ""
	}
	if p, ok := u.User.Password(); ok {
		return u.User.Username(), p
	}
	return "", u.User.Username()
}

// loadCA makes a TLS configuration that trusts only the certificates of a PEM
// file, in place of the system roots.
func loadCA(path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("redis: read CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("redis: CA file %s holds no PEM certificate", path)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// dial connects to the primary: Options.URL's server, or the one the
// sentinels name, whose ROLE must then be master (a sentinel that has not yet
// seen a failover may still name the old one).
func (d *dialer) dial(ctx context.Context) (redigo.Conn, error) {
	addr := d.addr
	if d.sentinel != nil {
		a, err := d.sentinel.primary(ctx)
		if err != nil {
			return nil, err
		}
		addr = a
	}
	c, err := redigo.DialContext(ctx, "tcp", addr, d.nodeOpts...)
	if err != nil {
		if d.sentinel != nil {
			d.sentinel.forget(addr)
		}
		return nil, err
	}
	if d.sentinel != nil {
		role, _, err := roleOf(redigo.DoContext(c, ctx, "ROLE"))
		if err == nil && role != "master" {
			err = fmt.Errorf("it is a %s (failover in progress?)", role)
		}
		if err != nil {
			c.Close()
			d.sentinel.forget(addr)
			return nil, fmt.Errorf("redis: %s, named primary %q by a sentinel: %w", addr, d.sentinel.master, err)
		}
		if prev := d.current.Swap(&addr); prev == nil || *prev != addr {
			if prev != nil {
				d.log.Warn("redis primary changed", slog.String("master", d.sentinel.master),
					slog.String("from", *prev), slog.String("to", addr))
			}
			if d.onSwitch != nil {
				d.onSwitch()
			}
		}
	}
	nc := &nodeConn{Conn: c, addr: addr}
	if d.sentinel != nil {
		nc.onFail = func() { d.sentinel.forget(addr) }
	}
	return nc, nil
}

var errOldPrimary = errors.New("redis: connection to a former primary")

// testOnBorrow is the pool's check with Sentinel: a connection to another
// server than the one the last dial found is dropped without a round trip;
// one idle for longer than roleIdle must answer ROLE with master.
func (d *dialer) testOnBorrow(c redigo.Conn, idleSince time.Time) error {
	if nc, ok := c.(*nodeConn); ok {
		if cur := d.current.Load(); cur != nil && *cur != nc.addr {
			return errOldPrimary
		}
	}
	if time.Since(idleSince) < d.roleIdle {
		return nil
	}
	role, _, err := roleOf(c.Do("ROLE"))
	if err != nil {
		return err
	}
	if role != "master" {
		return fmt.Errorf("redis: the server became a %s", role)
	}
	return nil
}

// roleOf reads a ROLE reply: the role (master, slave, sentinel) and, for a
// master, how many replicas are connected.
func roleOf(reply any, err error) (role string, replicas int, _ error) {
	if err != nil {
		var re redigo.Error
		if errors.As(err, &re) && strings.HasPrefix(string(re), "NOPERM") {
			return "", 0, fmt.Errorf("%w (the ACL user needs +role)", err)
		}
		return "", 0, err
	}
	v, err := redigo.Values(reply, nil)
	if err != nil || len(v) == 0 {
		return "", 0, fmt.Errorf("redis: malformed ROLE reply")
	}
	role, err = redigo.String(v[0], nil)
	if err != nil {
		return "", 0, fmt.Errorf("redis: malformed ROLE reply")
	}
	if role == "master" && len(v) >= 3 {
		if rs, err := redigo.Values(v[2], nil); err == nil {
			replicas = len(rs)
		}
	}
	return role, replicas, nil
}

// sentinels asks Sentinel where the primary is.
type sentinels struct {
	master  string
	opts    []redigo.DialOption
	stagger time.Duration // how long one sentinel has before the next is asked too

	mu       sync.Mutex
	addrs    []string // the last one that answered first
	cached   string   // the primary named last, until forgotten or too old
	cachedAt time.Time
}

// sentinelStagger is how long a sentinel has to answer before the next one is
// asked as well (at most a quarter of the read timeout): a hung sentinel
// costs that much, not the whole of a call's bound.
const sentinelStagger = 100 * time.Millisecond

// primaryCacheAge is how long a primary's address is used for new
// connections without asking a sentinel again, unless a connection to it
// failed first.
const primaryCacheAge = 10 * time.Second

// primary returns where the primary is: the address named last, or else
// the first answer of the sentinels, asked in turn (the one that answered
// last time first). Each sentinel is bounded by the dial and read timeouts
// and ctx; one that has not answered after the stagger delay keeps its
// chance while the next is asked too.
func (s *sentinels) primary(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.cached != "" && time.Since(s.cachedAt) < primaryCacheAge {
		a := s.cached
		s.mu.Unlock()
		return a, nil
	}
	addrs := append([]string(nil), s.addrs...)
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		i    int
		addr string
		err  error
	}
	answers := make(chan answer, len(addrs)) // buffered: no goroutine outlives a return
	next, pending := 0, 0
	askNext := func() {
		i := next
		next++
		pending++
		go func() {
			a, err := s.ask(ctx, addrs[i])
			answers <- answer{i, a, err}
		}()
	}
	askNext()
	stagger := time.NewTimer(s.stagger)
	defer stagger.Stop()
	errs := make([]error, len(addrs))
	for pending > 0 {
		select {
		case r := <-answers:
			pending--
			if r.err == nil {
				s.remember(r.addr, addrs[r.i])
				return r.addr, nil
			}
			errs[r.i] = fmt.Errorf("sentinel %s: %w", addrs[r.i], r.err)
			if next < len(addrs) {
				askNext()
				stagger.Reset(s.stagger)
			}
		case <-stagger.C:
			if next < len(addrs) {
				askNext()
				stagger.Reset(s.stagger)
			}
		case <-ctx.Done():
			for i := range next {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("sentinel %s: no answer in time: %w", addrs[i], ctx.Err())
				}
			}
			pending = 0
		}
	}
	return "", fmt.Errorf("redis: no sentinel named the primary %q: %w", s.master, errors.Join(errs...))
}

// remember caches the primary's address and moves the sentinel that named
// it to the front of the list.
func (s *sentinels) remember(addr, sentinel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached, s.cachedAt = addr, time.Now()
	for i, x := range s.addrs {
		if x == sentinel {
			copy(s.addrs[1:i+1], s.addrs[:i])
			s.addrs[0] = sentinel
			return
		}
	}
}

// forget makes the next dial ask the sentinels again, after something went
// wrong with a connection to addr.
func (s *sentinels) forget(addr string) {
	s.mu.Lock()
	if s.cached == addr {
		s.cached = ""
	}
	s.mu.Unlock()
}

func (s *sentinels) ask(ctx context.Context, sentinel string) (string, error) {
	c, err := redigo.DialContext(ctx, "tcp", sentinel, s.opts...)
	if err != nil {
		return "", err
	}
	defer c.Close()
	v, err := redigo.Strings(redigo.DoContext(c, ctx, "SENTINEL", "get-master-addr-by-name", s.master))
	switch {
	case errors.Is(err, redigo.ErrNil):
		return "", fmt.Errorf("does not know master %q", s.master)
	case err != nil:
		return "", err
	case len(v) != 2 || v[0] == "" || v[1] == "":
		return "", errors.New("malformed reply to SENTINEL get-master-addr-by-name")
	}
	return net.JoinHostPort(v[0], v[1]), nil
}

// nodeConn is a connection to a data node that notices when the node is no
// longer a usable primary: a READONLY, LOADING or MASTERDOWN error makes Err
// non-nil, so the pool closes the connection instead of reusing it, and the
// next dial asks the sentinels again.
type nodeConn struct {
	redigo.Conn // a redigo connection: also ConnWithTimeout and ConnWithContext
	addr        string
	onFail      func() // nil, or told when the connection breaks or the node was demoted

	mu  sync.Mutex
	err error
}

var (
	_ redigo.ConnWithTimeout = (*nodeConn)(nil)
	_ redigo.ConnWithContext = (*nodeConn)(nil)
)

func (c *nodeConn) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.Conn.Err()
}

// see marks the connection unusable after an error of a node that is not a
// writable primary; replies to a pipeline flush (cmd "") are checked one by
// one. Either that or a broken connection makes the next dial ask the
// sentinels again.
func (c *nodeConn) see(cmd string, reply any, err error) {
	if err == nil && cmd == "" {
		rs, _ := reply.([]any)
		for _, r := range rs {
			if e := asError(r); demoted(e) {
				err = e
				break
			}
		}
	}
	if err == nil {
		return
	}
	bad := demoted(err)
	if (bad || c.Conn.Err() != nil) && c.onFail != nil {
		c.onFail()
	}
	if !bad {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("redis: %s is not a writable primary: %w", c.addr, err)
	}
	c.mu.Unlock()
}

func asError(v any) error {
	if e, ok := v.(redigo.Error); ok {
		return e
	}
	return nil
}

// demoted reports an error that a replica, a loading server or a primary
// that lost its replicas (min-replicas-to-write) gives; scripts report their
// calls' errors with the same codes.
func demoted(err error) bool {
	var re redigo.Error
	if err == nil || !errors.As(err, &re) {
		return false
	}
	for _, code := range []string{"READONLY ", "LOADING ", "MASTERDOWN ", "NOREPLICAS "} {
		if strings.HasPrefix(string(re), code) {
			return true
		}
	}
	return false
}

func (c *nodeConn) Do(cmd string, args ...any) (any, error) {
	r, err := c.Conn.Do(cmd, args...)
	c.see(cmd, r, err)
	return r, err
}

func (c *nodeConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	r, err := redigo.DoContext(c.Conn, ctx, cmd, args...)
	c.see(cmd, r, err)
	return r, err
}

func (c *nodeConn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	r, err := redigo.DoWithTimeout(c.Conn, timeout, cmd, args...)
	c.see(cmd, r, err)
	return r, err
}

func (c *nodeConn) Receive() (any, error) {
	r, err := c.Conn.Receive()
	c.see("receive", r, err)
	return r, err
}

func (c *nodeConn) ReceiveContext(ctx context.Context) (any, error) {
	r, err := redigo.ReceiveContext(c.Conn, ctx)
	c.see("receive", r, err)
	return r, err
}

func (c *nodeConn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	r, err := redigo.ReceiveWithTimeout(c.Conn, timeout)
	c.see("receive", r, err)
	return r, err
}

// replicaWait is the WAIT after the end scripts.
type replicaWait struct {
	timeout     time.Duration // <= 0: never wait
	readTimeout time.Duration
	log         *slog.Logger

	mu        sync.Mutex
	replicas  int       // connected replicas at checked (ROLE)
	checked   time.Time // zero: ask ROLE before the next WAIT
	roleError bool      // ROLE failed at the last check (logged once)

	acked, missed atomic.Int64 // WAITs that one replica acknowledged, and not
	lastWarn      atomic.Int64 // unix ns of the last "no replica" warning
}

// forget makes the next end ask ROLE again (a failover, a WAIT with no
// acknowledgement).
func (w *replicaWait) forget() {
	w.mu.Lock()
	w.checked = time.Time{}
	w.mu.Unlock()
}

// replicaCount is the primary's connected replicas, from ROLE on c at most
// every replicaRecheck. A ROLE the server refuses counts as none.
func (w *replicaWait) replicaCount(ctx context.Context, c redigo.Conn) int {
	w.mu.Lock()
	if !w.checked.IsZero() && time.Since(w.checked) < replicaRecheck {
		n := w.replicas
		w.mu.Unlock()
		return n
	}
	w.mu.Unlock()
	role, n, err := roleOf(redigo.DoContext(c, ctx, "ROLE"))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || role != "master" {
		if err != nil && !w.roleError {
			w.log.Warn("redis: cannot tell whether the primary has replicas; ends do not wait for one",
				slog.String("error", err.Error()))
		}
		w.roleError = err != nil
		n = 0
	} else {
		w.roleError = false
	}
	w.replicas, w.checked = n, time.Now()
	return n
}

// waitReplica waits, on the connection that just ran an end script, until
// one replica has acknowledged the connection's writes (WAIT 1 timeout),
// when the primary has replicas. No acknowledgement within the timeout is
// logged and ignored: ending a session favours availability over
// durability (see the README, Operations).
func (s *Store) waitReplica(ctx context.Context, c redigo.Conn) {
	w := &s.ha.wait
	if w.timeout <= 0 || c.Err() != nil || ctx.Err() != nil {
		return
	}
	if w.replicaCount(ctx, c) == 0 {
		return
	}
	ms := max(w.timeout.Milliseconds(), 1)
	n, err := redigo.Int(redigo.DoWithTimeout(c, w.timeout+w.readTimeout, "WAIT", 1, ms))
	if err == nil && n >= 1 {
		w.acked.Add(1)
		return
	}
	w.missed.Add(1)
	w.forget()
	now := time.Now().UnixNano()
	if last := w.lastWarn.Load(); now-last >= int64(time.Minute) && w.lastWarn.CompareAndSwap(last, now) {
		attrs := []any{slog.Duration("timeout", w.timeout), slog.Int64("unacknowledged_so_far", w.missed.Load())}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		w.log.Warn("redis: no replica acknowledged a session end in time; went on without (logged at most once a minute)", attrs...)
	}
}

// runAcked is run for the end scripts: the script, then waitReplica on the
// same connection (WAIT counts that connection's writes).
func (s *Store) runAcked(ctx context.Context, sc *redigo.Script, args ...any) (any, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := sc.DoContext(ctx, c, append([]any{s.prefix}, args...)...)
	if err == nil {
		s.waitReplica(ctx, c)
	}
	return r, err
}
