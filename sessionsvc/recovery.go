package sessionsvc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Recovery errors; each is a clear message for the user.
var (
	ErrRecoveryDisabled    = errors.New("session recovery is turned off")
	ErrRecoveryUnavailable = errors.New("this session can no longer be resumed: it was resumed already, or its recovery window has closed")
	ErrRecoveryNotYours    = errors.New("this recovery link belongs to another user")
)

// RecoveryOffer is a recovery point as its user sees it: what resuming restores.
type RecoveryOffer struct {
	SID          string
	Reason       store.Reason
	EndedAt      time.Time
	ExpiresAt    time.Time
	LastActivity time.Time
	Page         string // where the user was: the path of their last request (where resuming returns)
	Section      string // ui_state.current_page: the workspace section they last worked in
	Processing   string
	Files        int
	Analyses     int
	Datasets     []RecoveryDataset // user_data.uploaded_files, oldest first
	LastAnalysis *RecoveryAnalysis // nil when the session ran none
}

// RecoveryDataset is an uploaded file of comments that resuming restores.
type RecoveryDataset struct {
	Name     string // the analyst's file name: display text only
	Comments int
}

// RecoveryAnalysis is the ended session's last analysis: its
// analysis_data.current_analysis, else the newest of its analysis_history.
type RecoveryAnalysis struct {
	DatasetName string
	// Status is as the session left it: queued or running means the
	// session's end cut it off, and the resumed session shows it interrupted.
	Status     string
	Comments   int
	QueuedAt   time.Time
	FinishedAt time.Time // zero while queued or running
}

// Tombstone describes how the offered session ended, for EndedMessage.
func (o RecoveryOffer) Tombstone() store.Tombstone {
	return store.Tombstone{SID: o.SID, Reason: o.Reason, At: o.EndedAt}
}

// RecoveryOffers lists the signed-in user's recovery points inside the window.
func (s *Service) RecoveryOffers(ctx context.Context) ([]RecoveryOffer, error) {
	if !s.cfg.Session.EnableRecovery {
		return nil, nil
	}
	cur, ok := s.Current(ctx)
	if !ok {
		return nil, ErrNoSession
	}
	points, err := s.st.RecoveryPoints(ctx, cur.User, s.now())
	if err != nil {
		return nil, s.unavailable("recovery points", err)
	}
	offers := make([]RecoveryOffer, 0, len(points))
	for _, p := range points {
		o := RecoveryOffer{SID: p.SID, Reason: p.Reason, EndedAt: p.EndedAt, ExpiresAt: p.ExpiresAt,
			LastActivity: p.Record.LastActivity, Page: p.Record.Path, Processing: p.Record.Processing}
		o.Files = len(s.fileList(ctx, p.SID))
		if st, err := s.State(ctx, p.SID); err == nil {
			ud := st.Categories[store.CatUserData].Values
			o.Analyses = jsonLen(ud["analysis_history"])
			o.Section = jsonString(st.Categories[store.CatUIState].Values["current_page"])
			o.Datasets, o.LastAnalysis = recoveryWork(ud, st.Categories[store.CatAnalysisData].Values)
		}
		offers = append(offers, o)
	}
	return offers, nil
}

