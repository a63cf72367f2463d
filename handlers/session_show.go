package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/views"
)

const (
	// eventsPerPage is the length of one page of a session's event list.
	eventsPerPage = 50
	// valueDisplayLimit is how many characters of a state value the detail
	// page shows: state may hold whole result sets, the page is for a glance.
	valueDisplayLimit = 200
	// maskedValue replaces the value of a key that looks secret.
	maskedValue = sessionsvc.Masked
	// timelineSlot is the width of one bar of the timeline chart.
	timelineSlot = 10 * time.Minute
	// timelineSlots bounds the chart: a session lives at most max_lifetime_hours
	// (12 h by default, 72 slots); longer ones show their last 24 h.
	timelineSlots = 144
)

// sessionShow is the console's page of one session. Operators read it; admins
// also get the termination forms. A session that is not live shows its archive,
// or what is left of it (final state awaiting cleanup, analytics).
func (h *Handler) sessionShow(c echo.Context) error {
	sid := c.Param("sid")
	if !sessionsvc.ValidSID(sid) {
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such session.")
	}
	p, found, err := h.sessionDetail(c, sid)
	switch {
	case err != nil:
		return err
	case !found:
		return h.renderError(c, http.StatusNotFound, "Not found", "There is no such session, and nothing is left of it.")
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Boosted") != "true" && p.Analytics != nil {
		// The only htmx request this page makes is paging its event list.
		return h.render(c, http.StatusOK, views.DetailEvents(p.Analytics.EventList))
	}
	p.Notice = detailNotice(c)
	return h.render(c, http.StatusOK, views.SessionDetailPage(p))
}

// detailNotice is the result message of an action that redirected here. It is
// built from fixed text and numbers only; the query cannot put words on the page.
func detailNotice(c echo.Context) string {
	switch c.QueryParam("done") {
	case "terminated":
		return "The session was ended. Its user will see your reason at their next request."
	case "user":
		n, err := strconv.Atoi(c.QueryParam("n"))
		if err != nil || n < 0 {
			return ""
		}
		if n == 1 {
			return "1 session of this user was ended."
		}
		return fmt.Sprintf("%d sessions of this user were ended.", n)
	case "saved":
		n, err := strconv.Atoi(c.QueryParam("n"))
		switch {
		case err != nil || n < 0:
			return ""
		case n == 0:
			return "Nothing to save yet: this session has no versioned state."
		}
		return fmt.Sprintf("A recovery point was saved: a snapshot of %d %s, listed under State.", n, map[bool]string{true: "category", false: "categories"}[n == 1])
	}
	return ""
}

// renderDetail shows the detail page again with an action's error, or the
// error page if the session cannot be shown any more.
func (h *Handler) renderDetail(c echo.Context, sid string, status int, title, msg, reason string) error {
	if sessionsvc.ValidSID(sid) {
		p, found, err := h.sessionDetail(c, sid)
		if err != nil {
			return err
		}
		if found {
			p.Error, p.Reason = msg, reason
			return h.render(c, status, views.SessionDetailPage(p))
		}
	}
	return h.renderError(c, status, title, msg)
}

// sessionDetail loads everything the page shows of sid; found=false when
// nothing at all is known of it.
func (h *Handler) sessionDetail(c echo.Context, sid string) (views.SessionDetailProps, bool, error) {
	ctx := c.Request().Context()
	cur, _ := h.sessions.Current(ctx)
	now := h.now()
	p := views.SessionDetailProps{
		Layout: h.layout(c, "Session "+shortSID(sid)), Now: now, SID: sid,
		CanAct: cur.Role == sessionsvc.RoleAdmin,
		Own:    cur.SID == sid,
		Reauth: h.reauth(c, "terminate-user"),
	}

	an, err := h.console.SessionAnalytics(ctx, sid)
	haveAnalytics := err == nil
	if err != nil && !errors.Is(err, sessionsvc.ErrNotFound) {
		return p, false, err
	}

	rec, err := h.console.Get(ctx, sid)
	switch {
	case err == nil:
		p.Status, p.User = views.DetailLive, rec.User
		m := detailMeta(rec)
		p.Meta = &m
		st, err := h.console.State(ctx, sid)
		if err != nil && !errors.Is(err, sessionsvc.ErrNotFound) { // ended since Get: show no state
			return p, false, err
		}
		if err == nil {
			if p.State, err = h.detailState(ctx, sid, st, true); err != nil {
				return p, false, err
			}
		}
	case errors.Is(err, sessionsvc.ErrNotFound):
		arch, err := h.console.Archived(ctx, sid)
		switch {
		case err == nil:
			p.Status, p.User = views.DetailArchived, arch.Record.User
			m := detailMeta(arch.Record)
			p.Meta = &m
			t := arch.Tombstone
			p.Archive = &views.DetailArchive{Reason: string(t.Reason), Actor: t.Actor, Note: t.Note,
				EndedAt: t.At, ArchivedAt: arch.ArchivedAt, Files: arch.Files}
			if p.State, err = h.detailState(ctx, sid, arch.State, false); err != nil {
				return p, false, err
			}
		case !errors.Is(err, sessionsvc.ErrNotFound):
			return p, false, err
		default:
			// Ended and not archived yet: its final state stays until cleanup.
			p.Status, p.User = views.DetailEnded, an.User
			st, err := h.console.State(ctx, sid)
			switch {
			case err == nil:
				if p.State, err = h.detailState(ctx, sid, st, false); err != nil {
					return p, false, err
				}
			case !errors.Is(err, sessionsvc.ErrNotFound):
				return p, false, err
			case !haveAnalytics:
				return p, false, nil
			}
		}
	default:
		return p, false, err
	}
	if haveAnalytics {
		v := detailAnalytics(an, now, eventsOffset(c))
		p.Analytics = &v
	}
	return p, true, nil
}

