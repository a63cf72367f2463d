package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
)

func noEnv(string) string { return "" }

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"version"}, noEnv, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "sessionconsole ") {
		t.Errorf("version printed %q", out.String())
	}
	if err := run(t.Context(), []string{"frobnicate"}, noEnv, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestGenKey(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"gen-key"}, noEnv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	k, err := seal.ParseKey(strings.TrimSpace(out.String()))
	if err != nil || len(k) != 32 {
		t.Fatalf("gen-key printed %q: %v", out.String(), err)
	}
}

func TestHashPassword(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"hash-password"}, noEnv, strings.NewReader("s3cret pass\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := sessionsvc.VerifyPassword(h, "s3cret pass"); !ok || err != nil {
		t.Fatalf("hash does not verify: %v", err)
	}
	if err := run(t.Context(), []string{"hash-password"}, noEnv, strings.NewReader("\n"), io.Discard, io.Discard); err == nil {
		t.Error("empty password accepted")
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeConfigErrorsNameTheKey(t *testing.T) {
	p := writeConfig(t, "session:\n  idle_timout_minutes: 10\n  max_sessions_per_user: 0\n")
	err := run(t.Context(), []string{"serve", "-config", p}, noEnv, nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"session.idle_timout_minutes", "unknown key", "session.max_sessions_per_user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	env := func(k string) string {
		if k == "SESSIONCONSOLE_STORAGE_BACKEND" {
			return "postgres"
		}
		return ""
	}
	err = run(t.Context(), []string{"serve", "-config", writeConfig(t, "")}, env, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SESSIONCONSOLE_STORAGE_BACKEND") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestServeRefusesDemoAccountsOffLoopback(t *testing.T) {
	err := run(t.Context(), []string{"serve", "-config", "config.yaml", "-addr", "0.0.0.0:0"}, noEnv, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "demo accounts") {
		t.Fatalf("serve on 0.0.0.0 with demo accounts: %v", err)
	}
}

// startServe runs the real serve path on a free port and returns its address.
func startServe(t *testing.T, args []string, env func(string) string) (addr string, stop func() error) {
	t.Helper()
	// The metrics listener takes a free port too: 9090 may be in use here.
	base := env
	env = func(k string) string {
		if v := base(k); v != "" || k != "SESSIONCONSOLE_SERVER_METRICS_ADDR" {
			return v
		}
		return "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, args, env, io.Discard, io.Discard, &serveHooks{ready: func(a string, _ *sessionsvc.Service) { ready <- a }})
	}()
	select {
	case addr = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

var tokenRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// TestServeDemoAnalyst is the README's first run: the shipped config on the
// database store, the demo analyst signs in and sees their sessions.
func TestServeDemoAnalyst(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		switch k {
		case "SESSIONCONSOLE_STORAGE_PATH":
			return filepath.Join(dir, "sessions.db")
		case "SESSIONCONSOLE_STORAGE_FILES_PATH":
			return filepath.Join(dir, "files")
		}
		return ""
	}
	addr, stop := startServe(t, []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env)
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := tokenRe.FindSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("GET /login = %d\n%s", res.StatusCode, body)
	}
	res, err = c.PostForm(base+"/login", url.Values{"username": {"analyst"}, "password": {"analyst-demo-pass"}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/workspace" {
		t.Fatalf("after sign-in landed on %s (%d)", res.Request.URL.Path, res.StatusCode)
	}
	res, err = c.Get(base + "/account/sessions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `data-testid="current-session"`) {
		t.Fatalf("GET /account/sessions = %d\n%s", res.StatusCode, body)
	}

	// The embedded store serves one process: a second one on the same file is refused.
	err = serve(t.Context(), []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second server on the same database: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

func TestServeMemoryBackend(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		switch k {
		case "SESSIONCONSOLE_STORAGE_BACKEND":
			return "memory"
		case "SESSIONCONSOLE_STORAGE_PATH":
			return filepath.Join(dir, "unused.db") // the generated key file goes next to it
		case "SESSIONCONSOLE_STORAGE_FILES_PATH":
			return filepath.Join(dir, "files")
		}
		return ""
	}
	addr, stop := startServe(t, []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env)
	if _, err := os.Stat(filepath.Join(dir, "session.key")); err != nil {
		t.Errorf("no generated key file: %v", err)
	}
	for _, p := range []string{"/healthz", "/readyz", "/login"} {
		res, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s = %d", p, res.StatusCode)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeMetricsListener checks that /metrics lives on its own listener,
// behind its bearer token, with the series, and not on the app's.
func TestServeMetricsListener(t *testing.T) {
	dir := t.TempDir()
	const token = "metrics-token-0123456789"
	env := func(k string) string {
		switch k {
		case "SESSIONCONSOLE_STORAGE_BACKEND":
			return "memory"
		case "SESSIONCONSOLE_STORAGE_PATH":
			return filepath.Join(dir, "unused.db")
		case "SESSIONCONSOLE_STORAGE_FILES_PATH":
			return filepath.Join(dir, "files")
		case "SESSIONCONSOLE_SERVER_METRICS_ADDR":
			return "127.0.0.1:0"
		case "SESSIONCONSOLE_SERVER_METRICS_TOKEN":
			return token
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, mready := make(chan string, 1), make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env, io.Discard, io.Discard, &serveHooks{
			ready:        func(a string, _ *sessionsvc.Service) { ready <- a },
			metricsReady: func(a string) { mready <- a },
		})
	}()
	var addr, maddr string
	for addr == "" || maddr == "" {
		select {
		case maddr = <-mready:
		case addr = <-ready:
		case err := <-errc:
			t.Fatalf("serve: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not start")
		}
	}
	// Some traffic: a page, a sign-in, a 404.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, _ := c.Get("http://" + addr + "/login")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := tokenRe.FindSubmatch(body)
	res, err := c.PostForm("http://"+addr+"/login", url.Values{"username": {"analyst"}, "password": {"analyst-demo-pass"}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, _ = c.PostForm("http://"+addr+"/account/sessions/zzz/end", url.Values{})
	res.Body.Close()

	if res, err := c.Get("http://" + addr + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || strings.Contains(string(b), "sessionconsole_") {
			t.Errorf("the app's listener answers /metrics with %d", res.StatusCode)
		}
	}
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+maddr+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("metrics without the token = %d, want 401", code)
	}
	code, text := get(token)
	if code != 200 {
		t.Fatalf("metrics = %d", code)
	}
	for _, series := range []string{
		`sessionconsole_active_sessions_cluster{role="analyst"} 1`,
		`sessionconsole_sessions_created_total`,
		`sessionconsole_http_request_duration_seconds_count{code="200"`,
		`route="/login"`,
		`route="/account/sessions/:sid/end"`,
		`sessionconsole_analytics_buffer_events`,
		`sessionconsole_analytics_events_dropped_total`,
		`sessionconsole_security_events_total`,
		`sessionconsole_cleanup_duration_seconds`,
		`sessionconsole_store_duration_seconds_count{instance=`,
		`op="FindCtx"`,
	} {
		if !strings.Contains(text, series) {
			t.Errorf("metrics lack %s", series)
		}
	}
	if strings.Contains(text, "/account/sessions/zzz") {
		t.Errorf("a raw path reached a route label")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
