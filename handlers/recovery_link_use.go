package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// recoveryLinkUse uses a one-time recovery link, once, for its own user.
func (h *Handler) recoveryLinkUse(c echo.Context) error {
	page, err := h.sessions.RecoverWithLink(c.Request().Context(), c.Request(), c.Param("token"))
	if status, msg, ok := recoveryRefusal(err); ok {
		return h.render(c, status, views.RecoveryLinkPage(views.RecoveryLinkProps{Layout: h.layout(c, "Resume a session"), Error: msg}))
	} else if err != nil {
		return err
	}
	return h.afterRecovery(c, page)
}
