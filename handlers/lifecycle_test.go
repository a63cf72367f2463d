package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func sessionsOf(t *testing.T, a *app, user string) []store.Record {
	t.Helper()
	recs, err := a.Svc.UserSessions(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestLoginShowsWorkspaceAndAccountSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		res := b.login("ana")
		if got := res.Header.Get("Location"); got != "/workspace" {
			t.Errorf("login redirect = %q, want /workspace", got)
		}
		if res := b.get("/workspace"); res.StatusCode != 200 || !strings.Contains(res.Body, `data-testid="session-card"`) {
			t.Fatalf("GET /workspace = %d\n%s", res.StatusCode, res.Body)
		}
		res = b.get("/account/sessions")
		if res.StatusCode != 200 || strings.Count(res.Body, `data-testid="account-session-row"`) != 1 || !strings.Contains(res.Body, `data-testid="current-session"`) {
			t.Fatalf("GET /account/sessions = %d\n%s", res.StatusCode, res.Body)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 1 {
			t.Errorf("ana has %d sessions, want 1", n)
		}
	})
}

func TestRoleRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		tests := []struct {
			user, path string
			want       int
		}{
			{"ana", "/admin", 403},
			{"ana", "/workspace", 200},
			{"olga", "/admin", 200},
			{"olga", "/workspace", 403},
			{"adam", "/admin", 200},
			{"adam", "/workspace", 200},
		}
		for _, tt := range tests {
			b := a.browser()
			b.login(tt.user)
			if got := b.get(tt.path).StatusCode; got != tt.want {
				t.Errorf("%s GET %s = %d, want %d", tt.user, tt.path, got, tt.want)
			}
		}
		anon := a.browser()
		res := anon.get("/admin")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("anonymous GET /admin = %d %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestAnonymousLoginVisitStoresNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		for range 5 {
			res := b.get("/login")
			if res.StatusCode != 200 {
				t.Fatalf("GET /login = %d", res.StatusCode)
			}
			if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("anonymous /login set cookies %q", sc)
			}
		}
		// A failed sign-in stores no session either.
		if res := b.tryLogin("ana", "wrong"); res.StatusCode != http.StatusUnauthorized || len(res.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("failed login = %d cookies %q", res.StatusCode, res.Header.Values("Set-Cookie"))
		}
		p, err := a.Svc.List(context.Background(), store.Query{})
		if err != nil || p.Total != 0 {
			t.Fatalf("sessions after anonymous visits: %d (err %v), want 0", p.Total, err)
		}
		if be == "redis" {
			// Only the failed sign-in's throttle counters and audit entry may
			// exist: no blob, no record, no index.
			reply, err := a.Backend.redis.Do("KEYS", "*")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range reply.([]any) {
				key := string(k.([]byte))
				if strings.HasPrefix(key, "sc:b:") || strings.HasPrefix(key, "sc:s:") || strings.HasPrefix(key, "sc:i") || strings.HasPrefix(key, "sc:st:") {
					t.Errorf("anonymous visits stored %s", key)
				}
			}
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name   string
		secure bool
		want   []string
		cookie string
	}{
		{"plain", false, []string{"HttpOnly", "SameSite=Lax", "Path=/"}, "sc_session="},
		{"secure", true, []string{"HttpOnly", "SameSite=Lax", "Path=/", "Secure"}, "__Host-sc_session="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, "sqlite", func(c *sessionsvc.Config) { c.Security.SecureCookies = tt.secure })
			b := a.browser()
			res := b.tryLogin("ana", "ana-pw")
			sc := res.Header.Values("Set-Cookie")
			if len(sc) != 1 {
				t.Fatalf("login sent %d Set-Cookie headers, want 1: %q", len(sc), sc)
			}
			if !strings.HasPrefix(sc[0], tt.cookie) {
				t.Errorf("cookie %q, want name %q", sc[0], tt.cookie)
			}
			for _, w := range tt.want {
				if !strings.Contains(sc[0], w) {
					t.Errorf("cookie %q lacks %s", sc[0], w)
				}
			}
			if strings.Contains(sc[0], "Max-Age") || strings.Contains(sc[0], "Expires") {
				t.Errorf("cookie %q is persistent, want a session cookie", sc[0])
			}
		})
	}
}

func TestLifecycleClocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		t.Run("idle ends the session, background requests do not count", func(t *testing.T) {
			a := newApp(t, be)
			b := a.browser()
			b.login("ana")
			for range 3 {
				a.Clock.Add(5 * time.Minute)
				if res := b.get("/workspace", sessionsvc.BackgroundHeader, "1"); res.StatusCode != 200 {
					t.Fatalf("background GET = %d", res.StatusCode)
				}
			}
			// 20 minutes without user activity.
			a.Clock.Add(5 * time.Minute)
			res := b.get("/workspace")
			assertEnded(t, b, res, "tras 20 min de inactividad")
		})
		t.Run("activity slides idle; refresh slides expiry; lifetime is never passed", func(t *testing.T) {
			a := newApp(t, be)
			b := a.browser()
			b.login("ana")
			// User activity every 10 minutes keeps it alive past 30 minutes.
			for range 6 {
				a.Clock.Add(10 * time.Minute)
				if res := b.get("/workspace"); res.StatusCode != 200 {
					t.Fatalf("GET after %v = %d", a.Clock.Now(), res.StatusCode)
				}
			}
			// Keep going until the 12 h lifetime.
			for range 12*6 - 7 {
				a.Clock.Add(10 * time.Minute)
				if res := b.get("/workspace"); res.StatusCode != 200 {
					t.Fatalf("GET = %d (%s)", res.StatusCode, res.Header.Get("Location"))
				}
			}
			a.Clock.Add(10 * time.Minute)
			assertEnded(t, b, b.get("/workspace"), "duración máxima de 12 h")
		})
		t.Run("expiry without refresh", func(t *testing.T) {
			// Activity refreshes both clocks, so expiry shows when idle equals it.
			a := newApp(t, be, func(c *sessionsvc.Config) { c.Session.IdleTimeoutMinutes = 30 })
			b := a.browser()
			b.login("ana")
			a.Clock.Add(30 * time.Minute)
			assertEnded(t, b, b.get("/workspace"), "venció después de 30 min")
		})
		t.Run("stay signed in", func(t *testing.T) {
			a := newApp(t, be)
			b := a.browser()
			b.login("ana")
			tok := b.csrf()
			a.Clock.Add(19 * time.Minute)
			res := b.post("/session/refresh", url.Values{"csrf_token": {tok}}, "HX-Request", "true", sessionsvc.BackgroundHeader, "")
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("refresh = %d\n%s", res.StatusCode, res.Body)
			}
			want := a.Clock.Now().Add(20 * time.Minute).UnixMilli()
			if got := res.Header.Get(sessionsvc.DeadlineHeader); got != itoa(want) {
				t.Errorf("deadline header %s, want %d", got, want)
			}
			a.Clock.Add(19 * time.Minute)
			if res := b.get("/workspace"); res.StatusCode != 200 {
				t.Fatalf("after refresh GET = %d", res.StatusCode)
			}
		})
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// assertEnded checks that a request of an ended session goes to the login page,
// which names why, and that the session is gone from the registry.
func assertEnded(t *testing.T, b *browser, res *response, why string) {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("ended session request = %d %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
	page := b.get("/login")
	if !strings.Contains(page.Body, why) {
		t.Fatalf("login page does not say %q:\n%s", why, page.Body)
	}
	if b.cookie() != "" {
		t.Errorf("login page kept the ended session's cookie")
	}
	if again := b.get("/login"); strings.Contains(again.Body, why) {
		t.Errorf("notice shown twice")
	}
}

func TestStableSIDAcrossRenewal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		b.login("ana")
		before := sessionsOf(t, a, "ana")
		tok := b.cookie()
		// A role change renews the token and keeps the sid.
		cfg := a.Cfg
		accts := append([]sessionsvc.Account(nil), cfg.Accounts...)
		accts[0].Role = sessionsvc.RoleAdmin
		a.Svc.SetAccounts(accts)
		res := b.get("/admin")
		if res.StatusCode != 200 {
			t.Fatalf("after role change GET /admin = %d", res.StatusCode)
		}
		if len(res.Header.Values("Set-Cookie")) != 1 || b.cookie() == tok {
			t.Fatalf("role change did not renew the token")
		}
		after := sessionsOf(t, a, "ana")
		if len(after) != 1 || after[0].SID != before[0].SID || after[0].Role != sessionsvc.RoleAdmin {
			t.Fatalf("after renewal sessions = %+v, want same sid %s with role admin", after, before[0].SID)
		}
		// The old token is dead.
		old := a.browser()
		old.setCookie(tok)
		if res := old.get("/admin"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("old token still works: %d", res.StatusCode)
		}
	})
}

