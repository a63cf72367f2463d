package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// userAudit returns the audit entries of action on target, newest first.
func userAudit(t *testing.T, a *app, action, target string) []store.AuditEntry {
	t.Helper()
	p, err := a.Svc.AuditLog(context.Background(), store.AuditQuery{Action: action, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

func TestUserPageByRole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, sid := signedIn(t, a, "ana")

		olga, _ := signedIn(t, a, "olga")
		doc, res := sdDoc(t, olga, "/admin/users/ana")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("operator GET user page = %d, want 200\n%s", res.StatusCode, res.Body)
		}
		if got := doc.Find(`[data-testid="account-role"]`).Text(); strings.TrimSpace(got) != "analyst" {
			t.Errorf("account-role = %q, want analyst", got)
		}
		if got := doc.Find(`[data-testid="user-state"]`).Text(); got != "active" {
			t.Errorf("user-state = %q, want active", got)
		}
		if n := doc.Find(`[data-testid="user-session-row"]`).Length(); n != 1 {
			t.Errorf("%d session rows, want 1", n)
		}
		if doc.Find(`[data-testid="user-session-row"] a[href="/admin/sessions/`+sid+`"]`).Length() != 1 {
			t.Errorf("no link to the session %s", sid)
		}
		for _, id := range []string{"user-disable-form", "user-enable-form"} {
			if doc.Find(`[data-testid="`+id+`"]`).Length() != 0 {
				t.Errorf("operator sees %s", id)
			}
		}
		if doc.Find(`form[action*="/disable"], form[action*="/enable"]`).Length() != 0 {
			t.Errorf("operator page has an account form")
		}

		// The list and the detail page link the user to this page.
		list, _ := sdDoc(t, olga, "/admin/sessions")
		if list.Find(`a[data-testid="user-link"][href="/admin/users/ana"]`).Length() == 0 {
			t.Errorf("sessions list does not link ana to her page")
		}
		detail, _ := sdDoc(t, olga, "/admin/sessions/"+sid)
		if detail.Find(`a[data-testid="user-link"][href="/admin/users/ana"]`).Length() != 1 {
			t.Errorf("session detail does not link ana to her page")
		}

		adam, _ := signedIn(t, a, "adam")
		doc, _ = sdDoc(t, adam, "/admin/users/ana")
		if doc.Find(`[data-testid="user-disable-form"]`).Length() != 1 {
			t.Errorf("admin does not see the disable form")
		}
		doc, _ = sdDoc(t, adam, "/admin/users/adam")
		if doc.Find(`[data-testid="user-disable-form"]`).Length() != 0 || doc.Find(`[data-testid="user-own"]`).Length() != 1 {
			t.Errorf("admin may disable their own account from the page")
		}

		// Analysts get 403, also with their own valid token; nothing changes.
		tok := ana.csrf()
		if r := ana.get("/admin/users/ana"); r.StatusCode != http.StatusForbidden {
			t.Errorf("analyst GET = %d, want 403", r.StatusCode)
		}
		for _, p := range []string{"/admin/users/olga/disable", "/admin/users/olga/enable"} {
			if r := ana.post(p, urlValues("reason", "x", "csrf_token", tok)); r.StatusCode != http.StatusForbidden {
				t.Errorf("analyst POST %s = %d, want 403", p, r.StatusCode)
			}
		}
		// Operators too.
		if r := olga.post("/admin/users/ana/disable", urlValues("reason", "x", "csrf_token", olga.csrf())); r.StatusCode != http.StatusForbidden {
			t.Errorf("operator POST disable = %d, want 403", r.StatusCode)
		}
		if !sdLive(t, a, sid) {
			t.Errorf("a refused POST ended a session")
		}
		// Escaping: a user name in the URL renders inert.
		if r := olga.get("/admin/users/" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E"); r.StatusCode != http.StatusOK ||
			strings.Contains(r.Body, "<script>alert(1)") {
			t.Errorf("user name not escaped: %d", r.StatusCode)
		}
	})
}

