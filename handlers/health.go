package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up; it touches no store.
func (h *Handler) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz says whether the session store answers.
func (h *Handler) readyz(c echo.Context) error {
	if err := h.sessions.Ready(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "store unavailable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
