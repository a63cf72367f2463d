package handlers_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// newBrowserCtx starts headless Chromium for one test.
func newBrowserCtx(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium not found at %s: install it with `apt-get install -y chromium`", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// TestBrowserExpiryWarning signs in with a real browser, moves the service's
// clock to less than two minutes before the idle deadline, and checks that the
// page warns and that "Stay signed in" (an htmx POST with the CSRF header)
// refreshes the session and hides the warning.
func TestBrowserExpiryWarning(t *testing.T) {
	a := newApp(t, "sqlite", func(c *sessionsvc.Config) { c.Session.ActivityWriteSeconds = 1170 })
	ctx := newBrowserCtx(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("username"), "ana"),
		chromedp.SendKeys(chromedp.ID("password"), "ana-pw"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="session-card"]`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(url, "/workspace") {
		t.Fatalf("landed on %s", url)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("session-warning").hidden`))
	if err != nil {
		t.Fatal(err)
	}
	if !hidden {
		t.Fatal("warning shown right after sign-in")
	}

	// Activity is written at most every 19.5 minutes here, so a page view 18.5
	// minutes after sign-in does not refresh the session: its page shows the
	// warning, with 1.5 minutes left.
	a.Clock.Add(18*time.Minute + 30*time.Second)
	before := sessionsOf(t, a, "ana")[0].IdleAt
	err = chromedp.Do(ctx,
		chromedp.Navigate(a.URL+"/account/sessions"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="session-warning"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="stay-signed-in"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="session-warning"]`)),
	)
	if err != nil {
		t.Fatalf("warning and stay signed in: %v", err)
	}
	after := sessionsOf(t, a, "ana")[0].IdleAt
	if !after.After(before) {
		t.Errorf("idle deadline not moved by stay signed in: before %v after %v", before, after)
	}
}
