package handlers

import (
	"github.com/labstack/echo/v4"
)

// logout ends the session for good; replaying its cookie finds it ended.
func (h *Handler) logout(c echo.Context) error {
	ctx := c.Request().Context()
	if err := h.sessions.Logout(ctx); err != nil {
		return err
	}
	if err := h.sessions.Save(ctx, c.Response()); err != nil {
		return err
	}
	return redirect(c, "/login")
}
