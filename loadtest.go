package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
)

// The load tool of issue 7: simulated analysts drive the server over HTTP,
// as browsers do (cookies, keep-alive, a fixed User-Agent and
// Accept-Language, the page's CSRF token), and the tool prints throughput,
// latency, errors, the Redis commands and round trips per request and the
// server's memory. With -baseline it runs the same clients and mix against a
// minimal Echo + scs + redisstore server on the same Redis, one after the
// other, and prints ours/baseline.

const loadtestUsage = `usage:
  sessionconsole loadtest [flags]

Drives the server over HTTP with simulated analysts, for -duration after a
-warmup, then prints req/s, p50/p95/p99 latency, errors, Redis commands and
round trips per request (storage.backend redis) and the server's memory.
A progress line goes to standard error every second and at the end; Ctrl-C stops early and
still prints the results.

Without -url it starts the server in this process, on a free 127.0.0.1 port,
with the configuration serve would use (-config FILE, SESSIONCONSOLE_* variables)
and these changes: -users analyst accounts of its own (lt-analyst-001, ...)
with cheap password hashes; SQLite data and session files in a temporary
directory; no metrics listener and no persistence check; plain-HTTP cookies; and
with storage.backend redis, session encryption on but no key configured, a
key made for the run. On Redis its sessions use the server's usual keys:
point it at a Redis of its own. The request log is formatted as JSON, as in
production, and discarded (-server-log FILE keeps it); warnings go to stderr.

With -url it drives a server already running on loopback, as -user (3 sessions
at most per user: -sessions of them are signed in and shared by the -users
clients). -config and the variables then only tell it the backend and the Redis
to read INFO from, and -pid which process's memory to report.

Flags:
  -url URL          a running server, http://127.0.0.1:PORT (loopback only); default: in-process
  -pid PID          with -url: the server's process id, for its VmRSS/VmHWM
  -config FILE      configuration file (default config.yaml)
  -users N          simulated analysts, each one client and connection (default 50)
  -duration D       measured run (default 20s)
  -warmup D         unmeasured run before it, for each server (default 2s)
  -views P          share of page views, GET -page (default 70)
  -api P            share of API calls, GET /api/v1/session (default 20)
  -writes P         share of state updates, POST /workspace/sections (default 10)
  -page PATH        the page of the page views: /workspace (reads the
                    session's state too) or /api/session (the session alone)
  -user U, -password P   with -url: the account (default the demo analyst)
  -sessions N       with -url: sessions signed in for -user (default 3)
  -baseline         then the same against a minimal Echo + scs + redisstore
                    server (key prefix lt-base:); needs storage.backend: redis
  -cpuprofile FILE  in-process: CPU profile of the measured run (server
                    goroutines are labelled side=server: go tool pprof
                    -tagfocus=side=server -top FILE); with -baseline the
                    baseline's goes to FILE.baseline
  -server-log FILE  in-process: keep the server's request log there

The shares are weights: they need not add up to 100.
`

// loadtestOptions are the parsed flags.
type loadtestOptions struct {
	url        string
	pid        int
	configPath string
	users      int
	duration   time.Duration
	warmup     time.Duration
	mix        ltMix
	page       string
	user       string
	password   string
	sessions   int
	baseline   bool
	cpuProfile string
	serverLog  string
}

