package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// recoveryLinkShow opens an admin's one-time recovery link: the signed-in user
// (the signedIn middleware sent anyone else to sign in first) confirms it.
// Viewing does not use the link up.
func (h *Handler) recoveryLinkShow(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	p := views.RecoveryLinkProps{Layout: h.layout(c, i18n.T(ctx, "recovery.link_title")), Token: token}
	user, err := h.sessions.RecoveryLinkUser(ctx, token)
	cur, _ := h.sessions.Current(ctx)
	if err == nil && user != cur.User {
		err = sessionsvc.ErrRecoveryNotYours
	}
	if status, msg, ok := recoveryRefusal(ctx, err); ok {
		p.Error, p.Token = msg, ""
		return h.render(c, status, views.RecoveryLinkPage(p))
	} else if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.RecoveryLinkPage(p))
}
