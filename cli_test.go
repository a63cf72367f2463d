package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// cliSignIn signs user in on a running server with its own cookie jar and
// user agent, and returns the new session's sid.
func cliSignIn(t *testing.T, base, user, ua string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	do := func(method, path string, form url.Values) []byte {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("User-Agent", ua)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s %s = %d\n%s", method, path, res.StatusCode, b)
		}
		return b
	}
	m := tokenRe.FindSubmatch(do("GET", "/login", nil))
	if m == nil {
		t.Fatal("no csrf token on /login")
	}
	do("POST", "/login", url.Values{"username": {user}, "password": {user + "-demo-pass"}, "csrf_token": {string(m[1])}})
	var s struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(do("GET", "/api/session", nil), &s); err != nil || s.SID == "" {
		t.Fatalf("/api/session: %v %+v", err, s)
	}
	return s.SID
}

// cliRun runs the command line as main does and returns its output.
func cliRun(env func(string) string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = run(context.Background(), args, env, nil, &out, &errb)
	return out.String(), errb.String(), err
}

// TestSessionsCLI is the ops command line on the database store: sessions
// made by the real server, listed, shown with secrets masked and ended by
// sid and by user, audited as cli:<os user>.
func TestSessionsCLI(t *testing.T) {
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
	cfg := []string{"-config", "config.yaml"}
	addr, stop := startServe(t, []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env)
	base := "http://" + addr
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	ana1 := cliSignIn(t, base, "analyst", firefox)
	ana2 := cliSignIn(t, base, "analyst", chrome)
	adm := cliSignIn(t, base, "admin", firefox)

	// The embedded store serves one process: the CLI says so while the server runs.
	if _, _, err := cliRun(env, append([]string{"sessions", "list"}, cfg...)...); err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("list while the server holds the database: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// State with secrets, written through the service the CLI opens.
	cs, err := openCLIService(t.Context(), "config.yaml", env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range map[string]any{
		"api_token": "tok-SECRET-123",
		"settings":  map[string]any{"db": map[string]any{"password": "pw-SECRET-456", "host": "db.internal"}},
	} {
		if _, err := cs.svc.SetStateValue(t.Context(), ana1, store.CatUserData, key, v); err != nil {
			t.Fatal(err)
		}
	}
	cs.close()

	t.Run("list", func(t *testing.T) {
		out, errOut, err := cliRun(env, append([]string{"sessions", "list"}, cfg...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		for _, want := range []string{"3 live sessions", "SID", "USER", "LAST ACTIVE", "EXPIRES IN", ana1, ana2, adm, "Firefox 128 on Linux", "127.0.0.1"} {
			if !strings.Contains(out, want) {
				t.Errorf("list lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "next page") {
			t.Errorf("one page printed a cursor:\n%s", out)
		}

		out, _, err = cliRun(env, append([]string{"sessions", "list", "-user", "analyst", "-sort", "created", "-n", "1"}, cfg...)...)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`next page: -cursor (\S+)`).FindStringSubmatch(out)
		if !strings.Contains(out, "2 live sessions") || !strings.Contains(out, ana2) || strings.Contains(out, ana1) || m == nil {
			t.Fatalf("first page of analyst by created, n=1:\n%s", out)
		}
		out, _, err = cliRun(env, append([]string{"sessions", "list", "-user", "analyst", "-sort", "created", "-n", "1", "-cursor", m[1]}, cfg...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, ana1) || strings.Contains(out, ana2) || strings.Contains(out, "next page") {
			t.Errorf("second page:\n%s", out)
		}

		out, _, _ = cliRun(env, append([]string{"sessions", "list", "-role", "admin"}, cfg...)...)
		if !strings.Contains(out, "1 live session\n") || !strings.Contains(out, adm) || strings.Contains(out, ana1) {
			t.Errorf("admins:\n%s", out)
		}
		out, _, _ = cliRun(env, append([]string{"sessions", "list", "-ip", "::ffff:127.0.0.1"}, cfg...)...)
		if !strings.Contains(out, "3 live sessions") {
			t.Errorf("IPv4-mapped IP filter:\n%s", out)
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"sessions"},
			{"sessions", "frob"},
			{"sessions", "list", "-sort", "name"},
			{"sessions", "list", "-role", "root"},
			{"sessions", "list", "-n", "0"},
			{"sessions", "list", "-ip", "10.0.0"},
			{"sessions", "list", "-cursor", "zzz"},
			{"sessions", "list", "-bogus"},
			{"sessions", "list", "extra"},
			{"sessions", "show"},
			{"sessions", "show", "a", "b"},
			{"sessions", "terminate", "-reason", "x"},
			{"sessions", "terminate", ana1, "-user", "analyst", "-reason", "x"},
			{"sessions", "list", "-config", filepath.Join(dir, "missing.yaml")},
		} {
			_, errOut, err := cliRun(env, args...)
			if err == nil {
				t.Errorf("%q accepted", args)
			} else if !strings.Contains(errOut, "usage") && !strings.Contains(err.Error(), "missing.yaml") {
				t.Errorf("%q: %v, no usage on stderr: %q", args, err, errOut)
			}
		}
	})

	t.Run("show", func(t *testing.T) {
		out, errOut, err := cliRun(env, append([]string{"sessions", "show", ana1}, cfg...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		for _, want := range []string{"session", ana1, "live", "analyst", "Firefox 128 on Linux", "user_data (v", "api_token", "••••••", `"host":"db.internal"`, "page views", "analyses", "uploads", "api calls", "cost", "USD"} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		for _, secret := range []string{"tok-SECRET-123", "pw-SECRET-456"} {
			if strings.Contains(out, secret) {
				t.Errorf("show printed the secret %q:\n%s", secret, out)
			}
		}
		for _, sid := range []string{"NoSuchSession0000", "not/a/sid"} {
			if _, _, err := cliRun(env, append([]string{"sessions", "show", sid}, cfg...)...); err == nil || !strings.Contains(err.Error(), "no session") {
				t.Errorf("show %s: %v", sid, err)
			}
		}
	})

	t.Run("terminate", func(t *testing.T) {
		for _, reason := range []string{"", "   "} {
			_, _, err := cliRun(env, append([]string{"sessions", "terminate", ana1, "-reason", reason}, cfg...)...)
			if err == nil || !strings.Contains(err.Error(), "reason is required") {
				t.Errorf("reason %q: %v", reason, err)
			}
		}
		if _, _, err := cliRun(env, append([]string{"sessions", "terminate", ana1}, cfg...)...); err == nil || !strings.Contains(err.Error(), "reason is required") {
			t.Errorf("no -reason: %v", err)
		}
		if _, _, err := cliRun(env, append([]string{"sessions", "terminate", "NoSuchSession0000", "-reason", "x"}, cfg...)...); err == nil || !strings.Contains(err.Error(), "no live session") {
			t.Errorf("unknown sid: %v", err)
		}
		if out, _, _ := cliRun(env, append([]string{"sessions", "list"}, cfg...)...); !strings.Contains(out, "3 live sessions") {
			t.Fatalf("a refused terminate ended something:\n%s", out)
		}

		out, errOut, err := cliRun(env, append([]string{"sessions", "terminate", ana1, "-reason", "disk maintenance"}, cfg...)...)
		if err != nil || !strings.Contains(out, "ended 1 session") || !strings.Contains(out, "cli:") {
			t.Fatalf("terminate sid: %v %q %q", err, out, errOut)
		}
		if _, _, err := cliRun(env, append([]string{"sessions", "terminate", ana1, "-reason", "again"}, cfg...)...); err == nil || !strings.Contains(err.Error(), "already ended") {
			t.Errorf("terminate twice: %v", err)
		}
		// What is left of an ended session is still shown.
		if out, _, err := cliRun(env, append([]string{"sessions", "show", ana1}, cfg...)...); err != nil || !strings.Contains(out, "ended") {
			t.Errorf("show an ended session: %v\n%s", err, out)
		}

		out, _, err = cliRun(env, append([]string{"sessions", "terminate", "--user", "analyst", "--reason", "rotate credentials"}, cfg...)...)
		if err != nil || !strings.Contains(out, "ended 1 session of user analyst") {
			t.Fatalf("terminate user: %v %q", err, out)
		}
		out, _, _ = cliRun(env, append([]string{"sessions", "list"}, cfg...)...)
		if !strings.Contains(out, "1 live session\n") || !strings.Contains(out, adm) || strings.Contains(out, ana2) {
			t.Errorf("after terminations:\n%s", out)
		}

		cs, err := openCLIService(t.Context(), "config.yaml", env, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.close()
		for _, c := range []struct{ action, target, reason string }{
			{"terminate", ana1, "disk maintenance"},
			{"terminate_user", "analyst", "rotate credentials"},
		} {
			p, err := cs.svc.AuditLog(t.Context(), store.AuditQuery{Action: c.action, Target: c.target})
			if err != nil {
				t.Fatal(err)
			}
			ok := false
			for _, e := range p.Entries {
				if strings.HasPrefix(e.Actor, "cli:") && e.Reason == c.reason && e.Result == "ok" && e.Affected == 1 {
					ok = true
				}
			}
			if !ok {
				t.Errorf("no audited %s of %s by cli:…: %+v", c.action, c.target, p.Entries)
			}
		}
	})
}

func TestCLIActor(t *testing.T) {
	a := cliActor(func(string) string { return "" })
	if !strings.HasPrefix(a, "cli:") || len(a) <= len("cli:") {
		t.Errorf("actor %q", a)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "-",
		"Firefox on Linux": "Firefox on Linux",
		"a\tb\nc":          `a\tb\nc`,
		"x\x1b[31my":       `x\x1b[31my`,
		"rtl\u202eevil":    `rtl\u202eevil`,
		"ñandú":            "ñandú",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUsersCLI is `users disable|enable` on the database store: the account
// is disabled in the store, its sessions end with account_disabled, and both
// actions are audited as cli:<os user>.
func TestUsersCLI(t *testing.T) {
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
	cfg := []string{"-config", "config.yaml"}
	addr, stop := startServe(t, []string{"-config", "config.yaml", "-addr", "127.0.0.1:0"}, env)
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	ana := cliSignIn(t, "http://"+addr, "analyst", firefox)
	adm := cliSignIn(t, "http://"+addr, "admin", firefox)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"users"},
		{"users", "frob"},
		{"users", "disable", "analyst"},
		{"users", "disable", "analyst", "-reason", "  "},
		{"users", "disable", "-reason", "x"},
		{"users", "disable", "a", "b", "-reason", "x"},
		{"users", "enable"},
		{"users", "enable", "analyst", "-reason", "x"},
	} {
		_, errOut, err := cliRun(env, append(args, cfg...)...)
		if err == nil {
			t.Errorf("%q accepted", args)
		} else if !strings.Contains(errOut, "usage") {
			t.Errorf("%q: %v, no usage on stderr: %q", args, err, errOut)
		}
	}

	out, errOut, err := cliRun(env, append([]string{"users", "disable", "analyst", "-reason", "left the company"}, cfg...)...)
	if err != nil || !strings.Contains(out, "disabled user analyst and ended 1 session as cli:") {
		t.Fatalf("disable: %v %q %q", err, out, errOut)
	}
	cs, err := openCLIService(t.Context(), "config.yaml", env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := cs.svc.Account(t.Context(), "analyst")
	if err != nil || !acct.Disabled {
		t.Errorf("after disable: %+v %v", acct, err)
	}
	if _, err := cs.svc.Get(t.Context(), ana); err == nil {
		t.Errorf("the disabled user's session %s is still live", ana)
	}
	if _, err := cs.svc.Get(t.Context(), adm); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
	cs.close()

	out, errOut, err = cliRun(env, append([]string{"users", "enable", "analyst"}, cfg...)...)
	if err != nil || !strings.Contains(out, "enabled user analyst as cli:") {
		t.Fatalf("enable: %v %q %q", err, out, errOut)
	}
	cs, err = openCLIService(t.Context(), "config.yaml", env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.close()
	if acct, err := cs.svc.Account(t.Context(), "analyst"); err != nil || acct.Disabled {
		t.Errorf("after enable: %+v %v", acct, err)
	}
	for _, c := range []struct {
		action, reason string
		affected       int
	}{{"disable", "left the company", 1}, {"enable", "", 0}} {
		p, err := cs.svc.AuditLog(t.Context(), store.AuditQuery{Action: c.action, Target: "analyst"})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 1 || !strings.HasPrefix(p.Entries[0].Actor, "cli:") || p.Entries[0].Reason != c.reason ||
			p.Entries[0].Result != "ok" || p.Entries[0].Affected != c.affected {
			t.Errorf("audit of %s: %+v", c.action, p.Entries)
		}
	}
}