func TestUserDisable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		other := newAppOn(t, a.Backend, a.Cfg, a.Clock) // a second instance on the same store
		ana1, _ := signedIn(t, a, "ana")
		ana2, _ := signedIn(t, a, "ana")
		_, olgaSID := signedIn(t, a, "olga")
		adam, _ := signedIn(t, a, "adam")

		// Refusals: no reason, own account.
		if r := adam.post("/admin/users/ana/disable", urlValues("csrf_token", adam.csrf())); r.StatusCode != http.StatusBadRequest {
			t.Errorf("no reason = %d, want 400", r.StatusCode)
		}
		if r := adam.post("/admin/users/adam/disable", urlValues("reason", "x", "csrf_token", adam.csrf())); r.StatusCode != http.StatusConflict {
			t.Errorf("own account = %d, want 409", r.StatusCode)
		}
		if r := adam.post("/admin/users/ana/disable", urlValues("reason", "x")); r.StatusCode != http.StatusForbidden {
			t.Errorf("no CSRF token = %d, want 403", r.StatusCode)
		}
		// A sign-in older than 15 minutes is not enough.
		a.Clock.Add(16 * time.Minute)
		if r := adam.post("/admin/users/ana/disable", urlValues("reason", "x", "csrf_token", adam.csrf())); r.StatusCode != http.StatusForbidden ||
			!strings.Contains(r.Body, "recent sign-in") {
			t.Errorf("stale sign-in = %d, want 403 asking for a recent sign-in", r.StatusCode)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 2 {
			t.Fatalf("ana has %d sessions after refusals, want 2", n)
		}
		adam, _ = signedIn(t, a, "adam")

		res := adam.post("/admin/users/ana/disable", urlValues("reason", "Contrato terminado", "csrf_token", adam.csrf()))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		doc, _ := sdDoc(t, adam, res.Header.Get("Location"))
		if got := doc.Find(`[data-testid="user-notice"]`).Text(); !strings.Contains(got, "2 sessions") {
			t.Errorf("notice = %q, want the count", got)
		}
		if got := doc.Find(`[data-testid="user-state"]`).Text(); got != "disabled" {
			t.Errorf("user-state = %q, want disabled", got)
		}
		if doc.Find(`[data-testid="user-enable-form"]`).Length() != 1 {
			t.Errorf("no enable form on a disabled account")
		}
		if n := doc.Find(`[data-testid="user-point-row"]`).Length(); n != 2 {
			t.Errorf("%d recovery points, want 2", n)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("ana has %d sessions, want 0", n)
		}
		if !sdLive(t, a, olgaSID) {
			t.Errorf("another user's session ended")
		}
		assertEnded(t, ana1, ana1.get("/workspace"), "ya no está activa")
		assertEnded(t, ana2, ana2.get("/workspace"), "ya no está activa")

		// The right password does not sign a disabled account in, on either
		// instance, and the refusal is the generic one.
		for name, inst := range map[string]*app{"same": a, "other": other} {
			r := inst.browser().tryLogin("ana", "ana-pw")
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "Usuario o contraseña incorrectos.") {
				t.Errorf("%s instance: disabled login = %d, want 401 with the generic message", name, r.StatusCode)
			}
			if strings.Contains(r.Body, "disabled") {
				t.Errorf("%s instance: the refusal reveals the account is disabled", name)
			}
		}
		if e := userAudit(t, a, "login_failed", "ana"); len(e) == 0 || e[0].Reason != "account disabled" {
			t.Errorf("login_failed audit = %+v, want reason account disabled", e)
		}
		if e := userAudit(t, a, "disable", "ana"); len(e) != 1 || e[0].Actor != "adam" || e[0].Reason != "Contrato terminado" ||
			e[0].Result != "ok" || e[0].Affected != 2 {
			t.Errorf("disable audit = %+v", e)
		}

		res = adam.post("/admin/users/ana/enable", urlValues("csrf_token", adam.csrf()))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("enable = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		if e := userAudit(t, a, "enable", "ana"); len(e) != 1 || e[0].Actor != "adam" || e[0].Result != "ok" {
			t.Errorf("enable audit = %+v", e)
		}
		other.browser().login("ana")
		a.browser().login("ana")
	})
}

func TestUserPageEndedAndCosts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, _ := signedIn(t, a, "ana")
		ana.post("/workspace/demo", urlValues("csrf_token", ana.csrf()))
		ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf()))
		if an := waitRun(t, ana); an["status"] != "done" {
			t.Fatalf("analysis %v", an)
		}
		if r := ana.post("/logout", urlValues("csrf_token", ana.csrf())); r.StatusCode != http.StatusSeeOther {
			t.Fatal("logout")
		}
		a.Svc.FlushEvents(t.Context())
		adam, _ := signedIn(t, a, "adam")
		d := doc(t, adam.get("/admin/users/ana").Body)
		if n := d.Find(`[data-testid="user-ended-row"]`).Length(); n != 1 {
			t.Errorf("ended sessions listed: %d, want 1", n)
		}
		rows := d.Find(`[data-testid="user-cost-row"]`)
		if rows.Length() != 7 {
			t.Fatalf("cost rows: %d, want 7 days", rows.Length())
		}
		today := rows.Last()
		// 0.05 per analysis + 0.20 per 1000 comments (2,000 of them), plus
		// 0.001 per API call (the test polls the API while the analysis runs).
		var cost float64
		if _, err := fmt.Sscanf(today.Find(`[data-testid="user-cost"]`).Text(), "USD %f", &cost); err != nil || cost < 0.45 || cost > 0.6 {
			t.Errorf("today's cost %q (%v), want 0.45 plus a few API calls", today.Find(`[data-testid="user-cost"]`).Text(), err)
		}
		if got := d.Find(`[data-testid="user-cost-total"]`).Text(); got != today.Find(`[data-testid="user-cost"]`).Text() {
			t.Errorf("total %q, want today's %q", got, today.Find(`[data-testid="user-cost"]`).Text())
		}
	})
}
