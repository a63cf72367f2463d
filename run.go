package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/handlers"
	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/metrics"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	redisstore "github.com/ppfiber/sessionconsole/sessionsvc/store/redis"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/sqlite"
	"github.com/ppfiber/sessionconsole/static"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `usage:
  sessionconsole [serve] [-config FILE] [-addr HOST:PORT]   run the server
  sessionconsole sessions list|show|terminate ...           list, show or end sessions on the configured store (sessions help)
  sessionconsole users disable|enable ...                   disable an account (its sessions end) or enable it (users help)
  sessionconsole hash-password                              read a password from stdin, print its argon2id hash
  sessionconsole gen-key                                    print a new encryption key for security.encryption_keys
  sessionconsole loadtest [-url URL] [-users 50] [-duration 20s] [-page /workspace] [-baseline] ...
                                                            simulated analysts over HTTP: req/s, latency, Redis round trips, memory (loadtest -h)
  sessionconsole version                                    print the version
`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr, nil)
	case "sessions":
		return sessionsCmd(ctx, args, getenv, stdout, stderr)
	case "users":
		return usersCmd(ctx, args, getenv, stdout, stderr)
	case "hash-password":
		return hashPassword(stdin, stdout)
	case "loadtest":
		return loadtestCmd(ctx, args, getenv, stdout, stderr)
	case "gen-key":
		k, err := seal.GenerateKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
		return nil
	case "version":
		fmt.Fprintln(stdout, "sessionconsole", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func hashPassword(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("hash-password: read: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("hash-password: empty password on stdin")
	}
	h, err := sessionsvc.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("hash-password: %w", err)
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// serveHooks lets tests learn the listening address and the service.
type serveHooks struct {
	ready        func(addr string, svc *sessionsvc.Service)
	metricsReady func(addr string)
	now          func() time.Time
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hooks *serveHooks) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default config.yaml)")
	addr := fs.String("addr", "", "listen address HOST:PORT (default server.addr, 127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	explicit := *configPath != ""
	if !explicit {
		*configPath = "config.yaml"
	}
	cfg, err := sessionsvc.LoadConfigFile(*configPath, explicit, getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("-addr: %w", err)
		}
	}
	term := false
	if f, ok := stderr.(*os.File); ok {
		term = sessionsvc.IsTerminal(f)
	}
	log := sessionsvc.NewLogger(stderr, cfg.Server.LogFormat, term)
	if demo := cfg.DemoAccounts(); len(demo) > 0 && !cfg.Server.Loopback() {
		return fmt.Errorf("refusing to listen on %s with the demo accounts %s: change their passwords (sessionconsole hash-password) or listen on 127.0.0.1", cfg.Server.Addr, strings.Join(demo, ", "))
	}

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	now := time.Now
	if hooks != nil && hooks.now != nil {
		now = hooks.now
	}
	ring, err := loadKeys(cfg, getenv, log)
	if err != nil {
		return err
	}
	fm, err := files.NewManager(cfg.Storage.FilesPath, cfg.Storage.QuotaBytes())
	if err != nil {
		return fmt.Errorf("storage.files_path: %w", err)
	}
	defer fm.Close()
	var m *metrics.Metrics
	if cfg.Analytics.TrackMetrics {
		host, _ := os.Hostname()
		m = metrics.New(host + "/" + cfg.Server.Addr)
	}
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Logger: log, Now: now, Keys: ring, Files: fm, Metrics: m,
		Backend: cfg.Storage.Backend, Version: versionString()})
	if err != nil {
		return err
	}
	defer func() {
		// Every buffered analytics event is written before the store closes.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := svc.Close(flushCtx); err != nil {
			log.Error("analytics flush at shutdown", slog.String("error", err.Error()))
		}
	}()
	m.SetActiveFunc(svc.ActiveByRole)
	limitMemory(getenv)
	assets, err := static.New()
	if err != nil {
		return err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	handlers.New(handlers.Deps{Sessions: svc, Assets: assets, Static: assets, Logger: log, Now: now, Metrics: m, Console: svc}).Register(e)

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("listening", slog.String("addr", "http://"+ln.Addr().String()), slog.String("backend", cfg.Storage.Backend), slog.String("version", versionString()))
	if hooks != nil && hooks.ready != nil {
		hooks.ready(ln.Addr().String(), svc)
	}

	var wg sync.WaitGroup
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	wg.Go(func() { svc.RunCleanup(jobs) })

	// Metrics on their own listener, so a proxy in front of the app never
	// exposes them.
	var msrv *http.Server
	if m != nil && cfg.Server.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsAddr)
		if err != nil {
			return fmt.Errorf("server.metrics_addr: %w", err)
		}
		msrv = &http.Server{Handler: m.Handler(cfg.Server.MetricsToken), ReadHeaderTimeout: 10 * time.Second}
		log.Info("metrics listening", slog.String("addr", "http://"+mln.Addr().String()+"/metrics"))
		if hooks != nil && hooks.metricsReady != nil {
			hooks.metricsReady(mln.Addr().String())
		}
		wg.Go(func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener", slog.String("error", err.Error()))
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopJobs()
		if msrv != nil {
			msrv.Close()
		}
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx) // in-flight requests finish
	if msrv != nil {
		msrv.Shutdown(shutCtx)
	}
	stopJobs()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// loadKeys builds the keyring that encrypts sessions at rest: the configured
