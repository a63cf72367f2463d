package handlers

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// withSession loads the request's session and arranges for it to be saved
// exactly once, when the response starts: also when a handler fails and the
// error page is written, so every response carries at most one session
// Set-Cookie. Errors are rendered here, inside the hook's reach.
func (h *Handler) withSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if m, ok := statePages[c.Path()]; ok && r.Method == m {
			r = sessionsvc.PrefetchState(r)
		}
		r, err := h.sessions.Load(r)
		if err != nil {
			return err // store unreachable: 503, and the browser's cookie is left alone
		}
		c.SetRequest(r)
		ctx := r.Context()
		res := c.Response()
		// The request's event is queued when its status is known, before
		// the body goes out: a client that has read the answer (which
		// may carry a Content-Length) finds it counted.
		recorded := false
		record := func() {
			if !recorded {
				recorded = true
				h.recordRequest(c)
			}
		}
		res.Before(func() {
			if err := h.sessions.Save(ctx, res); err != nil {
				// The page is already chosen; the activity write is lost, not the session.
				h.log.WarnContext(ctx, "save session", slog.String("error", err.Error()))
			}
			record()
		})
		if err := next(c); err != nil {
			c.Error(err)
		}
		if !res.Committed {
			if err := h.sessions.Save(ctx, res); err != nil {
				h.log.WarnContext(ctx, "save session", slog.String("error", err.Error()))
			}
		}
		record()
		return nil
	}
}

// recordRequest counts what the user did: a page_view for a user-initiated
// HTML page (not background polling or SSE), an api_call for /api/ routes.
// Recording never blocks: it only queues the event.
func (h *Handler) recordRequest(c echo.Context) {
	r := c.Request()
	status := c.Response().Status
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		h.sessions.RecordCurrent(r.Context(), store.EventAPICall, map[string]string{"path": r.URL.Path, "method": r.Method, "status": strconv.Itoa(status)})
	case r.Method == http.MethodGet && status == http.StatusOK && !sessionsvc.IsBackground(r) && !isHTMX(c) &&
		strings.HasPrefix(c.Response().Header().Get(echo.HeaderContentType), echo.MIMETextHTML):
		h.sessions.RecordCurrent(r.Context(), store.EventPageView, map[string]string{"path": r.URL.Path})
	}
}

// signedIn sends anonymous requests to the login page. The browser's cookie is
// kept on the way, so the login page can say why a session ended.
func (h *Handler) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := h.sessions.Current(c.Request().Context()); ok {
			return next(c)
		}
		if isAPI(c) {
			return apiFail(c, http.StatusUnauthorized, "unauthenticated", "Sign in first: the API uses the browser's session.")
		}
		to := "/login"
		if r := c.Request(); r.Method == http.MethodGet && !isHTMX(c) {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		return redirect(c, to)
	}
}

// roles admits only the listed roles; others get 403.
func (h *Handler) roles(allowed ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cur, ok := h.sessions.Current(c.Request().Context())
			if !ok {
				return redirect(c, "/login")
			}
			if !slices.Contains(allowed, cur.Role) {
				h.log.WarnContext(c.Request().Context(), "forbidden", slog.String("user", cur.User), slog.String("role", cur.Role), slog.String("path", c.Request().URL.Path))
				ctx := c.Request().Context()
				return h.renderError(c, http.StatusForbidden, views.StatusTitle(ctx, http.StatusForbidden), i18n.T(ctx, "error.forbidden_role"))
			}
			return next(c)
		}
	}
}

// csrf checks the session's synchronizer token on every state-changing request
// of a signed-in session. The login form has its own signed token.
func (h *Handler) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if !h.sessions.CheckCSRF(c.Request().Context(), c.Request()) {
			ctx := c.Request().Context()
			return h.renderError(c, http.StatusForbidden, views.StatusTitle(ctx, http.StatusForbidden), i18n.T(ctx, "error.form_expired"))
		}
		return next(c)
	}
}

// crossOrigin rejects cross-origin state-changing browser requests using
// Sec-Fetch-Site / Origin (net/http's CrossOriginProtection).
func (h *Handler) crossOrigin() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return echo.NewHTTPError(http.StatusForbidden, i18n.T(c.Request().Context(), "error.cross_origin"))
			}
			return next(c)
		}
	}
}

// securityHeaders sets the CSP (no inline scripts) and friends on every response.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}
