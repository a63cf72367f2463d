package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// loginShow renders the sign-in form, saying why the previous session ended
// when the browser still carries its cookie. It stores nothing for anonymous
// visitors: the form is protected by a signed token, not a session. Its
// language follows ?lang=, the sc_lang cookie or Accept-Language (see locale).
func (h *Handler) loginShow(c echo.Context) error {
	ctx := c.Request().Context()
	next := safeNext(c.QueryParam("next"))
	if cur, ok := h.sessions.Current(ctx); ok {
		if next == "" {
			next = homeFor(cur.Role)
		}
		return redirect(c, next)
	}
	c.Response().Header().Add("Vary", "Accept-Language, Cookie")
	p := views.LoginProps{Layout: h.layout(c, i18n.T(ctx, "login.title")), FormToken: h.sessions.LoginFormToken(), Next: next}
	if t, ok := h.sessions.Ended(ctx); ok {
		p.Notice = endedText(ctx, h.sessions.EndedNotice(t))
		h.sessions.Forget(ctx)
	}
	return h.render(c, http.StatusOK, views.LoginPage(p))
}
