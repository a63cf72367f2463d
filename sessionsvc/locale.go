package sessionsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ppfiber/sessionconsole/sessionsvc/lang"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// The locales a user may choose: the analysts' Paraguayan Spanish, the
// default, and English. They are the views' i18n locales.
const (
	LocaleES = "es-PY"
	LocaleEN = "en"
)

// LangCookie is the small, non-session cookie that keeps the language an
// anonymous visitor chose on the login page; a sign-in from that browser
// starts its session in it.
const LangCookie = "sc_lang"

// ErrBadLocale is a locale ValidLocale refuses: callers answer 400.
var ErrBadLocale = errors.New("sessionsvc: unknown locale")

// ValidLocale reports whether l is a locale a user may choose.
func ValidLocale(l string) bool { return l == LocaleES || l == LocaleEN }

// SetLocale saves the signed-in user's language, like SetTheme saves the
// theme: in the session's preferences (key "locale"), which carry over to the
// user's next sessions, and as a copy in the session blob (Meta.Locale), so
// that every page knows it without a state read. The copy has SetTheme's
// caveat under concurrent requests of one session.
func (s *Service) SetLocale(ctx context.Context, locale string) error {
	if !ValidLocale(locale) {
		return fmt.Errorf("%w: %q", ErrBadLocale, locale)
	}
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	if _, err := s.SetStateValue(ctx, cur.SID, store.CatPreferences, "locale", locale); err != nil {
		return err
	}
	st := stateFrom(ctx)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta != nil && st.meta.SID == cur.SID && st.meta.Locale != locale {
		st.meta.Locale = locale
		st.dirty = true
	}
	return nil
}

// localeOf reads a preferences locale value, a Go string (the defaults) or
// its JSON (saved preferences); anything but a valid locale reads as "".
func localeOf(v any) string {
	var l string
	switch v := v.(type) {
	case string:
		l = v
	case json.RawMessage:
		if json.Unmarshal(v, &l) != nil {
			return ""
		}
	}
	if !ValidLocale(l) {
		return ""
	}
	return l
}

// requestLocale is the locale a new session starts in: the one the browser
// chose on the login page (LangCookie), else the one its Accept-Language
// prefers. The user's saved preferences, when there are any, win over both.
func requestLocale(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil {
		switch lang.Primary(c.Value) {
		case "en":
			return LocaleEN
		case "es":
			return LocaleES
		}
	}
	return localeFrom(r.Header.Get("Accept-Language"))
}

// localeFrom picks a locale from Accept-Language (package lang decides, for
// the views too).
func localeFrom(acceptLanguage string) string { return lang.FromAcceptLanguage(acceptLanguage) }
