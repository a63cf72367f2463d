package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// workspaceHome is the analysts' page: datasets, the analysis and its
// results, history and preferences, as the session's state has them.
func (h *Handler) workspaceHome(c echo.Context) error {
	p, err := h.workspaceProps(c)
	if err != nil {
		return err
	}
	p.Notice = workspaceNotice(c)
	return h.render(c, http.StatusOK, views.WorkspacePage(p))
}

func (h *Handler) homeProps(c echo.Context, title string) views.HomeProps {
	cur, _ := h.sessions.Current(c.Request().Context())
	return views.HomeProps{Layout: h.layout(c, title), ShortSID: shortSID(cur.SID), Role: cur.Role,
		CreatedAt: cur.CreatedAt, ExpiresAt: cur.Deadline, Now: h.now()}
}

// workspaceProps reads the workspace once and, when the last analysis
// finished, the page of its comments the ?page= parameter asks for.
func (h *Handler) workspaceProps(c echo.Context) (views.WorkspaceProps, error) {
	ctx := c.Request().Context()
	v, err := h.ws.Workspace(ctx)
	if err != nil {
		return views.WorkspaceProps{}, err
	}
	home := h.homeProps(c, i18n.T(ctx, "workspace.title"))
	p := views.WorkspaceProps{
		Home: home, Results: v.Results, PageSize: v.Prefs.PageSize, Columns: v.Prefs.DefaultColumns,
		PageSizes: sessionsvc.PageSizes, AllColumns: sessionsvc.ResultColumns, Expanded: v.Expanded,
		MaxUploadMB: h.maxUploadMB(),
		Status:      views.AnalysisStatusProps{Progress: v.Progress, CSRFToken: home.Layout.CSRFToken},
	}
	for _, d := range v.Datasets {
		p.Datasets = append(p.Datasets, views.WSDataset{ID: d.ID, Name: d.Name, Bytes: d.Bytes, Comments: d.Comments,
			Skipped: d.Skipped, Encoding: d.Encoding, Separator: d.Separator, UploadedAt: d.UploadedAt, Current: d.ID == v.CurrentDataset})
	}
	for _, r := range v.History {
		p.History = append(p.History, wsRun(ctx, r))
	}
	if v.Run != nil {
		r := wsRun(ctx, *v.Run)
		p.Status.Run = &r
	}
	if v.Run != nil && v.Run.Status == sessionsvc.StatusDone && v.Results != nil {
		page, _ := strconv.Atoi(c.QueryParam("page"))
		page = max(page, 1)
		rows, total, err := h.ws.AnalysisRows(ctx, v.Run.ID, page, v.Prefs.PageSize)
		if err != nil {
			return p, err
		}
		p.Rows, p.RowsTotal, p.Page = rows, total, page
	}
	return p, nil
}

// wsRun is the view of a run, its error in the reader's language.
func wsRun(ctx context.Context, r sessionsvc.AnalysisRun) views.WSRun {
	out := views.WSRun{ID: r.ID, Dataset: r.Dataset, DatasetName: r.DatasetName, Status: r.Status, Error: runErrorText(ctx, r),
		Comments: r.Comments, QueuedAt: r.QueuedAt, FinishedAt: r.FinishedAt}
	if r.Sentiment != nil {
		out.Positive, out.Neutral, out.Negative = r.Sentiment.Positive, r.Sentiment.Neutral, r.Sentiment.Negative
	}
	return out
}

// runErrorText says why a run failed or was interrupted, in the reader's
// language. The service records why in English (sessionsvc/analyses.go):
// the texts it writes are known here by status; another one (an analyzer's
// own error) is shown as it is.
func runErrorText(ctx context.Context, r sessionsvc.AnalysisRun) string {
	if id, ok := runReasonText[r.Reason]; ok {
		return i18n.T(ctx, id)
	}
	return r.Error
}

// runReasonText names the message of each run reason code.
var runReasonText = map[string]string{
	sessionsvc.ReasonQueueFull:         "workspace.run_error.queue_full",
	sessionsvc.ReasonNoFiles:           "workspace.run_error.no_files",
	sessionsvc.ReasonDatasetDeleted:    "workspace.run_error.dataset_deleted",
	sessionsvc.ReasonDatasetUnreadable: "workspace.run_error.dataset_unreadable",
	sessionsvc.ReasonNotSaved:          "workspace.run_error.not_saved",
	sessionsvc.ReasonStoppedOrEnded:    "workspace.run_error.stopped_or_ended",
	sessionsvc.ReasonSessionEnded:      "workspace.run_error.session_ended",
	sessionsvc.ReasonRestartedOrEnded:  "workspace.run_error.restarted_or_ended",
	sessionsvc.ReasonStoppedBefore:     "workspace.run_error.stopped_before",
}

func (h *Handler) maxUploadMB() int { return h.config().Storage.MaxUploadMB }

// workspaceNotice is the result of an action that redirected here, fixed
// text keyed by the query, never words from it.
func workspaceNotice(c echo.Context) string {
	ctx := c.Request().Context()
	switch c.QueryParam("done") {
	case "uploaded":
		return i18n.T(ctx, "workspace.notice.uploaded")
	case "demo":
		return i18n.T(ctx, "workspace.notice.demo", "Comments", i18n.Int(ctx, 2000))
	case "deleted":
		return i18n.T(ctx, "workspace.notice.deleted")
	case "started":
		return i18n.T(ctx, "workspace.notice.started")
	case "saved":
		return i18n.T(ctx, "workspace.notice.saved")
	}
	return ""
}
