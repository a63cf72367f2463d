package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The simulated browsers. Each analyst is a plain net/http client with its
// own cookie jar and keep-alive connection, a fixed User-Agent and
// Accept-Language (the session is bound to a fingerprint of the two), that
// signs in once and then loops over the request mix as fast as the server
// answers (a closed loop: one request in flight per user).

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

// ltSession is one signed-in browser session: its cookie jar and the CSRF
// token its pages carry. Several users may share one (-url with more users
// than -sessions).
type ltSession struct {
	acct   ltAccount
	jar    http.CookieJar
	client *http.Client // for signing in and out
	csrf   string
}

// ltTarget is a server under test: how to sign in and out, and the request
// of each type.
type ltTarget interface {
	signIn(ctx context.Context, s *ltSession) error
	signOut(ctx context.Context, s *ltSession) error
	request(ctx context.Context, s *ltSession, k ltKind, seq uint64) (*http.Request, error)
	describe(k ltKind) string
	// probes are the requests whose Redis cost is measured one type at a time.
	probes() []ltProbe
}

// ltProbe is one request type measured alone.
type ltProbe struct {
	name  string
	build func(ctx context.Context, s *ltSession, seq uint64) (*http.Request, error)
}

// newLTClient is a browser-like client: keep-alive, no proxy, no redirects
// followed (a redirect is an answer in its own right), a cookie jar.
func newLTClient(jar http.CookieJar) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// browserHeaders sets what every request of the simulated browser carries.
func browserHeaders(r *http.Request) {
	r.Header.Set("User-Agent", ltUserAgent)
	r.Header.Set("Accept-Language", ltAcceptLanguage)
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
}

func ltGet(ctx context.Context, u, accept string) (*http.Request, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r, nil
}

func ltPost(ctx context.Context, u string, form url.Values) (*http.Request, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r, nil
}

// ltResponse is a response read to the end.
type ltResponse struct {
	status   int
	location string
	body     []byte
}

// roundTrip sends r as the browser and reads the whole answer (keepBody: into
// memory, else discarded), so the connection is reused.
func roundTrip(c *http.Client, r *http.Request, keepBody bool) (ltResponse, error) {
	browserHeaders(r)
	res, err := c.Do(r)
	if err != nil {
		return ltResponse{}, err
	}
	defer res.Body.Close()
	out := ltResponse{status: res.StatusCode, location: res.Header.Get("Location")}
	if keepBody {
		out.body, err = io.ReadAll(io.LimitReader(res.Body, 4<<20))
	} else {
		_, err = io.Copy(io.Discard, res.Body)
	}
	return out, err
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

func (t *oursTarget) request(ctx context.Context, s *ltSession, k ltKind, seq uint64) (*http.Request, error) {
	switch k {
	case ltView:
		return ltGet(ctx, t.base+t.page, acceptFor(t.page))
	case ltAPI:
		return ltGet(ctx, t.base+"/api/v1/session", "application/json")
	default:
		// What htmx sends when the history section is toggled: the form
		// field and the session's token; HX-Request makes the answer a 204
		// instead of a redirect to the page.
		open := "true"
		if seq%2 == 1 {
			open = "false"
		}
		r, err := ltPost(ctx, t.base+"/workspace/sections", url.Values{"section": {"history"}, "open": {open}, "csrf_token": {s.csrf}})
		if err == nil {
			r.Header.Set("HX-Request", "true")
		}
		return r, err
	}
}

func (t *oursTarget) probes() []ltProbe {
	var ps []ltProbe
	for k := range ltKinds {
		ps = append(ps, ltProbe{name: t.describe(k), build: func(ctx context.Context, s *ltSession, seq uint64) (*http.Request, error) {
			return t.request(ctx, s, k, seq)
		}})
	}
	if t.page != "/api/session" {
		ps = append(ps, ltProbe{name: "GET /api/session", build: func(ctx context.Context, _ *ltSession, _ uint64) (*http.Request, error) {
			return ltGet(ctx, t.base+"/api/session", "application/json")
		}})
	}
	return ps
}

// signIn is the browser's sign-in: the form (for its signed token), the
// POST, then the workspace page for the session's CSRF token.
func (t *oursTarget) signIn(ctx context.Context, s *ltSession) error {
	r, err := ltGet(ctx, t.base+"/login", "")
	if err != nil {
		return err
	}
	res, err := roundTrip(s.client, r, true)
	if err != nil {
		return err
	}
	m := loginTokenRe.FindSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		return fmt.Errorf("GET /login = %d, without a sign-in form", res.status)
	}
	form := url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}, "username": {s.acct.user}, "password": {s.acct.password}}
	if r, err = ltPost(ctx, t.base+"/login", form); err != nil {
		return err
	}
	if res, err = roundTrip(s.client, r, false); err != nil {
		return err
	}
	if res.status != http.StatusSeeOther || strings.HasPrefix(res.location, "/login") {
		return fmt.Errorf("POST /login as %q = %d (wrong password, throttled, or two-factor: the load test cannot sign in)", s.acct.user, res.status)
	}
	if r, err = ltGet(ctx, t.base+"/workspace", ""); err != nil {
		return err
	}
	if res, err = roundTrip(s.client, r, true); err != nil {
		return err
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("GET /workspace as %q = %d (the workspace is for analysts and admins)", s.acct.user, res.status)
	}
	if m = metaCSRFRe.FindSubmatch(res.body); m != nil {
		s.csrf = html.UnescapeString(string(m[1]))
	}
	return nil
}

