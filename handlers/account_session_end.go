package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// accountSessionEnd signs out one other session of the signed-in user.
func (h *Handler) accountSessionEnd(c echo.Context) error {
	sid := c.Param("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderError(c, http.StatusBadRequest, "Bad request", "That is not a session id.")
	}
	err := h.sessions.EndOwn(c.Request().Context(), sid)
	switch {
	case errors.Is(err, sessionsvc.ErrOwnSession):
		return h.renderError(c, http.StatusConflict, "That is this session", "Use Sign out to end the session you are using.")
	case errors.Is(err, sessionsvc.ErrNotFound):
		return h.renderError(c, http.StatusNotFound, "Not found", "That session has already ended.")
	case err != nil:
		return err
	}
	return redirect(c, "/account/sessions?ended=1")
}
