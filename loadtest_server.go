package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/argon2"

	"github.com/ppfiber/sessionconsole/handlers"
	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/metrics"
	"github.com/ppfiber/sessionconsole/static"
)

// ltServer is the in-process server: serve's store, keys, service and
// routes on a free loopback port, without its metrics listener.
type ltServer struct {
	addr     string
	stopOnce sync.Once
	stopErr  error
	stopFn   func() error
}

// stop shuts the server down gracefully, flushes analytics and closes the
// store. Safe to call more than once.
func (s *ltServer) stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stopFn() })
	return s.stopErr
}

// startInProcess builds the server as serve does, from openStore, loadKeys,
// files.NewManager, sessionsvc.New and handlers.New, with the same request
// metrics and cleanup job. label marks the server's goroutines side=server
// for CPU profiles.
func startInProcess(ctx context.Context, cfg sessionsvc.Config, getenv func(string) string, log *slog.Logger, label bool) (_ *ltServer, err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("loadtest: session store: %w", err)
	}
	closers = append(closers, func() { st.Close() })
	ring, err := loadKeys(cfg, getenv, log)
	if err != nil {
		return nil, err
	}
	fm, err := files.NewManager(cfg.Storage.FilesPath, cfg.Storage.QuotaBytes())
	if err != nil {
		return nil, fmt.Errorf("storage.files_path: %w", err)
	}
	closers = append(closers, func() { fm.Close() })
	ln, err := freeLoopbackListener()
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { ln.Close() })
	var m *metrics.Metrics
	if cfg.Analytics.TrackMetrics {
		m = metrics.New("loadtest/" + ln.Addr().String())
	}
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Logger: log, Keys: ring, Files: fm, Metrics: m,
		Backend: cfg.Storage.Backend, Version: versionString()})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := svc.Close(flushCtx); err != nil {
			log.Error("analytics flush at shutdown", slog.String("error", err.Error()))
		}
	})
	m.SetActiveFunc(svc.ActiveByRole)
	assets, err := static.New()
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	handlers.New(handlers.Deps{Sessions: svc, Assets: assets, Static: assets, Logger: log, Metrics: m, Console: svc}).Register(e)
	var h http.Handler = e
	if label {
		h = labelled("server", e)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	// Not ctx: the server outlives a Ctrl-C long enough for the clients to
	// sign out; stop ends it.
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { svc.RunCleanup(jobs) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	s := &ltServer{addr: ln.Addr().String()}
	s.stopFn = func() error {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		err := srv.Shutdown(shutCtx)
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		stopJobs()
		wg.Wait()
		closeAll()
		if err != nil {
			return fmt.Errorf("loadtest: in-process server: %w", err)
		}
		return nil
	}
	return s, nil
}

// labelled runs h with the pprof label side=name, so a CPU profile of the
// whole process can be narrowed to one side (-tagfocus=side=server).
func labelled(name string, h http.Handler) http.Handler {
	labels := pprof.Labels("side", name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), labels, func(ctx context.Context) { h.ServeHTTP(w, r.WithContext(ctx)) })
	})
}

// cheapPasswordHash is an argon2id PHC string with the smallest parameters
// VerifyPassword accepts in practice (1 MiB, one pass), for the load test's
// own accounts: their sign-ins are not what is measured.
func cheapPasswordHash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	enc := base64.RawStdEncoding
	h := fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key))
	if err := sessionsvc.ValidPasswordHash(h); err != nil {
		return "", fmt.Errorf("loadtest: account hash: %w", err)
	}
	return h, nil
}

// randomPassword is the password of this run's accounts.
func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// procMemory is a process's resident set from /proc/PID/status.
type procMemory struct {
	pid       string
	rss, peak int64 // VmRSS, VmHWM in bytes
}

// readProcMemory reads VmRSS and VmHWM of pid ("self" for this process).
func readProcMemory(pid string) (procMemory, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return procMemory{}, fmt.Errorf("read memory of process %s: %w", pid, err)
	}
	defer f.Close()
	m := procMemory{pid: pid}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			m.rss = n << 10
		} else {
			m.peak = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return procMemory{}, err
	}
	if m.rss == 0 {
		return procMemory{}, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
	}
	return m, nil
}

// readProcCPU is the user plus system CPU time process pid ("self" for this
// one) has used, from /proc/PID/stat; "" reads nothing.
func readProcCPU(pid string) (time.Duration, error) {
	if pid == "" {
		return 0, errors.New("no process")
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	// Clock ticks: USER_HZ, 100 on every Linux architecture Go supports.
	return time.Duration(utime+stime) * (time.Second / 100), nil
}
