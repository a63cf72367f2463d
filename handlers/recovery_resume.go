package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// recoveryResume resumes one of the user's recovery points in a new session
// and returns them to the page they were on.
func (h *Handler) recoveryResume(c echo.Context) error {
	ctx := c.Request().Context()
	sid := c.Request().PostFormValue("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderRecovery(c, http.StatusBadRequest, i18n.T(ctx, "recovery.choose"))
	}
	page, err := h.sessions.Recover(ctx, c.Request(), sid)
	if status, msg, ok := recoveryRefusal(ctx, err); ok {
		return h.renderRecovery(c, status, msg)
	} else if err != nil {
		return err
	}
	return h.afterRecovery(c, page)
}

// afterRecovery writes the new session and sends the user back to where they were.
func (h *Handler) afterRecovery(c echo.Context, page string) error {
	ctx := c.Request().Context()
	if err := h.sessions.Save(ctx, c.Response()); err != nil {
		return err
	}
	cur, _ := h.sessions.Current(ctx)
	to := safeNext(page)
	if to == "" || to == "/login" || to == "/recover" {
		to = homeFor(cur.Role)
	}
	return redirect(c, to)
}

// recoveryRefusal maps a refused recovery to a status and a clear message in
// the request's language.
func recoveryRefusal(ctx context.Context, err error) (int, string, bool) {
	switch {
	case errors.Is(err, sessionsvc.ErrRecoveryDisabled):
		return http.StatusForbidden, i18n.T(ctx, "recovery.disabled"), true
	case errors.Is(err, sessionsvc.ErrRecoveryNotYours):
		return http.StatusForbidden, i18n.T(ctx, "recovery.not_yours"), true
	case errors.Is(err, sessionsvc.ErrRecoveryUnavailable):
		return http.StatusGone, i18n.T(ctx, "recovery.unavailable"), true
	}
	return 0, "", false
}