func parseLoadtestFlags(args []string, stderr io.Writer) (loadtestOptions, error) {
	var o loadtestOptions
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.url, "url", "", "")
	fs.IntVar(&o.pid, "pid", 0, "")
	fs.StringVar(&o.configPath, "config", "", "")
	fs.IntVar(&o.users, "users", 50, "")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "")
	fs.IntVar(&o.mix[ltView], "views", 70, "")
	fs.IntVar(&o.mix[ltAPI], "api", 20, "")
	fs.IntVar(&o.mix[ltWrite], "writes", 10, "")
	fs.StringVar(&o.page, "page", "/workspace", "")
	fs.StringVar(&o.user, "user", "analyst", "")
	fs.StringVar(&o.password, "password", "analyst-demo-pass", "")
	fs.IntVar(&o.sessions, "sessions", 3, "")
	fs.BoolVar(&o.baseline, "baseline", false, "")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "")
	fs.StringVar(&o.serverLog, "server-log", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		fmt.Fprint(stderr, loadtestUsage)
		return o, fmt.Errorf("loadtest: %w", err)
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, loadtestUsage)
		return o, fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.users < 1 || o.users > 10000:
		return o, errors.New("loadtest: -users: want 1 to 10000")
	case o.duration <= 0:
		return o, errors.New("loadtest: -duration must be positive")
	case o.warmup < 0:
		return o, errors.New("loadtest: -warmup must not be negative")
	case o.mix[ltView] < 0 || o.mix[ltAPI] < 0 || o.mix[ltWrite] < 0 || o.mix.total() == 0:
		return o, errors.New("loadtest: -views, -api and -writes must not be negative, and not all zero")
	case !strings.HasPrefix(o.page, "/") || strings.HasPrefix(o.page, "//"):
		return o, fmt.Errorf("loadtest: -page %q: want a path such as /workspace or /api/session", o.page)
	case o.sessions < 1:
		return o, errors.New("loadtest: -sessions must be at least 1")
	}
	if o.url != "" {
		if err := checkLoopbackURL(o.url); err != nil {
			return o, err
		}
		o.url = strings.TrimRight(o.url, "/")
		if o.cpuProfile != "" || o.serverLog != "" {
			return o, errors.New("loadtest: -cpuprofile and -server-log are for the in-process server, not with -url")
		}
	} else if o.pid != 0 {
		return o, errors.New("loadtest: -pid is for -url; the in-process server's memory is this process's")
	}
	return o, nil
}

// checkLoopbackURL refuses anything but plain HTTP to a loopback address: a
// load test is never pointed at another machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("loadtest: -url %q: want http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return nil
	}
	return fmt.Errorf("loadtest: -url %q: only loopback addresses (127.0.0.1, ::1, localhost) may be load tested", raw)
}

// loadtestCmd runs `sessionconsole loadtest`.
func loadtestCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseLoadtestFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, loadtestUsage)
		return nil
	}
	if err != nil {
		return err
	}
	explicit := o.configPath != ""
	if !explicit {
		o.configPath = "config.yaml"
	}
	cfg, madeKey, err := loadtestConfig(o.configPath, explicit, getenv)
	if err != nil {
		return err
	}
	redisBackend := cfg.Storage.Backend == sessionsvc.BackendRedis
	if o.baseline && !redisBackend {
		return errors.New("loadtest: -baseline needs storage.backend: redis (set it in the config or SESSIONCONSOLE_STORAGE_BACKEND=redis, with storage.redis_url)")
	}

	var probe *redisProbe
	if redisBackend {
		probe, err = dialRedisProbe(ctx, cfg.Storage)
		if err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		defer probe.close()
	}

	// The progress lines and the in-process server's warnings share stderr,
	// from different goroutines: one lock keeps their lines whole (and a
	// caller's writer need not be safe for concurrent use).
	stderr = &lockedWriter{w: stderr}
	lt := &loadtest{o: o, cfg: cfg, getenv: getenv, stdout: stdout, stderr: stderr, probe: probe}
	fmt.Fprintf(stdout, "loadtest %s: %d users, %v after a %v warm-up; mix %s; GOMAXPROCS %d\n",
		versionString(), o.users, o.duration, o.warmup, o.mix.describe(o.page), runtime.GOMAXPROCS(0))
	if redisBackend {
		fmt.Fprintf(stdout, "loadtest: Redis %s\n", redactRedisURL(cfg.Storage.RedisURL))
	}

	ours, err := lt.runOurs(ctx, madeKey)
	if ours != nil {
		ours.print(stdout)
	}
	if err != nil {
		return err
	}
	if !o.baseline {
		return nil
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "baseline: not run (interrupted)")
		return nil
	}
	base, err := lt.runBaseline(ctx)
	if base != nil {
		base.print(stdout)
		printRatio(stdout, ours, base)
	}
	return err
}

// loadtest is one invocation: options, config and where it reports.
type loadtest struct {
	o              loadtestOptions
	cfg            sessionsvc.Config
	getenv         func(string) string
	stdout, stderr io.Writer
	probe          *redisProbe
}

