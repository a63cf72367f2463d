package handlers_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// TestRedisRoundTrips counts the Redis commands of a request from INFO
// commandstats, and its round trips from INFO stats: loading the session for
// a request that reads nothing else is one GET; a request that writes
// activity adds one EVALSHA that stores the blob and the registry update
// together; the workspace page reads the blob and the session's state with
// one EVALSHA instead of the GET.
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
	// Round trips are the server's socket reads of client requests
	// (total_reads_processed; a script call is one), around the request:
	// the smallest of three tries, in case a background flush fell between.
	reads := func(path string, send func() int) int64 {
		t.Helper()
		processed := func() int64 {
			info, err := redigo.String(srv.Do("INFO", "stats"))
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(info) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_reads_processed:"); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
			}
			t.Fatal("no total_reads_processed in INFO stats")
			return 0
		}
		// INFO on a fresh connection reads more than once (the last one's
		// close too): what two INFO calls read with nothing between them.
		overhead := int64(-1)
		for range 3 {
			before := processed()
			if n := processed() - before; overhead < 0 || n < overhead {
				overhead = n
			}
		}
		least := int64(-1)
		for range 3 {
			before := processed()
			if status := send(); status >= 400 {
				t.Fatalf("%s = %d", path, status)
			}
			if n := processed() - before - overhead; least < 0 || n < least {
				least = n
			}
		}
		return least
	}
	b.get("/workspace") // loads the script into Redis (EVAL once, EVALSHA after)
	ws := count("/workspace")
	if ws["evalsha"] != 1 || ws["get"] != 1 || ws["hgetall"] == 0 {
		t.Errorf("workspace page ran %v, want one EVALSHA that reads the blob (GET) and the state (HGETALL)", ws)
	}
	for _, path := range []string{"/api/session", "/workspace", "/api/v1/session"} {
		if n := reads(path, func() int { return b.get(path).StatusCode }); n != 1 {
			t.Errorf("GET %s: %d round trips, want 1", path, n)
		}
	}
	// Toggling a section reads the state with the blob, then writes it.
	token := csrfFrom(t, b.get("/workspace").Body)
	toggle := func() int {
		return b.post("/workspace/sections", url.Values{"csrf_token": {token}, "section": {"history"}, "open": {"true"}}).StatusCode
	}
	if n := reads("POST /workspace/sections", toggle); n != 2 {
		t.Errorf("POST /workspace/sections: %d round trips, want 2 (blob and state, then the write)", n)
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
