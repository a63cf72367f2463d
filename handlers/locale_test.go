package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// pageLang returns a page's <html lang> and its <h1>.
func pageLang(t *testing.T, res *response) (lang, h1 string) {
	t.Helper()
	d := doc(t, res.Body)
	lang, _ = d.Find("html").Attr("lang")
	return lang, strings.TrimSpace(d.Find("h1").First().Text())
}

// langCookie returns the sc_lang cookie a response sets, or nil.
func langCookie(res *response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "sc_lang" {
			return c
		}
	}
	return nil
}

func TestLoginPageLanguage(t *testing.T) {
	a := newApp(t, "sqlite")

	// The analysts' browsers ask for Spanish, and so does the default.
	for _, accept := range []string{"es-PY", "es-AR,es;q=0.9", "", "de-DE"} {
		b := a.browser()
		b.Lang = accept
		res := b.get("/login")
		if lang, h1 := pageLang(t, res); res.StatusCode != 200 || lang != "es-PY" || h1 != "Iniciar sesión" {
			t.Errorf("Accept-Language %q: %d lang %q h1 %q, want es-PY Iniciar sesión", accept, res.StatusCode, lang, h1)
		}
		if langCookie(res) != nil || len(res.Cookies()) != 0 {
			t.Errorf("Accept-Language %q: the login page set cookies %v", accept, res.Cookies())
		}
	}
	en := a.browser()
	en.Lang = "en-US,en;q=0.9,es;q=0.5"
	res := en.get("/login")
	if lang, h1 := pageLang(t, res); lang != "en" || h1 != "Sign in" {
		t.Errorf("English browser: lang %q h1 %q", lang, h1)
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("login page Vary = %q, want Accept-Language in it", res.Header.Get("Vary"))
	}

	// ?lang= overrides the browser and is kept in a small cookie, not a session.
	b := a.browser()
	res = b.get("/login?lang=en&next=%2Faccount%2Fsessions")
	if lang, h1 := pageLang(t, res); lang != "en" || h1 != "Sign in" {
		t.Fatalf("?lang=en: lang %q h1 %q", lang, h1)
	}
	c := langCookie(res)
	if c == nil || c.Value != "en" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
		c.MaxAge < 364*24*3600 || c.MaxAge > 366*24*3600 {
		t.Fatalf("?lang=en cookie = %+v, want sc_lang=en, HttpOnly, Lax, Path=/, a year", c)
	}
	if len(res.Cookies()) != 1 {
		t.Errorf("?lang=en set %d cookies, want only sc_lang: %v", len(res.Cookies()), res.Cookies())
	}
	d := doc(t, res.Body)
	if href, _ := d.Find(`[data-testid="login-lang-es-PY"]`).Attr("href"); href != "/login?lang=es-PY&next=%2Faccount%2Fsessions" {
		t.Errorf("Spanish link = %q, want it to keep next", href)
	}
	if cur, _ := d.Find(`[data-testid="login-lang-en"]`).Attr("aria-current"); cur != "true" {
		t.Errorf("English link not marked current")
	}
	for range 2 { // the cookie is kept
		if lang, _ := pageLang(t, b.get("/login")); lang != "en" {
			t.Errorf("after ?lang=en, /login is in %q", lang)
		}
	}
	// A failed sign-in answers in the same language.
	if res := b.tryLogin("ana", "wrong"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "Invalid username or password.") {
		t.Errorf("English failed sign-in = %d", res.StatusCode)
	}
	if res := a.browser().tryLogin("ana", "wrong"); !strings.Contains(res.Body, "Usuario o contraseña incorrectos.") {
		t.Errorf("Spanish failed sign-in lacks the Spanish message")
	}
	res = b.get("/login?lang=es")
	if lang, _ := pageLang(t, res); lang != "es-PY" || langCookie(res) == nil || langCookie(res).Value != "es-PY" {
		t.Errorf("?lang=es: lang %q cookie %v", lang, langCookie(res))
	}

	// A sign-in from that browser starts the session in the chosen language.
	e := a.browser()
	e.get("/login?lang=en")
	e.login("ana")
	if lang, h1 := pageLang(t, e.get("/account/sessions")); lang != "en" || h1 != "My sessions" {
		t.Errorf("session after choosing English on the login page: lang %q h1 %q", lang, h1)
	}
}

