package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// accountTheme saves the signed-in user's theme (light, dark or system) in
// their session's preferences, which carry over to their next sessions, and
// in the session blob the layout reads. A form post goes back to the page it
// came from; htmx gets 204.
func (h *Handler) accountTheme(c echo.Context) error {
	err := h.sessions.SetTheme(c.Request().Context(), c.FormValue("theme"))
	switch {
	case errors.Is(err, sessionsvc.ErrBadTheme):
		return echo.NewHTTPError(http.StatusBadRequest, i18n.T(c.Request().Context(), "error.bad_theme"))
	case errors.Is(err, sessionsvc.ErrNotFound), errors.Is(err, sessionsvc.ErrNoSession):
		return redirect(c, "/login")
	case err != nil:
		return err
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Boosted") != "true" {
		return c.NoContent(http.StatusNoContent)
	}
	back := refererPath(c.Request().Referer(), c.Request().Host)
	if back == "" {
		cur, _ := h.sessions.Current(c.Request().Context())
		back = homeFor(cur.Role)
	}
	return c.Redirect(http.StatusSeeOther, back)
}
