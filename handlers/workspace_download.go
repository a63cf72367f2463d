package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// workspaceDownload sends a finished analysis' full results as CSV (one row
// per comment, for a spreadsheet) or JSON (the result file as it is), as an
// attachment.
func (h *Handler) workspaceDownload(c echo.Context) error {
	ctx := c.Request().Context()
	format := c.QueryParam("format")
	if format != "csv" && format != "json" {
		return h.renderError(c, http.StatusBadRequest, views.StatusTitle(ctx, http.StatusBadRequest), i18n.T(ctx, "workspace.download.bad_format"))
	}
	var (
		run  sessionsvc.AnalysisRun
		file io.ReadCloser
		res  *analysis.Result
		err  error
	)
	if format == "json" {
		run, file, err = h.ws.AnalysisResult(ctx, c.Param("id"))
	} else {
		run, res, err = h.ws.AnalysisFull(ctx, c.Param("id"))
	}
	switch {
	case errors.Is(err, sessionsvc.ErrNoAnalysis):
		return h.renderError(c, http.StatusNotFound, views.StatusTitle(ctx, http.StatusNotFound), i18n.T(ctx, "workspace.download.no_analysis"))
	case errors.Is(err, sessionsvc.ErrNotFinished):
		return h.renderError(c, http.StatusConflict, views.StatusTitle(ctx, http.StatusConflict), i18n.T(ctx, "workspace.download.not_finished"))
	case err != nil:
		return err
	}
	w := c.Response()
	w.Header().Set("Content-Disposition", `attachment; filename="analisis-`+run.ID+`.`+format+`"`)
	if file != nil {
		defer file.Close()
		w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
		w.WriteHeader(http.StatusOK)
		_, err := io.Copy(w, file)
		return err
	}
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	// A BOM so that spreadsheet programs read the accents as UTF-8.
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	return analysis.WriteCSV(w, res)
}
