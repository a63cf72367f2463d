// Package sessionsvc is the session lifecycle service: it creates sessions at
// sign-in, loads and checks them on every request (three clocks, account,
// fingerprint, client IP), writes activity at most once per throttle window,
// ends them for good with a reason, limits sessions per user, and runs cleanup.
//
// It speaks net/http only and knows nothing of Echo or templ. It never logs or
// hands out a raw session token: outside the cookie a session is its sid.
package sessionsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	useragent "github.com/mileusna/useragent"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/metrics"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Sentinel errors callers branch on.
var (
	// ErrUnavailable wraps every failure of the store: callers answer 503.
	ErrUnavailable = errors.New("sessionsvc: session store unavailable")
	// ErrBadCredentials is a failed sign-in; it never says which part was wrong.
	ErrBadCredentials = errors.New("sessionsvc: invalid username or password")
	// ErrNotFound is an unknown or already ended session.
	ErrNotFound = errors.New("sessionsvc: session not found")
	// ErrOwnSession refuses ending the caller's own session where another one was meant.
	ErrOwnSession = errors.New("sessionsvc: that is your current session")
	// ErrNoSession is a call that needs a signed-in session on a request without one.
	ErrNoSession = errors.New("sessionsvc: not signed in")
)

// ThrottledError is returned by Login while an account or client IP has failed
// too often; RetryAfter says when the next attempt is allowed.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("sessionsvc: too many failed sign-ins, retry in %s", e.RetryAfter.Round(time.Second))
}

// Options are the dependencies of a Service.
type Options struct {
	Config Config
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock every deadline is measured with; tests move it. Default time.Now.
	Now func() time.Time
	// Instance names this app instance in cleanup leases. Default: random.
	Instance string
	// Keys encrypt session blobs, state and preferences at rest; required when
	// security.session_encryption is on.
	Keys *seal.Keyring
	// Files holds each session's file namespace; nil keeps no files.
	Files *files.Manager
	// Metrics receives the service's counters; nil records none.
	Metrics *metrics.Metrics
	// Backend names the store for the System page ("redis", "database",
	// "memory"). Default: the config's storage.backend.
	Backend string
	// Version is the build's version, shown on the System page.
	Version string
	// Analyzer runs the workspace's analyses. Default: the built-in lexicon
	// analyzer (analysis.New); the system's Analysis Service can replace it.
	Analyzer analysis.Analyzer
	// AnalysisWorkers bounds the analyses running at once. Default: the
	// number of CPUs, at most 4.
	AnalysisWorkers int
}

// Service is the session lifecycle service. It is safe for concurrent use.
type Service struct {
	cfg      Config
	st       store.Store
	sm       *scs.SessionManager
	log      *slog.Logger
	now      func() time.Time
	instance string
	trusted  []netip.Prefix
	formKey  []byte
	cookie   cookieSpec
	// dummyHash is verified when the username is unknown, so that a failed
	// sign-in takes as long whether or not the account exists.
	dummyHash string

	ring           *seal.Keyring // nil: stored in the clear
	files          *files.Manager
	securityEvents atomic.Int64
	metrics        *metrics.Metrics
	tz             *time.Location
	rec            *recorder // nil: analytics.track_events is off
	bucketCache    atomic.Pointer[bucketNames]

	mu       sync.RWMutex
	accounts map[string]Account

	backend  string
	version  string
	passMu   sync.Mutex
	lastPass *CleanupPass // this instance's last cleanup pass that ran; nil: none yet

	analyzer analysis.Analyzer
	jobs     *runner
}

