package sessionsvc

import (
	"context"
	"fmt"
	"log/slog"

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
func (s *Service) Terminate(ctx context.Context, sid, actor, note string) error {
	t := store.Tombstone{SID: sid, Reason: store.ReasonTerminated, Actor: actor, Note: note, At: s.now()}
	ok, err := s.st.End(ctx, sid, t, s.cfg.Session.RecoveryWindow())
	switch {
	case err != nil:
		return s.unavailable("terminate", err)
	case !ok:
		return fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	s.log.InfoContext(ctx, "session terminated", slog.String("sid", sid), slog.String("actor", actor))
	return nil
}

// TerminateUser ends every live session of user and returns how many it ended.
func (s *Service) TerminateUser(ctx context.Context, user, actor, note string) (int, error) {
	t := store.Tombstone{Reason: store.ReasonTerminated, Actor: actor, Note: note, At: s.now()}
	n, err := s.st.EndUser(ctx, user, nil, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return n, s.unavailable("terminate user", err)
	}
	s.log.InfoContext(ctx, "user sessions terminated", slog.String("user", user), slog.String("actor", actor), slog.Int("count", n))
	return n, nil
}

// TerminateMany ends the listed sessions and returns how many it ended; unknown
// and already ended sids are skipped.
func (s *Service) TerminateMany(ctx context.Context, sids []string, actor, note string) (int, error) {
	t := store.Tombstone{Reason: store.ReasonTerminated, Actor: actor, Note: note, At: s.now()}
	n, err := s.st.EndMany(ctx, sids, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return n, s.unavailable("terminate sessions", err)
	}
	s.log.InfoContext(ctx, "sessions terminated", slog.Int("requested", len(sids)), slog.String("actor", actor), slog.Int("count", n))
	return n, nil
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
	t := store.Tombstone{SID: sid, Reason: store.ReasonLogout, Actor: cur.User, Note: "signed out from another session", At: s.now()}
	if _, err := s.st.End(ctx, sid, t, s.cfg.Session.RecoveryWindow()); err != nil {
		return s.unavailable("end session", err)
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
	t := store.Tombstone{Reason: store.ReasonLogout, Actor: cur.User, Note: "signed out from another session", At: s.now()}
	n, err := s.st.EndUser(ctx, cur.User, []string{cur.SID}, t, s.cfg.Session.RecoveryWindow())
	if err != nil {
		return n, s.unavailable("end other sessions", err)
	}
	return n, nil
}

// EndedMessage tells a user why their session ended, for the login page.
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
