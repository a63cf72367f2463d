package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// langCookieAge is how long the login page remembers a chosen language.
const langCookieAge = 365 * 24 * time.Hour

// isConsolePath reports whether path is a console page, whose texts are
// English only.
func isConsolePath(path string) bool {
	return path == "/admin" || strings.HasPrefix(path, "/admin/")
}

// locale puts the request's i18n.Locale in its context for the views and
// the error pages. The console (/admin/**) is English. Elsewhere it is the
// language chosen on the login page (?lang=, which sets the sc_lang cookie),
// else the one the browser's Accept-Language prefers; sessionLocale then
// puts a signed-in user's own choice first. It stores nothing server-side.
func (h *Handler) locale(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var l i18n.Locale
		switch {
		case isConsolePath(r.URL.Path):
			l = i18n.EN
		case r.Method == http.MethodGet && r.URL.Path == "/login" && r.URL.Query().Has("lang"):
			l = i18n.Parse(r.URL.Query().Get("lang"))
			setLangCookie(c, l)
		default:
			l = browserLocale(r)
		}
		c.SetRequest(r.WithContext(i18n.WithLocale(r.Context(), l)))
		return next(c)
	}
}

// browserLocale is an anonymous visitor's locale: the sc_lang cookie, else
// Accept-Language.
func browserLocale(r *http.Request) i18n.Locale {
	if ck, err := r.Cookie(sessionsvc.LangCookie); err == nil && ck.Value != "" {
		return i18n.Parse(ck.Value)
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// sessionLocale, after withSession, switches a signed-in request to the
// session's locale: the user's preferences.locale, which the session blob
// carries, so no page reads the store for it. The console stays English.
func (h *Handler) sessionLocale(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if cur, ok := h.sessions.Current(r.Context()); ok && cur.Locale != "" && !isConsolePath(r.URL.Path) {
			if l := i18n.Parse(cur.Locale); l != i18n.FromContext(r.Context()) {
				c.SetRequest(r.WithContext(i18n.WithLocale(r.Context(), l)))
			}
		}
		return next(c)
	}
}

// setLangCookie remembers l for the login page: a small cookie that is not a
// session and holds nothing but the locale.
func setLangCookie(c echo.Context, l i18n.Locale) {
	c.SetCookie(&http.Cookie{Name: sessionsvc.LangCookie, Value: l.String(), Path: "/",
		MaxAge: int(langCookieAge / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Scheme() == "https"})
}

// accountLocale saves the signed-in user's language (es-PY or en) in their
// session's preferences, which carry over to their next sessions, and in the
// session blob the pages read; the sc_lang cookie follows, so the login page
// after signing out speaks it too. It goes back to the page it came from.
func (h *Handler) accountLocale(c echo.Context) error {
	ctx := c.Request().Context()
	locale := c.FormValue("locale")
	err := h.sessions.SetLocale(ctx, locale)
	switch {
	case errors.Is(err, sessionsvc.ErrBadLocale):
		return echo.NewHTTPError(http.StatusBadRequest, i18n.T(ctx, "error.bad_locale"))
	case errors.Is(err, sessionsvc.ErrNotFound), errors.Is(err, sessionsvc.ErrNoSession):
		return redirect(c, "/login")
	case err != nil:
		return err
	}
	setLangCookie(c, i18n.Parse(locale))
	back := refererPath(c.Request().Referer(), c.Request().Host)
	if back == "" {
		cur, _ := h.sessions.Current(ctx)
		back = homeFor(cur.Role)
	}
	return redirect(c, back)
}

// endedText says why a session ended, in the request's language. An
// administrator's reason is quoted as they wrote it.
func endedText(ctx context.Context, n sessionsvc.EndedNotice) string {
	switch n.Reason {
	case store.ReasonLogout:
		if n.Elsewhere {
			return i18n.T(ctx, "ended.logout_elsewhere")
		}
		return i18n.T(ctx, "ended.logout")
	case store.ReasonExpired:
		return i18n.T(ctx, "ended.expired", "Minutes", i18n.Int(ctx, n.Minutes))
	case store.ReasonIdle:
		return i18n.T(ctx, "ended.idle", "Minutes", i18n.Int(ctx, n.Minutes))
	case store.ReasonLifetime:
		return i18n.T(ctx, "ended.lifetime", "Hours", i18n.Int(ctx, n.Hours))
	case store.ReasonEvicted:
		return i18n.T(ctx, "ended.evicted")
	case store.ReasonTerminated:
		if n.Note != "" {
			return i18n.T(ctx, "ended.terminated_note", "Note", n.Note)
		}
		return i18n.T(ctx, "ended.terminated")
	case store.ReasonSecurity:
		return i18n.T(ctx, "ended.security")
	case store.ReasonAccountRemoved, store.ReasonAccountDisabled:
		return i18n.T(ctx, "ended.account_inactive")
	}
	return i18n.T(ctx, "ended.unknown")
}
