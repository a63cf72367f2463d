package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// workspaceHome is the analysts' landing page.
func (h *Handler) workspaceHome(c echo.Context) error {
	return h.render(c, http.StatusOK, views.WorkspaceHome(h.homeProps(c, "Workspace")))
}

func (h *Handler) homeProps(c echo.Context, title string) views.HomeProps {
	cur, _ := h.sessions.Current(c.Request().Context())
	return views.HomeProps{Layout: h.layout(c, title), ShortSID: shortSID(cur.SID), Role: cur.Role,
		CreatedAt: cur.CreatedAt, ExpiresAt: cur.Deadline, Now: h.now()}
}
