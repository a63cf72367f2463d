package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// maxPreviewID bounds the preview id a confirm may carry; the service makes
// 32-character ids.
const maxPreviewID = 64

// sessionTerminateBulk previews ending the checked sessions (scope=selected,
// the list's sid checkboxes) or every live session matching the list's filter
// (scope=filter). Nothing ends here: the preview is kept server-side and the
// page shows what its confirm would end.
func (h *Handler) sessionTerminateBulk(c echo.Context) error {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	form, err := c.FormParams()
	if err != nil {
		return h.bulkRefuse(c, http.StatusBadRequest, "Bad request", "The form could not be read.")
	}
	var sel sessionsvc.Selection
	switch form.Get("scope") {
	case "selected":
		q, err := bindSessionListQuery(url.Values{"sid": form["sid"]})
		if err != nil {
			return h.bulkRefuse(c, http.StatusBadRequest, "Bad request", err.Error())
		}
		if len(q.Selected) == 0 {
			return h.bulkRefuse(c, http.StatusBadRequest, "Nothing selected",
				"Check the sessions to end in the list first, or preview ending all sessions matching the filter.")
		}
		sel.SIDs = q.Selected
	case "filter":
		q, err := bindSessionListQuery(url.Values{"user": {form.Get("user")}, "role": {form.Get("role")}, "ip": {form.Get("ip")}})
		if err != nil {
			return h.bulkRefuse(c, http.StatusBadRequest, "Bad request", err.Error())
		}
		sel.Filter = store.Filter{User: q.User, Role: q.Role, IP: q.IP}
	default:
		return h.bulkRefuse(c, http.StatusBadRequest, "Bad request", "Choose the selected sessions or all sessions matching the filter.")
	}
	id, p, err := h.console.PreviewTermination(ctx, cur.User, sel)
	if err != nil {
		return err
	}
	return h.renderPreview(c, http.StatusOK, h.previewProps(c, id, p))
}

// renderPreview shows a preview: the whole page, or with htmx the panel of
// the sessions list.
func (h *Handler) renderPreview(c echo.Context, status int, p views.TerminatePreviewProps) error {
	if isHTMX(c) {
		p.Panel = true
		return h.render(c, status, views.TerminatePreviewPanel(p))
	}
	return h.render(c, status, views.TerminatePreviewPage(p))
}

// bulkRefuse answers a refused bulk step: the error page, or with htmx the
// message in the panel.
func (h *Handler) bulkRefuse(c echo.Context, status int, title, msg string) error {
	if isHTMX(c) {
		return h.render(c, status, views.TerminatePreviewPanel(views.TerminatePreviewProps{Error: msg}))
	}
	return h.renderError(c, status, title, msg)
}

// sessionTerminateBulkConfirm ends the sessions of a preview the same admin
// made, with a reason, and returns to the list with how many ended.
func (h *Handler) sessionTerminateBulkConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	id := c.FormValue("preview")
	if id == "" || len(id) > maxPreviewID {
		return h.previewGone(c)
	}
	reason, problem := terminateReason(c)
	status := http.StatusBadRequest
	if problem == "" {
		var err error
		if problem, err = h.checkRecentAuth(c, "Ending sessions in bulk"); err != nil {
			return err
		}
		status = http.StatusForbidden
	}
	if problem != "" {
		p, err := h.console.LoadPreview(ctx, cur.User, id)
		if err != nil {
			return h.previewError(c, err)
		}
		props := h.previewProps(c, id, p)
		props.Error, props.Reason = problem, reason
		return h.renderPreview(c, status, props)
	}
	// The previewed sids, for htmx to remove their rows: those that were no
	// longer live have left the list already, or will at the next poll.
	p, err := h.console.LoadPreview(ctx, cur.User, id)
	if err != nil {
		return h.previewError(c, err)
	}
	n, err := h.console.ConfirmTermination(ctx, cur.User, id, reason)
	if err != nil {
		return h.previewError(c, err)
	}
	if isHTMX(c) {
		return h.render(c, http.StatusOK, views.TerminateDone(n, p.SIDs))
	}
	return redirect(c, "/admin/sessions?ended="+strconv.Itoa(n))
}

func (h *Handler) previewProps(c echo.Context, id string, p store.Preview) views.TerminatePreviewProps {
	return views.TerminatePreviewProps{
		Layout: h.layout(c, "End sessions"), PreviewID: id, Sessions: len(p.SIDs), Users: p.Users,
		Selection: p.Filter, Minutes: int(sessionsvc.PreviewTTL.Minutes()), Reauth: h.reauth(c, "bulk"),
	}
}

// previewError answers a refused preview: unknown, expired and another
// admin's look the same, so an id cannot be probed.
func (h *Handler) previewError(c echo.Context, err error) error {
	if errors.Is(err, sessionsvc.ErrPreviewGone) || errors.Is(err, sessionsvc.ErrPreviewActor) {
		return h.previewGone(c)
	}
	return err
}

func (h *Handler) previewGone(c echo.Context) error {
	return h.bulkRefuse(c, http.StatusNotFound, "Preview expired",
		fmt.Sprintf("This preview is unknown or older than %d minutes. Nothing was ended: preview again from the sessions list.",
			int(sessionsvc.PreviewTTL.Minutes())))
}

// sessionsNotice is the list's message after a bulk termination, built from
// a number only: the query cannot put words on the page.
func sessionsNotice(c echo.Context) string {
	s := c.QueryParam("ended")
	if s == "" {
		return ""
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return ""
	}
	return views.EndedNotice(n)
}
