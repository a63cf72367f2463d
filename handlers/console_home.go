package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// consoleHome is the admins' and operators' landing page.
func (h *Handler) consoleHome(c echo.Context) error {
	return h.render(c, http.StatusOK, views.ConsoleHome(h.homeProps(c, "Console")))
}
