// Package redistest starts a private redis-server for tests: on a free loopback
// port, in the test's temporary directory, stopped when the test ends. Tests can
// pause, kill and restart it to exercise failure handling.
//
// It must never touch a Redis it did not start (such as one on 127.0.0.1:6379).
// A missing redis-server binary is a test failure, never a skip, so that a
// machine without it cannot pass the suite by silently running nothing.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// startTimeout bounds how long Start and Restart wait for PING to answer.
const startTimeout = 5 * time.Second

// Option changes how the server is started.
type Option func(*config)

type config struct {
	appendOnly bool
}

// AppendOnly turns the append-only file on (fsync every second), so that data
// survives Kill and Restart.
func AppendOnly() Option { return func(c *config) { c.appendOnly = true } }

// Server is one running redis-server owned by a test.
type Server struct {
	t   testing.TB
	bin string
	dir string
	cfg config

	mu     sync.Mutex
	port   int
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{} // closed when cmd has been waited for
	paused bool
}

// Start starts redis-server on a free 127.0.0.1 port and registers its stop
// with t.Cleanup. It fails the test if redis-server is missing or does not
// answer PING within a few seconds.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, bin: serverBin(t), dir: t.TempDir()}
	for _, o := range opts {
		o(&s.cfg)
	}
	launchOnFreePort(t, func(port int) error { s.port = port; return s.launch() }, s.Stop)
	return s
}

// serverBin is the path of redis-server; it fails the test when there is none.
func serverBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it with `apt-get install -y redis-server`")
	}
	return bin
}

// launchOnFreePort calls launch with free loopback ports until one works
// (another process may take a port before redis-server binds it), five
// tries at most, and registers stop with t.Cleanup once one did.
func launchOnFreePort(t testing.TB, launch func(port int) error, stop func()) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick a port: %v", err)
		}
		if lastErr = launch(port); lastErr == nil {
			t.Cleanup(stop)
			return
		}
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before redis-server binds it; Start retries with a new port if so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) args() []string {
	a := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--save", "",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	}
	if s.cfg.appendOnly {
		a = append(a, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		a = append(a, "--appendonly", "no")
	}
	return a
}

// launch starts the process on s.port and waits for PING. On failure the
// process is gone when it returns.
func (s *Server) launch() error {
	out := &syncBuffer{}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.out, s.done, s.paused = cmd, out, done, false
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, strings.TrimSpace(out.String()))
		default:
		}
		if err := s.ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %v; output: %s",
				s.port, startTimeout, err, strings.TrimSpace(out.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) dial() (redigo.Conn, error) {
	return redigo.Dial("tcp", s.Addr(),
		redigo.DialConnectTimeout(time.Second),
		redigo.DialReadTimeout(5*time.Second),
		redigo.DialWriteTimeout(5*time.Second))
}

func (s *Server) ping() error {
	c, err := redigo.Dial("tcp", s.Addr(),
		redigo.DialConnectTimeout(200*time.Millisecond),
		redigo.DialReadTimeout(200*time.Millisecond),
		redigo.DialWriteTimeout(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Do("PING")
	return err
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL is a redis:// URL for database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir is the server's working directory (where an AOF would be written).
func (s *Server) Dir() string { return s.dir }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("redistest: signal %v: %v", sig, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		s.paused = true
	case syscall.SIGCONT:
		s.paused = false
	}
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing
// answers, as with a stalled or partitioned Redis.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

// Kill ends the server abruptly (SIGKILL) and waits for it to exit. Data not
// yet written to the AOF is lost, as in a crash.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Restart starts the server again on the same port and directory with the same
// options, after Kill or Stop (it stops a running one first), and waits for
// PING. With AppendOnly the data written before an fsync survives.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	// The port may still be held briefly by the old process's sockets.
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart redis-server: %v", err)
}

// Stop ends the server (SIGTERM, then SIGKILL if it lingers) and waits for it.
// It is registered with t.Cleanup by Start and safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done, paused := s.cmd, s.done, s.paused
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// Do runs one command on a fresh connection, for tests that inspect the server
// (INFO, CONFIG RESETSTAT, DBSIZE ...).
func (s *Server) Do(cmd string, args ...any) (any, error) {
	c, err := s.dial()
	if err != nil {
		return nil, fmt.Errorf("redistest: dial %s: %w", s.Addr(), err)
	}
	defer c.Close()
	return c.Do(cmd, args...)
}

// CommandStats returns the number of calls per command from INFO commandstats,
// keyed by lower-case command name ("get", "evalsha", "config|resetstat").
func (s *Server) CommandStats() (map[string]int64, error) {
	info, err := redigo.String(s.Do("INFO", "commandstats"))
	if err != nil {
		return nil, fmt.Errorf("redistest: INFO commandstats: %w", err)
	}
	return parseCommandStats(info)
}

func parseCommandStats(info string) (map[string]int64, error) {
	stats := make(map[string]int64)
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k != "calls" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("redistest: parse %q: %w", line, err)
			}
			stats[name] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return stats, nil
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
