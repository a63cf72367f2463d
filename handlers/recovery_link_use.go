package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// recoveryLinkUse uses a one-time recovery link, once, for its own user.
func (h *Handler) recoveryLinkUse(c echo.Context) error {
	ctx := c.Request().Context()
	page, err := h.sessions.RecoverWithLink(ctx, c.Request(), c.Param("token"))
	if status, msg, ok := recoveryRefusal(ctx, err); ok {
		return h.render(c, status, views.RecoveryLinkPage(views.RecoveryLinkProps{Layout: h.layout(c, i18n.T(ctx, "recovery.link_title")), Error: msg}))
	} else if err != nil {
		return err
	}
	return h.afterRecovery(c, page)
}
