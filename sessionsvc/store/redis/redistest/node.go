package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// Node is a redis-server started with settings of the test's choosing: a
// replica (--replicaof), a server with a password or ACL users, a TLS-only
// server, or a sentinel. Like Server it listens on a free 127.0.0.1 port in
// the test's temporary directory and is stopped when the test ends.
type Node struct {
	t   testing.TB
	bin string
	dir string
	cfg nodeConfig

	mu   sync.Mutex
	port int
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type nodeConfig struct {
	args     []string // redis-server arguments after the defaults
	sentinel []string // sentinel.conf lines; non-nil: run as a sentinel
	tls      []string // TLS settings: the port is the tls-port, the plain port 0
	dial     []redigo.DialOption
}

// NodeOption sets up a Node.
type NodeOption func(*nodeConfig)

// Args adds redis-server arguments ("--replicaof", "127.0.0.1", "6380").
func Args(args ...string) NodeOption {
	return func(c *nodeConfig) { c.args = append(c.args, args...) }
}

// Dial adds options the harness uses to reach the node (Do, readiness), such
// as a password. A reply of NOAUTH still counts as started.
func Dial(opts ...redigo.DialOption) NodeOption {
	return func(c *nodeConfig) { c.dial = append(c.dial, opts...) }
}

// TLSOnly makes the node listen with TLS only (its port is the tls-port),
// with cert.CertFile and cert.KeyFile, trusting cert.CAFile, not asking
// clients for certificates, and replicating over TLS. The harness dials it
// with TLS.
func TLSOnly(cert *Cert) NodeOption {
	return func(c *nodeConfig) {
		c.tls = []string{
			"tls-cert-file", cert.CertFile,
			"tls-key-file", cert.KeyFile,
			"tls-ca-cert-file", cert.CAFile,
			"tls-auth-clients", "no",
			"tls-replication", "yes",
		}
		c.dial = append(c.dial, redigo.DialUseTLS(true), redigo.DialTLSConfig(cert.ClientConfig()))
	}
}

// Sentinel runs the node as a sentinel (redis-server sentinel.conf
// --sentinel) with these sentinel.conf lines ("sentinel monitor m 127.0.0.1
// 6380 2", ...) after its port, bind and dir.
func Sentinel(lines ...string) NodeOption {
	return func(c *nodeConfig) { c.sentinel = append(c.sentinel, lines...) }
}

// StartNode starts a redis-server as opts say and waits until it answers. It
// fails the test if redis-server is missing or does not start.
func StartNode(t testing.TB, opts ...NodeOption) *Node {
	t.Helper()
	n := &Node{t: t, bin: serverBin(t), dir: t.TempDir()}
	for _, o := range opts {
		o(&n.cfg)
	}
	launchOnFreePort(t, func(port int) error { n.port = port; return n.launch() }, n.Stop)
	return n
}

// ErrNoTLS is returned by TryStartNode when redis-server was built without TLS.
var ErrNoTLS = errors.New("redis-server was built without TLS support")

// TryStartNode is StartNode for options the binary may not support: it
// returns ErrNoTLS, instead of failing the test, when TLS settings are
// refused.
func TryStartNode(t testing.TB, opts ...NodeOption) (*Node, error) {
	t.Helper()
	n := &Node{t: t, bin: serverBin(t), dir: t.TempDir()}
	for _, o := range opts {
		o(&n.cfg)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: pick a port: %v", err)
	}
	n.port = port
	if err := n.launch(); err != nil {
		if strings.Contains(err.Error(), "Bad directive") || strings.Contains(err.Error(), "not support") {
			return nil, fmt.Errorf("%w: %v", ErrNoTLS, err)
		}
		return nil, err
	}
	t.Cleanup(n.Stop)
	return n, nil
}

func (n *Node) command() (*exec.Cmd, error) {
	port := strconv.Itoa(n.port)
	portArgs := []string{"port", port}
	if n.cfg.tls != nil {
		portArgs = append([]string{"port", "0", "tls-port", port}, n.cfg.tls...)
	}
	if n.cfg.sentinel != nil {
		var b strings.Builder
		for i := 0; i+1 < len(portArgs); i += 2 {
			fmt.Fprintf(&b, "%s %s\n", portArgs[i], portArgs[i+1])
		}
		fmt.Fprintf(&b, "bind 127.0.0.1\ndir %s\nloglevel warning\n", n.dir)
		for _, l := range n.cfg.sentinel {
			b.WriteString(l + "\n")
		}
		conf := filepath.Join(n.dir, "sentinel.conf")
		// A restart keeps what the sentinel learned and rewrote.
		if _, err := os.Stat(conf); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
				return nil, err
			}
		}
		return exec.Command(n.bin, append([]string{conf, "--sentinel"}, n.cfg.args...)...), nil
	}
	args := []string{
		"--bind", "127.0.0.1",
		"--save", "",
		"--dir", n.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
		"--appendonly", "no",
		// A replica's first sync starts at once instead of after 5 s.
		"--repl-diskless-sync-delay", "0",
	}
	for i := 0; i+1 < len(portArgs); i += 2 {
		args = append(args, "--"+portArgs[i], portArgs[i+1])
	}
	return exec.Command(n.bin, append(args, n.cfg.args...)...), nil
}

func (n *Node) launch() error {
	cmd, err := n.command()
	if err != nil {
		return err
	}
	out := &syncBuffer{}
	cmd.Dir = n.dir
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
	n.mu.Lock()
	n.cmd, n.out, n.done = cmd, out, done
	n.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited: %s", n.port, strings.TrimSpace(out.String()))
		default:
		}
		err := n.ping()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer within %v: %v; output: %s",
				n.port, startTimeout, err, strings.TrimSpace(out.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *Node) dial(timeout time.Duration) (redigo.Conn, error) {
	opts := append([]redigo.DialOption{
		redigo.DialConnectTimeout(timeout),
		redigo.DialReadTimeout(timeout),
		redigo.DialWriteTimeout(timeout),
	}, n.cfg.dial...)
	return redigo.Dial("tcp", n.Addr(), opts...)
}

// ping reports whether the server answers; an authentication error is an
// answer too.
func (n *Node) ping() error {
	c, err := n.dial(200 * time.Millisecond)
	if err != nil {
		var re redigo.Error
		if errors.As(err, &re) {
			return nil
		}
		return err
	}
	defer c.Close()
	_, err = c.Do("PING")
	var re redigo.Error
	if errors.As(err, &re) && !strings.HasPrefix(string(re), "LOADING") {
		return nil
	}
	return err
}

// Addr is the node's host:port.
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port))
}

// Port is the node's port.
func (n *Node) Port() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.port
}

// Dir is the node's working directory.
func (n *Node) Dir() string { return n.dir }

// Output is what the server wrote to stdout and stderr, for failure messages.
func (n *Node) Output() string {
	n.mu.Lock()
	out := n.out
	n.mu.Unlock()
	if out == nil {
		return ""
	}
	return out.String()
}

// Do runs one command on a fresh connection dialled with the node's Dial
// options.
func (n *Node) Do(cmd string, args ...any) (any, error) {
	c, err := n.dial(5 * time.Second)
	if err != nil {
		return nil, fmt.Errorf("redistest: dial %s: %w", n.Addr(), err)
	}
	defer c.Close()
	return c.Do(cmd, args...)
}

// Kill ends the node abruptly (SIGKILL), as a crash, and waits for it.
func (n *Node) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop ends the node (SIGTERM, then SIGKILL if it lingers) and waits for it.
// It is registered with t.Cleanup and safe to call more than once.
func (n *Node) Stop() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}