// New builds a Service over a store. The config must have been validated.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("sessionsvc: no store")
	}
	s := &Service{
		cfg:      opts.Config,
		st:       opts.Store,
		log:      opts.Logger,
		now:      opts.Now,
		instance: opts.Instance,
		trusted:  opts.Config.TrustedProxyNets(),
		formKey:  opts.Config.Security.Secret(),
		files:    opts.Files,
		metrics:  opts.Metrics,
		backend:  opts.Backend,
		version:  opts.Version,
	}
	if s.backend == "" {
		s.backend = opts.Config.Storage.Backend
	}
	if opts.Metrics != nil {
		s.st = instrumented{Store: s.st, m: opts.Metrics}
	}
	tz, err := time.LoadLocation(opts.Config.Analytics.Timezone)
	if err != nil {
		return nil, fmt.Errorf("sessionsvc: analytics.timezone: %w", err)
	}
	s.tz = tz
	if opts.Config.Security.SessionEncryption {
		if opts.Keys == nil {
			return nil, errors.New("sessionsvc: security.session_encryption is on but no encryption keys were given")
		}
		s.ring = opts.Keys
		s.st = sealedBlobs{Store: s.st, ring: opts.Keys}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.instance == "" {
		s.instance = randomID(9)
	}
	if len(s.formKey) == 0 {
		// Without a configured key every instance signs login forms with its own
		// key: fine for one instance, a failed first sign-in behind a balancer.
		s.formKey = make([]byte, 32)
		rand.Read(s.formKey)
		s.log.Warn("security.secret_key is empty: login forms are signed with a per-process key; set it when running several instances")
	}
	s.setAccounts(opts.Config.Accounts)
	s.dummyHash = dummyHashLike(opts.Config.Accounts)

	s.cookie = cookieSpec{name: "sc_session", secure: opts.Config.Security.SecureCookies}
	if s.cookie.secure {
		s.cookie.name = "__Host-sc_session"
	}
	sm := scs.New()
	sm.Store = s.st
	sm.Codec = blobCodec{}
	sm.HashTokenInStore = true
	sm.Lifetime = opts.Config.Session.Lifetime()
	sm.IdleTimeout = 0 // idle is ours: scs would write the blob on every request
	sm.Cookie.Name = s.cookie.name
	sm.Cookie.Persist = false
	sm.Cookie.Secure = s.cookie.secure
	s.sm = sm

	s.analyzer = opts.Analyzer
	if s.analyzer == nil {
		s.analyzer = analysis.New()
	}
	workers := opts.AnalysisWorkers
	if workers <= 0 {
		workers = min(runtime.NumCPU(), 4)
	}
	s.jobs = newRunner(workers, 16*workers, s.runAnalysis)

	if opts.Config.Analytics.TrackEvents {
		a := opts.Config.Analytics
		s.rec = newRecorder(s.st, s.log, a.BufferSize, a.FlushBatch, time.Duration(a.FlushIntervalMS)*time.Millisecond, s.retention())
		s.rec.onDrop = s.metrics.EventsDropped
		s.rec.onFlush = s.metrics.EventsFlushed
		s.metrics.SetBufferFunc(s.rec.Len)
		go s.rec.run()
	}
	return s, nil
}

// Close stops the analyses (running ones record themselves interrupted) and
// flushes buffered analytics events; call it after the HTTP server has
// stopped taking requests.
func (s *Service) Close(ctx context.Context) error {
	s.jobs.close(ctx, s.markInterrupted)
	if s.rec == nil {
		return nil
	}
	return s.rec.Close(ctx)
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Account is looked up per request, so a removed or disabled account's sessions
// end at their next request.
func (s *Service) account(name string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[name]
	return a, ok
}

func (s *Service) setAccounts(list []Account) {
	m := make(map[string]Account, len(list))
	for _, a := range list {
		m[a.Username] = a
	}
	s.mu.Lock()
	s.accounts = m
	s.mu.Unlock()
}

// SetAccounts replaces the account list (a config reload). Sessions of removed,
// disabled or re-roled accounts are dealt with at their next request.
func (s *Service) SetAccounts(list []Account) { s.setAccounts(list) }

// SetAccountDisabled disables or re-enables an account at run time. It reports
// whether the account exists.
func (s *Service) SetAccountDisabled(username string, disabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[username]
	if !ok {
		return false
	}
	a.Disabled = disabled
	s.accounts[username] = a
	return true
}

// tokenHash is how scs names a token in the store with HashTokenInStore on; the
// service needs it to point the registry at the blob.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// fingerprint binds a session to the browser that created it.
func fingerprint(userAgent, acceptLanguage string) string {
	h := sha256.Sum256([]byte(userAgent + "\n" + acceptLanguage))
	return hex.EncodeToString(h[:8])
}

// device summarises a user agent once, at creation: "Firefox 128 on Linux".
func (s *Service) device(userAgent string) string {
	if userAgent == "" {
		return "Unknown"
	}
	ua := useragent.Parse(userAgent)
	b, os := ua.Name, ua.OS
	if b != "" && ua.VersionNo.Major > 0 {
		b += " " + strconv.Itoa(ua.VersionNo.Major)
	}
	switch {
	case b == "" && os == "":
		return "Unknown"
	case os == "":
		return b
	case b == "":
		return os
	}
	return b + " on " + os
}

func (s *Service) unavailable(op string, err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		// The caller's input, not the store, was wrong.
		return fmt.Errorf("sessionsvc: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
}

// dummyHashLike returns a hash of a random password with the cost parameters of
// the configured accounts' hashes.
func dummyHashLike(accounts []Account) string {
	for _, a := range accounts {
		if i := strings.LastIndexByte(a.PasswordHash, '$'); i > 0 {
			// Same parameters and salt length; the hash part never matches.
			return a.PasswordHash[:i+1] + base64.RawStdEncoding.EncodeToString(make([]byte, 32))
		}
	}
	h, _ := HashPassword(randomID(16))
	return h
}