// TestAccountLocale switches a signed-in analyst's language and checks that
// the pages, the saved preferences and the next session follow.
func TestAccountLocale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b, sid := signedIn(t, a, "ana") // Accept-Language es-PY
		page := b.get("/account/sessions")
		if lang, h1 := pageLang(t, page); lang != "es-PY" || h1 != "Mis sesiones" {
			t.Fatalf("first session: lang %q h1 %q, want es-PY", lang, h1)
		}
		d := doc(t, page.Body)
		if p, _ := d.Find(`[data-testid="locale-es-PY"]`).Attr("aria-pressed"); p != "true" {
			t.Errorf("Spanish not pressed in the switcher")
		}
		if got := strings.TrimSpace(d.Find(`[data-testid="sign-out"]`).Text()); got != "Cerrar sesión" {
			t.Errorf("sign-out = %q", got)
		}

		res := b.post("/account/locale", urlValues("locale", "en", "csrf_token", b.csrf()), "Referer", a.URL+"/account/sessions?x=1")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/sessions?x=1" {
			t.Fatalf("POST locale: %d to %q, want 303 back", res.StatusCode, res.Header.Get("Location"))
		}
		if c := langCookie(res); c == nil || c.Value != "en" {
			t.Errorf("POST locale did not set sc_lang=en: %v", c)
		}
		for range 2 {
			page = b.get("/account/sessions")
			if lang, h1 := pageLang(t, page); lang != "en" || h1 != "My sessions" {
				t.Errorf("after choosing English: lang %q h1 %q", lang, h1)
			}
		}
		d = doc(t, page.Body)
		if got := strings.TrimSpace(d.Find(`[data-testid="nav-my-sessions"]`).Text()); got != "My sessions" {
			t.Errorf("nav = %q", got)
		}
		if p, _ := d.Find(`[data-testid="locale-en"]`).Attr("aria-pressed"); p != "true" {
			t.Errorf("English not pressed in the switcher")
		}
		if v, _, err := a.Svc.StateValue(context.Background(), sid, store.CatPreferences, "locale"); err != nil || string(v) != `"en"` {
			t.Errorf("preferences.locale = %s (%v), want en", v, err)
		}
		// Error pages follow the session's language too.
		if lang, h1 := pageLang(t, b.get("/account/nope")); lang != "en" || h1 != "Not Found" {
			t.Errorf("404 after choosing English: lang %q h1 %q", lang, h1)
		}

		// htmx gets a full-page redirect, since the whole page changes.
		res = b.post("/account/locale", urlValues("locale", "es-PY", "csrf_token", b.csrf()), "HX-Request", "true", "Referer", a.URL+"/recover")
		if res.StatusCode != http.StatusNoContent || res.Header.Get("HX-Redirect") != "/recover" {
			t.Errorf("htmx POST locale: %d HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
		}
		if lang, h1 := pageLang(t, b.get("/recover")); lang != "es-PY" || h1 != "Retomá tu trabajo" {
			t.Errorf("back to Spanish: lang %q h1 %q", lang, h1)
		}
		b.post("/account/locale", urlValues("locale", "en", "csrf_token", b.csrf()))

		// The user's next session, from a browser that asks for Spanish and
		// never chose, starts in English: the saved preference wins.
		b.post("/logout", urlValues("csrf_token", b.csrf()))
		c := a.browser()
		c.login("ana")
		if lang, h1 := pageLang(t, c.get("/account/sessions")); lang != "en" || h1 != "My sessions" {
			t.Errorf("next session: lang %q h1 %q, want English", lang, h1)
		}
		if recs := sessionsOf(t, a, "ana"); len(recs) != 1 {
			t.Fatalf("sessions = %d", len(recs))
		}
	})
}

