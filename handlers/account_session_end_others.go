package handlers

import (
	"strconv"

	"github.com/labstack/echo/v4"
)

// accountSessionEndOthers signs out every other session of the signed-in user.
func (h *Handler) accountSessionEndOthers(c echo.Context) error {
	n, err := h.sessions.EndOthers(c.Request().Context())
	if err != nil {
		return err
	}
	return redirect(c, "/account/sessions?ended="+strconv.Itoa(n))
}
