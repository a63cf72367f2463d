package handlers

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
)

// reauth is what the form of a sensitive action shows for the
// recent-sign-in rule; id prefixes its fields.
func (h *Handler) reauth(c echo.Context, id string) views.Reauth {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	return views.Reauth{
		Needed: !h.sessions.AuthFresh(ctx), Minutes: int(h.sessions.RecentAuth() / time.Minute),
		TOTP: h.sessions.HasTOTP(cur.User), ID: id,
	}
}

// checkRecentAuth lets a sensitive action go on when the admin signed in
// recently, or typed their password (and code) into its form now, which
// counts as a new sign-in for the next ones. Otherwise it returns the message
// for the form; what names the action in it. Errors are the store's.
func (h *Handler) checkRecentAuth(c echo.Context, what string) (string, error) {
	ctx := c.Request().Context()
	if h.sessions.AuthFresh(ctx) {
		return "", nil
	}
	mins := int(h.sessions.RecentAuth() / time.Minute)
	password := c.FormValue("password")
	if password == "" {
		return fmt.Sprintf("%s needs a recent sign-in (within %d minutes): enter your password with the form, or sign in again.", what, mins), nil
	}
	if len(password) > maxPasswordLen {
		return "The password is wrong.", nil
	}
	err := h.sessions.ConfirmPassword(ctx, c.Request(), password, c.FormValue("code"))
	var throttled *sessionsvc.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return fmt.Sprintf("Too many wrong passwords. Try again in %d seconds.", int(math.Ceil(throttled.RetryAfter.Seconds()))), nil
	case errors.Is(err, sessionsvc.ErrWrongPassword):
		if h.reauth(c, "").TOTP {
			return "The password or the one-time code is wrong.", nil
		}
		return "The password is wrong.", nil
	case err != nil:
		return "", err
	}
	return "", nil
}
