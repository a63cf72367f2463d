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
	return c.JSON(http.StatusOK, apiSessionBody{
		Deadline: cur.Deadline.UnixMilli(), Role: cur.Role, SID: cur.SID, User: cur.User,
	})
}

// apiSessionBody is apiSession's answer: a struct, not a map, since this is
// the request scripts poll most (no map to build and sort per request).
type apiSessionBody struct {
	Deadline int64  `json:"deadline"` // unix ms
	Role     string `json:"role"`
	SID      string `json:"sid"`
	User     string `json:"user"`
}
