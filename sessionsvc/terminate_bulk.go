package sessionsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Bulk termination is two steps so that an admin sees what ends before it
// does: PreviewTermination fixes the set of sessions and keeps it in the store
// (never in the admin's cookie), ConfirmTermination ends only that set.
const (
	// PreviewTTL is how long a preview can be confirmed. Short, because the
	// set it shows goes stale as sessions come and go.
	PreviewTTL = 5 * time.Minute
	// MaxPreview caps the sessions one preview may hold, so a filter that
	// matches everything cannot build an unbounded write.
	MaxPreview = 10000
)

// Errors of the bulk-termination steps.
var (
	// ErrPreviewGone is a preview id that is unknown or has expired.
	ErrPreviewGone = errors.New("sessionsvc: termination preview unknown or expired")
	// ErrPreviewActor is a preview made by another administrator.
	ErrPreviewActor = errors.New("sessionsvc: termination preview belongs to another administrator")
)

// Selection is what a bulk termination applies to: the listed sids when any
// are given, else every live session matching Filter.
type Selection struct {
	SIDs   []string
	Filter store.Filter
}

func (sel Selection) describe() string {
	switch len(sel.SIDs) {
	case 0:
	case 1:
		return "1 selected session"
	default:
		return fmt.Sprintf("%d selected sessions", len(sel.SIDs))
	}
	var parts []string
	if sel.Filter.User != "" {
		parts = append(parts, "user "+sel.Filter.User)
	}
	if sel.Filter.Role != "" {
		parts = append(parts, "role "+sel.Filter.Role)
	}
	if sel.Filter.IP != "" {
		parts = append(parts, "IP "+sel.Filter.IP)
	}
	if len(parts) == 0 {
		return "all live sessions"
	}
	return "sessions of " + strings.Join(parts, ", ")
}

// PreviewTermination collects the live sessions sel names, leaving out the
// caller's own current session (Sign out ends that), and saves them as a
// preview for PreviewTTL under a random id. Selected sids that are not live
// are dropped; a filter is read page by page from the indexes, at most
// MaxPreview sessions.
func (s *Service) PreviewTermination(ctx context.Context, actor string, sel Selection) (string, store.Preview, error) {
	now := s.now()
	own := ""
	if cur, ok := s.Current(ctx); ok {
		own = cur.SID
	}
	var sids []string
	users := map[string]bool{}
	seen := map[string]bool{}
	add := func(r store.Record) {
		if r.SID == own || seen[r.SID] {
			return
		}
		seen[r.SID] = true
		sids = append(sids, r.SID)
		users[r.User] = true
	}
	if len(sel.SIDs) > 0 {
		for _, sid := range sel.SIDs {
			if len(sids) >= MaxPreview {
				break
			}
			rec, ok, err := s.st.Get(ctx, sid, now)
			if err != nil {
				return "", store.Preview{}, s.unavailable("get session", err)
			}
			if ok {
				add(rec)
			}
		}
	} else {
		q := store.Query{Filter: sel.Filter, Sort: store.SortCreated, Limit: 500}
		for len(sids) < MaxPreview {
			p, err := s.st.List(ctx, q, now)
			if err != nil {
				return "", store.Preview{}, s.unavailable("list sessions", err)
			}
			for _, r := range p.Records {
				if len(sids) < MaxPreview {
					add(r)
				}
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	p := store.Preview{Actor: actor, SIDs: sids, Filter: sel.describe(), CreatedAt: now}
	for u := range users {
		p.Users = append(p.Users, u)
	}
	slices.Sort(p.Users)
	id := randomID(24)
	if err := s.st.SavePreview(ctx, id, p, PreviewTTL); err != nil {
		return "", store.Preview{}, s.unavailable("save preview", err)
	}
	return id, p, nil
}

// LoadPreview returns the caller's preview: ErrPreviewGone when it is
// unknown or expired, ErrPreviewActor when another administrator made it.
func (s *Service) LoadPreview(ctx context.Context, actor, id string) (store.Preview, error) {
	p, ok, err := s.st.Preview(ctx, id, s.now())
	switch {
	case err != nil:
		return store.Preview{}, s.unavailable("load preview", err)
	case !ok:
		return store.Preview{}, ErrPreviewGone
	case p.Actor != actor:
		return store.Preview{}, ErrPreviewActor
	}
	return p, nil
}

// ConfirmTermination ends the sessions of the caller's preview that are
// still live and returns how many ended. Sessions started after the preview
// are not in it and never end here; the caller's own current session is
// left out again, in case the preview was made from another session. It is
// audited as terminate_bulk by TerminateMany.
func (s *Service) ConfirmTermination(ctx context.Context, actor, id, note string) (int, error) {
	p, err := s.LoadPreview(ctx, actor, id)
	if err != nil {
		return 0, err
	}
	sids := p.SIDs
	if cur, ok := s.Current(ctx); ok {
		sids = slices.DeleteFunc(slices.Clone(sids), func(sid string) bool { return sid == cur.SID })
	}
	if len(sids) == 0 {
		return 0, nil
	}
	n, err := s.TerminateMany(ctx, sids, actor, note)
	if err == nil {
		s.log.InfoContext(ctx, "bulk termination confirmed", slog.String("actor", actor), slog.Int("previewed", len(p.SIDs)), slog.Int("count", n))
	}
	return n, err
}
