package sessionsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// State errors callers branch on.
var (
	// ErrUnknownCategory refuses a category that is not one of the spec's five.
	ErrUnknownCategory = errors.New("sessionsvc: unknown state category")
	// ErrVersionConflict is a versioned update whose expected version is stale:
	// read again and retry.
	ErrVersionConflict = errors.New("sessionsvc: state changed since it was read")
	// ErrStateTooLarge is an update that would take the session's state past
	// session.max_state_kb.
	ErrStateTooLarge = errors.New("sessionsvc: session state too large")
	// ErrTampered is state that failed authentication or whose key is gone;
	// the session has been ended with reason security.
	ErrTampered = errors.New("sessionsvc: session state failed authentication")
)

// snapshotted are the categories whose updates keep a snapshot first; ui_state
// changes constantly and temporary_data is disposable.
var snapshotted = map[string]bool{store.CatUserData: true, store.CatAnalysisData: true, store.CatPreferences: true}

// Category is one category of a session's state, decrypted. Keys that were
// never written show their defaults with version 0.
type Category struct {
	Values  map[string]json.RawMessage
	Version int64
}

// State is a session's whole state, decrypted.
type State struct {
	Categories   map[string]Category
	Version      int64 // state_version
	LastModified time.Time
	Bytes        int64
}

// Versions are the versions after an update.
type Versions = store.StateVersions

// SnapshotInfo is a kept version of a category.
type SnapshotInfo struct {
	Version int64
	At      time.Time
	Values  map[string]json.RawMessage
}

// defaultState is the state of a new session as the spec has it; preferences
// start from the user's saved ones.
func defaultState(locale string) map[string]map[string]any {
	return map[string]map[string]any{
		store.CatUserData:     {"uploaded_files": []any{}, "analysis_history": []any{}},
		store.CatAnalysisData: {"current_dataset": nil, "results": nil, "processing_status": "idle"},
		store.CatUIState:      {"current_page": "upload", "expanded_sections": []any{}},
		store.CatPreferences: {"theme": "light", "locale": locale, "page_size": 25,
			"default_columns": []any{"comment", "sentiment", "themes", "rating", "city"}},
		store.CatTemporaryData: {},
	}
}

func checkCategory(cat string) error {
	if !store.ValidCategory(cat) {
		return fmt.Errorf("%w: %q", ErrUnknownCategory, cat)
	}
	return nil
}

