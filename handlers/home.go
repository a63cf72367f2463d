package handlers

import (
	"github.com/labstack/echo/v4"
)

// home sends a visitor where their role works, or to the login page.
func (h *Handler) home(c echo.Context) error {
	cur, ok := h.sessions.Current(c.Request().Context())
	if !ok {
		return redirect(c, "/login")
	}
	return redirect(c, homeFor(cur.Role))
}
