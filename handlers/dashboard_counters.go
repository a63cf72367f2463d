package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// dashboardCounters is the counters fragment the dashboard polls. It is only
// ever swapped into the dashboard, so it returns the fragment whether or not
// htmx asked; the polls carry X-Background and count as neither activity nor
// page views.
func (h *Handler) dashboardCounters(c echo.Context) error {
	today, err := h.console.Today(c.Request().Context())
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.DashboardCounters(h.countersProps(today)))
}
