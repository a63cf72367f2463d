package handlers

import (
	"encoding/csv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

const (
	// auditExportPage is the page size the export walks the log with: the
	// store's maximum, so a large export costs the fewest queries.
	auditExportPage = 500
	// auditExportMax caps one export. A bigger log is exported in slices by
	// narrowing the time filter; the cap keeps one request from holding a
	// store connection and a response open for minutes.
	auditExportMax = 100_000
)

// auditCSVHeader names the export's columns.
var auditCSVHeader = []string{"id", "time", "actor", "actor_ip", "action", "target", "reason", "result", "affected", "completed"}

// auditExport streams the audit entries the page's filters select as CSV,
// newest first: the header, then one flush per page of the log, so memory
// stays flat and the download starts at once. The first page is read before
// anything is written, so a store outage is still an error page; a failure
// after that aborts the response, so that a cut-off file is a failed
// download and never looks complete.
func (h *Handler) auditExport(c echo.Context) error {
	q, f, problem := auditFilterFrom(c)
	if problem != "" {
		return echo.NewHTTPError(http.StatusBadRequest, problem)
	}
	ctx := c.Request().Context()
	q.Limit = auditExportPage
	page, err := h.console.AuditLog(ctx, q)
	if err != nil {
		return err
	}

	res := c.Response()
	hdr := res.Header()
	hdr.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	hdr.Set(echo.HeaderContentDisposition, `attachment; filename="audit-`+h.now().UTC().Format("20060102T150405Z")+`.csv"`)
	hdr.Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)

	w := csv.NewWriter(res)
	w.Write(auditCSVHeader)
	rows := 0
	for {
		for _, e := range page.Entries {
			if rows == auditExportMax {
				break
			}
			w.Write(auditCSVRecord(e))
			rows++
		}
		w.Flush()
		if err := w.Error(); err != nil {
			// The client went away; nothing is left to tell it.
			h.log.InfoContext(ctx, "audit export: write", slog.String("error", err.Error()))
			return nil
		}
		res.Flush()
		if page.Next == "" {
			return nil
		}
		if rows == auditExportMax {
			h.log.WarnContext(ctx, "audit export: capped", slog.Int("rows", rows),
				slog.String("actor", f.Actor), slog.String("action", f.Action), slog.String("target", f.Target),
				slog.String("from", f.From), slog.String("to", f.To))
			return nil
		}
		q.Cursor = page.Next
		if page, err = h.console.AuditLog(ctx, q); err != nil {
			h.log.ErrorContext(ctx, "audit export: read", slog.Int("rows", rows), slog.String("error", err.Error()))
			// Headers are out: abort the connection rather than end a truncated file cleanly.
			panic(http.ErrAbortHandler)
		}
	}
}

// auditCSVRecord is one entry as a CSV row: times in RFC 3339 UTC, an empty
// completed time while the action is pending.
func auditCSVRecord(e store.AuditEntry) []string {
	completed := ""
	if !e.CompletedAt.IsZero() {
		completed = e.CompletedAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{
		csvCell(e.ID), e.At.UTC().Format(time.RFC3339Nano), csvCell(e.Actor), csvCell(e.ActorIP), csvCell(e.Action),
		csvCell(e.Target), csvCell(e.Reason), csvCell(e.Result), strconv.Itoa(e.Affected), completed,
	}
}

// csvCell defuses CSV formula injection: a spreadsheet runs a cell that
// starts with = + - @ (or a tab or carriage return before one) as a formula,
// and actors, targets and reasons are user-controlled. Such a cell gets a
// leading single quote, which spreadsheets show as text (OWASP's advice).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
