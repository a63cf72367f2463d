package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

// Bounds of the sessions list's query parameters. A URL is shareable, so
// every parameter is checked: a bad one is a 400 that says which, never a
// silently different view.
const (
	maxListUser     = 64  // longest user filter accepted
	maxListIP       = 64  // longest IP filter accepted (an IPv6 address with zone fits)
	defaultListRows = 50  // rows per page unless n says otherwise
	maxListRows     = 200 // most rows per page a URL may ask for
	maxListSelected = 500 // most selected sids a poll may carry
)

// paramError is a bad query parameter; its text is shown to the admin as is.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{msg: fmt.Sprintf(format, args...)}
}

// sessionListQuery is the whole view of the sessions list, as the URL carries it.
type sessionListQuery struct {
	User, Role, IP string
	Sort           store.Sort
	Cursor         string
	N              int
	Selected       []string     // sids whose checkbox is checked (live refresh keeps them)
	Ended          bool         // status=ended: ended sessions (held or archived), not live ones
	Reason         store.Reason // with Ended: only this reason
}

// bindSessionListQuery parses and validates the list's URL query.
func bindSessionListQuery(q url.Values) (sessionListQuery, error) {
	v := sessionListQuery{User: q.Get("user"), IP: q.Get("ip"), Cursor: q.Get("cursor"), Sort: store.SortActivity, N: defaultListRows}
	if !utf8.ValidString(v.User) || utf8.RuneCountInString(v.User) > maxListUser {
		return v, badParam("The user filter must be at most %d characters.", maxListUser)
	}
	if v.IP != "" {
		if len(v.IP) > maxListIP {
			return v, badParam("The IP filter must be at most %d characters.", maxListIP)
		}
		a, err := netip.ParseAddr(v.IP)
		if err != nil {
			return v, badParam("The IP filter must be a whole IP address, such as 192.0.2.10 or 2001:db8::1.")
		}
		v.IP = a.Unmap().String() // the form sessionsvc.ClientIP records
	}
	switch r := q.Get("role"); r {
	case "", "any":
	case sessionsvc.RoleAdmin, sessionsvc.RoleOperator, sessionsvc.RoleAnalyst:
		v.Role = r
	default:
		return v, badParam("Unknown role: choose admin, operator, analyst or any.")
	}
	switch st := q.Get("status"); st {
	case "", "active":
	case "ended":
		v.Ended = true
	default:
		return v, badParam("Unknown status: choose active or ended.")
	}
	if r := q.Get("reason"); r != "" && r != "any" {
		v.Reason = store.Reason(r)
		if !v.Reason.Valid() {
			short, _ := truncateRunes(r, 32)
			return v, badParam("Unknown reason %q.", short)
		}
	}
	if s := q.Get("sort"); s != "" {
		v.Sort = store.Sort(s)
		if !v.Sort.Valid() {
			return v, badParam("Unknown sort: choose activity, created or deadline.")
		}
	}
	if v.Cursor != "" {
		if _, _, err := store.DecodeCursor(v.Cursor); err != nil {
			return v, badParam("The page cursor is not valid. Start again from the first page.")
		}
	}
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListRows {
			return v, badParam("Rows per page (n) must be a number from 1 to %d.", maxListRows)
		}
		v.N = n
	}
	sids := q["sid"]
	if len(sids) > maxListSelected {
		return v, badParam("At most %d sessions can be selected.", maxListSelected)
	}
	for _, sid := range sids {
		if !sessionsvc.ValidSID(sid) {
			return v, badParam("A selected session id is not valid.")
		}
	}
	v.Selected = sids
	return v, nil
}

