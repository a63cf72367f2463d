package sessionsvc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Get returns a live session's registry record.
func (s *Service) Get(ctx context.Context, sid string) (store.Record, error) {
	rec, ok, err := s.st.Get(ctx, sid, s.now())
	switch {
	case err != nil:
		return store.Record{}, s.unavailable("get session", err)
	case !ok:
		return store.Record{}, fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	return rec, nil
}

// List returns one page of live sessions.
func (s *Service) List(ctx context.Context, q store.Query) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	p, err := s.st.List(ctx, q, s.now())
	if err != nil {
		return store.Page{}, s.unavailable("list sessions", err)
	}
	return p, nil
}

// ListEnded returns one page of ended sessions (held for cleanup or
// archived), most recently ended first: the console's "ended" view, its
// recovery page and a user's page.
func (s *Service) ListEnded(ctx context.Context, q store.EndedQuery) (store.EndedPage, error) {
	q, err := store.NormalizeEndedQuery(q)
	if err != nil {
		return store.EndedPage{}, err
	}
	p, err := s.st.ListEnded(ctx, q, s.now())
	if err != nil {
		return store.EndedPage{}, s.unavailable("list ended sessions", err)
	}
	return p, nil
}

// UserSessions returns every live session of user, most recently active first.
func (s *Service) UserSessions(ctx context.Context, user string) ([]store.Record, error) {
	p, err := s.List(ctx, store.Query{Filter: store.Filter{User: user}, Sort: store.SortActivity, Limit: 500})
	if err != nil {
		return nil, err
	}
	return p.Records, nil
}

// Terminate ends one session on an administrator's request. actor is the
// administrator; note their reason, shown to the user at their next request.
// The action is audited before it runs.
func (s *Service) Terminate(ctx context.Context, sid, actor, note string) error {
	return s.audited(ctx, actor, "terminate", sid, note, func() (int, error) {
		rec, ok, err := s.st.Get(ctx, sid, s.now())
		if err != nil {
			return 0, s.unavailable("get session", err)
		}
		t := store.Tombstone{SID: sid, User: rec.User, Reason: store.ReasonTerminated, Actor: actor, Note: note, At: s.now()}
		ended, err := s.st.End(ctx, sid, t, s.cfg.Session.RecoveryWindow())
		switch {
		case err != nil:
			return 0, s.unavailable("terminate", err)
		case !ended:
			return 0, fmt.Errorf("%w: %s", ErrNotFound, sid)
		}
		var created time.Time
		if ok {
			created = rec.CreatedAt
		}
		s.noteEnd(ctx, t, created)
		s.log.InfoContext(ctx, "session terminated", slog.String("sid", sid), slog.String("actor", actor))
		return 1, nil
	})
}

// TerminateUser ends every live session of user and returns how many it ended.
func (s *Service) TerminateUser(ctx context.Context, user, actor, note string) (int, error) {
	var n int
	err := s.audited(ctx, actor, "terminate_user", user, note, func() (int, error) {
		var err error
		n, err = s.endUser(ctx, user, nil, store.ReasonTerminated, actor, note)
		return n, err
	})
	if err == nil {
		s.log.InfoContext(ctx, "user sessions terminated", slog.String("user", user), slog.String("actor", actor), slog.Int("count", n))
	}
	return n, err
}

// endUser ends a user's sessions but except, recording each end.
func (s *Service) endUser(ctx context.Context, user string, except []string, reason store.Reason, actor, note string) (int, error) {
	recs, err := s.UserSessions(ctx, user)
	if err != nil {
		return 0, err
	}
	t := store.Tombstone{User: user, Reason: reason, Actor: actor, Note: note, At: s.now()}
	n, err := s.st.EndUser(ctx, user, except, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return n, s.unavailable("end user sessions", err)
	}
	for _, r := range recs {
		if !slices.Contains(except, r.SID) {
			t.SID = r.SID
			s.noteEnd(ctx, t, r.CreatedAt)
		}
	}
	return n, nil
}

