package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLanguages: in Chromium (which asks for English), the login page
// switches to Spanish through its link, the session starts in Spanish, and
// the layout's switcher brings the pages back to English; each page passes
// axe-core in both palettes.
func TestBrowserLanguages(t *testing.T) {
	a := newApp(t, "sqlite")
	ctx := newBrowserCtx(t)
	shots := screenshotDir(t)
	htmlLang := func() string {
		t.Helper()
		lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil {
			t.Fatal(err)
		}
		return lang
	}

	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(a.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="login-lang-es-PY"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-lang-es-PY"][aria-current="true"]`)),
	)
	if err != nil {
		t.Fatalf("login page in Spanish: %v", err)
	}
	if lang, h1 := htmlLang(), textOf(t, ctx, "h1"); lang != "es-PY" || h1 != "Iniciar sesión" {
		t.Fatalf("login page: lang %q h1 %q", lang, h1)
	}
	shoot(t, ctx, shots, "login-es")
	checkA11y(t, ctx, "login (es-PY)")

	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), "ana"),
		chromedp.SendKeys(chromedp.ID("password"), "ana-pw"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-name"]`)),
		chromedp.Navigate(a.URL+"/account/sessions"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="language-switcher"]`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if lang, h1 := htmlLang(), textOf(t, ctx, "h1"); lang != "es-PY" || h1 != "Mis sesiones" {
		t.Fatalf("my sessions: lang %q h1 %q, want Spanish", lang, h1)
	}
	shoot(t, ctx, shots, "account-sessions-es")
	checkA11y(t, ctx, "my sessions (es-PY)")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="locale-en"]`))); err != nil {
		t.Fatalf("switch to English: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] [data-testid="locale-en"][aria-pressed="true"]`))); err != nil {
		t.Fatalf("the page never turned English: %v", err)
	}
	if h1 := textOf(t, ctx, "h1"); h1 != "My sessions" {
		t.Errorf("after switching: h1 %q", h1)
	}
	shoot(t, ctx, shots, "account-sessions-en")
	checkA11y(t, ctx, "my sessions (en)")
}