// keys, or, for the embedded stores only, a key file made once next to the
// database. Redis instances must share a configured key (config validation
// says so).
func loadKeys(cfg sessionsvc.Config, getenv func(string) string, log *slog.Logger) (*seal.Keyring, error) {
	if !cfg.Security.SessionEncryption {
		log.Warn("security.session_encryption is off: session data is stored in the clear")
		return nil, nil
	}
	keys, err := cfg.Security.Keys(getenv)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		path := cfg.Storage.KeyFilePath()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		k, created, err := seal.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("generated an encryption key file; keep it with the database", slog.String("path", path))
		}
		keys = []seal.Key{k}
	}
	return seal.New(keys...)
}

func openStore(ctx context.Context, cfg sessionsvc.Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Storage.Backend {
	case "redis":
		s := cfg.Storage
		wait := s.RedisReplicaWait()
		if wait == 0 {
			wait = -1 // 0 in the config never waits; 0 in Options means the default
		}
		sn := s.RedisSentinel
		st, err := redisstore.New(ctx, redisstore.Options{
			URL: s.RedisURL, Username: s.RedisUsername, Password: s.RedisPassword, CAFile: s.RedisCAFile,
			Sentinel: redisstore.SentinelOptions{MasterName: sn.MasterName, Addrs: sn.Addresses,
				Username: sn.Username, Password: sn.Password, TLS: sn.TLS},
			ReplicaWait: wait, Logger: log,
			PoolSize:     s.PoolSize,
			DialTimeout:  time.Duration(s.DialTimeout) * time.Millisecond,
			ReadTimeout:  time.Duration(s.ReadTimeout) * time.Millisecond,
			WriteTimeout: time.Duration(s.WriteTimeout) * time.Millisecond,
			Grace:        cfg.Grace(),
		})
		if err != nil {
			return nil, err
		}
		if s.Persistence {
			aof, rdb, err := st.Persistence(ctx)
			switch {
			case err != nil:
				log.Warn("could not read Redis persistence settings", slog.String("error", err.Error()))
			case !aof && !rdb:
				log.Warn("Redis has neither AOF nor RDB persistence: a Redis restart signs everyone out and may revive ended sessions' absence of tombstones; enable appendonly yes")
			}
		}
		return st, nil
	case "memory":
		return sqlite.Open(ctx, sqlite.Options{Path: ":memory:"})
	default:
		if dir := filepath.Dir(cfg.Storage.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("storage.path: %w", err)
			}
		}
		return sqlite.Open(ctx, sqlite.Options{Path: cfg.Storage.Path})
	}
}

// defaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT
// says otherwise. The live heap under load is a few MB; what made the
// process large were the short-lived argon2 buffers of sign-ins (and of the
// demo-account check at start), which the runtime kept for minutes. Near the
// limit it collects and returns memory to the OS at once.
const defaultMemoryLimit = 32 << 20

// limitMemory sets defaultMemoryLimit when GOMEMLIMIT is unset, and returns
// the start-up's garbage (config checks, the dummy hash) to the OS.
func limitMemory(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	debug.FreeOSMemory()
}
