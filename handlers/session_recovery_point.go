package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// sessionRecoveryPoint keeps a snapshot of a live session's versioned state
// on an admin's request (before ending it, or before its user's risky
// work), and returns to its detail page.
func (h *Handler) sessionRecoveryPoint(c echo.Context) error {
	sid := c.Param("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such session.")
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	n, err := h.console.SaveRecoveryPoint(ctx, sid, cur.User)
	switch {
	case errors.Is(err, sessionsvc.ErrNotFound):
		return h.renderDetail(c, sid, http.StatusNotFound, "Not found", "That session has ended: its final state is its recovery point already.", "")
	case err != nil:
		return err
	}
	return redirect(c, "/admin/sessions/"+url.PathEscape(sid)+"?done=saved&n="+strconv.Itoa(n))
}