func detailMeta(r store.Record) views.DetailMeta {
	return views.DetailMeta{
		SID: r.SID, User: r.User, Role: r.Role,
		CreatedAt: r.CreatedAt, AuthenticatedAt: r.AuthenticatedAt, LastActivity: r.LastActivity,
		ExpiresAt: r.ExpiresAt, IdleAt: r.IdleAt, LifetimeAt: r.LifetimeAt,
		Device: r.Device, Fingerprint: r.Fingerprint, Path: r.Path,
		Processing: r.Processing, Progress: r.Progress, StateVersion: r.StateVersion,
		RecoveredFrom: r.RecoveredFrom,
		FirstIP:       r.FirstIP, LastIP: r.LastIP, FirstUserAgent: r.FirstUserAgent, LastUserAgent: r.LastUserAgent,
		IPChanged: r.IPChanged, UAChanged: r.UAChanged,
	}
}

// detailState lists the categories in display order with their values masked
// and truncated, and, for a session whose snapshots are still kept, their
// snapshots.
func (h *Handler) detailState(ctx context.Context, sid string, st sessionsvc.State, snapshots bool) ([]views.DetailStateCategory, error) {
	var out []views.DetailStateCategory
	for _, name := range store.Categories {
		cat, ok := st.Categories[name]
		if !ok {
			continue
		}
		vc := views.DetailStateCategory{Name: name, Version: cat.Version}
		keys := make([]string, 0, len(cat.Values))
		for k := range cat.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vc.Values = append(vc.Values, displayStateValue(k, cat.Values[k]))
		}
		if snapshots {
			snaps, err := h.console.Snapshots(ctx, sid, name)
			if err != nil {
				return nil, err
			}
			for _, s := range snaps {
				vc.Snapshots = append(vc.Snapshots, views.DetailSnapshot{Version: s.Version, At: s.At})
			}
		}
		out = append(out, vc)
	}
	return out, nil
}

// displayStateValue is a state value as the console shows it: masked when
// the key looks secret, with secret keys inside JSON objects masked at any
// depth, and truncated.
func displayStateValue(key string, raw json.RawMessage) views.DetailStateValue {
	if sessionsvc.SecretKey(key) {
		return views.DetailStateValue{Key: key, Value: maskedValue, Masked: true}
	}
	text, truncated := truncateRunes(sessionsvc.MaskJSON(raw), valueDisplayLimit)
	return views.DetailStateValue{Key: key, Value: text, Truncated: truncated}
}

// truncateRunes cuts s to n characters, marking the cut with an ellipsis.
func truncateRunes(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	r := []rune(s)
	return string(r[:n]) + "…", true
}

// eventsOffset is the ?events= offset of the event list, 0 when absent or bad.
func eventsOffset(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("events"))
	if err != nil || n < 0 || n >= store.TimelineCap {
		return 0
	}
	return n
}

// detailAnalytics turns the service's figures into the page's, with one
// page of events from offset and the 10-minute chart.
func detailAnalytics(a sessionsvc.SessionAnalytics, now time.Time, offset int) views.DetailAnalytics {
	v := views.DetailAnalytics{
		Started: a.Started, Ended: a.Ended, Duration: a.Duration,
		PageViews: a.PageViews, Analyses: a.Analyses, Uploads: a.Uploads, APICalls: a.APICalls,
		Comments: a.Comments, Events: a.Events, Cost: a.Cost.String(),
	}
	total := len(a.Timeline)
	if offset >= total {
		offset = 0
	}
	end := min(offset+eventsPerPage, total)
	ev := views.DetailEventsProps{SID: a.SID, Offset: offset, Total: total, Dropped: a.Dropped, PrevOffset: -1, NextOffset: -1}
	if offset > 0 {
		ev.PrevOffset = max(offset-eventsPerPage, 0)
	}
	if end < total {
		ev.NextOffset = end
	}
	for _, e := range a.Timeline[offset:end] {
		ev.Events = append(ev.Events, views.DetailEvent{Type: e.Type, At: e.At, Data: eventData(e.Data)})
	}
	v.EventList = ev

	last := now
	if !a.Live && len(a.Timeline) > 0 {
		last = a.Timeline[0].At
	}
	v.Timeline = timelineBuckets(a.Timeline, last)
	return v
}

// eventData is an event's small data map as "k=v" pairs, secrets masked.
func eventData(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := d[k]
		if sessionsvc.SecretKey(k) {
			v = maskedValue
		}
		parts = append(parts, k+"="+v)
	}
	s, _ := truncateRunes(strings.Join(parts, " "), valueDisplayLimit)
	return s
}

// timelineBuckets counts events (newest first) per 10-minute slot, from the
// slot of the oldest event to the slot of last, at most timelineSlots slots.
func timelineBuckets(events []store.Event, last time.Time) []views.DetailBucket {
	if len(events) == 0 {
		return nil
	}
	first := events[len(events)-1].At.Truncate(timelineSlot)
	lastSlot := last.Truncate(timelineSlot)
	if lastSlot.Before(first) {
		lastSlot = events[0].At.Truncate(timelineSlot)
	}
	n := int(lastSlot.Sub(first)/timelineSlot) + 1
	if n > timelineSlots {
		first = lastSlot.Add(-(timelineSlots - 1) * timelineSlot)
		n = timelineSlots
	}
	out := make([]views.DetailBucket, n)
	for i := range out {
		out[i].Start = first.Add(time.Duration(i) * timelineSlot)
	}
	for _, e := range events {
		i := int(e.At.Truncate(timelineSlot).Sub(first) / timelineSlot)
		if i >= 0 && i < n {
			out[i].Count++
		}
	}
	return out
}
