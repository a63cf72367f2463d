package storetest_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// TestMemStore runs the suite against a naive in-memory reference store, which
// checks the suite itself: a simple, obviously right store must pass it.
func TestMemStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMem() })
}

type memLease struct {
	holder string
	until  time.Time
}

type memFail struct {
	n    int
	last time.Time
	exp  time.Time
}

// memEnded is one entry of the ended holding area with its recovery point.
type memEnded struct {
	store.EndedSession
	readyAt time.Time            // when cleanup may take it
	point   *store.RecoveryPoint // nil for a logout
	claimed bool
	// recoverUntil is the end of the recovery window, zero when the session
	// was no recovery point (logout, or keep 0).
	recoverUntil time.Time
}

// memArchive is what ListEnded needs of an archived session beside the
// archive itself.
type memArchive struct {
	retainUntil  time.Time
	recoverUntil time.Time
	claimed      bool
}

// memState is one session's state and snapshots.
type memState struct {
	doc   store.StateDoc
	snaps map[string][]store.Snapshot // newest first
}

type memLink struct {
	sid, user string
	expires   time.Time
	used      bool
}

// mem is a reference store: one mutex around maps, every query a full scan.
type mem struct {
	mu       sync.Mutex
	blobs    map[string][]byte
	recs     map[string]store.Record
	tombs    map[string]store.Tombstone
	ended    []*memEnded // in end order
	archived map[string]store.Archived
	archMeta map[string]memArchive
	states   map[string]*memState
	links    map[string]*memLink
	prefs    map[string][]byte
	fails    map[string]memFail
	leases   map[string]memLease
	disabled map[string]bool
	an       memAnalytics
	previews map[string]memPreview
}

func newMem() *mem {
	return &mem{
		blobs: map[string][]byte{}, recs: map[string]store.Record{}, tombs: map[string]store.Tombstone{},
		archived: map[string]store.Archived{}, archMeta: map[string]memArchive{}, states: map[string]*memState{}, links: map[string]*memLink{},
		prefs: map[string][]byte{}, fails: map[string]memFail{}, leases: map[string]memLease{},
		previews: map[string]memPreview{},
		disabled: map[string]bool{},
	}
}

func (m *mem) FindCtx(_ context.Context, h string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[h]
	return slices.Clone(b), ok, nil
}

func (m *mem) CommitCtx(ctx context.Context, h string, b []byte, _ time.Time) error {
	info, ok := store.CommitFrom(ctx)
	if !ok {
		return store.ErrNoCommitInfo
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[info.SID]
	if !ok || r.TokenHash != h {
		return store.ErrSessionGone
	}
	if t := info.Touch; t != nil {
		r.LastActivity, r.ExpiresAt, r.IdleAt, r.Path = t.LastActivity, t.ExpiresAt, t.IdleAt, t.Path
		r.LastIP, r.LastUserAgent = t.IP, t.UserAgent
		r.IPChanged = r.IPChanged || r.LastIP != r.FirstIP
		r.UAChanged = r.UAChanged || r.LastUserAgent != r.FirstUserAgent
		m.recs[r.SID] = r
	}
	m.blobs[h] = slices.Clone(b)
	return nil
}

func (m *mem) DeleteCtx(_ context.Context, h string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, h)
	return nil
}

func (m *mem) Find(h string) ([]byte, bool, error) { return m.FindCtx(context.Background(), h) }
func (m *mem) Commit(h string, b []byte, e time.Time) error {
	return m.CommitCtx(context.Background(), h, b, e)
}
func (m *mem) Delete(h string) error { return m.DeleteCtx(context.Background(), h) }

