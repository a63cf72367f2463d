package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// maxUserLen bounds the user name in the URL; account names are short.
const maxUserLen = 128

// userTerminate ends every live session of a user on an admin's request. It
// needs a recent sign-in (or the password with the form) and refuses the
// admin's own account, since that
// would end the session making the request. The form's hidden sid says which
// detail page to return to.
func (h *Handler) userTerminate(c echo.Context) error {
	user := c.Param("user")
	from := c.FormValue("sid")
	if user == "" || len(user) > maxUserLen {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such user.")
	}
	reason, problem := terminateReason(c)
	if problem != "" {
		return h.renderDetail(c, from, http.StatusBadRequest, "Reason required", problem, "")
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	if user == cur.User {
		return h.renderDetail(c, from, http.StatusConflict, "That includes your session",
			"These are your own sessions, including this one: use Sign out, or My sessions to end the others.", "")
	}
	if problem, err := h.checkRecentAuth(c, "Ending every session of a user"); err != nil {
		return err
	} else if problem != "" {
		return h.renderDetail(c, from, http.StatusForbidden, "Confirm it is you", problem, reason)
	}
	n, err := h.console.TerminateUser(ctx, user, cur.User, reason)
	if err != nil {
		return err
	}
	if sessionsvc.ValidSID(from) {
		return redirect(c, "/admin/sessions/"+url.PathEscape(from)+"?done=user&n="+strconv.Itoa(n))
	}
	return redirect(c, "/admin/sessions?user="+url.QueryEscape(user))
}
