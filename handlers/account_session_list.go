package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// accountSessionList shows the signed-in user their live sessions.
func (h *Handler) accountSessionList(c echo.Context) error {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	recs, err := h.sessions.UserSessions(ctx, cur.User)
	if err != nil {
		return err
	}
	p := views.AccountSessionsProps{Layout: h.layout(c, i18n.T(ctx, "account.title")), Now: h.now()}
	for _, r := range recs {
		p.Sessions = append(p.Sessions, views.AccountSession{
			SID: r.SID, ShortSID: shortSID(r.SID), Current: r.SID == cur.SID,
			Device: r.Device, IP: r.LastIP, CreatedAt: r.CreatedAt, LastActive: r.LastActivity,
		})
	}
	if n, err := strconv.Atoi(c.QueryParam("ended")); err == nil && n >= 0 && n < 1000 {
		p.Notice = i18n.N(ctx, "account.ended_notice", n)
	}
	return h.render(c, http.StatusOK, views.AccountSessionsPage(p))
}

// shortSID is the first characters of a sid, enough to tell sessions apart on screen.
func shortSID(sid string) string {
	if len(sid) > 8 {
		return sid[:8]
	}
	return sid
}
