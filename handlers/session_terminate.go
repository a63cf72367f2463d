package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// maxReasonLen bounds an administrator's termination reason: it is shown on
// the ended user's login page and written to the audit log.
const maxReasonLen = 500

// terminateReason reads and checks the form's reason. The message is for the
// page when the reason is refused.
func terminateReason(c echo.Context) (reason, problem string) {
	reason = strings.TrimSpace(c.FormValue("reason"))
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return reason, "A reason is required: the user sees it when their session ends."
	case n > maxReasonLen:
		return reason, "The reason is too long: at most 500 characters."
	}
	return reason, ""
}

// sessionTerminate ends one session on an admin's request, with a reason the
// ended browser is shown. The admin's own current session is refused: Sign
// out ends that.
func (h *Handler) sessionTerminate(c echo.Context) error {
	sid := c.Param("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such session.")
	}
	reason, problem := terminateReason(c)
	if problem != "" {
		return h.renderDetail(c, sid, http.StatusBadRequest, "Reason required", problem, reason)
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	if sid == cur.SID {
		return h.renderDetail(c, sid, http.StatusConflict, "That is your session",
			"This is your own current session: use Sign out to end it.", reason)
	}
	err := h.console.Terminate(ctx, sid, cur.User, reason)
	switch {
	case errors.Is(err, sessionsvc.ErrNotFound):
		return h.renderDetail(c, sid, http.StatusNotFound, "Not found", "That session has already ended.", "")
	case err != nil:
		return err
	}
	return redirect(c, "/admin/sessions/"+url.PathEscape(sid)+"?done=terminated")
}