// runOurs runs the warm-up, the measured run and the per-request Redis costs
// against our server: the one at -url, or one started here.
func (lt *loadtest) runOurs(ctx context.Context, madeKey bool) (*ltResult, error) {
	o := lt.o
	tgt := &oursTarget{page: o.page}
	var accounts []ltAccount
	var srv *ltServer
	if o.url == "" {
		cfg := lt.cfg
		dir, err := os.MkdirTemp("", "sessionconsole-loadtest-")
		if err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg, accounts, err = inProcessConfig(cfg, dir, o.users)
		if err != nil {
			return nil, err
		}
		notes := []string{"in-process server"}
		if madeKey {
			notes = append(notes, "encryption key made for this run")
		}
		if lt.cfg.Security.SecureCookies {
			notes = append(notes, "secure_cookies off (plain HTTP)")
		}
		log, closeLog, err := lt.serverLogger()
		if err != nil {
			return nil, err
		}
		defer closeLog()
		srv, err = startInProcess(ctx, cfg, lt.getenv, log, o.cpuProfile != "")
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		tgt.base = "http://" + srv.addr
		fmt.Fprintf(lt.stdout, "ours: %s on %s, backend %s, %d accounts\n", strings.Join(notes, ", "), tgt.base, cfg.Storage.Backend, len(accounts))
	} else {
		tgt.base = o.url
		n := min(o.users, o.sessions)
		for range n {
			accounts = append(accounts, ltAccount{user: o.user, password: o.password})
		}
		fmt.Fprintf(lt.stdout, "ours: %s, backend %s (from the config), %d sessions of %q shared by %d users\n",
			o.url, lt.cfg.Storage.Backend, n, o.user, o.users)
	}
	var idleRSS *procMemory
	if srv != nil {
		if m, err := readProcMemory("self"); err == nil {
			idleRSS = &m
		}
	}
	cpuPID := "self"
	if o.url != "" {
		cpuPID = ""
		if o.pid != 0 {
			cpuPID = strconv.Itoa(o.pid)
		}
	}
	res, err := lt.drive(ctx, "ours", tgt, accounts, o.cpuProfile, cpuPID, func(r *ltResult) {
		pid := "self"
		if o.url != "" {
			if o.pid == 0 {
				r.notes = append(r.notes, "memory: not read (-pid PID names the server's process)")
				return
			}
			pid = strconv.Itoa(o.pid)
		}
		m, err := readProcMemory(pid)
		if err != nil {
			r.notes = append(r.notes, "memory: "+err.Error())
			return
		}
		r.memory, r.idleMemory, r.inProcess = &m, idleRSS, o.url == ""
	})
	if srv != nil {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}
	return res, err
}

