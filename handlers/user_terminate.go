package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// recentAuth is how recently an admin must have given their password to end
// every session of a user. A console left open on an unattended desk, or a
// stolen admin cookie, should not be enough to lock a whole account out; a
// fresh sign-in proves the admin is at the keyboard.
const recentAuth = 15 * time.Minute

// signedInRecently reports whether cur gave their password within recentAuth.
func (h *Handler) signedInRecently(cur sessionsvc.Current) bool {
	return h.now().Sub(cur.AuthAt) <= recentAuth
}

// maxUserLen bounds the user name in the URL; account names are short.
const maxUserLen = 128

// userTerminate ends every live session of a user on an admin's request. It
// needs a recent sign-in and refuses the admin's own account, since that
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
	if !h.signedInRecently(cur) {
		return h.renderDetail(c, from, http.StatusForbidden, "Sign in again",
			"Ending every session of a user needs a recent sign-in (within 15 minutes): sign out, sign in again, then repeat.", "")
	}
	if user == cur.User {
		return h.renderDetail(c, from, http.StatusConflict, "That includes your session",
			"These are your own sessions, including this one: use Sign out, or My sessions to end the others.", "")
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