// TerminateMany ends the listed sessions and returns how many it ended; unknown
// and already ended sids are skipped. Their durations are not known here, so
// they count in the ended sessions' events but not in the average duration.
func (s *Service) TerminateMany(ctx context.Context, sids []string, actor, note string) (int, error) {
	var n int
	target := fmt.Sprintf("%d sessions", len(sids))
	err := s.audited(ctx, actor, "terminate_bulk", target, note, func() (int, error) {
		t := store.Tombstone{Reason: store.ReasonTerminated, Actor: actor, Note: note, At: s.now()}
		var err error
		n, err = s.st.EndMany(ctx, sids, t, s.cfg.Session.RecoveryWindow())
		if err != nil {
			return n, s.unavailable("terminate sessions", err)
		}
		for _, sid := range sids {
			s.Record(sid, "", store.EventTerminated, map[string]string{"reason": string(store.ReasonTerminated), "actor": actor})
		}
		s.metrics.SessionsEnded(string(store.ReasonTerminated), n)
		return n, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "sessions terminated", slog.Int("requested", len(sids)), slog.String("actor", actor), slog.Int("count", n))
	}
	return n, err
}

// EndOwn ends another session of the signed-in user (from "My sessions"). It
// refuses the current session (sign out instead) and anyone else's session,
// which it reports as not found so as not to reveal it exists.
func (s *Service) EndOwn(ctx context.Context, sid string) error {
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	if sid == cur.SID {
		return ErrOwnSession
	}
	rec, err := s.Get(ctx, sid)
	if err != nil {
		return err
	}
	if rec.User != cur.User {
		return fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	t := store.Tombstone{SID: sid, User: cur.User, Reason: store.ReasonLogout, Actor: cur.User, Note: "signed out from another session", At: s.now()}
	ended, err := s.st.End(ctx, sid, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return s.unavailable("end session", err)
	}
	if ended {
		s.noteEnd(ctx, t, rec.CreatedAt)
	}
	s.log.InfoContext(ctx, "session ended by its user", slog.String("sid", sid), slog.String("by_sid", cur.SID))
	return nil
}

// EndOthers ends every session of the signed-in user but the current one.
func (s *Service) EndOthers(ctx context.Context) (int, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return 0, ErrNoSession
	}
	return s.endUser(ctx, cur.User, []string{cur.SID}, store.ReasonLogout, cur.User, "signed out from another session")
}

// EndedNotice is why a session ended, in the parts a page puts into words in
// its reader's language; EndedMessage says the same in English.
type EndedNotice struct {
	Reason    store.Reason
	Elsewhere bool   // logout: ended from another of the user's sessions
	Note      string // terminated: the administrator's reason, verbatim ("" for none)
	Minutes   int    // expired: the session timeout; idle: the idle timeout
	Hours     int    // lifetime: the maximum lifetime
}

// EndedNotice tells why a session ended, for the login and resume pages.
func (s *Service) EndedNotice(t store.Tombstone) EndedNotice {
	c := s.cfg.Session
	n := EndedNotice{Reason: t.Reason}
	switch t.Reason {
	case store.ReasonLogout:
		n.Elsewhere = t.Note != ""
	case store.ReasonExpired:
		n.Minutes = c.TimeoutMinutes
	case store.ReasonIdle:
		n.Minutes = c.IdleTimeoutMinutes
	case store.ReasonLifetime:
		n.Hours = c.MaxLifetimeHours
	case store.ReasonTerminated:
		n.Note = t.Note
	}
	return n
}

// EndedMessage tells a user why their session ended, in English (the pages
// use EndedNotice).
func (s *Service) EndedMessage(t store.Tombstone) string {
	c := s.cfg.Session
	switch t.Reason {
	case store.ReasonLogout:
		if t.Note != "" {
			return "You were signed out from another of your sessions."
		}
		return "You signed out."
	case store.ReasonExpired:
		return fmt.Sprintf("Your session expired after %d min.", c.TimeoutMinutes)
	case store.ReasonIdle:
		return fmt.Sprintf("You were signed out after being idle for %d min.", c.IdleTimeoutMinutes)
	case store.ReasonLifetime:
		return fmt.Sprintf("Your session reached its maximum of %d h. Please sign in again.", c.MaxLifetimeHours)
	case store.ReasonEvicted:
		return "You were signed out because you signed in on another device."
	case store.ReasonTerminated:
		if t.Note != "" {
			return "Your session was ended by an administrator: " + t.Note
		}
		return "Your session was ended by an administrator."
	case store.ReasonSecurity:
		return "Your session was ended for your security: your browser or network changed."
	case store.ReasonAccountRemoved, store.ReasonAccountDisabled:
		return "Your account is no longer active."
	}
	return "Your session has ended."
}
