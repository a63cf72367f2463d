package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// userDisable disables an account on an admin's request: it can no longer
// sign in on any instance, and its sessions end with reason account_disabled.
// Like ending every session of a user it needs a recent sign-in (or the
// password with the form), and it
// refuses the admin's own account.
func (h *Handler) userDisable(c echo.Context) error {
	user := c.Param("user")
	if user == "" || len(user) > maxUserLen {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such user.")
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	reason, problem := terminateReason(c)
	switch {
	case problem != "":
		return h.renderUser(c, user, http.StatusBadRequest, problem, reason)
	case user == cur.User:
		return h.renderUser(c, user, http.StatusConflict, "You cannot disable your own account.", reason)
	}
	if problem, err := h.checkRecentAuth(c, "Disabling an account"); err != nil {
		return err
	} else if problem != "" {
		return h.renderUser(c, user, http.StatusForbidden, problem, reason)
	}
	n, err := h.console.DisableUser(ctx, user, cur.User, reason)
	if err != nil {
		return err
	}
	return redirect(c, views.UserURL(user)+"?done=disabled&n="+strconv.Itoa(n))
}

// userEnable lets an account an admin disabled sign in again.
func (h *Handler) userEnable(c echo.Context) error {
	user := c.Param("user")
	if user == "" || len(user) > maxUserLen {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such user.")
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	if err := h.console.EnableUser(ctx, user, cur.User); err != nil {
		return err
	}
	return redirect(c, views.UserURL(user)+"?done=enabled")
}

// renderUser shows the user page again with an action's error.
func (h *Handler) renderUser(c echo.Context, user string, status int, msg, reason string) error {
	p, err := h.userPage(c, user)
	if err != nil {
		return err
	}
	p.Error, p.Reason = msg, reason
	return h.render(c, status, views.UserPage(p))
}
