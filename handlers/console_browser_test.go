package handlers_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (see testdata/README.md), injected into each page the
// browser tests visit to check its accessibility.
//
//go:embed testdata/axe.min.js
var axeSource string

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

// axeRun injects axe-core and lists the page's violations. Targets are joined
// CSS selectors (shadow DOM and iframe paths flattened with " >> "), each
// followed by axe's summary of what is wrong with that node.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
	targets: v.nodes.map(n => [].concat(n.target).flat(Infinity).join(' >> ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' ')),
})))`

// checkA11y runs axe-core on the current page of ctx, in the light and the
// dark palette (app.css follows prefers-color-scheme), and fails the test on
// any violation of impact "serious" or "critical"; lesser ones are logged.
func checkA11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatalf("%s: inject axe-core: %v", page, err)
	}
	for _, scheme := range []string{"light", "dark"} {
		dark := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: dark}); err != nil {
			t.Fatalf("%s: emulate %s: %v", page, scheme, err)
		}
		vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s (%s): axe.run: %v", page, scheme, err)
		}
		for _, v := range vs {
			msg := fmt.Sprintf("%s (%s): axe %s (%s): %s %v (%s)", page, scheme, v.ID, v.Impact, v.Help, v.Targets, v.HelpURL)
			switch v.Impact {
			case "serious", "critical":
				t.Error(msg)
			default:
				t.Log(msg)
			}
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("%s: reset media: %v", page, err)
	}
}

// screenshotDir is where the browser tests write their screenshots: the
// directory named by SESSIONCONSOLE_SCREENSHOTS, else a temporary one.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SESSIONCONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// shoot saves a full-page PNG of the current page of ctx as dir/name.png.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserLogin signs user in through the login form and waits for the page
// the sign-in lands on.
func browserLogin(ctx context.Context, baseURL, user, landing string) error {
	return chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), user+"-pw"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(landing)),
	)
}

// textOf reads the trimmed text of the node sel matches.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the node sel matches has the text want; the console's
// live blocks poll every 5 s, so this allows a few polls.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const n = document.querySelector(%q); return !!n && n.textContent.trim() === %q; })()`, sel, want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("%s never showed %q (last %q): %v", sel, want, textOf(t, ctx, sel), err)
	}
}