func (t *oursTarget) signOut(ctx context.Context, s *ltSession) error {
	r, err := ltPost(ctx, t.base+"/logout", url.Values{"csrf_token": {s.csrf}})
	if err != nil {
		return err
	}
	res, err := roundTrip(s.client, r, false)
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
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, err
		}
		s := &ltSession{acct: a, jar: jar, client: newLTClient(jar)}
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
			s.client.CloseIdleConnections()
		})
	}
	wg.Wait()
}

// ltVU is one simulated user: a session and its own connection.
type ltVU struct {
	sess   *ltSession
	client *http.Client
	rng    *rand.Rand
	seq    uint64
}

func newVUs(sessions []*ltSession, users int) []*ltVU {
	seed := rand.Uint64()
	vus := make([]*ltVU, users)
	for i := range vus {
		s := sessions[i%len(sessions)]
		vus[i] = &ltVU{sess: s, client: newLTClient(s.jar), rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	}
	return vus
}

func closeVUs(vus []*ltVU) {
	for _, vu := range vus {
		vu.client.CloseIdleConnections()
	}
}

// do sends one request and reads its answer; ok says whether it succeeded,
// note why not.
func (vu *ltVU) do(ctx context.Context, build func(ctx context.Context, s *ltSession, seq uint64) (*http.Request, error)) (ok bool, note string, err error) {
	vu.seq++
	r, err := build(ctx, vu.sess, vu.seq)
	if err != nil {
		return false, "", err
	}
	res, err := roundTrip(vu.client, r, false)
	if err != nil {
		return false, r.Method + " " + r.URL.Path + ": " + err.Error(), err
	}
	if !ltOK(r.Method, res.status) {
		note = fmt.Sprintf("%s %s = %d", r.Method, r.URL.Path, res.status)
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
					ok, note, err := vu.do(ctx, func(ctx context.Context, s *ltSession, seq uint64) (*http.Request, error) {
						return tgt.request(ctx, s, k, seq)
					})
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
				el := time.Since(start)
				fmt.Fprintf(progress, "%s: %3.0fs %8.0f req/s %6d errors\n", label, el.Seconds(), float64(done.Load())/el.Seconds(), failed.Load())
			}
		}
	}()
	wg.Wait()
	out := &ltLoad{elapsed: time.Since(start)}
	close(stop)
	<-progressDone
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
			ok, _, _ := vu.do(ctx, p.build)
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
