package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// sessionRefresh is the "stay signed in" button: it slides the session's expiry
// and idle clocks. htmx gets 204 with the new deadline in a header; a plain form
// goes back to the page it came from.
func (h *Handler) sessionRefresh(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.sessions.Refresh(ctx, c.Request()); err != nil {
		return err
	}
	if err := h.sessions.Save(ctx, c.Response()); err != nil {
		return err
	}
	if isHTMX(c) {
		return c.NoContent(http.StatusNoContent)
	}
	back := "/"
	if ref := c.Request().Referer(); ref != "" {
		if u := refererPath(ref, c.Request().Host); u != "" {
			back = u
		}
	}
	return c.Redirect(http.StatusSeeOther, back)
}