// TestBrowserConsole drives the console in Chromium on both stores: an analyst
// signs in in one browser while the admin, in another, watches the dashboard
// and the sessions list pick the session up live; the admin opens it and ends
// it with a reason; the analyst's next click lands on the login page showing
// that reason; the counters and the audit log follow. Every page is
// screenshotted and checked with axe-core.
func TestBrowserConsole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		shots := screenshotDir(t)
		name := func(page string) string { return be + "-" + page }

		admin := newBrowserCtx(t)
		analyst := newBrowserCtx(t)

		// The admin signs in (the login page checked on the way) and lands
		// on the dashboard, where only the admin's own session is live.
		err := chromedp.Do(admin,
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(a.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		)
		if err != nil {
			t.Fatalf("login page: %v", err)
		}
		shoot(t, admin, shots, name("login"))
		checkA11y(t, admin, "login")
		if err := browserLogin(admin, a.URL, "adam", `[data-testid="dashboard-counters"]`); err != nil {
			t.Fatalf("admin sign in: %v", err)
		}
		if got := textOf(t, admin, `[data-testid="counter-active"]`); got != "1" {
			t.Errorf("active now before the analyst = %q, want 1", got)
		}

		// A second tab of the admin's browser (same cookies) on the sessions
		// list, so both live blocks watch the analyst arrive.
		list, cancelList := chromedp.NewContext(admin)
		defer cancelList()
		err = chromedp.Do(list,
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(a.URL+"/admin/sessions"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="sessions-table"]`)),
		)
		if err != nil {
			t.Fatalf("sessions list: %v", err)
		}

		if err := browserLogin(analyst, a.URL, "ana", `[data-testid="session-card"]`); err != nil {
			t.Fatalf("analyst sign in: %v", err)
		}
		recs := sessionsOf(t, a, "ana")
		if len(recs) != 1 {
			t.Fatalf("analyst has %d sessions, want 1", len(recs))
		}
		sid := recs[0].SID
		row := fmt.Sprintf(`tr[data-testid="session-row"][data-sid=%q]`, sid)

		// Both live blocks pick the new session up without a reload.
		err = chromedp.Do(list, chromedp.WaitVisible(chromedp.CSS(row)))
		if err != nil {
			t.Fatalf("analyst's row never appeared live: %v", err)
		}
		if got := textOf(t, list, row+` [data-testid="session-user"]`); got != "ana" {
			t.Errorf("row user = %q, want ana", got)
		}
		shoot(t, list, shots, name("sessions"))
		checkA11y(t, list, "sessions list")
		waitText(t, admin, `[data-testid="counter-active"]`, "2")
		waitText(t, admin, `[data-testid="counter-unique"]`, "2")
		shoot(t, admin, shots, name("dashboard"))
		checkA11y(t, admin, "dashboard")

		// The admin opens the session and ends it with a reason.
		const reason = "Routine check: please sign in again"
		err = chromedp.Do(list,
			chromedp.Click(chromedp.CSS(row+` [data-testid="session-link"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="terminate-form"]`)),
		)
		if err != nil {
			t.Fatalf("open session detail: %v", err)
		}
		if got := textOf(t, list, `[data-testid="meta-user"]`); got != "ana" {
			t.Errorf("detail user = %q, want ana", got)
		}
		shoot(t, list, shots, name("session-detail"))
		checkA11y(t, list, "session detail")
		err = chromedp.Do(list,
			chromedp.SendKeys(chromedp.CSS(`[data-testid="terminate-reason"]`), reason),
			chromedp.Click(chromedp.CSS(`[data-testid="terminate-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="detail-notice"]`)),
		)
		if err != nil {
			t.Fatalf("terminate: %v", err)
		}
		if got := textOf(t, list, `[data-testid="detail-status"]`); got == "active" {
			t.Errorf("detail status after terminate = %q", got)
		}
		shoot(t, list, shots, name("session-terminated"))
		checkA11y(t, list, "session detail after terminate")
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("analyst still has %d sessions", n)
		}

		// The analyst's next click lands on the login page, saying why.
		err = chromedp.Do(analyst,
			chromedp.Navigate(a.URL+"/workspace"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-notice"]`)),
		)
		if err != nil {
			t.Fatalf("analyst after terminate: %v", err)
		}
		loc, err := chromedp.Run(analyst, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(loc, "/login") {
			t.Errorf("analyst landed on %s, want the login page", loc)
		}
		if got := textOf(t, analyst, `[data-testid="login-notice"]`); !strings.Contains(got, reason) {
			t.Errorf("login notice = %q, want the reason %q", got, reason)
		}
		shoot(t, analyst, shots, name("login-terminated"))
		checkA11y(t, analyst, "login after terminate")

		// The dashboard's live counters follow: one session left, two today.
		waitText(t, admin, `[data-testid="counter-active"]`, "1")
		if got := textOf(t, admin, `[data-testid="counter-created"]`); got != "2" {
			t.Errorf("created today = %q, want 2", got)
		}

		// The audit log records the termination with its reason.
		err = chromedp.Do(admin,
			chromedp.Navigate(a.URL+"/admin/audit"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-table"]`)),
		)
		if err != nil {
			t.Fatalf("audit page: %v", err)
		}
		audit, err := chromedp.Run(admin, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="audit-row"]')].map(r =>
			['audit-actor', 'audit-action', 'audit-target', 'audit-reason', 'audit-result']
				.map(id => r.querySelector('[data-testid="' + id + '"]').textContent.trim()).join('|'))`))
		if err != nil {
			t.Fatal(err)
		}
		want := "adam|terminate|" + sid + "|" + reason + "|"
		found := false
		for _, r := range audit {
			found = found || strings.HasPrefix(r, want)
		}
		if !found {
			t.Errorf("audit rows %q have none starting %q", audit, want)
		}
		shoot(t, admin, shots, name("audit"))
		checkA11y(t, admin, "audit")

		// The Recovery page lists the terminated session as open.
		err = chromedp.Do(admin,
			chromedp.Navigate(a.URL+"/admin/recovery"),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="recovery-row"][data-sid=%q]`, sid))),
		)
		if err != nil {
			t.Fatalf("recovery page: %v", err)
		}
		shoot(t, admin, shots, name("recovery"))
		checkA11y(t, admin, "recovery")

		// Bulk: two more analyst sessions; the admin checks both rows,
		// previews in the panel above the list (no page change), confirms
		// with a reason, and the rows leave in place.
		var bulk []string
		for range 2 {
			b := a.browser()
			b.login("ana")
		}
		for _, r := range sessionsOf(t, a, "ana") {
			bulk = append(bulk, r.SID)
		}
		if len(bulk) != 2 {
			t.Fatalf("analyst has %d sessions, want 2", len(bulk))
		}
		rowOf := func(sid string) string { return fmt.Sprintf(`tr[data-testid="session-row"][data-sid=%q]`, sid) }
		err = chromedp.Do(list,
			chromedp.Navigate(a.URL+"/admin/sessions"),
			chromedp.WaitVisible(chromedp.CSS(rowOf(bulk[0]))),
			chromedp.WaitVisible(chromedp.CSS(rowOf(bulk[1]))),
			chromedp.Click(chromedp.CSS(rowOf(bulk[0])+` input[name="sid"]`)),
			chromedp.Click(chromedp.CSS(rowOf(bulk[1])+` input[name="sid"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="bulk-preview-selected"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#bulk-panel [data-testid="terminate-preview"]`)),
		)
		if err != nil {
			t.Fatalf("bulk preview: %v", err)
		}
		if got := textOf(t, list, `[data-testid="preview-sessions"]`); got != "2" {
			t.Errorf("bulk preview counts %q sessions, want 2", got)
		}
		shoot(t, list, shots, name("bulk-preview"))
		checkA11y(t, list, "bulk preview")
		err = chromedp.Do(list,
			chromedp.SendKeys(chromedp.CSS(`[data-testid="preview-reason"]`), "Mantenimiento"),
			chromedp.Click(chromedp.CSS(`[data-testid="preview-confirm"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#bulk-panel [data-testid="bulk-done"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(rowOf(bulk[0]))),
			chromedp.WaitNotPresent(chromedp.CSS(rowOf(bulk[1]))),
		)
		if err != nil {
			t.Fatalf("bulk confirm: %v", err)
		}
		if loc, _ := chromedp.Run(list, chromedp.Location()); !strings.HasSuffix(loc, "/admin/sessions") {
			t.Errorf("bulk flow navigated to %s, want it to stay on the list", loc)
		}
		if got := textOf(t, list, `[data-testid="bulk-done"]`); !strings.HasPrefix(got, "2 sessions were ended") {
			t.Errorf("bulk result = %q", got)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("analyst has %d sessions after the bulk confirm, want 0", n)
		}
		shoot(t, list, shots, name("bulk-done"))
		checkA11y(t, list, "bulk done")

		// The admin's own sessions page.
		err = chromedp.Do(admin,
			chromedp.Navigate(a.URL+"/account/sessions"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-session"]`)),
		)
		if err != nil {
			t.Fatalf("account sessions: %v", err)
		}
		shoot(t, admin, shots, name("account-sessions"))
		checkA11y(t, admin, "account sessions")
	})
}
