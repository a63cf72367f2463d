package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// recoveryResume resumes one of the user's recovery points in a new session
// and returns them to the page they were on.
func (h *Handler) recoveryResume(c echo.Context) error {
	ctx := c.Request().Context()
	sid := c.Request().PostFormValue("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderRecovery(c, http.StatusBadRequest, "Choose a session to resume.")
	}
	page, err := h.sessions.Recover(ctx, c.Request(), sid)
	if status, msg, ok := recoveryRefusal(err); ok {
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

// recoveryRefusal maps a refused recovery to a status and a clear message.
func recoveryRefusal(err error) (int, string, bool) {
	switch {
	case errors.Is(err, sessionsvc.ErrRecoveryDisabled):
		return http.StatusForbidden, "Resuming sessions is turned off.", true
	case errors.Is(err, sessionsvc.ErrRecoveryNotYours):
		return http.StatusForbidden, "This recovery link belongs to another user. Sign in as that user to use it.", true
	case errors.Is(err, sessionsvc.ErrRecoveryUnavailable):
		return http.StatusGone, "This session can no longer be resumed: it was resumed already, or its recovery window has closed.", true
	}
	return 0, "", false
}
