package handlers

import (
	"encoding/json"
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
// per comment, for a spreadsheet) or JSON (everything), as an attachment.
func (h *Handler) workspaceDownload(c echo.Context) error {
	ctx := c.Request().Context()
	fail := func(status int, msg string) error {
		return h.renderError(c, status, views.StatusTitle(ctx, status), msg)
	}
	format := c.QueryParam("format")
	if format != "csv" && format != "json" {
		return fail(http.StatusBadRequest, i18n.T(ctx, "workspace.download.bad_format"))
	}
	run, f, err := h.ws.AnalysisResult(ctx, c.Param("id"))
	switch {
	case errors.Is(err, sessionsvc.ErrNoAnalysis):
		return fail(http.StatusNotFound, i18n.T(ctx, "workspace.download.no_analysis"))
	case errors.Is(err, sessionsvc.ErrNotFinished):
		return fail(http.StatusConflict, i18n.T(ctx, "workspace.download.not_finished"))
	case err != nil:
		return err
	}
	defer f.Close()
	w := c.Response()
	w.Header().Set("Content-Disposition", `attachment; filename="analisis-`+run.ID+`.`+format+`"`)
	if format == "json" {
		w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
		w.WriteHeader(http.StatusOK)
		_, err := io.Copy(w, f)
		return err
	}
	var res analysis.Result
	if err := json.NewDecoder(f).Decode(&res); err != nil {
		return err
	}
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	// A BOM so that spreadsheet programs read the accents as UTF-8.
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	return analysis.WriteCSV(w, &res)
}
