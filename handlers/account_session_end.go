package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// accountSessionEnd signs out one other session of the signed-in user.
func (h *Handler) accountSessionEnd(c echo.Context) error {
	ctx := c.Request().Context()
	sid := c.Param("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderError(c, http.StatusBadRequest, views.StatusTitle(ctx, http.StatusBadRequest), i18n.T(ctx, "account.bad_sid"))
	}
	err := h.sessions.EndOwn(ctx, sid)
	switch {
	case errors.Is(err, sessionsvc.ErrOwnSession):
		return h.renderError(c, http.StatusConflict, i18n.T(ctx, "account.own_title"), i18n.T(ctx, "account.own_message"))
	case errors.Is(err, sessionsvc.ErrNotFound):
		return h.renderError(c, http.StatusNotFound, views.StatusTitle(ctx, http.StatusNotFound), i18n.T(ctx, "account.gone"))
	case err != nil:
		return err
	}
	return redirect(c, "/account/sessions?ended=1")
}
