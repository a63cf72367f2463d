package handlers_test

import (
	"testing"
	"time"
)

// TestRedisRoundTrips counts the Redis commands of a request from INFO
// commandstats: loading the session for a request that reads nothing else
// is one GET; a request that writes activity adds one EVALSHA that stores the
// blob and the registry update together; the workspace page adds one read of
// the session's state.
func TestRedisRoundTrips(t *testing.T) {
	a := newApp(t, "redis")
	b := a.browser()
	b.login("ana")
	srv := a.Backend.redis
	count := func(path string) map[string]int64 {
		t.Helper()
		if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
			t.Fatal(err)
		}
		if res := b.get(path); res.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
		stats, err := srv.CommandStats()
		if err != nil {
			t.Fatal(err)
		}
		delete(stats, "config|resetstat")
		delete(stats, "config")
		delete(stats, "info")
		return stats
	}
	// commandstats also counts the commands a script runs inside Redis; those
	// cost no round trip. Every client command here is a GET or a script call.
	total := func(m map[string]int64) (n int64) {
		return m["get"] + m["evalsha"] + m["eval"]
	}

	read := count("/api/session")
	if total(read) != 1 || read["get"] != 1 || len(read) != 1 {
		t.Errorf("read-only request ran %v, want exactly one GET", read)
	}
	b.get("/workspace") // loads the state script into Redis (EVAL once, EVALSHA after)
	ws := count("/workspace")
	if total(ws) != 2 || ws["get"] != 1 || ws["evalsha"] != 1 {
		t.Errorf("workspace page ran %v, want one GET and one state read", ws)
	}
	a.Clock.Add(61 * time.Second) // past the activity-write throttle
	write := count("/api/session")
	if total(write) != 2 || write["get"] != 1 || write["evalsha"] != 1 {
		t.Errorf("writing request ran %v, want one GET and one EVALSHA", write)
	}
	for cmd := range write {
		switch cmd {
		case "get", "evalsha":
		case "hset", "hmget", "hget", "zadd", "set", "pexpireat", "pexpire", "exists", "hgetall":
			// inside the script
		default:
			t.Errorf("writing request ran an unexpected command %q", cmd)
		}
	}
	t.Logf("round trips: read-only %d %v, writing %d %v", total(read), read, total(write), write)
}
