package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// auditPageSize is how many entries one page of the audit page asks for.
const auditPageSize = 50

// auditFieldMax bounds a text filter: longer values match nothing anyway and
// only cost the store work.
const auditFieldMax = 256

// auditActions are the actions the service writes today, offered by the
// action filter. A filter on an action not listed still works (the select
// adds it), so a new action is never unreachable.
var auditActions = []string{
	"login", "login_failed", "logout",
	"terminate", "terminate_user", "terminate_bulk",
	"recover", "recovery_link",
	"security", "config_reload",
}

// datetimeLocal is the value format of <input type="datetime-local">,
// without and with seconds (browsers send seconds when the step asks).
const (
	datetimeLocal        = "2006-01-02T15:04"
	datetimeLocalSeconds = "2006-01-02T15:04:05"
)

// auditFilterFrom reads the audit filters from the query string, shared by the
// page and the CSV export so both select the same entries. From and To are
// datetime-local values read as UTC: the console states every time in UTC
// (the server cannot know the reader's zone). The returned view filter
// echoes what was sent, also when it is refused; problem says why it was.
func auditFilterFrom(c echo.Context) (q store.AuditQuery, f views.AuditFilter, problem string) {
	f = views.AuditFilter{
		From:   strings.TrimSpace(c.QueryParam("from")),
		To:     strings.TrimSpace(c.QueryParam("to")),
		Actor:  strings.TrimSpace(c.QueryParam("actor")),
		Action: strings.TrimSpace(c.QueryParam("action")),
		Target: strings.TrimSpace(c.QueryParam("target")),
	}
	for _, v := range []struct{ name, val string }{{"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}} {
		if len(v.val) > auditFieldMax || !utf8.ValidString(v.val) {
			return q, f, "The " + v.name + " filter is too long or not valid text."
		}
	}
	q.Actor, q.Action, q.Target = f.Actor, f.Action, f.Target
	var err error
	if q.From, err = parseDatetimeLocal(f.From); err != nil {
		return q, f, "“From” is not a date and time (YYYY-MM-DDTHH:MM, UTC)."
	}
	if q.To, err = parseDatetimeLocal(f.To); err != nil {
		return q, f, "“Before” is not a date and time (YYYY-MM-DDTHH:MM, UTC)."
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, f, "“From” must be before “Before”."
	}
	return q, f, ""
}

// parseDatetimeLocal reads a datetime-local value as UTC; "" is the zero time.
func parseDatetimeLocal(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	layout := datetimeLocal
	if len(s) > len(datetimeLocal) {
		layout = datetimeLocalSeconds
	}
	return time.ParseInLocation(layout, s, time.UTC)
}

// auditURL is path with the filters (and a cursor, if any) in its query, so
// that paging and the export keep the view the admin chose.
func auditURL(path string, f views.AuditFilter, cursor string) string {
	v := url.Values{}
	for _, kv := range [][2]string{{"from", f.From}, {"to", f.To}, {"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}, {"cursor", cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// auditList shows one page of the audit log, newest first. A page may hold
// fewer entries than asked for and still have a next one (a store bounds the
// work of one query), so "Older entries" follows Next, never the row count.
func (h *Handler) auditList(c echo.Context) error {
	q, f, problem := auditFilterFrom(c)
	p := views.AuditProps{
		Layout: h.layout(c, "Audit log"), Filter: f, Actions: auditActions,
		CSVURL: auditURL("/admin/audit.csv", f, ""),
	}
	status := http.StatusOK
	if problem != "" {
		p.Error, status = problem, http.StatusBadRequest
		return h.renderAudit(c, status, p)
	}
	q.Cursor = c.QueryParam("cursor")
	q.Limit = auditPageSize
	if q.Cursor != "" {
		p.FirstURL = auditURL("/admin/audit", f, "")
	}
	page, err := h.console.AuditLog(c.Request().Context(), q)
	switch {
	case errors.Is(err, store.ErrBadCursor):
		p.Error, status = "This page link is no longer valid. Start again from the newest entries.", http.StatusBadRequest
		return h.renderAudit(c, status, p)
	case err != nil:
		return err
	}
	p.Rows = make([]views.AuditRow, len(page.Entries))
	for i, e := range page.Entries {
		p.Rows[i] = views.AuditRow{ID: e.ID, At: e.At, Actor: e.Actor, ActorIP: e.ActorIP, Action: e.Action,
			Target: e.Target, Reason: e.Reason, Result: e.Result, Affected: e.Affected, CompletedAt: e.CompletedAt}
	}
	if page.Next != "" {
		p.NextURL = auditURL("/admin/audit", f, page.Next)
	}
	return h.renderAudit(c, status, p)
}

// renderAudit sends the results fragment to htmx swaps and the whole page
// otherwise (a plain form submit, a boosted link, a reload).
func (h *Handler) renderAudit(c echo.Context, status int, p views.AuditProps) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if isHTMX(c) && c.Request().Header.Get("HX-Boosted") != "true" {
		// htmx does not swap a 4xx response: a refused filter comes as
		// 200 so that its message replaces the results.
		return h.render(c, http.StatusOK, views.AuditResults(p))
	}
	return h.render(c, status, views.AuditPage(p))
}