// State returns a session's whole state with defaults for what was never
// written. It reads live sessions and ended ones not yet archived.
func (s *Service) State(ctx context.Context, sid string) (State, error) {
	var (
		doc store.StateDoc
		ok  bool
		err error
	)
	if fs, hit := prefetchFrom(ctx).take(sid); hit {
		doc, ok = fs.Doc, fs.Found
	} else {
		doc, ok, err = s.st.GetState(ctx, sid)
	}
	switch {
	case err != nil:
		return State{}, s.unavailable("get state", err)
	case !ok:
		return State{}, fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	return s.openState(ctx, sid, doc)
}

// openState decrypts a stored state doc and fills in defaults.
func (s *Service) openState(ctx context.Context, sid string, doc store.StateDoc) (State, error) {
	st := State{Categories: make(map[string]Category, len(store.Categories)), Version: doc.Version,
		LastModified: doc.LastModified, Bytes: doc.Bytes}
	defaults := defaultState("es-PY")
	for _, cat := range store.Categories {
		c := Category{Values: make(map[string]json.RawMessage)}
		for k, v := range defaults[cat] {
			b, _ := json.Marshal(v)
			c.Values[k] = b
		}
		if stored, ok := doc.Categories[cat]; ok {
			c.Version = stored.Version
			for k, sealed := range stored.Values {
				plain, err := s.openValue(sid, cat, k, sealed)
				if err != nil {
					return State{}, s.tampered(ctx, sid, fmt.Sprintf("state %s.%s", cat, k), err)
				}
				c.Values[k] = plain
			}
		}
		st.Categories[cat] = c
	}
	return st, nil
}

// StateCategory returns one category.
func (s *Service) StateCategory(ctx context.Context, sid, cat string) (Category, error) {
	if err := checkCategory(cat); err != nil {
		return Category{}, err
	}
	st, err := s.State(ctx, sid)
	if err != nil {
		return Category{}, err
	}
	return st.Categories[cat], nil
}

// StateValue returns one key of a category; found is false for a key that was
// never written and has no default.
func (s *Service) StateValue(ctx context.Context, sid, cat, key string) (json.RawMessage, bool, error) {
	c, err := s.StateCategory(ctx, sid, cat)
	if err != nil {
		return nil, false, err
	}
	v, ok := c.Values[key]
	return v, ok, nil
}

// SetStateValue writes one key unconditionally: concurrent writers of other
// keys of the same session never lose each other's writes.
func (s *Service) SetStateValue(ctx context.Context, sid, cat, key string, value any) (Versions, error) {
	return s.UpdateState(ctx, sid, cat, -1, map[string]any{key: value}, nil)
}

// UpdateState writes and deletes keys of one category atomically. With expect
// >= 0 it fails with ErrVersionConflict unless the category is still at that
// version (read, compute, write, retry on conflict); -1 writes unconditionally.
// Values are JSON-encoded and sealed for this session and category.
func (s *Service) UpdateState(ctx context.Context, sid, cat string, expect int64, set map[string]any, del []string) (Versions, error) {
	if err := checkCategory(cat); err != nil {
		return Versions{}, err
	}
	u := store.StateUpdate{Category: cat, Set: make(map[string][]byte, len(set)), Delete: del, Expect: expect,
		Limit: s.cfg.Session.MaxStateBytes(), Now: s.now()}
	if snapshotted[cat] {
		u.Snapshots = s.cfg.Session.Snapshots
	}
	for k, v := range set {
		if k == "" || len(k) > 256 {
			return Versions{}, fmt.Errorf("sessionsvc: state key %q: must be 1 to 256 bytes", k)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return Versions{}, fmt.Errorf("sessionsvc: state %s.%s: %w", cat, k, err)
		}
		if u.Set[k], err = s.sealValue(sid, cat, k, b); err != nil {
			return Versions{}, err
		}
	}
	return s.writeState(ctx, sid, u)
}

func (s *Service) writeState(ctx context.Context, sid string, u store.StateUpdate) (Versions, error) {
	prefetchFrom(ctx).drop()
	v, err := s.st.UpdateState(ctx, sid, u)
	switch {
	case errors.Is(err, store.ErrSessionGone):
		return Versions{}, fmt.Errorf("%w: %s", ErrNotFound, sid)
	case errors.Is(err, store.ErrVersionConflict):
		return Versions{}, ErrVersionConflict
	case errors.Is(err, store.ErrStateTooLarge):
		return Versions{}, fmt.Errorf("%w: the limit is %d KiB", ErrStateTooLarge, s.cfg.Session.MaxStateKB)
	case err != nil:
		return Versions{}, s.unavailable("update state", err)
	}
	if u.Category == store.CatPreferences {
		s.savePrefs(ctx, sid)
	}
	user := ""
	if cur, ok := s.Current(ctx); ok && cur.SID == sid {
		user = cur.User
	}
	s.Record(sid, user, store.EventStateChange, map[string]string{"category": u.Category, "version": strconv.FormatInt(v.Category, 10)})
	return v, nil
}

// savePrefs keeps the session's preferences as its user's, for their next
// sessions. A failure costs only that carry-over, so it is logged, not returned.
func (s *Service) savePrefs(ctx context.Context, sid string) {
	rec, ok, err := s.st.Get(ctx, sid, s.now())
	if err != nil || !ok {
		return
	}
	c, err := s.StateCategory(ctx, sid, store.CatPreferences)
	if err != nil {
		return
	}
	plain, _ := json.Marshal(c.Values)
	sealed, err := s.sealWith(plain, prefsAD(rec.User))
	if err == nil {
		err = s.st.SaveUserPrefs(ctx, rec.User, sealed)
	}
	if err != nil {
		s.log.WarnContext(ctx, "save user preferences", slog.String("user", rec.User), slog.String("error", err.Error()))
	}
}

// userPrefs returns the user's saved preferences, or nil.
func (s *Service) userPrefs(ctx context.Context, user string) map[string]json.RawMessage {
	b, ok, err := s.st.UserPrefs(ctx, user)
	if err != nil || !ok {
		return nil
	}
	plain, err := s.openWith(b, prefsAD(user))
	if err != nil {
		s.securityEvent(ctx, "user preferences failed authentication", slog.String("user", user))
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(plain, &m) != nil {
		return nil
	}
	return m
}

// Snapshots lists a category's kept versions, newest first.
func (s *Service) Snapshots(ctx context.Context, sid, cat string) ([]SnapshotInfo, error) {
	if err := checkCategory(cat); err != nil {
		return nil, err
	}
	snaps, err := s.st.Snapshots(ctx, sid, cat)
	if err != nil {
		return nil, s.unavailable("snapshots", err)
	}
	out := make([]SnapshotInfo, 0, len(snaps))
	for _, sn := range snaps {
		info := SnapshotInfo{Version: sn.Version, At: sn.At, Values: make(map[string]json.RawMessage, len(sn.Values))}
		for k, sealed := range sn.Values {
			plain, err := s.openValue(sid, cat, k, sealed)
			if err != nil {
				return nil, s.tampered(ctx, sid, fmt.Sprintf("snapshot %s.%s", cat, k), err)
			}
			info.Values[k] = plain
		}
		out = append(out, info)
	}
	return out, nil
}

// RestoreSnapshot puts a category back as it was at a snapshot's version. The
// restore is itself a new version (and keeps a snapshot of what it replaces).
func (s *Service) RestoreSnapshot(ctx context.Context, sid, cat string, version int64) (Versions, error) {
	snaps, err := s.Snapshots(ctx, sid, cat)
	if err != nil {
		return Versions{}, err
	}
	for _, sn := range snaps {
		if sn.Version != version {
			continue
		}
		u := store.StateUpdate{Category: cat, Set: make(map[string][]byte, len(sn.Values)), Replace: true, Expect: -1,
			Limit: s.cfg.Session.MaxStateBytes(), Now: s.now()}
		if snapshotted[cat] {
			u.Snapshots = s.cfg.Session.Snapshots
		}
		for k, v := range sn.Values {
			if u.Set[k], err = s.sealValue(sid, cat, k, v); err != nil {
				return Versions{}, err
			}
		}
		return s.writeState(ctx, sid, u)
	}
	return Versions{}, fmt.Errorf("%w: no snapshot %d of %s", ErrNotFound, version, cat)
}

// SetProcessing records a running analysis' status and progress in the
// registry, where the console reads it; it is not versioned state.
func (s *Service) SetProcessing(ctx context.Context, sid, status string, progress int) error {
	err := s.st.SetProcessing(ctx, sid, status, min(max(progress, 0), 100))
	switch {
	case errors.Is(err, store.ErrSessionGone):
		return fmt.Errorf("%w: %s", ErrNotFound, sid)
	case err != nil:
		return s.unavailable("set processing", err)
	}
	return nil
}

// initState writes what a new session starts with beyond the defaults: the
// context it was created in, and the user's saved preferences (or the locale
// its browser asked for). It returns, for the session's blob, the theme the
// user's saved preferences name ("" without any) and the session's locale.
func (s *Service) initState(ctx context.Context, sid, user string, c sessionContext) (theme, locale string, err error) {
	if _, err := s.UpdateState(ctx, sid, store.CatUserData, -1, map[string]any{"context": c}, nil); err != nil {
		return "", "", err
	}
	prefs := map[string]any{}
	for k, v := range defaultState(c.Locale)[store.CatPreferences] {
		prefs[k] = v
	}
	saved := s.userPrefs(ctx, user)
	for k, v := range saved {
		prefs[k] = v
	}
	if saved == nil {
		prefs["locale"] = c.Locale
	}
	u := store.StateUpdate{Category: store.CatPreferences, Set: map[string][]byte{}, Expect: -1, Limit: s.cfg.Session.MaxStateBytes(), Now: s.now()}
	for k, v := range prefs {
		b, err := json.Marshal(v)
		if err != nil {
			return "", "", err
		}
		if u.Set[k], err = s.sealValue(sid, store.CatPreferences, k, b); err != nil {
			return "", "", err
		}
	}
	prefetchFrom(ctx).drop()
	_, err = s.st.UpdateState(ctx, sid, u)
	if err != nil && !errors.Is(err, store.ErrSessionGone) {
		return "", "", s.unavailable("init state", err)
	}
	// The blob's theme comes from the user's saved preferences only: a user
	// who never saved any follows the browser's colour scheme rather than the
	// category's default. The locale is the session's preferences.locale.
	locale = localeOf(prefs["locale"])
	if locale == "" {
		locale = localeOf(c.Locale)
	}
	return themeOf(saved["theme"]), locale, nil
}

// sessionContext is the context record a session is created with.
type sessionContext struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Referrer  string `json:"referrer"`
	Locale    string `json:"locale"`
}

// copyState writes an ended session's state (less temporary_data) into a new
// session, re-sealed for the new sid.
func (s *Service) copyState(ctx context.Context, from, to string, st State) error {
	for _, cat := range store.Categories {
		if cat == store.CatTemporaryData {
			continue
		}
		c := st.Categories[cat]
		if c.Version == 0 {
			continue // never written: defaults apply
		}
		u := store.StateUpdate{Category: cat, Set: make(map[string][]byte, len(c.Values)), Replace: true, Expect: -1,
			Limit: s.cfg.Session.MaxStateBytes(), Now: s.now()}
		for k, v := range c.Values {
			b, err := s.sealValue(to, cat, k, v)
			if err != nil {
				return err
			}
			u.Set[k] = b
		}
		if _, err := s.writeState(ctx, to, u); err != nil {
			return fmt.Errorf("copy %s from %s: %w", cat, from, err)
		}
	}
	return nil
}

// ArchivedSession is an ended session kept by cleanup, decrypted for the console.
type ArchivedSession struct {
	Record     store.Record
	Tombstone  store.Tombstone
	State      State
	Files      []string
	ArchivedAt time.Time
}

// Archived returns an archived session with its final state.
func (s *Service) Archived(ctx context.Context, sid string) (ArchivedSession, error) {
	a, ok, err := s.st.Archived(ctx, sid)
	switch {
	case err != nil:
		return ArchivedSession{}, s.unavailable("archived session", err)
	case !ok:
		return ArchivedSession{}, fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	out := ArchivedSession{Record: a.Record, Tombstone: a.Tombstone, Files: a.Files, ArchivedAt: a.ArchivedAt}
	st := State{Categories: make(map[string]Category), Version: a.State.Version, LastModified: a.State.LastModified, Bytes: a.State.Bytes}
	for cat, c := range a.State.Categories {
		dc := Category{Values: make(map[string]json.RawMessage, len(c.Values)), Version: c.Version}
		for k, sealed := range c.Values {
			plain, err := s.openValue(sid, cat, k, sealed)
			if err != nil {
				// An archive cannot end a session any more; it is shown without the value.
				s.securityEvent(ctx, "archived state failed authentication", slog.String("sid", sid), slog.String("key", cat+"."+k))
				continue
			}
			dc.Values[k] = plain
		}
		st.Categories[cat] = dc
	}
	out.State = st
	return out, nil
}

// Files opens the signed-in session's file namespace: every file access of the
// session goes through it. The caller closes it.
func (s *Service) Files(ctx context.Context) (*files.Namespace, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return nil, ErrNoSession
	}
	if s.files == nil {
		return nil, errors.New("sessionsvc: no files_path configured")
	}
	return s.files.Namespace(cur.SID)
}