func (m *mem) Create(_ context.Context, rec store.Record, max int, now time.Time, keep time.Duration) ([]store.Tombstone, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ended []store.Tombstone
	var live []store.Record
	for _, r := range m.recs {
		if r.User != rec.User {
			continue
		}
		if reason := r.DueReason(now); reason != "" {
			ended = append(ended, m.end(r.SID, store.Tombstone{SID: r.SID, Reason: reason, Actor: "system", At: now}, keep))
			continue
		}
		live = append(live, r)
	}
	slices.SortFunc(live, func(a, b store.Record) int {
		return cmp.Or(a.LastActivity.Compare(b.LastActivity), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.SID, b.SID))
	})
	for len(live) >= max {
		ended = append(ended, m.end(live[0].SID, store.Tombstone{SID: live[0].SID, Reason: store.ReasonEvicted, Actor: "system", At: now}, keep))
		live = live[1:]
	}
	m.recs[rec.SID] = rec
	return ended, nil
}

func live(r store.Record, now time.Time) bool { return r.Deadline().After(now) }

func (m *mem) Get(_ context.Context, sid string, now time.Time) (store.Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[sid]
	if !ok || !live(r, now) {
		return store.Record{}, false, nil
	}
	return r, true, nil
}

func (m *mem) List(_ context.Context, q store.Query, now time.Time) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	var cs int64
	var csid string
	if q.Cursor != "" {
		if cs, csid, err = store.DecodeCursor(q.Cursor); err != nil {
			return store.Page{}, fmt.Errorf("mem: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Record
	for _, r := range m.recs {
		f := q.Filter
		if !live(r, now) || (f.User != "" && r.User != f.User) || (f.Role != "" && r.Role != f.Role) ||
			(f.IP != "" && r.LastIP != f.IP && r.FirstIP != f.IP) {
			continue
		}
		all = append(all, r)
	}
	dir := -1
	if q.Sort == store.SortDeadline {
		dir = 1
	}
	key := func(score int64, sid string, r store.Record) int {
		return dir * cmp.Or(cmp.Compare(store.Score(r, q.Sort), score), cmp.Compare(r.SID, sid))
	}
	slices.SortFunc(all, func(a, b store.Record) int { return key(store.Score(b, q.Sort), b.SID, a) })
	page := store.Page{Total: len(all)}
	rest := all
	if q.Cursor != "" {
		i := slices.IndexFunc(all, func(r store.Record) bool { return key(cs, csid, r) > 0 })
		if i < 0 {
			i = len(all)
		}
		rest = all[i:]
	}
	if len(rest) > q.Limit {
		page.Records = rest[:q.Limit]
		last := page.Records[q.Limit-1]
		page.Next = store.EncodeCursor(store.Score(last, q.Sort), last.SID)
	} else {
		page.Records = rest
	}
	return page, nil
}

func (m *mem) Rekey(_ context.Context, sid, oldHash, newHash, role string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[sid]
	if !ok || r.TokenHash != oldHash || !live(r, now) {
		return store.ErrSessionGone
	}
	delete(m.blobs, oldHash)
	r.TokenHash, r.Role = newHash, role
	m.recs[sid] = r
	return nil
}

func (m *mem) end(sid string, t store.Tombstone, keep time.Duration) store.Tombstone {
	r := m.recs[sid]
	t.SID, t.TokenHash, t.User = sid, r.TokenHash, r.User
	m.tombs[r.TokenHash] = t
	e := &memEnded{EndedSession: store.EndedSession{Record: r, Blob: m.blobs[r.TokenHash], Tombstone: t}, readyAt: t.At}
	if t.Reason != store.ReasonLogout {
		e.readyAt = t.At.Add(keep)
		e.point = &store.RecoveryPoint{SID: sid, User: r.User, Reason: t.Reason, EndedAt: t.At, ExpiresAt: t.At.Add(keep), Record: r}
		if keep > 0 {
			e.recoverUntil = t.At.Add(keep)
		}
	}
	m.ended = append(m.ended, e)
	delete(m.blobs, r.TokenHash)
	delete(m.recs, sid)
	return t
}

func (m *mem) End(_ context.Context, sid string, t store.Tombstone, keep time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[sid]; !ok {
		return false, nil
	}
	m.end(sid, t, keep)
	return true, nil
}

func (m *mem) EndMany(ctx context.Context, sids []string, t store.Tombstone, keep time.Duration) (int, error) {
	n := 0
	for _, sid := range sids {
		ok, _ := m.End(ctx, sid, t, keep)
		if ok {
			n++
		}
	}
	return n, nil
}

func (m *mem) EndUser(ctx context.Context, user string, except []string, t store.Tombstone, keep time.Duration) (int, error) {
	m.mu.Lock()
	var todo []string
	for sid, r := range m.recs {
		if r.User == user && !slices.Contains(except, sid) {
			todo = append(todo, sid)
		}
	}
	m.mu.Unlock()
	return m.EndMany(ctx, todo, t, keep)
}

func (m *mem) Tombstone(_ context.Context, h string) (store.Tombstone, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tombs[h]
	return t, ok, nil
}

func (m *mem) Due(_ context.Context, now time.Time, limit int) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []store.Record
	for _, r := range m.recs {
		if !live(r, now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b store.Record) int {
		return cmp.Or(a.Deadline().Compare(b.Deadline()), cmp.Compare(a.SID, b.SID))
	})
	return due[:min(limit, len(due))], nil
}

func (m *mem) Ended(_ context.Context, now time.Time, limit int) ([]store.EndedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.EndedSession
	for _, e := range m.ended {
		if len(out) == limit {
			break
		}
		if e.claimed || !now.Before(e.readyAt) {
			x := e.EndedSession
			x.State = m.stateOf(x.Record.SID)
			out = append(out, x)
		}
	}
	return out, nil
}

// drop removes sid's ended entry, state and snapshots (and so its recovery point).
func (m *mem) drop(sid string) {
	m.ended = slices.DeleteFunc(m.ended, func(x *memEnded) bool { return x.Record.SID == sid })
	delete(m.states, sid)
}

func (m *mem) Archive(_ context.Context, e store.EndedSession, now time.Time, retention time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.State = cloneDoc(e.State)
	e.Files = slices.Clone(e.Files)
	sid := e.Record.SID
	m.archived[sid] = store.Archived{EndedSession: e, ArchivedAt: now}
	meta := m.archMeta[sid] // archiving again keeps what the ended entry told
	if x := m.endedEntry(sid); x != nil {
		meta.recoverUntil, meta.claimed = x.recoverUntil, x.claimed
	}
	meta.retainUntil = now.Add(retention)
	m.archMeta[sid] = meta
	m.drop(sid)
	return nil
}

// ListEnded collects every held and archived session, filters, sorts and
// cuts the page: the obvious way.
func (m *mem) ListEnded(_ context.Context, q store.EndedQuery, now time.Time) (store.EndedPage, error) {
	q, err := store.NormalizeEndedQuery(q)
	if err != nil {
		return store.EndedPage{}, err
	}
	var cAt int64
	var cSID string
	if q.Cursor != "" {
		if cAt, cSID, err = store.DecodeCursor(q.Cursor); err != nil {
			return store.EndedPage{}, fmt.Errorf("mem: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.EndedEntry
	for _, e := range m.ended {
		all = append(all, store.EndedEntry{Record: e.Record, Tombstone: e.Tombstone, RecoverUntil: e.recoverUntil, Claimed: e.claimed})
	}
	for sid, a := range m.archived {
		meta := m.archMeta[sid]
		if !now.Before(meta.retainUntil) {
			continue
		}
		all = append(all, store.EndedEntry{Record: a.Record, Tombstone: a.Tombstone, Archived: true, ArchivedAt: a.ArchivedAt,
			RecoverUntil: meta.recoverUntil, Claimed: meta.claimed})
	}
	all = slices.DeleteFunc(all, func(e store.EndedEntry) bool {
		return (q.User != "" && e.Tombstone.User != q.User) || (q.Reason != "" && e.Tombstone.Reason != q.Reason) ||
			(q.Recoverable && e.RecoverUntil.IsZero())
	})
	key := func(e store.EndedEntry) (int64, string) { return e.Tombstone.At.UnixMilli(), e.Record.SID }
	slices.SortFunc(all, func(a, b store.EndedEntry) int {
		aAt, aSID := key(a)
		bAt, bSID := key(b)
		return cmp.Or(cmp.Compare(bAt, aAt), cmp.Compare(bSID, aSID))
	})
	page := store.EndedPage{Total: len(all)}
	rest := all
	if q.Cursor != "" {
		i := slices.IndexFunc(all, func(e store.EndedEntry) bool {
			at, sid := key(e)
			return at < cAt || (at == cAt && sid < cSID)
		})
		if i < 0 {
			i = len(all)
		}
		rest = all[i:]
	}
	if len(rest) > q.Limit {
		page.Entries = rest[:q.Limit]
		at, sid := key(page.Entries[q.Limit-1])
		page.Next = store.EncodeCursor(at, sid)
	} else {
		page.Entries = rest
	}
	return page, nil
}

func (m *mem) Purge(_ context.Context, sid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop(sid)
	return nil
}

func (m *mem) Archived(_ context.Context, sid string) (store.Archived, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.archived[sid]
	a.State = cloneDoc(a.State)
	return a, ok, nil
}

func (m *mem) SetProcessing(_ context.Context, sid, status string, progress int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[sid]
	if !ok {
		return store.ErrSessionGone
	}
	r.Processing, r.Progress = status, progress
	m.recs[sid] = r
	return nil
}

func cloneValues(v map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(v))
	for k, b := range v {
		out[k] = slices.Clone(b)
	}
	return out
}

func cloneDoc(d store.StateDoc) store.StateDoc {
	if d.Categories == nil {
		return d
	}
	cats := make(map[string]store.CategoryDoc, len(d.Categories))
	for c, cd := range d.Categories {
		cats[c] = store.CategoryDoc{Values: cloneValues(cd.Values), Version: cd.Version}
	}
	d.Categories = cats
	return d
}

// stateOf returns a copy of sid's state, empty if it has none.
func (m *mem) stateOf(sid string) store.StateDoc {
	if st, ok := m.states[sid]; ok {
		return cloneDoc(st.doc)
	}
	return store.StateDoc{}
}

func (m *mem) endedEntry(sid string) *memEnded {
	for _, e := range m.ended {
		if e.Record.SID == sid {
			return e
		}
	}
	return nil
}

func (m *mem) GetState(_ context.Context, sid string) (store.StateDoc, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[sid]; !ok && m.endedEntry(sid) == nil {
		return store.StateDoc{}, false, nil
	}
	return m.stateOf(sid), true, nil
}

func (m *mem) UpdateState(_ context.Context, sid string, u store.StateUpdate) (store.StateVersions, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[sid]
	if !ok || !live(r, u.Now) {
		return store.StateVersions{}, store.ErrSessionGone
	}
	st, ok := m.states[sid]
	if !ok {
		st = &memState{doc: store.StateDoc{Categories: map[string]store.CategoryDoc{}}, snaps: map[string][]store.Snapshot{}}
	}
	old := st.doc.Categories[u.Category]
	if u.Expect != -1 && u.Expect != old.Version {
		return store.StateVersions{}, store.ErrVersionConflict
	}
	size := func(v map[string][]byte) (n int64) {
		for k, b := range v {
			n += int64(len(k) + len(b))
		}
		return n
	}
	vals := cloneValues(old.Values)
	if u.Replace {
		vals = map[string][]byte{}
	}
	for _, k := range u.Delete {
		delete(vals, k)
	}
	for k, b := range u.Set {
		vals[k] = slices.Clone(b)
	}
	bytes := st.doc.Bytes - size(old.Values) + size(vals)
	if u.Limit > 0 && bytes > u.Limit {
		return store.StateVersions{}, store.ErrStateTooLarge
	}
	if u.Snapshots > 0 && old.Version > 0 {
		snap := store.Snapshot{Version: old.Version, At: u.Now, Values: cloneValues(old.Values)}
		list := append([]store.Snapshot{snap}, st.snaps[u.Category]...)
		st.snaps[u.Category] = list[:min(len(list), u.Snapshots)]
	}
	st.doc.Categories[u.Category] = store.CategoryDoc{Values: vals, Version: old.Version + 1}
	st.doc.Version++
	st.doc.LastModified = u.Now
	st.doc.Bytes = bytes
	m.states[sid] = st
	r.StateVersion = st.doc.Version
	m.recs[sid] = r
	return store.StateVersions{Category: old.Version + 1, State: st.doc.Version, LastModified: u.Now}, nil
}

func (m *mem) Snapshots(_ context.Context, sid, category string) ([]store.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[sid]
	if !ok {
		return nil, nil
	}
	var out []store.Snapshot
	for _, s := range st.snaps[category] {
		s.Values = cloneValues(s.Values)
		out = append(out, s)
	}
	return out, nil
}

func (m *mem) RecoveryPoints(_ context.Context, user string, now time.Time) ([]store.RecoveryPoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.RecoveryPoint
	for _, e := range m.ended {
		if p := e.point; p != nil && p.User == user && !e.claimed && now.Before(p.ExpiresAt) {
			out = append(out, *p)
		}
	}
	slices.SortStableFunc(out, func(a, b store.RecoveryPoint) int { return b.EndedAt.Compare(a.EndedAt) })
	return out, nil
}

func (m *mem) ClaimRecovery(_ context.Context, sid, user string, now time.Time) (store.RecoveryPoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.endedEntry(sid)
	if e == nil || e.point == nil || e.point.User != user || e.claimed || !now.Before(e.point.ExpiresAt) {
		return store.RecoveryPoint{}, false, nil
	}
	e.claimed = true
	return *e.point, true, nil
}

func (m *mem) SaveRecoveryLink(_ context.Context, h, sid, user string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.links[h] = &memLink{sid: sid, user: user, expires: expires}
	return nil
}

func (m *mem) RecoveryLink(_ context.Context, h string, now time.Time) (string, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[h]
	if !ok || l.used || !now.Before(l.expires) {
		return "", "", false, nil
	}
	return l.sid, l.user, true, nil
}

func (m *mem) UseRecoveryLink(_ context.Context, h string, now time.Time) (string, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[h]
	if !ok || l.used || !now.Before(l.expires) {
		return "", "", false, nil
	}
	l.used = true
	return l.sid, l.user, true, nil
}

func (m *mem) SaveUserPrefs(_ context.Context, user string, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prefs[user] = slices.Clone(b)
	return nil
}

func (m *mem) UserPrefs(_ context.Context, user string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.prefs[user]
	return slices.Clone(b), ok, nil
}

func (m *mem) Fail(_ context.Context, key string, now time.Time, window time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fails[key]
	if !now.Before(f.exp) {
		f = memFail{}
	}
	f.n++
	f.last, f.exp = now, now.Add(window)
	m.fails[key] = f
	return f.n, nil
}

func (m *mem) Failures(_ context.Context, key string) (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fails[key]
	return f.n, f.last, nil
}

func (m *mem) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.fails, key)
	return nil
}

func (m *mem) Acquire(_ context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

func (m *mem) Release(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leases[name].holder == holder {
		delete(m.leases, name)
	}
	return nil
}

func (m *mem) Holder(_ context.Context, name string, now time.Time) (string, time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok || !now.Before(l.until) {
		return "", time.Time{}, false, nil
	}
	return l.holder, l.until, true, nil
}

func (m *mem) SetAccountDisabled(_ context.Context, user string, disabled bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if disabled {
		m.disabled[user] = true
	} else {
		delete(m.disabled, user)
	}
	return nil
}

func (m *mem) AccountDisabled(_ context.Context, user string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.disabled[user], nil
}

type memPreview struct {
	p     store.Preview
	until time.Time
}

func (m *mem) SavePreview(_ context.Context, id string, p store.Preview, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.SIDs, p.Users = slices.Clone(p.SIDs), slices.Clone(p.Users)
	m.previews[id] = memPreview{p: p, until: p.CreatedAt.Add(ttl)}
	return nil
}

func (m *mem) Preview(_ context.Context, id string, now time.Time) (store.Preview, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.previews[id]
	if !ok || !now.Before(v.until) {
		return store.Preview{}, false, nil
	}
	p := v.p
	p.SIDs, p.Users = slices.Clone(p.SIDs), slices.Clone(p.Users)
	return p, true, nil
}

func (m *mem) Ping(context.Context) error { return nil }
func (m *mem) Close() error               { return nil }

// memAnalytics is the reference analytics: retention is measured on the real
// clock, as Redis TTLs are.
type memAnalytics struct {
	timelines map[string]*memTimeline
	days      map[string]*memDay
	hours     map[string]*memHour
	audit     []*memAudit // in append order
	seq       int
}

type memTimeline struct {
	events   []store.Event // newest first
	counters store.SessionCounters
	exp      time.Time
}

type memDay struct {
	store.DayStats
	users map[string]bool
	exp   time.Time
}

type memHour struct {
	store.HourStats
	exp time.Time
}

type memAudit struct {
	store.AuditEntry
	exp time.Time
}

func (m *mem) analytics() *memAnalytics {
	a := &m.an
	if a.timelines == nil {
		a.timelines, a.days, a.hours = map[string]*memTimeline{}, map[string]*memDay{}, map[string]*memHour{}
	}
	return a
}

// bucketExp is when a day or hour bucket expires: retention after its day,
// from the real now (the store only sees the keys).
func bucketExp(retention time.Duration) time.Time {
	return time.Now().Add(retention + 24*time.Hour)
}

func (a *memAnalytics) day(d string) *memDay {
	x, ok := a.days[d]
	if !ok || !time.Now().Before(x.exp) {
		x = &memDay{DayStats: store.DayStats{Day: d}, users: map[string]bool{}}
		a.days[d] = x
	}
	return x
}

func (a *memAnalytics) hour(h string) *memHour {
	x, ok := a.hours[h]
	if !ok || !time.Now().Before(x.exp) {
		x = &memHour{HourStats: store.HourStats{Hour: h}}
		a.hours[h] = x
	}
	return x
}

func (a *memAnalytics) timeline(sid string) (*memTimeline, bool) {
	tl, ok := a.timelines[sid]
	if !ok || !time.Now().Before(tl.exp) {
		return nil, false
	}
	return tl, true
}

func (m *mem) AppendEvents(_ context.Context, events []store.Event, retention time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.analytics()
	for _, e := range events {
		e.Data = maps.Clone(e.Data)
		tl, ok := a.timeline(e.SID)
		if !ok {
			tl = &memTimeline{}
			a.timelines[e.SID] = tl
		}
		tl.exp = time.Now().Add(retention)
		tl.events = append([]store.Event{e}, tl.events...)
		c := &tl.counters
		if len(tl.events) > store.TimelineCap {
			tl.events = tl.events[:store.TimelineCap]
			c.Dropped++
		}
		c.Events++
		if c.First.IsZero() {
			c.First = e.At
		}
		c.Last = e.At
		d, h := a.day(e.Day), a.hour(e.Hour)
		d.exp, h.exp = bucketExp(retention), bucketExp(retention)
		switch e.Type {
		case store.EventPageView:
			c.PageViews++
			d.PageViews++
			h.PageViews++
		case store.EventAPICall:
			c.APICalls++
			d.APICalls++
		case store.EventFileUpload:
			c.Uploads++
		case store.EventAnalysisRun:
			c.Analyses++
			d.Analyses++
			h.Analyses++
			n, _ := strconv.ParseInt(e.Data["comments"], 10, 64)
			c.Comments += n
		}
	}
	return nil
}

func (m *mem) Timeline(_ context.Context, sid string, offset, limit int) ([]store.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tl, ok := m.analytics().timeline(sid)
	if !ok || offset >= len(tl.events) || limit <= 0 {
		return nil, nil
	}
	evs := tl.events[offset:min(len(tl.events), offset+limit)]
	out := make([]store.Event, len(evs))
	for i, e := range evs {
		e.Data = maps.Clone(e.Data)
		out[i] = e
	}
	return out, nil
}

func (m *mem) Counters(_ context.Context, sid string) (store.SessionCounters, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tl, ok := m.analytics().timeline(sid)
	if !ok {
		return store.SessionCounters{}, false, nil
	}
	return tl.counters, true, nil
}

func (m *mem) NoteStart(_ context.Context, user, day, hour string, now time.Time, retention time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, r := range m.recs {
		if live(r, now) {
			n++
		}
	}
	a := m.analytics()
	d, h := a.day(day), a.hour(hour)
	d.exp, h.exp = bucketExp(retention), bucketExp(retention)
	d.Created++
	h.Created++
	d.users[user] = true
	d.UniqueUsers = int64(len(d.users))
	d.PeakConcurrent = max(d.PeakConcurrent, n)
	h.PeakActive = max(h.PeakActive, n)
	return nil
}

func (m *mem) NoteEnd(_ context.Context, day string, duration time.Duration, retention time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.analytics().day(day)
	d.exp = bucketExp(retention)
	d.Ended++
	d.DurationSum += duration
	return nil
}

func (m *mem) Days(_ context.Context, days []string) ([]store.DayStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.analytics()
	out := make([]store.DayStats, len(days))
	for i, d := range days {
		out[i] = store.DayStats{Day: d}
		if x, ok := a.days[d]; ok && time.Now().Before(x.exp) {
			out[i] = x.DayStats
		}
	}
	return out, nil
}

func (m *mem) Hours(_ context.Context, hours []string) ([]store.HourStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.analytics()
	out := make([]store.HourStats, len(hours))
	for i, h := range hours {
		out[i] = store.HourStats{Hour: h}
		if x, ok := a.hours[h]; ok && time.Now().Before(x.exp) {
			out[i] = x.HourStats
		}
	}
	return out, nil
}

// auditID makes ids that sort by At, then by append order.
func auditID(at time.Time, seq int) string {
	return fmt.Sprintf("%016d-%010d", at.UnixMilli(), seq)
}

func (m *mem) AppendAudit(_ context.Context, e store.AuditEntry, retention time.Duration) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.analytics()
	a.seq++
	e.ID = auditID(e.At, a.seq)
	if e.Result == "" {
		e.Result = "pending"
	}
	a.audit = append(a.audit, &memAudit{AuditEntry: e, exp: time.Now().Add(retention)})
	return e.ID, nil
}

func (m *mem) CompleteAudit(_ context.Context, id, result string, affected int, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.analytics().audit {
		if x.ID == id && time.Now().Before(x.exp) {
			x.Result, x.Affected, x.CompletedAt = result, affected, at
		}
	}
	return nil
}

func (m *mem) QueryAudit(_ context.Context, q store.AuditQuery) (store.AuditPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.AuditEntry
	for _, x := range m.analytics().audit {
		e := x.AuditEntry
		if !time.Now().Before(x.exp) || (!q.From.IsZero() && e.At.Before(q.From)) || (!q.To.IsZero() && !e.At.Before(q.To)) ||
			(q.Actor != "" && e.Actor != q.Actor) || (q.Action != "" && e.Action != q.Action) || (q.Target != "" && e.Target != q.Target) {
			continue
		}
		if q.Cursor != "" && e.ID >= q.Cursor {
			continue
		}
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b store.AuditEntry) int { return cmp.Compare(b.ID, a.ID) })
	var p store.AuditPage
	if len(all) > q.Limit {
		all = all[:q.Limit]
		p.Next = all[q.Limit-1].ID
	}
	p.Entries = all
	return p, nil
}
