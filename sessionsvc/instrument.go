package sessionsvc

// This file wraps every method of the store contract (but Ping, Close and
// scs's context-free variants) with a timer; written from the interfaces, it
// must follow them when they change (the compiler says so: instrumented must
// satisfy store.Store through its own methods for the ops below).

import (
	"context"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/metrics"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// instrumented times every store operation and counts its errors, by
// operation, for the store metrics.
type instrumented struct {
	store.Store
	m *metrics.Metrics
}

func (s instrumented) FindCtx(ctx context.Context, tokenHash string) ([]byte, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.FindCtx(ctx, tokenHash)
	s.m.ObserveStore("FindCtx", time.Since(start), err)
	return r0, r1, err
}

// FindWithState passes store.StateFinder through, when the store has it;
// state is nil when it does not.
func (s instrumented) FindWithState(ctx context.Context, tokenHash string) ([]byte, bool, *store.FoundState, error) {
	sf, ok := s.Store.(store.StateFinder)
	if !ok {
		b, found, err := s.FindCtx(ctx, tokenHash)
		return b, found, nil, err
	}
	start := time.Now()
	b, found, state, err := sf.FindWithState(ctx, tokenHash)
	s.m.ObserveStore("FindWithState", time.Since(start), err)
	return b, found, state, err
}

func (s instrumented) CommitCtx(ctx context.Context, tokenHash string, b []byte, expiry time.Time) error {
	start := time.Now()
	err := s.Store.CommitCtx(ctx, tokenHash, b, expiry)
	s.m.ObserveStore("CommitCtx", time.Since(start), err)
	return err
}

func (s instrumented) DeleteCtx(ctx context.Context, tokenHash string) error {
	start := time.Now()
	err := s.Store.DeleteCtx(ctx, tokenHash)
	s.m.ObserveStore("DeleteCtx", time.Since(start), err)
	return err
}

func (s instrumented) Create(ctx context.Context, rec store.Record, max int, now time.Time, keep time.Duration) ([]store.Tombstone, error) {
	start := time.Now()
	r0, err := s.Store.Create(ctx, rec, max, now, keep)
	s.m.ObserveStore("Create", time.Since(start), err)
	return r0, err
}

func (s instrumented) Get(ctx context.Context, sid string, now time.Time) (store.Record, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.Get(ctx, sid, now)
	s.m.ObserveStore("Get", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) List(ctx context.Context, q store.Query, now time.Time) (store.Page, error) {
	start := time.Now()
	r0, err := s.Store.List(ctx, q, now)
	s.m.ObserveStore("List", time.Since(start), err)
	return r0, err
}

func (s instrumented) Rekey(ctx context.Context, sid string, oldHash string, newHash string, role string, now time.Time) error {
	start := time.Now()
	err := s.Store.Rekey(ctx, sid, oldHash, newHash, role, now)
	s.m.ObserveStore("Rekey", time.Since(start), err)
	return err
}

func (s instrumented) End(ctx context.Context, sid string, t store.Tombstone, keep time.Duration) (bool, error) {
	start := time.Now()
	r0, err := s.Store.End(ctx, sid, t, keep)
	s.m.ObserveStore("End", time.Since(start), err)
	return r0, err
}

func (s instrumented) EndMany(ctx context.Context, sids []string, t store.Tombstone, keep time.Duration) (int, error) {
	start := time.Now()
	r0, err := s.Store.EndMany(ctx, sids, t, keep)
	s.m.ObserveStore("EndMany", time.Since(start), err)
	return r0, err
}

func (s instrumented) EndUser(ctx context.Context, user string, except []string, t store.Tombstone, keep time.Duration) (int, error) {
	start := time.Now()
	r0, err := s.Store.EndUser(ctx, user, except, t, keep)
	s.m.ObserveStore("EndUser", time.Since(start), err)
	return r0, err
}

func (s instrumented) Tombstone(ctx context.Context, tokenHash string) (store.Tombstone, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.Tombstone(ctx, tokenHash)
	s.m.ObserveStore("Tombstone", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) Due(ctx context.Context, now time.Time, limit int) ([]store.Record, error) {
	start := time.Now()
	r0, err := s.Store.Due(ctx, now, limit)
	s.m.ObserveStore("Due", time.Since(start), err)
	return r0, err
}

func (s instrumented) Ended(ctx context.Context, now time.Time, limit int) ([]store.EndedSession, error) {
	start := time.Now()
	r0, err := s.Store.Ended(ctx, now, limit)
	s.m.ObserveStore("Ended", time.Since(start), err)
	return r0, err
}

func (s instrumented) Archive(ctx context.Context, e store.EndedSession, now time.Time, retention time.Duration) error {
	start := time.Now()
	err := s.Store.Archive(ctx, e, now, retention)
	s.m.ObserveStore("Archive", time.Since(start), err)
	return err
}

func (s instrumented) Purge(ctx context.Context, sid string) error {
	start := time.Now()
	err := s.Store.Purge(ctx, sid)
	s.m.ObserveStore("Purge", time.Since(start), err)
	return err
}

func (s instrumented) Archived(ctx context.Context, sid string) (store.Archived, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.Archived(ctx, sid)
	s.m.ObserveStore("Archived", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) ListEnded(ctx context.Context, q store.EndedQuery, now time.Time) (store.EndedPage, error) {
	start := time.Now()
	r0, err := s.Store.ListEnded(ctx, q, now)
	s.m.ObserveStore("ListEnded", time.Since(start), err)
	return r0, err
}

func (s instrumented) SetProcessing(ctx context.Context, sid string, status string, progress int) error {
	start := time.Now()
	err := s.Store.SetProcessing(ctx, sid, status, progress)
	s.m.ObserveStore("SetProcessing", time.Since(start), err)
	return err
}

func (s instrumented) GetState(ctx context.Context, sid string) (store.StateDoc, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.GetState(ctx, sid)
	s.m.ObserveStore("GetState", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) UpdateState(ctx context.Context, sid string, u store.StateUpdate) (store.StateVersions, error) {
	start := time.Now()
	r0, err := s.Store.UpdateState(ctx, sid, u)
	s.m.ObserveStore("UpdateState", time.Since(start), err)
	return r0, err
}

func (s instrumented) Snapshots(ctx context.Context, sid string, category string) ([]store.Snapshot, error) {
	start := time.Now()
	r0, err := s.Store.Snapshots(ctx, sid, category)
	s.m.ObserveStore("Snapshots", time.Since(start), err)
	return r0, err
}

func (s instrumented) RecoveryPoints(ctx context.Context, user string, now time.Time) ([]store.RecoveryPoint, error) {
	start := time.Now()
	r0, err := s.Store.RecoveryPoints(ctx, user, now)
	s.m.ObserveStore("RecoveryPoints", time.Since(start), err)
	return r0, err
}

func (s instrumented) ClaimRecovery(ctx context.Context, sid string, user string, now time.Time) (store.RecoveryPoint, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.ClaimRecovery(ctx, sid, user, now)
	s.m.ObserveStore("ClaimRecovery", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) SaveRecoveryLink(ctx context.Context, tokenHash string, sid string, user string, expires time.Time) error {
	start := time.Now()
	err := s.Store.SaveRecoveryLink(ctx, tokenHash, sid, user, expires)
	s.m.ObserveStore("SaveRecoveryLink", time.Since(start), err)
	return err
}

func (s instrumented) RecoveryLink(ctx context.Context, tokenHash string, now time.Time) (string, string, bool, error) {
	start := time.Now()
	r0, r1, r2, err := s.Store.RecoveryLink(ctx, tokenHash, now)
	s.m.ObserveStore("RecoveryLink", time.Since(start), err)
	return r0, r1, r2, err
}

func (s instrumented) UseRecoveryLink(ctx context.Context, tokenHash string, now time.Time) (string, string, bool, error) {
	start := time.Now()
	r0, r1, r2, err := s.Store.UseRecoveryLink(ctx, tokenHash, now)
	s.m.ObserveStore("UseRecoveryLink", time.Since(start), err)
	return r0, r1, r2, err
}

func (s instrumented) SaveUserPrefs(ctx context.Context, user string, b []byte) error {
	start := time.Now()
	err := s.Store.SaveUserPrefs(ctx, user, b)
	s.m.ObserveStore("SaveUserPrefs", time.Since(start), err)
	return err
}

func (s instrumented) UserPrefs(ctx context.Context, user string) ([]byte, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.UserPrefs(ctx, user)
	s.m.ObserveStore("UserPrefs", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) Fail(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	start := time.Now()
	r0, err := s.Store.Fail(ctx, key, now, window)
	s.m.ObserveStore("Fail", time.Since(start), err)
	return r0, err
}

func (s instrumented) Failures(ctx context.Context, key string) (int, time.Time, error) {
	start := time.Now()
	r0, r1, err := s.Store.Failures(ctx, key)
	s.m.ObserveStore("Failures", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) Reset(ctx context.Context, key string) error {
	start := time.Now()
	err := s.Store.Reset(ctx, key)
	s.m.ObserveStore("Reset", time.Since(start), err)
	return err
}

func (s instrumented) Acquire(ctx context.Context, name string, holder string, ttl time.Duration, now time.Time) (bool, error) {
	start := time.Now()
	r0, err := s.Store.Acquire(ctx, name, holder, ttl, now)
	s.m.ObserveStore("Acquire", time.Since(start), err)
	return r0, err
}

func (s instrumented) Release(ctx context.Context, name string, holder string) error {
	start := time.Now()
	err := s.Store.Release(ctx, name, holder)
	s.m.ObserveStore("Release", time.Since(start), err)
	return err
}

func (s instrumented) Holder(ctx context.Context, name string, now time.Time) (string, time.Time, bool, error) {
	start := time.Now()
	r0, r1, r2, err := s.Store.Holder(ctx, name, now)
	s.m.ObserveStore("Holder", time.Since(start), err)
	return r0, r1, r2, err
}

func (s instrumented) SavePreview(ctx context.Context, id string, p store.Preview, ttl time.Duration) error {
	start := time.Now()
	err := s.Store.SavePreview(ctx, id, p, ttl)
	s.m.ObserveStore("SavePreview", time.Since(start), err)
	return err
}

func (s instrumented) Preview(ctx context.Context, id string, now time.Time) (store.Preview, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.Preview(ctx, id, now)
	s.m.ObserveStore("Preview", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) AppendEvents(ctx context.Context, events []store.Event, retention time.Duration) error {
	start := time.Now()
	err := s.Store.AppendEvents(ctx, events, retention)
	s.m.ObserveStore("AppendEvents", time.Since(start), err)
	return err
}

func (s instrumented) Timeline(ctx context.Context, sid string, offset int, limit int) ([]store.Event, error) {
	start := time.Now()
	r0, err := s.Store.Timeline(ctx, sid, offset, limit)
	s.m.ObserveStore("Timeline", time.Since(start), err)
	return r0, err
}

func (s instrumented) Counters(ctx context.Context, sid string) (store.SessionCounters, bool, error) {
	start := time.Now()
	r0, r1, err := s.Store.Counters(ctx, sid)
	s.m.ObserveStore("Counters", time.Since(start), err)
	return r0, r1, err
}

func (s instrumented) NoteStart(ctx context.Context, user string, day string, hour string, now time.Time, retention time.Duration) error {
	start := time.Now()
	err := s.Store.NoteStart(ctx, user, day, hour, now, retention)
	s.m.ObserveStore("NoteStart", time.Since(start), err)
	return err
}

func (s instrumented) NoteEnd(ctx context.Context, day string, duration time.Duration, retention time.Duration) error {
	start := time.Now()
	err := s.Store.NoteEnd(ctx, day, duration, retention)
	s.m.ObserveStore("NoteEnd", time.Since(start), err)
	return err
}

func (s instrumented) Days(ctx context.Context, days []string) ([]store.DayStats, error) {
	start := time.Now()
	r0, err := s.Store.Days(ctx, days)
	s.m.ObserveStore("Days", time.Since(start), err)
	return r0, err
}

func (s instrumented) Hours(ctx context.Context, hours []string) ([]store.HourStats, error) {
	start := time.Now()
	r0, err := s.Store.Hours(ctx, hours)
	s.m.ObserveStore("Hours", time.Since(start), err)
	return r0, err
}

func (s instrumented) AppendAudit(ctx context.Context, e store.AuditEntry, retention time.Duration) (string, error) {
	start := time.Now()
	r0, err := s.Store.AppendAudit(ctx, e, retention)
	s.m.ObserveStore("AppendAudit", time.Since(start), err)
	return r0, err
}

func (s instrumented) CompleteAudit(ctx context.Context, id string, result string, affected int, at time.Time) error {
	start := time.Now()
	err := s.Store.CompleteAudit(ctx, id, result, affected, at)
	s.m.ObserveStore("CompleteAudit", time.Since(start), err)
	return err
}

func (s instrumented) QueryAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	start := time.Now()
	r0, err := s.Store.QueryAudit(ctx, q)
	s.m.ObserveStore("QueryAudit", time.Since(start), err)
	return r0, err
}

func (s instrumented) SetAccountDisabled(ctx context.Context, user string, disabled bool) error {
	start := time.Now()
	err := s.Store.SetAccountDisabled(ctx, user, disabled)
	s.m.ObserveStore("SetAccountDisabled", time.Since(start), err)
	return err
}

func (s instrumented) AccountDisabled(ctx context.Context, user string) (bool, error) {
	start := time.Now()
	r0, err := s.Store.AccountDisabled(ctx, user)
	s.m.ObserveStore("AccountDisabled", time.Since(start), err)
	return r0, err
}
