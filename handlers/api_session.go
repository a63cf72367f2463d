package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiSession tells a script or the page's own code about the signed-in
// session: who, and when it ends unless refreshed. It is a background request
// when marked so, like any other.
func (h *Handler) apiSession(c echo.Context) error {
	cur, _ := h.sessions.Current(c.Request().Context())
	return c.JSON(http.StatusOK, map[string]any{
		"sid":      cur.SID,
		"user":     cur.User,
		"role":     cur.Role,
		"deadline": cur.Deadline.UnixMilli(),
	})
}
