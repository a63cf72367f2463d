package handlers

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// csrfStream is the CSRF check of a streamed multipart upload: the
// X-CSRF-Token header (htmx sends it), or else the form's first part, which
// the handler reads and checks itself (parsing the whole body to find the
// field would buffer the file and defeat the streamed size limit).
func (h *Handler) csrfStream(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if tok := r.Header.Get("X-CSRF-Token"); tok != "" {
			if !h.ws.CheckCSRFToken(r.Context(), tok) {
				return h.csrfRefused(c)
			}
			c.Set("csrf-checked", true)
			return next(c)
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/form-data" {
			return h.csrf(next)(c)
		}
		return next(c)
	}
}

func (h *Handler) csrfRefused(c echo.Context) error {
	ctx := c.Request().Context()
	return h.renderError(c, http.StatusForbidden, views.StatusTitle(ctx, http.StatusForbidden), i18n.T(ctx, "error.form_expired"))
}

// workspaceUpload streams a CSV upload into the session's namespace: the
// form's parts are read in order (csrf_token, then file) without buffering,
// and the service parses while it writes, so the size limit holds as the
// bytes arrive and a refused file leaves nothing behind.
func (h *Handler) workspaceUpload(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	limit := int64(h.maxUploadMB()) << 20
	// The file may be limit bytes; the rest of the form is small.
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return h.uploadRefused(c, http.StatusBadRequest, i18n.T(ctx, "workspace.upload.not_form"))
	}
	checked, _ := c.Get("csrf-checked").(bool)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return h.uploadRefused(c, http.StatusUnprocessableEntity, i18n.T(ctx, "workspace.upload.no_file"))
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.uploadRefused(c, http.StatusRequestEntityTooLarge, h.tooLargeText(ctx))
		}
		if err != nil {
			return h.uploadRefused(c, http.StatusBadRequest, i18n.T(ctx, "workspace.upload.cut_off"))
		}
		switch name := part.FormName(); {
		case name == "csrf_token":
			tok, _ := io.ReadAll(io.LimitReader(part, 256))
			if !h.ws.CheckCSRFToken(ctx, string(tok)) {
				return h.csrfRefused(c)
			}
			checked = true
		case !checked:
			// The token must come before anything else is read.
			return h.csrfRefused(c)
		case name == "file":
			if part.FileName() == "" {
				return h.uploadRefused(c, http.StatusUnprocessableEntity, i18n.T(ctx, "workspace.upload.no_file"))
			}
			d, err := h.ws.Upload(ctx, part.FileName(), part)
			if err != nil {
				return h.uploadError(c, err)
			}
			h.log.InfoContext(ctx, "dataset uploaded", "dataset", d.ID, "bytes", d.Bytes, "comments", d.Comments)
			return h.workspaceDone(c, "uploaded")
		}
	}
}

// uploadError turns a refused upload into the analyst's message, in their
// language.
func (h *Handler) uploadError(c echo.Context, err error) error {
	ctx := c.Request().Context()
	var tooBig *http.MaxBytesError
	var ue *sessionsvc.UploadError
	switch {
	case errors.Is(err, comments.ErrTooLarge), errors.As(err, &tooBig):
		return h.uploadRefused(c, http.StatusRequestEntityTooLarge, h.tooLargeText(ctx))
	case errors.Is(err, sessionsvc.ErrUploadQuota):
		return h.uploadRefused(c, http.StatusRequestEntityTooLarge, i18n.T(ctx, "workspace.upload.quota"))
	case errors.Is(err, sessionsvc.ErrTooManyFiles):
		return h.uploadRefused(c, http.StatusRequestEntityTooLarge, i18n.T(ctx, "workspace.upload.too_many_files"))
	case errors.Is(err, sessionsvc.ErrUploadName):
		return h.uploadRefused(c, http.StatusUnprocessableEntity, i18n.T(ctx, "workspace.upload.bad_name"))
	case errors.Is(err, sessionsvc.ErrNoFiles):
		return h.uploadRefused(c, http.StatusServiceUnavailable, i18n.T(ctx, "workspace.upload.no_files"))
	case errors.As(err, &ue):
		if problem := parseProblem(ctx, ue.Err); problem != "" {
			return h.uploadRefused(c, http.StatusUnprocessableEntity, i18n.T(ctx, "workspace.upload.refused", "Problem", problem))
		}
		return h.uploadRefused(c, http.StatusUnprocessableEntity, i18n.T(ctx, "workspace.upload.refused_other", "Detail", ue.Err.Error()))
	}
	return err
}

func (h *Handler) tooLargeText(ctx context.Context) string {
	return i18n.T(ctx, "workspace.upload.too_large", "MaxMB", strconv.Itoa(h.maxUploadMB()))
}

// parseProblem words a parser's refusal of a file (a *comments.LineError or
// one of its sentinel errors) in the reader's language: a problem at a line
// by its kind, with the line's number; a kind without words here keeps the
// parser's English inside a translated sentence. It returns "" for an error
// it does not know.
func parseProblem(ctx context.Context, err error) string {
	var le *comments.LineError
	if errors.As(err, &le) {
		line := strconv.Itoa(le.Line)
		switch le.Kind {
		case comments.KindQuote:
			return i18n.T(ctx, "workspace.upload.line_quote", "Line", line)
		case comments.KindFields:
			return i18n.T(ctx, "workspace.upload.line_fields", "Line", line)
		case comments.KindRating:
			return i18n.T(ctx, "workspace.upload.line_rating", "Line", line)
		case comments.KindDate:
			return i18n.T(ctx, "workspace.upload.line_date", "Line", line)
		case comments.KindEncoding:
			return i18n.T(ctx, "workspace.upload.line_encoding", "Line", line)
		case comments.KindTooLong:
			return i18n.T(ctx, "workspace.upload.line_too_long", "Line", line, "Max", i18n.Int(ctx, comments.MaxTextLen))
		}
		return i18n.T(ctx, "workspace.upload.line_other", "Line", line, "Detail", le.Msg)
	}
	switch {
	case errors.Is(err, comments.ErrEmpty):
		return i18n.T(ctx, "workspace.upload.empty")
	case errors.Is(err, comments.ErrNotText):
		return i18n.T(ctx, "workspace.upload.not_text")
	case errors.Is(err, comments.ErrNoTextColumn):
		return i18n.T(ctx, "workspace.upload.no_text_column")
	case errors.Is(err, comments.ErrDuplicateColumn):
		return i18n.T(ctx, "workspace.upload.duplicate_column")
	case errors.Is(err, comments.ErrNoComments):
		return i18n.T(ctx, "workspace.upload.no_comments")
	case errors.Is(err, comments.ErrTooManyRows):
		return i18n.T(ctx, "workspace.upload.too_many_rows", "Max", i18n.Int(ctx, comments.MaxRows))
	}
	return ""
}

// uploadRefused shows the workspace again with the upload's error.
func (h *Handler) uploadRefused(c echo.Context, status int, msg string) error {
	return h.workspaceError(c, status, "datasets", msg)
}
