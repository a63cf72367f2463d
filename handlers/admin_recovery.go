package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// adminRecovery is the console's Recovery page: every session that ended
// with a recovery point, newest first, open ones with a form to mint a resume
// link for their user, resumed and expired ones greyed with why.
func (h *Handler) adminRecovery(c echo.Context) error {
	p, err := h.adminRecoveryProps(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.AdminRecoveryPage(p))
}

func (h *Handler) adminRecoveryProps(c echo.Context) (views.AdminRecoveryProps, error) {
	ctx := c.Request().Context()
	user, cursor := c.QueryParam("user"), c.QueryParam("cursor")
	if !utf8.ValidString(user) || utf8.RuneCountInString(user) > maxListUser {
		return views.AdminRecoveryProps{}, echo.NewHTTPError(http.StatusBadRequest, "The user filter must be at most 64 characters.")
	}
	page, err := h.console.ListEnded(ctx, store.EndedQuery{User: user, Recoverable: true, Cursor: cursor, Limit: defaultListRows})
	if errors.Is(err, store.ErrBadCursor) {
		return views.AdminRecoveryProps{}, echo.NewHTTPError(http.StatusBadRequest, "The page cursor is not valid. Start again from the first page.")
	} else if err != nil {
		return views.AdminRecoveryProps{}, err
	}
	cur, _ := h.sessions.Current(ctx)
	cfg := h.config()
	now := h.now()
	p := views.AdminRecoveryProps{
		Layout: h.layout(c, "Recovery"), Now: now, User: user, Total: page.Total,
		CanAct: cur.Role == sessionsvc.RoleAdmin, Enabled: cfg.Session.EnableRecovery,
		WindowMin: cfg.Session.RecoveryWindowMinutes,
	}
	for _, e := range page.Entries {
		p.Rows = append(p.Rows, views.AdminRecoveryRow{
			SID: e.Record.SID, ShortSID: shortSID(e.Record.SID), User: e.Record.User,
			Reason: string(e.Tombstone.Reason), Actor: e.Tombstone.Actor, Note: e.Tombstone.Note,
			EndedAt: e.Tombstone.At, RecoverUntil: e.RecoverUntil, Status: recoveryStatus(e, now),
			Page: e.Record.Path, Processing: e.Record.Processing, StateVersion: e.Record.StateVersion, Archived: e.Archived,
		})
	}
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	if cursor != "" {
		p.FirstURL = "/admin/recovery?" + q.Encode()
	}
	if page.Next != "" {
		q.Set("cursor", page.Next)
		p.NextURL = "/admin/recovery?" + q.Encode()
	}
	return p, nil
}

// recoveryStatus says what became of a recovery point.
func recoveryStatus(e store.EndedEntry, now time.Time) string {
	switch {
	case e.Claimed:
		return "resumed"
	case e.Archived || !e.RecoverUntil.After(now):
		return "expired"
	}
	return "open"
}

// adminRecoveryLink mints a one-time resume link to an open recovery point
// for its user and shows it once (audited by the service). The form names
// the point's user; the service checks the point is that user's and open.
func (h *Handler) adminRecoveryLink(c echo.Context) error {
	sid, user := c.Param("sid"), c.FormValue("user")
	if !sessionsvc.ValidSID(sid) || user == "" || len(user) > maxUserLen {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such recovery point.")
	}
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	token, expires, err := h.console.IssueRecoveryLink(ctx, store.RecoveryPoint{SID: sid, User: user}, cur.User)
	p, perr := h.adminRecoveryProps(c)
	if perr != nil {
		return perr
	}
	switch {
	case errors.Is(err, sessionsvc.ErrRecoveryDisabled), errors.Is(err, sessionsvc.ErrRecoveryUnavailable):
		p.Error = "No resume link was made: " + err.Error() + "."
		return h.render(c, http.StatusConflict, views.AdminRecoveryPage(p))
	case err != nil:
		return err
	}
	scheme := "http"
	if c.IsTLS() || h.config().Security.SecureCookies {
		scheme = "https"
	}
	p.Link = scheme + "://" + c.Request().Host + "/recover/" + token
	p.LinkUser, p.LinkExpires = user, expires
	return h.render(c, http.StatusOK, views.AdminRecoveryPage(p))
}

// config is the service's configuration, when the session service offers it.
func (h *Handler) config() sessionsvc.Config {
	if cfg, ok := h.sessions.(interface{ Config() sessionsvc.Config }); ok {
		return cfg.Config()
	}
	return sessionsvc.DefaultConfig()
}
