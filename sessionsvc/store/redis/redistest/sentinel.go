package redistest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// StartSentinels starts n sentinels (redis-server --sentinel) that monitor the
// primary at primaryAddr under the name master with the given quorum, and
// fail over fast: down-after-milliseconds 1000, failover-timeout 5000,
// parallel-syncs 1. lines are more sentinel.conf lines, after the monitor
// line (sentinel auth-pass, sentinel auth-user, requirepass ...); opts apply to
// every sentinel (Dial, TLSOnly).
func StartSentinels(t testing.TB, n int, master, primaryAddr string, quorum int, lines []string, opts ...NodeOption) []*Node {
	t.Helper()
	host, port, err := net.SplitHostPort(primaryAddr)
	if err != nil {
		t.Fatalf("redistest: primary address %q: %v", primaryAddr, err)
	}
	conf := append([]string{
		fmt.Sprintf("sentinel monitor %s %s %s %d", master, host, port, quorum),
		fmt.Sprintf("sentinel down-after-milliseconds %s 1000", master),
		fmt.Sprintf("sentinel failover-timeout %s 5000", master),
		fmt.Sprintf("sentinel parallel-syncs %s 1", master),
	}, lines...)
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = StartNode(t, append([]NodeOption{Sentinel(conf...)}, opts...)...)
	}
	return nodes
}

// WaitSentinels waits (up to timeout) until every sentinel knows the other
// sentinels and sees replicas replicas of master with their link up, which a
// failover needs. It fails the test otherwise.
func WaitSentinels(t testing.TB, sentinels []*Node, master string, replicas int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = sentinelsReady(sentinels, master, replicas); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: sentinels not ready within %v: %v", timeout, last)
}

func sentinelsReady(sentinels []*Node, master string, replicas int) error {
	for _, s := range sentinels {
		m, err := redigo.StringMap(s.Do("SENTINEL", "master", master))
		if err != nil {
			return fmt.Errorf("%s: SENTINEL master: %w", s.Addr(), err)
		}
		if got, want := m["num-other-sentinels"], fmt.Sprint(len(sentinels)-1); got != want {
			return fmt.Errorf("%s knows %s other sentinels, want %s", s.Addr(), got, want)
		}
		if strings.Contains(m["flags"], "down") {
			return fmt.Errorf("%s sees the master as %s", s.Addr(), m["flags"])
		}
		rs, err := redigo.Values(s.Do("SENTINEL", "replicas", master))
		if err != nil {
			return fmt.Errorf("%s: SENTINEL replicas: %w", s.Addr(), err)
		}
		up := 0
		for _, r := range rs {
			f, err := redigo.StringMap(r, nil)
			if err == nil && f["master-link-status"] == "ok" && !strings.Contains(f["flags"], "down") &&
				!strings.Contains(f["flags"], "disconnected") {
				up++
			}
		}
		if up < replicas {
			return fmt.Errorf("%s sees %d replicas up, want %d", s.Addr(), up, replicas)
		}
	}
	return nil
}

// MasterAddr asks a sentinel where the primary of master is.
func MasterAddr(s *Node, master string) (string, error) {
	v, err := redigo.Strings(s.Do("SENTINEL", "get-master-addr-by-name", master))
	if err != nil {
		return "", err
	}
	if len(v) != 2 {
		return "", fmt.Errorf("malformed reply %q", v)
	}
	return net.JoinHostPort(v[0], v[1]), nil
}
