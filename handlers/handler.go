// Package handlers is the HTTP layer: it binds requests, authorizes them, calls
// sessionsvc and renders views. It holds no business rules and never talks to a
// store directly.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/metrics"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// Sessions is what the handlers need from the session service.
type Sessions interface {
	Load(r *http.Request) (*http.Request, error)
	Save(ctx context.Context, w http.ResponseWriter) error
	Current(ctx context.Context) (sessionsvc.Current, bool)
	Ended(ctx context.Context) (store.Tombstone, bool)
	EndedNotice(t store.Tombstone) sessionsvc.EndedNotice
	Forget(ctx context.Context)
	Login(ctx context.Context, r *http.Request, username, password string) (sessionsvc.LoginResult, error)
	LoginSecondFactor(ctx context.Context, r *http.Request, pending, code string) (sessionsvc.LoginResult, error)
	NewTOTPEnrolment(user, secret string) (sessionsvc.TOTPEnrolment, error)
	CheckTOTPEnrolment(secret, code string) bool
	HasTOTP(user string) bool
	AuthFresh(ctx context.Context) bool
	RecentAuth() time.Duration
	ConfirmPassword(ctx context.Context, r *http.Request, password, code string) error
	Logout(ctx context.Context) error
	Refresh(ctx context.Context, r *http.Request) (time.Time, error)
	CheckCSRF(ctx context.Context, r *http.Request) bool
	LoginFormToken() string
	CheckLoginFormToken(tok string) bool
	UserSessions(ctx context.Context, user string) ([]store.Record, error)
	EndOwn(ctx context.Context, sid string) error
	EndOthers(ctx context.Context) (int, error)
	Ready(ctx context.Context) error
	RecoveryOffers(ctx context.Context) ([]sessionsvc.RecoveryOffer, error)
	Recover(ctx context.Context, r *http.Request, sid string) (string, error)
	RecoveryLinkUser(ctx context.Context, token string) (string, error)
	RecoverWithLink(ctx context.Context, r *http.Request, token string) (string, error)
	RecordCurrent(ctx context.Context, typ string, data map[string]string)
	SetTheme(ctx context.Context, theme string) error
	SetLocale(ctx context.Context, locale string) error
}

// Handler serves every route. Build it with New and mount it with Register.
type Handler struct {
	metrics  *metrics.Metrics
	console  Console
	sessions Sessions
	ws       Workspace
	assets   views.Assets
	static   http.Handler
	log      *slog.Logger
	now      func() time.Time
}

// Deps are the Handler's dependencies.
type Deps struct {
	Sessions Sessions
	Assets   views.Assets
	Static   http.Handler // serves /static/
	Logger   *slog.Logger
	Now      func() time.Time
	Metrics  *metrics.Metrics // nil: no request metrics
	Console  Console          // the console pages' service; usually the same as Sessions
	// Workspace is the analysts' pages' service; nil: Sessions, which the
	// session service implements too.
	Workspace Workspace
}

// New returns a Handler.
func New(d Deps) *Handler {
	h := &Handler{sessions: d.Sessions, assets: d.Assets, static: d.Static, log: d.Logger, now: d.Now, metrics: d.Metrics, console: d.Console}
	h.ws = d.Workspace
	if h.ws == nil {
		h.ws, _ = d.Sessions.(Workspace)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// layout fills the layout props for the request's session.
func (h *Handler) layout(c echo.Context, title string) views.LayoutProps {
	p := views.LayoutProps{Title: title, Assets: h.assets, Now: h.now()}
	if cur, ok := h.sessions.Current(c.Request().Context()); ok {
		p.User = &views.User{Name: cur.User, Role: cur.Role}
		p.CSRFToken = cur.CSRFToken
		p.Deadline = cur.Deadline
		p.Theme = cur.Theme // kept in the session blob: no store read per page
		p.LanguageSwitcher = !isConsolePath(c.Request().URL.Path)
	}
	return p
}

// render writes a component with a status code. Components render into a
// buffer first, so a failure never leaves a half-written page.
func (h *Handler) render(c echo.Context, status int, comp templ.Component) error {
	// A pooled buffer: no growing copies, no string-to-bytes copy, and a
	// Content-Length instead of chunked framing.
	b := templ.GetBuffer()
	defer templ.ReleaseBuffer(b)
	if err := comp.Render(c.Request().Context(), b); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(b.Len()))
	return c.HTMLBlob(status, b.Bytes())
}

// renderError renders the error page.
func (h *Handler) renderError(c echo.Context, status int, title, message string) error {
	if isAPI(c) {
		return apiFail(c, status, apiCode(status), message)
	}
	return h.render(c, status, views.ErrorPage(views.ErrorProps{
		Layout: h.layout(c, title), Status: status, Title: title, Message: message,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	}))
}

// errorHandler is Echo's HTTPErrorHandler: every error becomes a whole page,
// a store outage a 503 that says so.
func (h *Handler) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	ctx := c.Request().Context() // carries the request's locale
	switch {
	case errors.Is(err, sessionsvc.ErrUnavailable):
		h.log.WarnContext(c.Request().Context(), "store unavailable", slog.String("error", err.Error()), slog.String("path", c.Request().URL.Path))
		c.Response().Header().Set("Retry-After", "5")
		err = h.renderError(c, http.StatusServiceUnavailable, i18n.T(ctx, "error.unavailable_title"), i18n.T(ctx, "error.unavailable_message"))
	case errors.Is(err, sessionsvc.ErrTampered):
		// The session was ended for it; the login page says why.
		err = redirect(c, "/login")
	case errors.As(err, &he):
		// A handler's own message (already in the reader's language), else
		// the status explained; Echo's bare status texts are not repeated.
		msg := views.StatusMessage(ctx, he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 && m != http.StatusText(he.Code) {
			msg = m
		}
		err = h.renderError(c, he.Code, views.StatusTitle(ctx, he.Code), msg)
	default:
		h.log.ErrorContext(c.Request().Context(), "request failed", slog.String("error", err.Error()), slog.String("path", c.Request().URL.Path))
		err = h.renderError(c, http.StatusInternalServerError, i18n.T(ctx, "error.internal_title"), i18n.T(ctx, "error.internal_message"))
	}
	if err != nil {
		h.log.ErrorContext(c.Request().Context(), "render error page", slog.String("error", err.Error()))
	}
}

// homeFor is where a role lands after sign-in.
func homeFor(role string) string {
	switch role {
	case sessionsvc.RoleAdmin, sessionsvc.RoleOperator:
		return "/admin"
	}
	return "/workspace"
}

// safeNext returns next if it is a same-site path, else "".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || u.User != nil {
		return ""
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return ""
		}
	}
	// RequestURI escapes the path again, which can undo an escaped slash:
	// "/%2Fevil.example/ " comes out as "//evil.example/%20", another host.
	out := u.RequestURI()
	if strings.HasPrefix(out, "//") {
		return ""
	}
	return out
}

func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true"
}

// redirect sends a 303, or an HX-Redirect for htmx so the whole page navigates.
func redirect(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// refererPath returns the path of a Referer on this host, else "".
func refererPath(ref, host string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Host != host {
		return ""
	}
	return safeNext(u.RequestURI())
}
