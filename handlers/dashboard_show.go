package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// dashboardHours is what the charts read in one call: a week of hours. The
// last 24 draw the day chart; grouped by day, the newest 7 draw the week.
const dashboardHours = 7 * 24

// dashboardShow is the console's landing page: today's counters, the last day
// and week hour by hour, and the latest audit entries. Each figure is one
// bounded store query, so the page costs the same at a million sessions.
func (h *Handler) dashboardShow(c echo.Context) error {
	ctx := c.Request().Context()
	today, err := h.console.Today(ctx)
	if err != nil {
		return err
	}
	hourly, err := h.console.Hourly(ctx, dashboardHours)
	if err != nil {
		return err
	}
	audit, err := h.console.AuditLog(ctx, store.AuditQuery{Limit: 10})
	if err != nil {
		return err
	}
	counts := make([]views.HourCount, len(hourly))
	for i, hs := range hourly {
		counts[i] = views.HourCount{Hour: hs.Hour, Created: hs.Created, PeakActive: hs.PeakActive}
	}
	day := counts[max(len(counts)-24, 0):]
	entries := make([]views.DashboardAudit, len(audit.Entries))
	for i, e := range audit.Entries {
		entries[i] = views.DashboardAudit{At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Result: e.Result, Reason: e.Reason}
	}
	return h.render(c, http.StatusOK, views.DashboardPage(views.DashboardProps{
		Layout:   h.layout(c, "Dashboard"),
		Counters: h.countersProps(today),
		Day: views.ChartProps{ID: "chart-day", Title: "Last 24 hours", BarName: "Sessions created", LineName: "Peak active",
			Desc:   "Sessions created and the most sessions live at once, per hour, over the last 24 hours.",
			Points: views.HourlyPoints(day)},
		Week: views.ChartProps{ID: "chart-week", Title: "Last 7 days", BarName: "Sessions created", LineName: "Peak active",
			Desc:   "Sessions created and the most sessions live at once, per day, over the last 7 days.",
			Points: views.DailyPoints(counts, 7)},
		Audit: entries,
		Now:   h.now(),
	}))
}

// countersProps are today's aggregate figures as the counters show them.
func (h *Handler) countersProps(a sessionsvc.Aggregate) views.DashboardCountersProps {
	return views.DashboardCountersProps{
		ActiveNow: a.ActiveNow, Created: a.Created, UniqueUsers: a.UniqueUsers,
		AverageDuration: a.AverageDuration, Ended: a.Ended, PeakConcurrent: a.PeakConcurrent,
		Analyses: a.Analyses, UpdatedAt: h.now(),
	}
}
