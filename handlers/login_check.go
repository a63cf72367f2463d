package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

const (
	maxUsernameLen = 128
	maxPasswordLen = 1024
)

// loginCheck signs a user in: the password form, then, for an account with a
// TOTP secret, the code form (the pending field carries the signed state
// between the two). Failures say nothing about which part was wrong.
func (h *Handler) loginCheck(c echo.Context) error {
	ctx := c.Request().Context()
	r := c.Request()
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	pending, code := r.PostFormValue("pending"), r.PostFormValue("code")
	next := safeNext(r.PostFormValue("next"))
	fail := func(status int, msg string) error {
		return h.render(c, status, views.LoginPage(views.LoginProps{
			Layout: h.layout(c, i18n.T(ctx, "login.title")), Username: username, Error: msg,
			FormToken: h.sessions.LoginFormToken(), Next: next,
		}))
	}
	askCode := func(status int, pending, msg string) error {
		return h.render(c, status, views.LoginPage(views.LoginProps{
			Layout: h.layout(c, i18n.T(ctx, "login.title")), Username: username, Error: msg, Pending: pending,
			FormToken: h.sessions.LoginFormToken(), Next: next,
		}))
	}
	if !h.sessions.CheckLoginFormToken(r.PostFormValue("csrf_token")) {
		return fail(http.StatusForbidden, i18n.T(ctx, "login.form_expired"))
	}
	var res sessionsvc.LoginResult
	var err error
	if pending != "" {
		if len(pending) > 512 || len(code) > 16 {
			return fail(http.StatusUnauthorized, i18n.T(ctx, "login.code_expired"))
		}
		res, err = h.sessions.LoginSecondFactor(ctx, r, pending, code)
		if errors.Is(err, sessionsvc.ErrBadCode) {
			// The same pending token stays good until it expires; after that
			// the code form cannot succeed, which the message covers.
			return askCode(http.StatusUnauthorized, pending, i18n.T(ctx, "login.code_wrong"))
		}
	} else {
		if username == "" || password == "" || len(username) > maxUsernameLen || len(password) > maxPasswordLen {
			return fail(http.StatusUnauthorized, i18n.T(ctx, "login.invalid"))
		}
		res, err = h.sessions.Login(ctx, r, username, password)
	}
	var throttled *sessionsvc.ThrottledError
	var second *sessionsvc.SecondFactorRequired
	switch {
	case errors.As(err, &second):
		return askCode(http.StatusOK, second.Pending, "")
	case errors.As(err, &throttled):
		secs := int(math.Ceil(throttled.RetryAfter.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return fail(http.StatusTooManyRequests, i18n.N(ctx, "login.throttled", secs))
	case errors.Is(err, sessionsvc.ErrBadCredentials):
		return fail(http.StatusUnauthorized, i18n.T(ctx, "login.invalid"))
	case err != nil:
		return err
	}
	// Write the session now: a sign-in that did not land must not redirect.
	if err := h.sessions.Save(ctx, c.Response()); err != nil {
		return err
	}
	// Ended sessions the user can resume come first, also when a page sent
	// them here (that page is where "start fresh" goes); a resume link's own
	// page is already about resuming.
	if !strings.HasPrefix(next, "/recover") {
		if offers, err := h.sessions.RecoveryOffers(ctx); err == nil && len(offers) > 0 {
			to := "/recover"
			if next != "" {
				to += "?next=" + url.QueryEscape(next)
			}
			return redirect(c, to)
		}
	}
	if next == "" {
		next = homeFor(res.Role)
	}
	return redirect(c, next)
}
