package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
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
	return h.renderError(c, http.StatusForbidden, "Forbidden", "The form has expired or did not come from this site. Reload the page and try again.")
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
		return h.uploadRefused(c, http.StatusBadRequest, "The upload was not a file form. Choose a CSV file and send it with the form.")
	}
	checked, _ := c.Get("csrf-checked").(bool)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return h.uploadRefused(c, http.StatusUnprocessableEntity, "No file was sent: choose a CSV file first.")
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.uploadRefused(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB, the most this workspace takes.", h.maxUploadMB()))
		}
		if err != nil {
			return h.uploadRefused(c, http.StatusBadRequest, "The upload was cut off. Try again.")
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
				return h.uploadRefused(c, http.StatusUnprocessableEntity, "No file was sent: choose a CSV file first.")
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

// uploadError turns a refused upload into the analyst's message.
func (h *Handler) uploadError(c echo.Context, err error) error {
	var le *comments.LineError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, comments.ErrTooLarge), errors.As(err, &tooBig):
		return h.uploadRefused(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB, the most this workspace takes. Nothing was kept.", h.maxUploadMB()))
	case errors.As(err, &le):
		return h.uploadRefused(c, http.StatusUnprocessableEntity, "The file was not uploaded: "+le.Error()+". Fix it and upload it again; nothing was kept.")
	case errors.Is(err, sessionsvc.ErrUploadQuota), errors.Is(err, sessionsvc.ErrTooManyFiles):
		return h.uploadRefused(c, http.StatusRequestEntityTooLarge, capitalize(err.Error())+".")
	case errors.Is(err, sessionsvc.ErrUploadName):
		return h.uploadRefused(c, http.StatusUnprocessableEntity, capitalize(err.Error())+".")
	}
	var ue *sessionsvc.UploadError
	if errors.As(err, &ue) {
		return h.uploadRefused(c, http.StatusUnprocessableEntity, "The file was not uploaded: "+ue.Err.Error()+". Nothing was kept.")
	}
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// uploadRefused shows the workspace again with the upload's error.
func (h *Handler) uploadRefused(c echo.Context, status int, msg string) error {
	return h.workspaceError(c, status, "datasets", msg)
}
