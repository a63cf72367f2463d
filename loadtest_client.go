package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The simulated browsers. Each analyst is a fasthttp HTTP/1.1 client
// (loadtest_http.go) with its session's cookies and its own keep-alive
// connection, a fixed User-Agent and Accept-Language (the session is bound to
// a fingerprint of the two), that signs in once and then loops over the
// request mix as fast as the server answers (a closed loop: one request in
// flight per user).

const (
	ltUserAgent      = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 sessionconsole-loadtest"
	ltAcceptLanguage = "es-PY,es;q=0.9,en;q=0.5"
	ltMaxErrorNotes  = 5
)

// ltKind is a request type of the mix.
type ltKind int

const (
	ltView  ltKind = iota // a page view: GET -page
	ltAPI                 // an API call: GET /api/v1/session
	ltWrite               // a state update: POST /workspace/sections
	ltKinds
)

var ltKindNames = [ltKinds]string{"view", "api", "write"}

// ltMix is the weight of each request type.
type ltMix [ltKinds]int

func (m ltMix) total() int { return m[ltView] + m[ltAPI] + m[ltWrite] }

func (m ltMix) pick(r *rand.Rand) ltKind {
	n := r.IntN(m.total())
	for k := range ltKinds {
		if n < m[k] {
			return k
		}
		n -= m[k]
	}
	return ltView
}

// describe names our requests with their effective shares.
func (m ltMix) describe(page string) string {
	t := (&oursTarget{page: page})
	var parts []string
	for k := range ltKinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%% %s", ltKindNames[k], 100*float64(m[k])/float64(m.total()), t.describe(k)))
		}
	}
	return strings.Join(parts, ", ")
}

// ltAccount is who a session signs in as.
type ltAccount struct{ user, password string }

// ltSession is one signed-in browser session: its cookies and the CSRF
// token its pages carry. Several users may share one (-url with more users
// than -sessions).
type ltSession struct {
	acct      ltAccount
	cookies   ltCookies
	conn      *ltConn // for signing in and out
	csrf      string
	writeForm [2]string // ours: the state update's body, open=true and open=false
}

// ltTarget is a server under test: how to sign in and out, and the request
// of each type.
type ltTarget interface {
	signIn(ctx context.Context, s *ltSession) error
	signOut(ctx context.Context, s *ltSession) error
	request(s *ltSession, k ltKind, seq uint64) ltRequest
	describe(k ltKind) string
	baseURL() string
	// probes are the requests whose Redis cost is measured one type at a time.
	probes() []ltProbe
}

// ltProbe is one request type measured alone.
type ltProbe struct {
	name  string
	build func(s *ltSession, seq uint64) ltRequest
}

// roundTrip sends r as the browser on c and reads the whole answer.
func roundTrip(ctx context.Context, c *ltConn, s *ltSession, r ltRequest, keepBody bool) (ltResponse, error) {
	return c.do(ctx, s, &r, keepBody)
}

// ltOK says whether a status is a success: 2xx for GET (a redirect there
// means the session is gone), 2xx or 3xx for POST (a form answers with a
// redirect).
func ltOK(method string, status int) bool {
	if method == http.MethodGet {
		return status >= 200 && status < 300
	}
	return status >= 200 && status < 400
}

// oursTarget is the session console.
type oursTarget struct {
	base string
	page string // -page
}

var (
	loginTokenRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	metaCSRFRe   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)
)

func (t *oursTarget) baseURL() string { return t.base }

func (t *oursTarget) describe(k ltKind) string {
	switch k {
	case ltView:
		return "GET " + t.page
	case ltAPI:
		return "GET /api/v1/session"
	default:
		return "POST /workspace/sections"
	}
}

func acceptFor(path string) string {
	if strings.HasPrefix(path, "/api/") {
		return "application/json"
	}
	return ""
}

func (t *oursTarget) request(s *ltSession, k ltKind, seq uint64) ltRequest {
	switch k {
	case ltView:
		return ltGet(t.page, acceptFor(t.page))
	case ltAPI:
		return ltGet("/api/v1/session", "application/json")
	default:
		// What htmx sends when the history section is toggled: the form
		// field and the session's token (the body made at sign-in);
		// HX-Request makes the answer a 204 instead of a redirect to the
		// page.
		return ltRequest{method: http.MethodPost, path: "/workspace/sections", hx: true, form: s.writeForm[seq%2]}
	}
}

