package handlers

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// apiError is the one shape of every API error: a stable code for programs
// and a message for people.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// isAPI reports whether the request is for the versioned JSON API, whose
// errors are JSON, never pages or redirects.
func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/v1/") }

// apiCode is the stable error code of a status.
func apiCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

func apiFail(c echo.Context, status int, code, msg string) error {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	return c.JSON(status, e)
}

// apiV1Session is the signed-in session's summary: who, since when, its
// deadlines and its state version.
func (h *Handler) apiV1Session(c echo.Context) error {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	out := map[string]any{
		"sid":        cur.SID,
		"user":       cur.User,
		"role":       cur.Role,
		"created_at": cur.CreatedAt.UTC(),
		"expires_at": cur.Deadline.UTC(),
	}
	if h.ws != nil {
		v, err := h.ws.Workspace(ctx)
		if err != nil {
			return err
		}
		out["state_version"] = v.StateVersion
		out["datasets"] = len(v.Datasets)
		if v.Run != nil {
			out["analysis"] = map[string]any{"id": v.Run.ID, "status": v.Run.Status, "progress": v.Progress}
		}
	}
	return c.JSON(http.StatusOK, out)
}

// apiV1Analysis is one of the session's analyses: its full result once done,
// else its status.
func (h *Handler) apiV1Analysis(c echo.Context) error {
	run, f, err := h.ws.AnalysisResult(c.Request().Context(), c.Param("id"))
	switch {
	case errors.Is(err, sessionsvc.ErrNoAnalysis):
		return apiFail(c, http.StatusNotFound, "not_found", "There is no such analysis in this session.")
	case errors.Is(err, sessionsvc.ErrNotFinished):
		return c.JSON(http.StatusAccepted, map[string]any{"id": run.ID, "status": run.Status, "error": run.Error})
	case err != nil:
		return err
	}
	defer f.Close()
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), f)
	return err
}
