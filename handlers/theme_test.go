package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// themeOf returns the page's <html data-theme> ("" when absent) and the
// switcher button marked pressed.
func themeOf(t *testing.T, res *response) (attr, pressed string) {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", res.StatusCode)
	}
	d := doc(t, res.Body)
	attr, _ = d.Find("html").Attr("data-theme")
	for _, v := range []string{"light", "dark", "system"} {
		if p, _ := d.Find(`[data-testid="theme-` + v + `"]`).Attr("aria-pressed"); p == "true" {
			pressed = v
		}
	}
	return attr, pressed
}

func TestTheme(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b, sid := signedIn(t, a, "ana")
		// Never chosen: the page follows the browser's colour scheme.
		if attr, pressed := themeOf(t, b.get("/account/sessions")); attr != "" || pressed != "" {
			t.Fatalf("first session: data-theme %q, pressed %q; want none", attr, pressed)
		}

		// A form post goes back to the page it came from.
		res := b.post("/account/theme", urlValues("theme", "dark", "csrf_token", b.csrf()), "Referer", a.URL+"/account/sessions?x=1")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/sessions?x=1" {
			t.Fatalf("POST theme: %d to %q, want 303 back to /account/sessions?x=1", res.StatusCode, res.Header.Get("Location"))
		}
		for range 2 { // persists across requests
			if attr, pressed := themeOf(t, b.get("/workspace")); attr != "dark" || pressed != "dark" {
				t.Errorf("after choosing dark: data-theme %q, pressed %q", attr, pressed)
			}
		}
		if v, _, err := a.Svc.StateValue(context.Background(), sid, store.CatPreferences, "theme"); err != nil || string(v) != `"dark"` {
			t.Errorf("preferences.theme = %s (%v), want dark", v, err)
		}

		// "system" renders no data-theme, so the browser's preference rules.
		res = b.post("/account/theme", urlValues("theme", "system", "csrf_token", b.csrf()), "HX-Request", "true")
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("htmx POST theme: %d, want 204", res.StatusCode)
		}
		if attr, pressed := themeOf(t, b.get("/workspace")); attr != "" || pressed != "system" {
			t.Errorf("after choosing system: data-theme %q, pressed %q", attr, pressed)
		}

		// A foreign Referer does not make it an open redirect.
		res = b.post("/account/theme", urlValues("theme", "dark", "csrf_token", b.csrf()), "Referer", "https://evil.example/x")
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/workspace" {
			t.Errorf("POST theme with a foreign Referer: %d to %q, want 303 to /workspace", res.StatusCode, loc)
		}

		// The user's next session starts with it.
		b.post("/logout", urlValues("csrf_token", b.csrf()))
		c := a.browser()
		c.login("ana")
		if attr, pressed := themeOf(t, c.get("/workspace")); attr != "dark" || pressed != "dark" {
			t.Errorf("next session: data-theme %q, pressed %q, want dark", attr, pressed)
		}
	})
}

func TestThemeRefused(t *testing.T) {
	a := newApp(t, "sqlite")
	b, sid := signedIn(t, a, "olga")
	tok := b.csrf()
	tests := []struct {
		name string
		form []string
		want int
	}{
		{"unknown theme", []string{"theme", "neon", "csrf_token", tok}, http.StatusBadRequest},
		{"markup", []string{"theme", `dark" onload="x`, "csrf_token", tok}, http.StatusBadRequest},
		{"empty", []string{"csrf_token", tok}, http.StatusBadRequest},
		{"no CSRF token", []string{"theme", "dark"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := b.post("/account/theme", urlValues(tt.form...)); res.StatusCode != tt.want {
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	if v, _, _ := a.Svc.StateValue(context.Background(), sid, store.CatPreferences, "theme"); string(v) != `"light"` {
		t.Errorf("theme after refused posts = %s, want light", v)
	}
	if res := a.browser().post("/account/theme", urlValues("theme", "dark")); res.StatusCode == http.StatusOK || res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/login" {
		t.Errorf("anonymous POST theme: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}