func TestAccountLocaleRefused(t *testing.T) {
	a := newApp(t, "sqlite")
	b, sid := signedIn(t, a, "ana")
	tok := b.csrf()
	for _, tt := range []struct {
		name string
		form []string
		want int
		body string
	}{
		{"unknown", []string{"locale", "fr", "csrf_token", tok}, http.StatusBadRequest, "Elegí un idioma"},
		{"markup", []string{"locale", `en" onload="x`, "csrf_token", tok}, http.StatusBadRequest, "Solicitud incorrecta"},
		{"empty", []string{"csrf_token", tok}, http.StatusBadRequest, ""},
		{"no CSRF token", []string{"locale", "en"}, http.StatusForbidden, "El formulario venció"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post("/account/locale", urlValues(tt.form...))
			if res.StatusCode != tt.want || !strings.Contains(res.Body, tt.body) {
				t.Errorf("status %d, want %d with %q\n%s", res.StatusCode, tt.want, tt.body, res.Body)
			}
		})
	}
	if v, _, _ := a.Svc.StateValue(context.Background(), sid, store.CatPreferences, "locale"); string(v) != `"es-PY"` {
		t.Errorf("locale after refused posts = %s, want es-PY", v)
	}
	res := a.browser().post("/account/locale", urlValues("locale", "en"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" || langCookie(res) != nil {
		t.Errorf("anonymous POST locale: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestConsoleStaysEnglish: the console's texts are English only, whatever
// the admin chose; the switcher is left off there.
func TestConsoleStaysEnglish(t *testing.T) {
	a := newApp(t, "sqlite")
	b, _ := signedIn(t, a, "adam")
	if lang, _ := pageLang(t, b.get("/account/sessions")); lang != "es-PY" {
		t.Fatalf("admin's own pages in %q, want es-PY", lang)
	}
	for _, path := range []string{"/admin", "/admin/sessions", "/admin/nope"} {
		res := b.get(path)
		d := doc(t, res.Body)
		if lang, _ := d.Find("html").Attr("lang"); lang != "en" {
			t.Errorf("%s: lang %q, want en", path, lang)
		}
		if d.Find(`[data-testid="language-switcher"]`).Length() != 0 {
			t.Errorf("%s shows the language switcher", path)
		}
		if got := strings.TrimSpace(d.Find(`[data-testid="nav-my-sessions"]`).Text()); got != "My sessions" {
			t.Errorf("%s nav = %q", path, got)
		}
	}
	// An analyst's 403 on the console is English as well.
	c, _ := signedIn(t, a, "ana")
	if res := c.get("/admin/sessions"); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Your role may not open this page.") {
		t.Errorf("analyst on the console: %d", res.StatusCode)
	}
	// Outside the console a 403 speaks the analyst's language.
	o, _ := signedIn(t, a, "olga")
	if res := o.get("/workspace"); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Tu rol no tiene acceso a esta página.") {
		t.Errorf("operator on the workspace: %d", res.StatusCode)
	}
}

// TestEndedNoticeInEnglish: the reason a session ended, with an admin's
// free text quoted verbatim, in English for an English browser (the other
// tests read it in Spanish).
func TestEndedNoticeInEnglish(t *testing.T) {
	a := newApp(t, "sqlite")
	b := a.browser()
	b.Lang = "en"
	b.login("ana")
	if lang, _ := pageLang(t, b.get("/account/sessions")); lang != "en" {
		t.Fatalf("English browser's session in %q", lang)
	}
	sid := sessionsOf(t, a, "ana")[0].SID
	if err := a.Svc.Terminate(context.Background(), sid, "adam", "Mantenimiento <ya>"); err != nil {
		t.Fatal(err)
	}
	assertEnded(t, b, b.get("/account/sessions"), "Your session was ended by an administrator: Mantenimiento &lt;ya&gt;")

	b.login("ana")
	a.Clock.Add(21 * time.Minute) // idle_timeout_minutes is 20
	assertEnded(t, b, b.get("/account/sessions"), "You were signed out after being idle for 20 min.")
}

func TestErrorPagesTranslated(t *testing.T) {
	a := newApp(t, "sqlite")
	es, _ := signedIn(t, a, "ana")
	res := es.get("/no/such/page")
	d := doc(t, res.Body)
	if lang, _ := d.Find("html").Attr("lang"); res.StatusCode != 404 || lang != "es-PY" {
		t.Errorf("404: %d lang %q", res.StatusCode, lang)
	}
	if got := strings.TrimSpace(d.Find(`[data-testid="error-title"]`).Text()); got != "No encontrado" {
		t.Errorf("404 title = %q", got)
	}
	if got := strings.TrimSpace(d.Find(`[data-testid="error-message"]`).Text()); got != "La página que buscás no existe." {
		t.Errorf("404 message = %q", got)
	}
	en := a.browser()
	en.Lang = "en"
	en.login("adam")
	d = doc(t, en.get("/no/such/page").Body)
	if got := strings.TrimSpace(d.Find(`[data-testid="error-title"]`).Text()); got != "Not Found" {
		t.Errorf("English 404 title = %q", got)
	}
}
