package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// workspaceDone returns to the workspace after an action: a 303 (or, for
// htmx, HX-Redirect) to the page with a fixed notice.
func (h *Handler) workspaceDone(c echo.Context, what string) error {
	return redirect(c, "/workspace?done="+what)
}

// workspaceError shows an action's error: with htmx the message alone, in
// the form's result area; otherwise the whole workspace with the message at
// the section the form belongs to.
func (h *Handler) workspaceError(c echo.Context, status int, section, msg string) error {
	if isHTMX(c) {
		return h.render(c, status, views.WorkspaceFormError(msg))
	}
	p, err := h.workspaceProps(c)
	if err != nil {
		return err
	}
	p.Error, p.ErrorSection = msg, section
	return h.render(c, status, views.WorkspacePage(p))
}

// workspaceDemo loads the demo data set as a dataset of the session.
func (h *Handler) workspaceDemo(c echo.Context) error {
	if _, err := h.ws.LoadDemo(c.Request().Context()); err != nil {
		return h.uploadError(c, err)
	}
	return h.workspaceDone(c, "demo")
}

// workspaceDatasetDelete removes one of the session's datasets.
func (h *Handler) workspaceDatasetDelete(c echo.Context) error {
	ctx := c.Request().Context()
	err := h.ws.DeleteDataset(ctx, c.Param("id"))
	if errors.Is(err, sessionsvc.ErrNoDataset) {
		return h.workspaceError(c, http.StatusNotFound, "datasets", i18n.T(ctx, "workspace.datasets.gone"))
	} else if err != nil {
		return err
	}
	return h.workspaceDone(c, "deleted")
}

// workspaceAnalysisStart queues an analysis of the chosen (or current)
// dataset; the page then follows its progress.
func (h *Handler) workspaceAnalysisStart(c echo.Context) error {
	ctx := c.Request().Context()
	_, err := h.ws.StartAnalysis(ctx, c.FormValue("dataset"))
	switch {
	case errors.Is(err, sessionsvc.ErrNoDataset):
		return h.workspaceError(c, http.StatusUnprocessableEntity, "analysis", i18n.T(ctx, "workspace.analysis.choose_dataset"))
	case errors.Is(err, sessionsvc.ErrAnalysisBusy):
		return h.workspaceError(c, http.StatusConflict, "analysis", i18n.T(ctx, "workspace.analysis.busy"))
	case errors.Is(err, sessionsvc.ErrQueueFull):
		c.Response().Header().Set("Retry-After", "60")
		return h.workspaceError(c, http.StatusServiceUnavailable, "analysis", i18n.T(ctx, "workspace.analysis.queue_full"))
	case err != nil:
		return err
	}
	if isHTMX(c) {
		return h.workspaceAnalysisStatus(c)
	}
	return h.workspaceDone(c, "started")
}

// workspaceAnalysisStatus is the analysis section alone, which the page polls
// (as a background request) while an analysis is queued or running. Once it
// has finished, the answer asks for a full reload so the results, history
// and comments appear together.
func (h *Handler) workspaceAnalysisStatus(c echo.Context) error {
	ctx := c.Request().Context()
	run, progress, ok, err := h.ws.CurrentAnalysisProgress(ctx)
	if err != nil {
		return err
	}
	if ok && !run.Active() && c.QueryParam("was") == "active" {
		c.Response().Header().Set("HX-Refresh", "true")
		return c.NoContent(http.StatusNoContent)
	}
	cur, _ := h.sessions.Current(ctx)
	p := views.AnalysisStatusProps{CSRFToken: cur.CSRFToken}
	if ok {
		r := wsRun(ctx, run)
		p.Run, p.Progress = &r, progress
	}
	return h.render(c, http.StatusOK, views.AnalysisStatus(p))
}

// workspacePrefs saves the page size and the comment table's columns.
func (h *Handler) workspacePrefs(c echo.Context) error {
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return h.workspaceError(c, http.StatusBadRequest, "preferences", i18n.T(ctx, "workspace.prefs.unreadable"))
	}
	size, _ := strconv.Atoi(form.Get("page_size"))
	err = h.ws.SetWorkspacePrefs(ctx, size, form["columns"])
	if errors.Is(err, sessionsvc.ErrBadPreference) {
		return h.workspaceError(c, http.StatusUnprocessableEntity, "preferences", i18n.T(ctx, "workspace.prefs.invalid"))
	} else if err != nil {
		return err
	}
	return h.workspaceDone(c, "saved")
}

// workspaceSection records a section opened or closed (ui_state): htmx sends
// it when a <details> section toggles; without JavaScript the sections just
// open and close in the page.
func (h *Handler) workspaceSection(c echo.Context) error {
	ctx := c.Request().Context()
	err := h.ws.ToggleWorkspaceSection(ctx, c.FormValue("section"), c.FormValue("open") == "true")
	if errors.Is(err, sessionsvc.ErrBadPreference) {
		return echo.NewHTTPError(http.StatusBadRequest, i18n.T(ctx, "workspace.section_unknown"))
	} else if err != nil {
		return err
	}
	if isHTMX(c) {
		return c.NoContent(http.StatusNoContent)
	}
	return redirect(c, "/workspace")
}