// runBaseline is runOurs for the minimal scs server.
func (lt *loadtest) runBaseline(ctx context.Context) (*ltResult, error) {
	b, err := startBaseline(ctx, lt.cfg, lt.o.cpuProfile != "")
	if err != nil {
		return nil, err
	}
	defer b.stop()
	var accounts []ltAccount
	for i := range lt.o.users {
		accounts = append(accounts, ltAccount{user: fmt.Sprintf("lt-base-%03d", i+1)})
	}
	fmt.Fprintf(lt.stdout, "baseline: Echo + scs + redisstore (IdleTimeout %v, Lifetime %v, key prefix %s) on http://%s\n",
		baselineIdle, baselineLifetime, baselinePrefix, b.addr)
	prof := ""
	if lt.o.cpuProfile != "" {
		prof = lt.o.cpuProfile + ".baseline"
	}
	res, err := lt.drive(ctx, "baseline", &baselineTarget{base: "http://" + b.addr}, accounts, prof, "self", nil)
	if serr := b.stop(); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

// drive signs every account in, warms up, runs the measured load (with a CPU
// profile if asked, and the CPU time of process cpuPID, "" for none),
// measures each request type's Redis cost alone, takes the memory reading
// through atEnd, and signs out. The result is returned, with what was
// measured, also when ctx is cancelled part way.
func (lt *loadtest) drive(ctx context.Context, label string, tgt ltTarget, accounts []ltAccount, cpuProfile, cpuPID string, atEnd func(*ltResult)) (*ltResult, error) {
	o := lt.o
	sessions, err := signInAll(ctx, tgt, accounts)
	defer signOutAll(context.WithoutCancel(ctx), tgt, sessions)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s: sign in: %w", label, err)
	}
	vus, err := newVUs(tgt.baseURL(), sessions, o.users)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s: %w", label, err)
	}
	defer closeVUs(vus)
	if o.warmup > 0 {
		runLoad(ctx, tgt, vus, o.mix, o.warmup, lt.stderr, label+" warm-up")
	}
	res := &ltResult{label: label, target: tgt}
	if ctx.Err() != nil {
		res.interrupted = true
		return res, nil
	}
	var before redisSnapshot
	if lt.probe != nil {
		if before, err = lt.probe.snapshot(); err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
	}
	var profFile *os.File
	if cpuProfile != "" {
		if profFile, err = os.Create(cpuProfile); err != nil {
			return nil, fmt.Errorf("loadtest: -cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(profFile); err != nil {
			profFile.Close()
			return nil, fmt.Errorf("loadtest: -cpuprofile: %w", err)
		}
	}
	cpu0, cpuErr := readProcCPU(cpuPID)
	load := runLoad(ctx, tgt, vus, o.mix, o.duration, lt.stderr, label)
	if cpu1, err := readProcCPU(cpuPID); cpuPID != "" && err == nil && cpuErr == nil {
		res.cpu, res.cpuSelf = cpu1-cpu0, cpuPID == "self"
	}
	if profFile != nil {
		pprof.StopCPUProfile()
		if err := profFile.Close(); err != nil {
			return nil, fmt.Errorf("loadtest: -cpuprofile: %w", err)
		}
		res.notes = append(res.notes, "CPU profile: "+cpuProfile)
	}
	res.load = load
	res.interrupted = ctx.Err() != nil
	if lt.probe != nil {
		after, err := lt.probe.snapshot()
		if err != nil {
			return res, fmt.Errorf("loadtest: %w", err)
		}
		d := after.since(before)
		res.redis = &d
	}
	if atEnd != nil {
		atEnd(res)
	}
	if lt.probe != nil && ctx.Err() == nil {
		res.perKind = measureKinds(ctx, tgt, vus[0], lt.probe, 100)
	}
	return res, nil
}