// oursWriteForm is the state update's body: what url.Values{"section":
// {"history"}, "open": {open}, "csrf_token": {csrf}}.Encode() makes.
func oursWriteForm(csrf, open string) string {
	return url.Values{"section": {"history"}, "open": {open}, "csrf_token": {csrf}}.Encode()
}

func (t *oursTarget) probes() []ltProbe {
	var ps []ltProbe
	for k := range ltKinds {
		ps = append(ps, ltProbe{name: t.describe(k), build: func(s *ltSession, seq uint64) ltRequest {
			return t.request(s, k, seq)
		}})
	}
	if t.page != "/api/session" {
		ps = append(ps, ltProbe{name: "GET /api/session", build: func(*ltSession, uint64) ltRequest {
			return ltGet("/api/session", "application/json")
		}})
	}
	return ps
}

// signIn is the browser's sign-in: the form (for its signed token), the
// POST, then the workspace page for the session's CSRF token.
func (t *oursTarget) signIn(ctx context.Context, s *ltSession) error {
	res, err := roundTrip(ctx, s.conn, s, ltGet("/login", ""), true)
	if err != nil {
		return err
	}
	m := loginTokenRe.FindSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		return fmt.Errorf("GET /login = %d, without a sign-in form", res.status)
	}
	form := url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}, "username": {s.acct.user}, "password": {s.acct.password}}
	if res, err = roundTrip(ctx, s.conn, s, ltPost("/login", form), false); err != nil {
		return err
	}
	if res.status != http.StatusSeeOther || strings.HasPrefix(res.location, "/login") {
		return fmt.Errorf("POST /login as %q = %d (wrong password, throttled, or two-factor: the load test cannot sign in)", s.acct.user, res.status)
	}
	if res, err = roundTrip(ctx, s.conn, s, ltGet("/workspace", ""), true); err != nil {
		return err
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("GET /workspace as %q = %d (the workspace is for analysts and admins)", s.acct.user, res.status)
	}
	if m = metaCSRFRe.FindSubmatch(res.body); m != nil {
		s.csrf = html.UnescapeString(string(m[1]))
	}
	s.writeForm = [2]string{oursWriteForm(s.csrf, "true"), oursWriteForm(s.csrf, "false")}
	return nil
}

func (t *oursTarget) signOut(ctx context.Context, s *ltSession) error {
	res, err := roundTrip(ctx, s.conn, s, ltPost("/logout", url.Values{"csrf_token": {s.csrf}}), false)
	if err == nil && !ltOK(http.MethodPost, res.status) {
		err = fmt.Errorf("POST /logout = %d", res.status)
	}
	return err
}

// signInAll signs every account in, a few at a time. On failure it returns
// the sessions signed in so far, for signOutAll.
func signInAll(ctx context.Context, tgt ltTarget, accounts []ltAccount) ([]*ltSession, error) {
	sessions := make([]*ltSession, len(accounts))
	errs := make([]error, len(accounts))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, a := range accounts {
		conn, err := newLTConn(tgt.baseURL())
		if err != nil {
			return nil, err
		}
		s := &ltSession{acct: a, conn: conn}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[i] = tgt.signIn(ctx, s); errs[i] == nil {
				sessions[i] = s
			}
		})
	}
	wg.Wait()
	var ok []*ltSession
	for _, s := range sessions {
		if s != nil {
			ok = append(ok, s)
		}
	}
	return ok, errors.Join(errs...)
}

// signOutAll ends every session, so repeated runs leave no live sessions
// behind (and no account reaches max_sessions_per_user).
func signOutAll(ctx context.Context, tgt ltTarget, sessions []*ltSession) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, s := range sessions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_ = tgt.signOut(ctx, s)
			s.conn.shutdown()
		})
	}
	wg.Wait()
}

// ltVU is one simulated user: a session and its own connection.
type ltVU struct {
	sess *ltSession
	conn *ltConn
	rng  *rand.Rand
	seq  uint64
}

