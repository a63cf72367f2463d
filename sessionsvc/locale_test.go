package sessionsvc

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

// TestLocaleFromAgreesWithViews checks that a session starts in the language
// the login page was shown in: both read Accept-Language the same way.
func TestLocaleFromAgreesWithViews(t *testing.T) {
	for _, h := range []string{
		"", "es-PY", "es", "en", "en-US,en;q=0.9,es;q=0.8", "es-PY,es;q=0.9,en;q=0.8",
		"de-DE,de;q=0.9,en;q=0.8", "de", "es;q=0.5,en;q=0.6", "en;q=0,es", "*", "EN-gb", "en;q=x,es",
	} {
		if got, want := localeFrom(h), string(i18n.FromAcceptLanguage(h)); got != want {
			t.Errorf("localeFrom(%q) = %q, the views say %q", h, got, want)
		}
	}
	for _, l := range i18n.Supported() {
		if !ValidLocale(string(l)) {
			t.Errorf("the views' locale %q is not a valid preference", l)
		}
	}
}

func TestRequestLocale(t *testing.T) {
	tests := []struct {
		cookie, accept, want string
	}{
		{"", "es-PY", "es-PY"},
		{"", "en-US", "en"},
		{"en", "es-PY", "en"}, // chosen on the login page
		{"es-PY", "en-US", "es-PY"},
		{"fr", "en-US", "en"}, // a cookie naming no locale is ignored
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/login", nil)
		r.Header.Set("Accept-Language", tt.accept)
		if tt.cookie != "" {
			r.Header.Set("Cookie", LangCookie+"="+tt.cookie)
		}
		if got := requestLocale(r); got != tt.want {
			t.Errorf("cookie %q, Accept-Language %q: %q, want %q", tt.cookie, tt.accept, got, tt.want)
		}
	}
}

func TestLocaleOf(t *testing.T) {
	for v, want := range map[any]string{"en": "en", "es-PY": "es-PY", "fr": "", "": "", 3: ""} {
		if got := localeOf(v); got != want {
			t.Errorf("localeOf(%v) = %q, want %q", v, got, want)
		}
	}
	if got := localeOf(json.RawMessage(`"en"`)); got != "en" {
		t.Errorf("saved JSON locale = %q", got)
	}
	if got := localeOf(json.RawMessage(`{"x":1}`)); got != "" {
		t.Errorf("saved junk = %q", got)
	}
}
