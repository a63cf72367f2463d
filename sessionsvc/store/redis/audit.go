package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Audit queries walk the index newest first and filter while walking (see
// scriptQueryAudit). A page costs O(log N + scanned): with no filter
// scanned is the page size; with a selective filter it is every entry in the
// time range down to the last match of the page. Each script call looks at
// no more than auditScanPerCall ids, so one call holds Redis for a few ms at
// most (about 5 µs per id on a loaded 2-core machine);
// a query makes at most auditMaxCalls calls and then returns what it found,
// possibly fewer than Limit entries, with a Next that resumes the walk where
// it stopped. A short page with a Next therefore means "keep paging", not
// "no more matches".
const (
	auditScanPerCall = 500
	auditMaxCalls    = 40
)

// auditIDLen is the length of the prefix of an id that holds its time: unix
// ms in 13 digits (until the year 2286).
const auditIDLen = 13

func (s *Store) auditKey(id string) string { return s.prefix + "au:" + id }

// auditMillis is t as the id's time prefix wants it: unix ms, never negative.
func auditMillis(t time.Time) int64 { return max(t.UnixMilli(), 0) }

// ceilMillis is the first whole millisecond at or after t, so that an entry
// stored at ms precision is in [From, To) exactly when its ms is in
// [ceil(From), ceil(To)).
func ceilMillis(t time.Time) int64 {
	ms := auditMillis(t)
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// AppendAudit writes the entry with one script call, which also assigns the
// id and prunes expired ids from the index. An entry without a time is
// stamped with the real now.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry, retention time.Duration) (string, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Result == "" {
		e.Result = "pending"
	}
	id, err := redigo.String(s.run(ctx, scriptAppendAudit,
		auditMillis(e.At), max(retention.Milliseconds(), 1), time.Now().UnixMilli(),
		e.Actor, e.ActorIP, e.Action, e.Target, e.Reason, e.Result, e.Affected, millis(e.CompletedAt)))
	if err != nil {
		return "", fmt.Errorf("redis: append audit %s by %s: %w", e.Action, e.Actor, err)
	}
	return id, nil
}

// CompleteAudit writes the outcome with one script call, only if the entry
// still exists.
func (s *Store) CompleteAudit(ctx context.Context, id, result string, affected int, at time.Time) error {
	if _, err := s.run(ctx, scriptCompleteAudit, id, result, affected, millis(at)); err != nil {
		return fmt.Errorf("redis: complete audit %s: %w", id, err)
	}
	return nil
}

// validAuditID reports whether id has the shape AppendAudit gives ids, so a
// cursor can be used as a bound of the index walk.
func validAuditID(id string) bool {
	if len(id) < auditIDLen+2 || id[auditIDLen] != '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if i != auditIDLen && (id[i] < '0' || id[i] > '9') {
			return false
		}
	}
	return true
}

// QueryAudit walks the index newest first (see the cost above). Next is set
// when more entries may match: after a full page, the id of its last entry.
func (s *Store) QueryAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	if q.Cursor != "" && !validAuditID(q.Cursor) {
		return store.AuditPage{}, fmt.Errorf("redis: query audit: %w", store.ErrBadCursor)
	}
	// Bounds of ZREVRANGEBYLEX: ids below the cursor and below To's
	// prefix (both exclusive; the lower of the two, as strings), at or
	// above From's prefix. An id "ms-seq" sorts after the bare "ms".
	hi, lo := "+", "-"
	if !q.To.IsZero() {
		hi = fmt.Sprintf("%0*d", auditIDLen, ceilMillis(q.To))
	}
	if q.Cursor != "" && (hi == "+" || q.Cursor < hi) {
		hi = q.Cursor
	}
	if hi != "+" {
		hi = "(" + hi
	}
	if !q.From.IsZero() {
		lo = fmt.Sprintf("[%0*d", auditIDLen, ceilMillis(q.From))
	}

	var page store.AuditPage
	want := q.Limit + 1 // one more than a page tells whether there is a next
	for call := 1; ; call++ {
		reply, err := redigo.Strings(s.run(ctx, scriptQueryAudit, hi, lo, q.Actor, q.Action, q.Target,
			want-len(page.Entries), auditScanPerCall))
		if err != nil {
			return store.AuditPage{}, fmt.Errorf("redis: query audit: %w", err)
		}
		resume := reply[0]
		per := 1 + len(auditFields)
		if (len(reply)-1)%per != 0 {
			return store.AuditPage{}, fmt.Errorf("redis: query audit: reply of %d parts", len(reply))
		}
		for i := 1; i < len(reply); i += per {
			e, err := decodeAudit(reply[i], reply[i+1:i+per])
			if err != nil {
				return store.AuditPage{}, fmt.Errorf("redis: query audit: entry %s: %w", reply[i], err)
			}
			page.Entries = append(page.Entries, e)
		}
		switch {
		case len(page.Entries) > q.Limit:
			page.Entries = page.Entries[:q.Limit]
			page.Next = page.Entries[q.Limit-1].ID
			return page, nil
		case resume == "":
			return page, nil
		case call == auditMaxCalls:
			page.Next = resume
			return page, nil
		}
		hi = "(" + resume
	}
}

// decodeAudit builds an entry from its id and its auditFields values.
func decodeAudit(id string, v []string) (store.AuditEntry, error) {
	num := func(i int) (int64, error) {
		if v[i] == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("field %s=%q: %w", auditFields[i], v[i], err)
		}
		return n, nil
	}
	at, err := num(0)
	if err != nil {
		return store.AuditEntry{}, err
	}
	affected, err := num(7)
	if err != nil {
		return store.AuditEntry{}, err
	}
	done, err := num(8)
	if err != nil {
		return store.AuditEntry{}, err
	}
	return store.AuditEntry{
		ID:          id,
		At:          fromMillis(at),
		Actor:       v[1],
		ActorIP:     v[2],
		Action:      v[3],
		Target:      v[4],
		Reason:      v[5],
		Result:      v[6],
		Affected:    int(affected),
		CompletedAt: fromMillis(done),
	}, nil
}
