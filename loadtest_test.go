package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// TestLoadtestRedisBaseline runs the load tool briefly against an in-process
// server on a private Redis, then the baseline: it must finish, print every
// figure and count no errors. Nothing here is a timed assertion.
func TestLoadtestRedisBaseline(t *testing.T) {
	srv := redistest.Start(t)
	// No encryption key in the config: the tool makes one for its run.
	p := writeConfig(t, "storage:\n  backend: redis\n  redis_url: "+srv.URL()+"\n")
	var out, errb bytes.Buffer
	args := []string{"loadtest", "-config", p, "-users", "4", "-duration", "1s", "-warmup", "200ms", "-baseline"}
	if err := run(t.Context(), args, noEnv, nil, &out, &errb); err != nil {
		t.Fatalf("loadtest: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	o := out.String()
	t.Logf("stdout:\n%s", o)
	for _, re := range []string{
		`(?m)^ours: [1-9]\d* requests in [\d.]+s: [1-9]\d* req/s, 0 errors$`,
		`(?m)^baseline: [1-9]\d* requests in [\d.]+s: [1-9]\d* req/s, 0 errors$`,
		`(?m)^  latency p50 \S+  p95 \S+  p99 \S+$`,
		`(?m)^  view  GET /workspace .* 0 errors$`,
		`(?m)^  api   GET /api/v1/session .* 0 errors$`,
		`(?m)^  write POST /workspace/sections .* 0 errors$`,
		`(?m)^  redis over the run: [\d.]+ round trips, [\d.]+ commands`,
		`(?m)^    GET /api/session +[\d.]+ round trips`,
		`(?m)^    GET /page +[\d.]+ round trips`,
		`(?m)^  memory: VmRSS [\d.]+ MB, VmHWM [\d.]+ MB \(this process`,
		`(?m)^ours/baseline: req/s [\d.]+x .*latency p50 [\d.]+x, p95 [\d.]+x, p99 [\d.]+x$`,
	} {
		if !regexp.MustCompile(re).MatchString(o) {
			t.Errorf("output lacks %s", re)
		}
	}
	if strings.Contains(o, "error:") {
		t.Errorf("errors reported:\n%s", o)
	}
	// The session-only endpoint is one GET per request, and no script call
	// but the activity write, once per activity_write_seconds. Round trips
	// over its 100 requests also count the analytics flusher's pipelines,
	// which belong to no request and land in the window more often on a
	// loaded machine, so the request path is read from its commands.
	m := regexp.MustCompile(`GET /api/session +[\d.]+ round trips, [\d.]+ commands \(([\d.]+) script calls\) per request \[([^\]]*)\]`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no per-type line for GET /api/session in:\n%s", o)
	}
	scripts, _ := strconv.ParseFloat(m[1], 64)
	gets := -1.0
	for _, f := range strings.Split(m[2], ", ") {
		if v, ok := strings.CutPrefix(f, "get "); ok {
			gets, _ = strconv.ParseFloat(v, 64)
		}
	}
	if gets != 1 || scripts > 0.02 {
		t.Errorf("GET /api/session: %v GETs and %v script calls per request, want exactly 1 GET and at most the one activity write", gets, scripts)
	}
	if !regexp.MustCompile(`(?m)^ours: +\d+s +\d+ req/s +0 errors$`).MatchString(errb.String()) {
		t.Errorf("no progress line on stderr:\n%s", errb.String())
	}
	// Every session signed out: none of ours is left live in Redis (the
	// run's accounts are analysts, listed in the analysts' live index), and
	// none of the baseline's (its POST /logout, with the session's cookie,
	// destroys the session's key).
	if n, err := srv.Do("ZCARD", "sc:ix:act:r:"+sessionsvc.RoleAnalyst); err != nil || n.(int64) != 0 {
		t.Errorf("live sessions left after the run: %v %v", n, err)
	}
	if keys, err := srv.Do("KEYS", baselinePrefix+"*"); err != nil {
		t.Errorf("KEYS: %v", err)
	} else if ks, _ := keys.([]any); len(ks) != 0 {
		t.Errorf("%d baseline sessions left after the run", len(ks))
	}
}

// TestLoadtestInterrupted stops a long run early, as Ctrl-C does: the
// results measured so far are still printed.
func TestLoadtestInterrupted(t *testing.T) {
	p := writeConfig(t, "storage:\n  backend: memory\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"loadtest", "-config", p, "-users", "2", "-duration", "1m", "-warmup", "0"}, noEnv, nil, &out, &errb)
	}()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("loadtest: %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("loadtest did not stop on cancel")
	}
	if !regexp.MustCompile(`(?m)^ours \(interrupted\): [1-9]\d* requests in [\d.]+s: [1-9]\d* req/s, 0 errors$`).MatchString(out.String()) {
		t.Errorf("no results after the interrupt:\n%s\n%s", out.String(), errb.String())
	}
}

func TestLoadtestRefuses(t *testing.T) {
	mem := writeConfig(t, "storage:\n  backend: memory\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-config", mem, "-baseline"}, "-baseline needs storage.backend: redis"},
		{[]string{"-url", "http://10.1.2.3:8080"}, "only loopback"},
		{[]string{"-url", "https://127.0.0.1:8080"}, "want http://127.0.0.1:PORT"},
		{[]string{"-url", "http://127.0.0.1:8080", "-cpuprofile", "x"}, "in-process"},
		{[]string{"-views", "0", "-api", "0", "-writes", "0"}, "not all zero"},
		{[]string{"-page", "workspace"}, "want a path"},
	} {
		err := run(t.Context(), append([]string{"loadtest"}, c.args...), noEnv, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("loadtest %v: %v, want %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"help"}, noEnv, nil, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "loadtest") {
		t.Errorf("help does not list loadtest: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"loadtest", "-h"}, noEnv, nil, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "-baseline") {
		t.Errorf("loadtest -h: %v\n%s", err, out.String())
	}
}