// serverLogger is the in-process server's logger: every record formatted as
// JSON, as production writes it, into -server-log or nowhere, and warnings
// and errors also as text on stderr.
func (lt *loadtest) serverLogger() (*slog.Logger, func(), error) {
	var w io.Writer = io.Discard
	closeFn := func() {}
	if lt.o.serverLog != "" {
		f, err := os.Create(lt.o.serverLog)
		if err != nil {
			return nil, nil, fmt.Errorf("loadtest: -server-log: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	all := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	warn := &limitedHandler{h: slog.NewTextHandler(lt.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}), left: &atomic.Int64{}, w: lt.stderr}
	warn.left.Store(ltMaxWarnings)
	return slog.New(teeHandler{all, warn}), closeFn, nil
}

// ltMaxWarnings bounds the server warnings copied to stderr: a store outage
// under load would otherwise print one per request.
const ltMaxWarnings = 20

// limitedHandler passes on the first records, then drops the rest, saying so
// once.
type limitedHandler struct {
	h    slog.Handler
	left *atomic.Int64
	w    io.Writer
}

func (l *limitedHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return l.left.Load() > 0 && l.h.Enabled(ctx, lv)
}

func (l *limitedHandler) Handle(ctx context.Context, r slog.Record) error {
	switch n := l.left.Add(-1); {
	case n > 0:
		return l.h.Handle(ctx, r)
	case n == 0:
		err := l.h.Handle(ctx, r)
		fmt.Fprintf(l.w, "loadtest: %d server warnings shown; the rest are dropped (-server-log FILE keeps them all)\n", ltMaxWarnings)
		return err
	}
	return nil
}

func (l *limitedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &limitedHandler{h: l.h.WithAttrs(as), left: l.left, w: l.w}
}

func (l *limitedHandler) WithGroup(name string) slog.Handler {
	return &limitedHandler{h: l.h.WithGroup(name), left: l.left, w: l.w}
}

// teeHandler hands every record to both handlers that want it.
// lockedWriter serialises the writes of several goroutines to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t[0].Enabled(ctx, l) || t[1].Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(as), t[1].WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t[0].WithGroup(name), t[1].WithGroup(name)}
}

// loadtestConfig loads the configuration as serve does. One refusal is lifted
// for the load test: storage.backend redis with session encryption on and no
// security.encryption_keys, which a real server must refuse because its
// instances would not share a key. The in-process server is alone and its
// sessions are throwaway, so a key made for the run does; madeKey says so.
func loadtestConfig(path string, explicit bool, getenv func(string) string) (cfg sessionsvc.Config, madeKey bool, err error) {
	cfg, err = sessionsvc.LoadConfigFile(path, explicit, getenv)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return cfg, false, err
	}
	const encVar = sessionsvc.EnvPrefix + "SECURITY_SESSION_ENCRYPTION"
	if getenv(encVar) != "" {
		return cfg, false, err
	}
	// Load again with encryption off: if that passes, the missing key was the
	// only problem (the file asked for encryption, or the first load would
	// have passed).
	off := func(k string) string {
		if k == encVar {
			return "false"
		}
		return getenv(k)
	}
	alt, altErr := sessionsvc.LoadConfigFile(path, explicit, off)
	if altErr != nil || alt.Storage.Backend != sessionsvc.BackendRedis || len(alt.Security.EncryptionKeys) != 0 {
		return cfg, false, err
	}
	key, kerr := seal.GenerateKey()
	if kerr != nil {
		return cfg, false, kerr
	}
	alt.Security.SessionEncryption = true
	alt.Security.EncryptionKeys = []sessionsvc.EncryptionKey{{ID: "loadtest", Key: key}}
	if verr := alt.Validate(); verr != nil {
		return cfg, false, err
	}
	return alt, true, nil
}

// inProcessConfig turns the loaded config into the in-process server's: its
// own analyst accounts (cheap hashes: signing in is not what is measured, and
// 50 concurrent 64 MiB argon2 runs would be), SQLite data and files in dir,
// a free loopback port, plain-HTTP cookies, no metrics listener.
func inProcessConfig(cfg sessionsvc.Config, dir string, users int) (sessionsvc.Config, []ltAccount, error) {
	cfg.Storage.Path = filepath.Join(dir, "sessions.db")
	cfg.Storage.FilesPath = filepath.Join(dir, "files")
	cfg.Storage.Persistence = false // a load test's Redis need not keep anything
	cfg.Security.SecureCookies = false
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.MetricsAddr = ""
	pw, err := randomPassword()
	if err != nil {
		return cfg, nil, err
	}
	if cfg.Security.SecretKey == "" {
		// The one instance signs its own login forms; a key set here only
		// spares the warning that instances would not share one.
		cfg.Security.SecretKey, err = seal.GenerateKey()
		if err != nil {
			return cfg, nil, err
		}
	}
	taken := map[string]bool{}
	for _, a := range cfg.Accounts {
		taken[strings.ToLower(a.Username)] = true
	}
	accounts := make([]ltAccount, 0, users)
	cfg.Accounts = append([]sessionsvc.Account(nil), cfg.Accounts...)
	for i := range users {
		name := fmt.Sprintf("lt-analyst-%03d", i+1)
		if taken[name] {
			return cfg, nil, fmt.Errorf("loadtest: the config already has an account %q", name)
		}
		hash, err := cheapPasswordHash(pw)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Accounts = append(cfg.Accounts, sessionsvc.Account{Username: name, Role: sessionsvc.RoleAnalyst, PasswordHash: hash})
		accounts = append(accounts, ltAccount{user: name, password: pw})
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("loadtest: in-process config: %w", err)
	}
	return cfg, accounts, nil
}

// freeLoopbackListener listens on a free 127.0.0.1 port.
func freeLoopbackListener() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadtest: listen: %w", err)
	}
	return ln, nil
}

// redactRedisURL drops a password from a Redis URL before it is printed.
func redactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