func newVUs(base string, sessions []*ltSession, users int) ([]*ltVU, error) {
	seed := rand.Uint64()
	vus := make([]*ltVU, users)
	for i := range vus {
		conn, err := newLTConn(base)
		if err != nil {
			return nil, err
		}
		vus[i] = &ltVU{sess: sessions[i%len(sessions)], conn: conn, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	}
	return vus, nil
}

func closeVUs(vus []*ltVU) {
	for _, vu := range vus {
		vu.conn.shutdown()
	}
}

// do sends one request and reads its answer; ok says whether it succeeded,
// note why not.
func (vu *ltVU) do(ctx context.Context, r ltRequest) (ok bool, note string, err error) {
	res, err := vu.conn.do(ctx, vu.sess, &r, false)
	if err != nil {
		return false, r.String() + ": " + err.Error(), err
	}
	if !ltOK(r.method, res.status) {
		note = fmt.Sprintf("%s %s = %d", r.method, r.path, res.status)
		if res.location != "" {
			note += " to " + res.location
		}
		return false, note, nil
	}
	return true, "", nil
}

// ltLoad is what one run measured.
type ltLoad struct {
	elapsed time.Duration
	count   [ltKinds]int64
	errs    [ltKinds]int64
	lat     [ltKinds][]time.Duration
	notes   []string // the first few distinct errors
}

func (l *ltLoad) requests() (n int64) {
	for _, c := range l.count {
		n += c
	}
	return n
}

func (l *ltLoad) errors() (n int64) {
	for _, c := range l.errs {
		n += c
	}
	return n
}

func (l *ltLoad) rate() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.requests()) / l.elapsed.Seconds()
}

func (l *ltLoad) addNote(n string) {
	if n == "" || len(l.notes) >= ltMaxErrorNotes {
		return
	}
	for _, have := range l.notes {
		if have == n {
			return
		}
	}
	l.notes = append(l.notes, n)
}

// runLoad runs every user's loop for d (a request under way at the end is
// finished and counted) or until ctx is cancelled (a request cut short is not
// counted), printing a progress line to progress every second.
func runLoad(ctx context.Context, tgt ltTarget, vus []*ltVU, mix ltMix, d time.Duration, progress io.Writer, label string) *ltLoad {
	var done, failed atomic.Int64
	per := make([]ltLoad, len(vus))
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, vu := range vus {
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
				st := &per[i]
				for ctx.Err() == nil && time.Now().Before(deadline) {
					k := mix.pick(vu.rng)
					t0 := time.Now()
					vu.seq++
					ok, note, err := vu.do(ctx, tgt.request(vu.sess, k, vu.seq))
					lat := time.Since(t0)
					if err != nil && ctx.Err() != nil {
						return // cut short by Ctrl-C: no answer to count
					}
					st.count[k]++
					st.lat[k] = append(st.lat[k], lat)
					done.Add(1)
					if !ok {
						st.errs[k]++
						failed.Add(1)
						st.addNote(note)
					}
				}
			})
		})
	}
	line := func() {
		el := time.Since(start)
		fmt.Fprintf(progress, "%s: %3.0fs %8.0f req/s %6d errors\n", label, el.Seconds(), float64(done.Load())/el.Seconds(), failed.Load())
	}
	stop := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				line()
			}
		}
	}()
	wg.Wait()
	out := &ltLoad{elapsed: time.Since(start)}
	close(stop)
	<-progressDone
	line() // the last one, also for a run shorter than a tick
	for i := range per {
		for k := range ltKinds {
			out.count[k] += per[i].count[k]
			out.errs[k] += per[i].errs[k]
			out.lat[k] = append(out.lat[k], per[i].lat[k]...)
		}
		for _, n := range per[i].notes {
			out.addNote(n)
		}
	}
	return out
}

// ltKindCost is one request type's Redis cost, measured alone.
type ltKindCost struct {
	name   string
	n      int
	errors int
	redis  redisDelta
}

// measureKinds sends n requests of each probe from one user, one at a time
// with the others idle, and reads the Redis counters around each batch. The
// server's background work (the analytics flush every second) lands in
// whichever batch it falls in.
func measureKinds(ctx context.Context, tgt ltTarget, vu *ltVU, probe *redisProbe, n int) []ltKindCost {
	var out []ltKindCost
	for _, p := range tgt.probes() {
		before, err := probe.snapshot()
		if err != nil {
			return out
		}
		c := ltKindCost{name: p.name}
		for range n {
			if ctx.Err() != nil {
				return out
			}
			vu.seq++
			ok, _, _ := vu.do(ctx, p.build(vu.sess, vu.seq))
			c.n++
			if !ok {
				c.errors++
			}
		}
		after, err := probe.snapshot()
		if err != nil {
			return out
		}
		c.redis = after.since(before)
		out = append(out, c)
	}
	return out
}
