package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
)

const (
	maxUsernameLen = 128
	maxPasswordLen = 1024
)

// loginCheck signs a user in. Failures say nothing about which part was wrong.
func (h *Handler) loginCheck(c echo.Context) error {
	ctx := c.Request().Context()
	r := c.Request()
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	fail := func(status int, msg string) error {
		return h.render(c, status, views.LoginPage(views.LoginProps{
			Layout: h.layout(c, "Sign in"), Username: username, Error: msg,
			FormToken: h.sessions.LoginFormToken(), Next: next,
		}))
	}
	if !h.sessions.CheckLoginFormToken(r.PostFormValue("csrf_token")) {
		return fail(http.StatusForbidden, "The sign-in form expired. Please try again.")
	}
	if username == "" || password == "" || len(username) > maxUsernameLen || len(password) > maxPasswordLen {
		return fail(http.StatusUnauthorized, "Invalid username or password.")
	}
	res, err := h.sessions.Login(ctx, r, username, password)
	var throttled *sessionsvc.ThrottledError
	switch {
	case errors.As(err, &throttled):
		secs := int(math.Ceil(throttled.RetryAfter.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return fail(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins. Try again in %d seconds.", secs))
	case errors.Is(err, sessionsvc.ErrBadCredentials):
		return fail(http.StatusUnauthorized, "Invalid username or password.")
	case err != nil:
		return err
	}
	// Write the session now: a sign-in that did not land must not redirect.
	if err := h.sessions.Save(ctx, c.Response()); err != nil {
		return err
	}
	if next == "" {
		next = homeFor(res.Role)
		// Ended sessions the user can resume come first.
		if offers, err := h.sessions.RecoveryOffers(ctx); err == nil && len(offers) > 0 {
			next = "/recover"
		}
	}
	return redirect(c, next)
}
