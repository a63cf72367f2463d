package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// loginShow renders the sign-in form, saying why the previous session ended
// when the browser still carries its cookie. It stores nothing for anonymous
// visitors: the form is protected by a signed token, not a session.
func (h *Handler) loginShow(c echo.Context) error {
	ctx := c.Request().Context()
	next := safeNext(c.QueryParam("next"))
	if cur, ok := h.sessions.Current(ctx); ok {
		if next == "" {
			next = homeFor(cur.Role)
		}
		return redirect(c, next)
	}
	p := views.LoginProps{Layout: h.layout(c, "Sign in"), FormToken: h.sessions.LoginFormToken(), Next: next}
	if t, ok := h.sessions.Ended(ctx); ok {
		p.Notice = h.sessions.EndedMessage(t)
		h.sessions.Forget(ctx)
	}
	return h.render(c, http.StatusOK, views.LoginPage(p))
}