// recoveryWork reads the datasets and the last analysis out of an ended
// session's user_data and analysis_data. The values are decoded leniently,
// each field on its own: a state written by hand through the API shows what
// can be read of it, and a value of the wrong shape is left out.
func recoveryWork(userData, analysisData map[string]json.RawMessage) ([]RecoveryDataset, *RecoveryAnalysis) {
	var list []json.RawMessage
	decodeLenient(userData["uploaded_files"], &list)
	var datasets []RecoveryDataset
	names := map[string]string{} // by dataset id, for a run that lacks its dataset's name
	for _, raw := range list {
		f := jsonFields(raw)
		var id string
		var d RecoveryDataset
		decodeLenient(f["id"], &id)
		decodeLenient(f["name"], &d.Name)
		decodeLenient(f["comments"], &d.Comments)
		if d.Name == "" {
			continue
		}
		d.Comments = max(d.Comments, 0)
		datasets = append(datasets, d)
		if id != "" {
			names[id] = d.Name
		}
	}

	run := jsonFields(analysisData["current_analysis"])
	if len(run) == 0 || jsonString(run["status"]) == "" {
		var hist []json.RawMessage
		decodeLenient(userData["analysis_history"], &hist)
		run = nil
		if len(hist) > 0 {
			run = jsonFields(hist[len(hist)-1])
		}
	}
	a := RecoveryAnalysis{DatasetName: jsonString(run["dataset_name"]), Status: jsonString(run["status"])}
	if a.Status == "" {
		return datasets, nil
	}
	if a.DatasetName == "" {
		a.DatasetName = names[jsonString(run["dataset"])]
	}
	decodeLenient(run["comments"], &a.Comments)
	a.Comments = max(a.Comments, 0)
	decodeLenient(run["queued_at"], &a.QueuedAt)
	decodeLenient(run["finished_at"], &a.FinishedAt)
	return datasets, &a
}

// jsonFields splits a JSON object into its fields; nil when b is not one.
func jsonFields(b json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	decodeLenient(b, &m)
	return m
}

func jsonLen(b json.RawMessage) int {
	var v []json.RawMessage
	json.Unmarshal(b, &v)
	return len(v)
}

func jsonString(b json.RawMessage) string {
	var v string
	json.Unmarshal(b, &v)
	return v
}

// Recover resumes one of the signed-in user's recovery points: the point is
// used up, a new session (new token, new sid, the limit applies) takes the saved
// state (less temporary_data) and files and records recovered_from, and it
// replaces the request's session in the browser. An ended session is never
// revived. It returns where the user was.
func (s *Service) Recover(ctx context.Context, r *http.Request, sid string) (string, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return "", ErrNoSession
	}
	refuse := func(err error) (string, error) {
		s.log.InfoContext(ctx, "recovery refused", slog.String("user", cur.User), slog.String("from_sid", sid), slog.String("why", err.Error()))
		return "", err
	}
	if !s.cfg.Session.EnableRecovery {
		return refuse(ErrRecoveryDisabled)
	}
	// Read the final state before taking the point: once taken, cleanup may
	// remove it. An ended session's state no longer changes.
	saved, err := s.State(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return refuse(ErrRecoveryUnavailable)
	} else if err != nil {
		return "", err
	}
	point, ok, err := s.st.ClaimRecovery(ctx, sid, cur.User, s.now())
	if err != nil {
		return "", s.unavailable("claim recovery", err)
	}
	if !ok {
		return refuse(ErrRecoveryUnavailable)
	}
	// The files move first, before cleanup can see the claimed session.
	newSID := randomID(16)
	if s.files != nil && s.files.Exists(point.SID) {
		if err := s.files.Move(point.SID, newSID); err != nil {
			s.log.WarnContext(ctx, "recovery: move files", slog.String("from_sid", point.SID), slog.String("error", err.Error()))
		}
	}
	if err := s.startSession(ctx, r, cur.User, point.SID, newSID); err != nil {
		return "", err
	}
	if err := s.copyState(ctx, point.SID, newSID, saved); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "session recovered", slog.String("user", cur.User), slog.String("from_sid", point.SID), slog.String("sid", newSID))
	s.auditEvent(ctx, cur.User, "recover", point.SID, "resumed as "+newSID, "ok")
	return point.Record.Path, nil
}

// UserRecoveryPoints lists a user's open recovery points, for the console.
func (s *Service) UserRecoveryPoints(ctx context.Context, user string) ([]store.RecoveryPoint, error) {
	points, err := s.st.RecoveryPoints(ctx, user, s.now())
	if err != nil {
		return nil, s.unavailable("recovery points", err)
	}
	return points, nil
}

