package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// userCostDays is how many days of cost the user page shows.
const userCostDays = 7

// userShow is the console's page of one account: its role and whether it may
// sign in, its live sessions and its recovery points. Operators read it;
// admins also get the disable/enable forms. A name without an account still
// shows (sessions may outlive an account removed from the config).
func (h *Handler) userShow(c echo.Context) error {
	user := c.Param("user")
	if user == "" || len(user) > maxUserLen {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such user.")
	}
	p, err := h.userPage(c, user)
	if err != nil {
		return err
	}
	p.Notice = userNotice(c)
	return h.render(c, http.StatusOK, views.UserPage(p))
}

// userPage loads everything the page shows of user.
func (h *Handler) userPage(c echo.Context, user string) (views.UserPageProps, error) {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	now := h.now()
	p := views.UserPageProps{
		Layout: h.layout(c, "User "+user), Now: now, User: user,
		CanAct: cur.Role == sessionsvc.RoleAdmin,
		Own:    cur.User == user,
		Reauth: h.reauth(c, "disable"),
	}
	acct, err := h.console.Account(ctx, user)
	if err != nil {
		return p, err
	}
	p.Role, p.Known, p.Disabled, p.ConfigDisabled = acct.Role, acct.Known, acct.Disabled, acct.ConfigDisabled

	// A user has at most max_sessions_per_user sessions: one page holds them.
	page, err := h.console.List(ctx, store.Query{Filter: store.Filter{User: user}, Sort: store.SortActivity, Limit: 500})
	if err != nil {
		return p, err
	}
	p.Total = page.Total
	for _, r := range page.Records {
		p.Sessions = append(p.Sessions, views.UserSession{
			SID: r.SID, ShortSID: shortSID(r.SID), Device: r.Device, IP: r.LastIP, Path: r.Path,
			CreatedAt: r.CreatedAt, LastActivity: r.LastActivity,
		})
	}
	points, err := h.console.UserRecoveryPoints(ctx, user)
	if err != nil {
		return p, err
	}
	for _, pt := range points {
		p.Points = append(p.Points, views.UserRecoveryPoint{
			SID: pt.SID, ShortSID: shortSID(pt.SID), Reason: string(pt.Reason), EndedAt: pt.EndedAt, ExpiresAt: pt.ExpiresAt,
		})
	}
	ended, err := h.console.ListEnded(ctx, store.EndedQuery{User: user, Limit: 10})
	if err != nil {
		return p, err
	}
	p.EndedTotal = ended.Total
	for _, e := range ended.Entries {
		p.Ended = append(p.Ended, views.EndedRow{SID: e.Record.SID, ShortSID: shortSID(e.Record.SID), CreatedAt: e.Record.CreatedAt,
			EndedAt: e.Tombstone.At, Reason: string(e.Tombstone.Reason), Actor: e.Tombstone.Actor})
	}
	costs, err := h.console.UserCosts(ctx, user, userCostDays)
	if err != nil {
		return p, err
	}
	var total sessionsvc.Cost
	for _, d := range costs {
		total.Micros, total.Currency = total.Micros+d.Cost.Micros, d.Cost.Currency
		p.Costs = append(p.Costs, views.UserDayCost{Day: d.Day, Sessions: d.Sessions, Analyses: d.Analyses,
			Comments: d.Comments, APICalls: d.APICalls, Cost: d.Cost.String()})
	}
	p.CostTotal = total.String()
	return p, nil
}

// userNotice is the result message of an action that redirected here, built
// from fixed text and numbers only.
func userNotice(c echo.Context) string {
	switch c.QueryParam("done") {
	case "enabled":
		return "The account was enabled: it can sign in again."
	case "disabled":
		n, err := strconv.Atoi(c.QueryParam("n"))
		if err != nil || n < 0 {
			return "The account was disabled."
		}
		if n == 1 {
			return "The account was disabled and its 1 session was ended."
		}
		return fmt.Sprintf("The account was disabled and its %d sessions were ended.", n)
	}
	return ""
}