// values is the URL query of the view; withCursor adds a page cursor. The
// selection is left out: it belongs to the admin's screen, not the link.
func (q sessionListQuery) values(cursor string) url.Values {
	v := url.Values{}
	if q.User != "" {
		v.Set("user", q.User)
	}
	if q.Role != "" {
		v.Set("role", q.Role)
	}
	if q.IP != "" {
		v.Set("ip", q.IP)
	}
	if q.Sort != store.SortActivity {
		v.Set("sort", string(q.Sort))
	}
	if q.N != defaultListRows {
		v.Set("n", strconv.Itoa(q.N))
	}
	if q.Ended {
		v.Set("status", "ended")
	}
	if q.Reason != "" {
		v.Set("reason", string(q.Reason))
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	return v
}

func sessionListURL(v url.Values) string {
	if len(v) == 0 {
		return "/admin/sessions"
	}
	return "/admin/sessions?" + v.Encode()
}

// sessionList is the console's live list of sessions: filter, sort and page
// through the registry's indexes, never a scan. With HX-Request (the 5 s
// background poll) it answers with the live block only.
func (h *Handler) sessionList(c echo.Context) error {
	q, err := bindSessionListQuery(c.QueryParams())
	if err != nil {
		return h.renderError(c, http.StatusBadRequest, "Bad request", err.Error())
	}
	if q.Ended {
		return h.endedList(c, q)
	}
	ctx := c.Request().Context()
	page, err := h.console.List(ctx, store.Query{
		Filter: store.Filter{User: q.User, Role: q.Role, IP: q.IP},
		Sort:   q.Sort, Cursor: q.Cursor, Limit: q.N,
	})
	if errors.Is(err, store.ErrBadCursor) {
		return h.renderError(c, http.StatusBadRequest, "Bad request", "The page cursor is not valid. Start again from the first page.")
	}
	if err != nil {
		return err
	}
	cur, _ := h.sessions.Current(ctx)
	now := h.now()
	selected := make(map[string]bool, len(q.Selected))
	for _, sid := range q.Selected {
		selected[sid] = true
	}
	live := views.SessionsLiveProps{
		Now: now, Total: page.Total, Sort: string(q.Sort),
		CanSelect: cur.Role == sessionsvc.RoleAdmin,
		Filtered:  q.User != "" || q.Role != "" || q.IP != "",
		PollURL:   sessionListURL(q.values(q.Cursor)),
	}
	if page.Next != "" {
		live.NextURL = sessionListURL(q.values(page.Next))
	}
	if q.Cursor != "" {
		live.FirstURL = sessionListURL(q.values(""))
	}
	for _, r := range page.Records {
		live.Rows = append(live.Rows, views.SessionRow{
			SID: r.SID, ShortSID: shortSID(r.SID), User: r.User, Role: r.Role,
			Device: r.Device, UserAgent: r.LastUserAgent,
			IP: r.LastIP, FirstIP: r.FirstIP, IPChanged: r.IPChanged, UAChanged: r.UAChanged,
			CreatedAt: r.CreatedAt, LastActive: r.LastActivity, Deadline: r.Deadline(),
			Path: r.Path, Processing: r.Processing, Progress: r.Progress,
			RecoveredFrom: r.RecoveredFrom, Current: r.SID == cur.SID, Checked: selected[r.SID],
		})
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Boosted") != "true" {
		return h.render(c, http.StatusOK, views.SessionsLive(live))
	}
	return h.render(c, http.StatusOK, views.SessionsPage(views.SessionsProps{
		Layout: h.layout(c, "Sessions"),
		Filter: views.SessionsFilter{User: q.User, Role: q.Role, IP: q.IP, Sort: string(q.Sort), N: q.N, DefaultN: defaultListRows},
		Live:   live,
		Notice: sessionsNotice(c),
	}))
}

// endedList is the sessions list's status=ended view: sessions that ended
// (held for cleanup and recovery, or archived), newest end first, by reason
// and user, paged with the exact total.
func (h *Handler) endedList(c echo.Context, q sessionListQuery) error {
	ctx := c.Request().Context()
	page, err := h.console.ListEnded(ctx, store.EndedQuery{User: q.User, Reason: q.Reason, Cursor: q.Cursor, Limit: q.N})
	if errors.Is(err, store.ErrBadCursor) {
		return h.renderError(c, http.StatusBadRequest, "Bad request", "The page cursor is not valid. Start again from the first page.")
	}
	if err != nil {
		return err
	}
	now := h.now()
	p := views.EndedSessionsProps{
		Layout: h.layout(c, "Ended sessions"), Now: now, Total: page.Total,
		User: q.User, Reason: string(q.Reason), Reasons: endedReasons,
	}
	if page.Next != "" {
		p.NextURL = sessionListURL(q.values(page.Next))
	}
	if q.Cursor != "" {
		p.FirstURL = sessionListURL(q.values(""))
	}
	for _, e := range page.Entries {
		r := e.Record
		p.Rows = append(p.Rows, views.EndedRow{
			SID: r.SID, ShortSID: shortSID(r.SID), User: r.User, Role: r.Role, Device: r.Device, IP: r.LastIP,
			CreatedAt: r.CreatedAt, EndedAt: e.Tombstone.At, Reason: string(e.Tombstone.Reason),
			Actor: e.Tombstone.Actor, Note: e.Tombstone.Note, Archived: e.Archived, Recovery: recoveryStatus(e, now),
		})
	}
	return h.render(c, http.StatusOK, views.EndedSessionsPage(p))
}

// endedReasons are the reasons the ended view filters by, in the order shown.
var endedReasons = []string{
	string(store.ReasonLogout), string(store.ReasonExpired), string(store.ReasonIdle), string(store.ReasonLifetime),
	string(store.ReasonEvicted), string(store.ReasonTerminated), string(store.ReasonSecurity),
	string(store.ReasonAccountRemoved), string(store.ReasonAccountDisabled),
}