// IssueRecoveryLink mints a one-time link to a recovery point for an admin to
// hand to its user: 32 random bytes, returned once, stored only as a hash,
// bound to the point's user and expiring with its window.
func (s *Service) IssueRecoveryLink(ctx context.Context, point store.RecoveryPoint, admin string) (token string, expires time.Time, err error) {
	if !s.cfg.Session.EnableRecovery {
		return "", time.Time{}, ErrRecoveryDisabled
	}
	points, err := s.UserRecoveryPoints(ctx, point.User)
	if err != nil {
		return "", time.Time{}, err
	}
	var open *store.RecoveryPoint
	for i := range points {
		if points[i].SID == point.SID {
			open = &points[i]
		}
	}
	if open == nil {
		return "", time.Time{}, ErrRecoveryUnavailable
	}
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	err = s.audited(ctx, admin, "recovery_link", open.SID, "for "+open.User, func() (int, error) {
		if err := s.st.SaveRecoveryLink(ctx, tokenHash(token), open.SID, open.User, open.ExpiresAt); err != nil {
			return 0, s.unavailable("save recovery link", err)
		}
		return 1, nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.InfoContext(ctx, "recovery link issued", slog.String("sid", open.SID), slog.String("user", open.User), slog.String("admin", admin))
	return token, open.ExpiresAt, nil
}

// RecoveryLinkUser returns the user a recovery link is for, without using it.
func (s *Service) RecoveryLinkUser(ctx context.Context, token string) (string, error) {
	if !s.cfg.Session.EnableRecovery {
		return "", ErrRecoveryDisabled
	}
	if !validToken(token) {
		return "", ErrRecoveryUnavailable
	}
	_, user, ok, err := s.st.RecoveryLink(ctx, tokenHash(token), s.now())
	switch {
	case err != nil:
		return "", s.unavailable("recovery link", err)
	case !ok:
		return "", ErrRecoveryUnavailable
	}
	return user, nil
}

// RecoverWithLink uses a recovery link for the signed-in user, once, and
// resumes its point as Recover does.
func (s *Service) RecoverWithLink(ctx context.Context, r *http.Request, token string) (string, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return "", ErrNoSession
	}
	user, err := s.RecoveryLinkUser(ctx, token)
	if err != nil {
		return "", err
	}
	if user != cur.User {
		s.log.WarnContext(ctx, "recovery link refused: another user", slog.String("user", cur.User), slog.String("link_user", user))
		return "", ErrRecoveryNotYours
	}
	sid, _, ok, err := s.st.UseRecoveryLink(ctx, tokenHash(token), s.now())
	switch {
	case err != nil:
		return "", s.unavailable("use recovery link", err)
	case !ok:
		return "", ErrRecoveryUnavailable
	}
	return s.Recover(ctx, r, sid)
}

// SaveRecoveryPoint keeps a snapshot of each versioned category of a live
// session as it is now (user_data, analysis_data, preferences: the ones
// that matter), for an admin about to do something risky to it or its user.
// Each snapshot shows in the session's state history and can be restored; the
// session, once ended, is a recovery point with that state as usual. It
// returns how many categories were saved and is audited.
func (s *Service) SaveRecoveryPoint(ctx context.Context, sid, actor string) (int, error) {
	var saved int
	err := s.audited(ctx, actor, "recovery_point", sid, "", func() (int, error) {
		st, _, err := s.st.GetState(ctx, sid)
		if err != nil {
			return 0, s.unavailable("read state", err)
		}
		if _, ok, err := s.st.Get(ctx, sid, s.now()); err != nil {
			return 0, s.unavailable("read session", err)
		} else if !ok {
			return 0, fmt.Errorf("%w: %s", ErrNotFound, sid)
		}
		for _, cat := range store.Categories {
			c, ok := st.Categories[cat]
			if !snapshotted[cat] || !ok || c.Version == 0 {
				continue
			}
			// An update that changes nothing but keeps a snapshot of what
			// is there; at the version read, so it captures exactly that.
			u := store.StateUpdate{Category: cat, Set: map[string][]byte{}, Expect: c.Version,
				Snapshots: max(s.cfg.Session.Snapshots, 1), Limit: s.cfg.Session.MaxStateBytes(), Now: s.now()}
			_, err := s.writeState(ctx, sid, u)
			if errors.Is(err, ErrVersionConflict) {
				// Written meanwhile: that write kept a snapshot already.
				err = nil
			}
			if err != nil {
				return saved, err
			}
			saved++
		}
		return saved, nil
	})
	return saved, err
}