func TestFixation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		b.setCookie(planted)
		b.login("ana")
		if got := b.cookie(); got == planted || got == "" {
			t.Fatalf("login adopted the planted token")
		}
		// Signing in again while signed in renews the token too, and ends the old session.
		first := b.cookie()
		b.login("ana")
		if b.cookie() == first {
			t.Fatalf("second login kept the token")
		}
		if n := len(sessionsOf(t, a, "ana")); n != 1 {
			t.Errorf("sessions after re-login: %d, want 1", n)
		}
	})
}

func TestLogoutReplayIsAnonymous(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b := a.browser()
		b.login("ana")
		tok, csrf := b.cookie(), b.csrf()
		res := b.post("/logout", url.Values{"csrf_token": {csrf}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("logout = %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if b.cookie() != "" {
			t.Errorf("logout left the cookie")
		}
		replay := a.browser()
		replay.setCookie(tok)
		if res := replay.get("/workspace"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("replayed cookie = %d, want redirect to login", res.StatusCode)
		}
		if res := replay.post("/logout", url.Values{"csrf_token": {csrf}}); res.StatusCode == 200 {
			t.Fatalf("replayed logout accepted")
		}
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("sessions after logout: %d", n)
		}
	})
}

func TestCSRF(t *testing.T) {
	a := newApp(t, "sqlite")
	b := a.browser()
	b.login("ana")
	if res := b.post("/session/refresh", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without token = %d, want 403", res.StatusCode)
	}
	if res := b.post("/session/refresh", url.Values{"csrf_token": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST with forged token = %d, want 403", res.StatusCode)
	}
	tok := b.csrf()
	if res := b.post("/session/refresh", url.Values{"csrf_token": {tok}}, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", res.StatusCode)
	}
	if res := b.post("/session/refresh", url.Values{}, "X-CSRF-Token", tok); res.StatusCode != http.StatusSeeOther {
		t.Errorf("POST with header token = %d, want 303", res.StatusCode)
	}
	anon := a.browser()
	if res := anon.post("/login", url.Values{"username": {"ana"}, "password": {"ana-pw"}, "csrf_token": {"1.x.y"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("login with forged form token = %d, want 403", res.StatusCode)
	}
}

func TestConcurrentLoginsLeaveThree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				b := a.browser()
				page := b.get("/login")
				b.post("/login", url.Values{"username": {"ana"}, "password": {"ana-pw"}, "csrf_token": {csrfFrom(t, page.Body)}})
			})
		}
		wg.Wait()
		if n := len(sessionsOf(t, a, "ana")); n != 3 {
			t.Fatalf("after 20 concurrent logins ana has %d sessions, want 3", n)
		}
	})
}

func TestEvictionTellsWhy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		var bs []*browser
		for i := range 4 {
			b := a.browser()
			b.login("ana")
			bs = append(bs, b)
			a.Clock.Add(time.Duration(i+1) * time.Minute)
			b.get("/workspace") // activity, so the first is the least recently active
		}
		assertEnded(t, bs[0], bs[0].get("/workspace"), "iniciaste sesión en otro dispositivo")
		for _, b := range bs[1:] {
			if res := b.get("/workspace"); res.StatusCode != 200 {
				t.Errorf("a newer session was evicted")
			}
		}
	})
}
