package sqlite

import (
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// zeroMilli is time.Time{} in unix milliseconds, so a zero time survives the
// round trip as a zero time.
var zeroMilli = time.Time{}.UnixMilli()

// ms is the stored form of a time.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS turns a stored time back into a time.Time (in UTC).
func fromMS(v int64) time.Time {
	if v == zeroMilli {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// deadlineMS is Record.Deadline in milliseconds, computed on the stored
// values so that the column agrees with the times it is derived from.
func deadlineMS(expiresAt, idleAt, lifetimeAt int64) int64 {
	return min(expiresAt, idleAt, lifetimeAt)
}

// recordArgs are the values of recordCols for rec.
func recordArgs(rec store.Record) []any {
	return []any{
		rec.SID, rec.TokenHash, rec.User, rec.Role, ms(rec.CreatedAt), ms(rec.AuthenticatedAt),
		ms(rec.LastActivity), ms(rec.ExpiresAt), ms(rec.IdleAt), ms(rec.LifetimeAt),
		rec.FirstIP, rec.LastIP, rec.FirstUserAgent, rec.LastUserAgent, rec.IPChanged, rec.UAChanged,
		rec.Device, rec.Fingerprint, rec.Path, rec.Processing, rec.Progress, rec.StateVersion,
		rec.RecoveredFrom,
	}
}

// recordScan receives recordCols from a row.
type recordScan struct {
	rec                                                           store.Record
	created, authenticated, activity, expires, idleAt, lifetimeAt int64
}

// dest returns the scan destinations of recordCols.
func (r *recordScan) dest() []any {
	x := &r.rec
	return []any{
		&x.SID, &x.TokenHash, &x.User, &x.Role, &r.created, &r.authenticated,
		&r.activity, &r.expires, &r.idleAt, &r.lifetimeAt,
		&x.FirstIP, &x.LastIP, &x.FirstUserAgent, &x.LastUserAgent, &x.IPChanged, &x.UAChanged,
		&x.Device, &x.Fingerprint, &x.Path, &x.Processing, &x.Progress, &x.StateVersion,
		&x.RecoveredFrom,
	}
}

// record returns the scanned record.
func (r *recordScan) record() store.Record {
	rec := r.rec
	rec.CreatedAt = fromMS(r.created)
	rec.AuthenticatedAt = fromMS(r.authenticated)
	rec.LastActivity = fromMS(r.activity)
	rec.ExpiresAt = fromMS(r.expires)
	rec.IdleAt = fromMS(r.idleAt)
	rec.LifetimeAt = fromMS(r.lifetimeAt)
	return rec
}

// endedScan receives recordCols followed by endedCols.
type endedScan struct {
	recordScan
	blob   []byte
	t      store.Tombstone
	reason string
	at     int64
}

func (e *endedScan) dest() []any {
	return append(e.recordScan.dest(),
		&e.blob, &e.t.SID, &e.t.TokenHash, &e.t.User, &e.reason, &e.t.Actor, &e.t.Note, &e.at)
}

func (e *endedScan) ended() store.EndedSession {
	t := e.t
	t.Reason = store.Reason(e.reason)
	t.At = fromMS(e.at)
	return store.EndedSession{Record: e.record(), Blob: e.blob, Tombstone: t}
}

// endedArgs are the values of recordCols and endedCols for e.
func endedArgs(e store.EndedSession) []any {
	t := e.Tombstone
	return append(recordArgs(e.Record),
		e.Blob, t.SID, t.TokenHash, t.User, string(t.Reason), t.Actor, t.Note, ms(t.At))
}
