package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Bounds on what one analytics write prunes, so that housekeeping never
// makes a flush or a login slow. A session costs up to TimelineCap event
// rows, hence the smaller batch; the flusher writes about once a second, so
// even the session bound removes some 180,000 expired sessions an hour.
const (
	pruneSessions = 50
	pruneBuckets  = 100
)

// trimSlack is how far past TimelineCap a session's rows may grow before
// a write trims them back to the cap. Timeline never reads past the cap,
// so the extra rows are invisible; trimming every 64th event instead of
// every event saves a delete per session in nearly every flush.
const trimSlack = 64

// expiryStep is the granularity of a session's expiry: it is rounded up to
// a whole minute, so that a busy session moves its entry in the expiry
// index once a minute rather than in every flush, and lives at most a
// minute longer than its retention.
const expiryStep = time.Minute

// Rows per multi-row statement of AppendEvents. A batch of n rows runs the
// statements of the binary digits of n (rowChunks), each prepared once, so
// 100 sessions cost 3 upserts, not 100: the fixed cost of a statement
// through database/sql is most of the cost of a small one.
var rowChunks = []int{64, 32, 16, 8, 4, 2, 1}

// bucketSlack is added to the end of a day or hour parsed from its key (as
// if it were UTC) so that the bucket outlives its end in any time zone the
// service may compute keys in (UTC-12 ends latest).
const bucketSlack = 14 * time.Hour

// The statements of the analytics writes, prepared once on the write
// connection (prepareAnalytics) like UpdateState's: a flush of 1,000 events
// runs over a thousand of them.
const (
	qCountersAddHead = `
INSERT INTO session_counters (sid, page_views, api_calls, uploads, analyses, comments, events, first_at, last_at, expires_at)
VALUES `
	qCountersAddTail = `
ON CONFLICT (sid) DO UPDATE SET
	page_views = session_counters.page_views + excluded.page_views,
	api_calls  = session_counters.api_calls + excluded.api_calls,
	uploads    = session_counters.uploads + excluded.uploads,
	analyses   = session_counters.analyses + excluded.analyses,
	comments   = session_counters.comments + excluded.comments,
	events     = session_counters.events + excluded.events,
	first_at   = min(session_counters.first_at, excluded.first_at),
	last_at    = max(session_counters.last_at, excluded.last_at),
	expires_at = max(session_counters.expires_at, excluded.expires_at)
RETURNING sid, events`
	qEventPutHead = "INSERT INTO events (sid, seq, at, type, username, data, day, hour) VALUES "
	qTimelineTrim = "DELETE FROM events WHERE sid = ? AND seq <= ?"
	qDayEvents    = `
INSERT INTO day_stats (day, analyses, page_views, api_calls, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (day) DO UPDATE SET
	analyses   = day_stats.analyses + excluded.analyses,
	page_views = day_stats.page_views + excluded.page_views,
	api_calls  = day_stats.api_calls + excluded.api_calls,
	expires_at = max(day_stats.expires_at, excluded.expires_at)`
	qHourEvents = `
INSERT INTO hour_stats (hour, analyses, page_views, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (hour) DO UPDATE SET
	analyses   = hour_stats.analyses + excluded.analyses,
	page_views = hour_stats.page_views + excluded.page_views,
	expires_at = max(hour_stats.expires_at, excluded.expires_at)`

	// The live count NoteStart raises the peaks to: the session counter
	// minus the sessions past their deadline that cleanup has not ended
	// yet, as List's total, so it costs O(log N + due) rather than a count
	// over every live session.
	qLiveCount = `
SELECT coalesce((SELECT n FROM counts WHERE k = ''), 0) -
	(SELECT count(*) FROM sessions INDEXED BY sessions_deadline WHERE deadline <= ?1)`
	qDayUser  = "INSERT INTO day_users (day, username, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
	qDayStart = `
INSERT INTO day_stats (day, created, users, peak, expires_at) VALUES (?1, 1, ?2, ?3, ?4)
ON CONFLICT (day) DO UPDATE SET
	created    = day_stats.created + 1,
	users      = day_stats.users + excluded.users,
	peak       = max(day_stats.peak, excluded.peak),
	expires_at = max(day_stats.expires_at, excluded.expires_at)`
	qHourStart = `
INSERT INTO hour_stats (hour, created, peak, expires_at) VALUES (?1, 1, ?2, ?3)
ON CONFLICT (hour) DO UPDATE SET
	created    = hour_stats.created + 1,
	peak       = max(hour_stats.peak, excluded.peak),
	expires_at = max(hour_stats.expires_at, excluded.expires_at)`
	qDayEnd = `
INSERT INTO day_stats (day, ended, duration_ns, expires_at) VALUES (?1, 1, ?2, ?3)
ON CONFLICT (day) DO UPDATE SET
	ended       = day_stats.ended + 1,
	duration_ns = day_stats.duration_ns + excluded.duration_ns,
	expires_at  = max(day_stats.expires_at, excluded.expires_at)`

	// Pruning: each removes at most a bound of rows expired by ?1.
	qPruneCounters = `
DELETE FROM session_counters WHERE sid IN (
	SELECT sid FROM session_counters INDEXED BY session_counters_expiry WHERE expires_at <= ?1 LIMIT ?2)
RETURNING sid`
	qPruneEvents = "DELETE FROM events WHERE sid = ?"
	qPruneDays   = `
DELETE FROM day_stats WHERE day IN (
	SELECT day FROM day_stats INDEXED BY day_stats_expiry WHERE expires_at <= ?1 LIMIT ?2)`
	qPruneDayUsers = `
DELETE FROM day_users WHERE (day, username) IN (
	SELECT day, username FROM day_users INDEXED BY day_users_expiry WHERE expires_at <= ?1 LIMIT ?2)`
	qPruneHours = `
DELETE FROM hour_stats WHERE hour IN (
	SELECT hour FROM hour_stats INDEXED BY hour_stats_expiry WHERE expires_at <= ?1 LIMIT ?2)`
	qPruneAudit = `
DELETE FROM audit WHERE id IN (
	SELECT id FROM audit INDEXED BY audit_expiry WHERE expires_at <= ?1 LIMIT ?2)`
)

// analyticsStmts are the analytics writes' statements, prepared on the
// write connection.
type analyticsStmts struct {
	countersAdd, eventPut                                            map[int]*sql.Stmt // by rows, for rowChunks
	timelineTrim, dayEvents, hourEvents                              *sql.Stmt
	liveCount, dayUser, dayStart, hourStart, dayEnd                  *sql.Stmt
	pruneCounters, pruneEvents, pruneDays, pruneDayUsers, pruneHours *sql.Stmt
	pruneAudit                                                       *sql.Stmt
}

// all lists the statements with their text, for preparing and closing.
func (st *analyticsStmts) all() []struct {
	dst   **sql.Stmt
	query string
} {
	return []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.timelineTrim, qTimelineTrim},
		{&st.dayEvents, qDayEvents}, {&st.hourEvents, qHourEvents}, {&st.liveCount, qLiveCount},
		{&st.dayUser, qDayUser}, {&st.dayStart, qDayStart}, {&st.hourStart, qHourStart},
		{&st.dayEnd, qDayEnd}, {&st.pruneCounters, qPruneCounters}, {&st.pruneEvents, qPruneEvents},
		{&st.pruneDays, qPruneDays}, {&st.pruneDayUsers, qPruneDayUsers}, {&st.pruneHours, qPruneHours},
		{&st.pruneAudit, qPruneAudit},
	}
}

// prepareAnalytics prepares the analytics statements on db, the write side.
// Like prepareUpdate it must run outside any transaction.
func prepareAnalytics(ctx context.Context, db *sql.DB) (*analyticsStmts, error) {
	st := &analyticsStmts{countersAdd: map[int]*sql.Stmt{}, eventPut: map[int]*sql.Stmt{}}
	fail := func(err error) (*analyticsStmts, error) {
		st.close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	for _, x := range st.all() {
		var err error
		if *x.dst, err = db.PrepareContext(ctx, x.query); err != nil {
			return fail(err)
		}
	}
	for _, n := range rowChunks {
		var err error
		if st.countersAdd[n], err = db.PrepareContext(ctx, qCountersAddHead+valuesList(n, 10)+qCountersAddTail); err != nil {
			return fail(err)
		}
		if st.eventPut[n], err = db.PrepareContext(ctx, qEventPutHead+valuesList(n, 8)); err != nil {
			return fail(err)
		}
	}
	return st, nil
}

// valuesList returns n rows of cols "?" parameters for a VALUES clause.
func valuesList(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// inRowChunks calls fn with successive chunks of rows, sized by rowChunks.
func inRowChunks[T any](rows []T, fn func(chunk []T) error) error {
	for _, n := range rowChunks {
		for len(rows) >= n {
			if err := fn(rows[:n]); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

// close closes the prepared statements.
func (st *analyticsStmts) close() error {
	var errs []error
	for _, x := range st.all() {
		if *x.dst != nil {
			errs = append(errs, (*x.dst).Close())
		}
	}
	for _, m := range []map[int]*sql.Stmt{st.countersAdd, st.eventPut} {
		for _, x := range m {
			errs = append(errs, x.Close())
		}
	}
	return errors.Join(errs...)
}

// sessionBatch is what one AppendEvents adds to one session.
type sessionBatch struct {
	sid                                          string
	events                                       []int // indexes into the batch, in order
	pageViews, apiCalls, uploads, analyses, cmts int64
	first, last                                  int64
}

// bucketBatch is what one AppendEvents adds to one day or hour.
type bucketBatch struct {
	key                           string
	analyses, pageViews, apiCalls int64
	last                          int64 // the newest event's time
}

// AppendEvents records events in one transaction on the prepared
// statements. The batch is first grouped by session, day and hour, so each
// session's counters row and each bucket is written once: the multi-row
// counters upsert returns each session's new event count, which numbers the
// batch's events for the session (seq); the events go in by multi-row
// inserts, and a session's rows are trimmed back to TimelineCap by one
// range delete once they pass it by trimSlack. Events that a trim would
// remove at once (a batch holding more than TimelineCap events of one
// session) are counted but never inserted.
//
// The newest event time of the batch stands for now: the transaction first
// removes a bounded batch of the sessions and buckets expired by then.
// Events without a sid are skipped.
func (s *Store) AppendEvents(ctx context.Context, events []store.Event, retention time.Duration) error {
	if len(events) == 0 {
		return nil
	}
	var sessions []*sessionBatch
	bySID := map[string]*sessionBatch{}
	var days, hours []*bucketBatch
	byDay, byHour := map[string]*bucketBatch{}, map[string]*bucketBatch{}
	bucket := func(list *[]*bucketBatch, by map[string]*bucketBatch, key string, at int64) *bucketBatch {
		b := by[key]
		if b == nil {
			b = &bucketBatch{key: key, last: at}
			by[key] = b
			*list = append(*list, b)
		}
		b.last = max(b.last, at)
		return b
	}
	nowMS := int64(0)
	for i := range events {
		e := &events[i]
		if e.SID == "" {
			continue // the contract: skipped, never a failed batch
		}
		at := ms(e.At)
		if i == 0 {
			nowMS = at
		}
		nowMS = max(nowMS, at)
		sb := bySID[e.SID]
		if sb == nil {
			sb = &sessionBatch{sid: e.SID, first: at, last: at}
			bySID[e.SID] = sb
			sessions = append(sessions, sb)
		}
		sb.events = append(sb.events, i)
		sb.first, sb.last = min(sb.first, at), max(sb.last, at)
		var pv, api, an int64
		switch e.Type {
		case store.EventPageView:
			pv = 1
		case store.EventAPICall:
			api = 1
		case store.EventFileUpload:
			sb.uploads++
		case store.EventAnalysisRun:
			an = 1
			if n, err := strconv.ParseInt(e.Data["comments"], 10, 64); err == nil && n > 0 {
				sb.cmts += n
			}
		}
		sb.pageViews += pv
		sb.apiCalls += api
		sb.analyses += an
		if pv+api+an == 0 {
			continue // no bucket counts this type
		}
		if e.Day != "" {
			b := bucket(&days, byDay, e.Day, at)
			b.pageViews, b.apiCalls, b.analyses = b.pageViews+pv, b.apiCalls+api, b.analyses+an
		}
		if e.Hour != "" && api == 0 {
			b := bucket(&hours, byHour, e.Hour, at)
			b.pageViews, b.analyses = b.pageViews+pv, b.analyses+an
		}
	}
	data := make([]string, len(events))
	for i := range events {
		var err error
		if data[i], err = encodeData(events[i].Data); err != nil {
			return fmt.Errorf("sqlite: append events: %w", err)
		}
	}

	st := s.an
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := pruneSessionData(ctx, tx, st, nowMS); err != nil {
			return err
		}
		if err := pruneBucketData(ctx, tx, st, nowMS); err != nil {
			return err
		}
		// One upsert per chunk of sessions returns each one's new event
		// count, which numbers its events in this batch.
		totals := make(map[string]int64, len(sessions))
		err := inRowChunks(sessions, func(chunk []*sessionBatch) error {
			args := make([]any, 0, 10*len(chunk))
			for _, sb := range chunk {
				args = append(args, sb.sid, sb.pageViews, sb.apiCalls, sb.uploads, sb.analyses, sb.cmts,
					len(sb.events), sb.first, sb.last, sessionExpiry(sb.last, retention))
			}
			rows, err := tx.StmtContext(ctx, st.countersAdd[len(chunk)]).QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var sid string
				var total int64
				if err := rows.Scan(&sid, &total); err != nil {
					rows.Close()
					return err
				}
				totals[sid] = total
			}
			return errors.Join(rows.Err(), rows.Close())
		})
		if err != nil {
			return err
		}
		// The events to insert: a session's batch is numbered
		// total-n+1 .. total, and those at or below total-TimelineCap
		// would be trimmed straight away.
		type eventRow struct {
			i   int
			seq int64
		}
		var put []eventRow
		var trim []*sessionBatch
		for _, sb := range sessions {
			total, n := totals[sb.sid], int64(len(sb.events))
			for k := max(0, n-store.TimelineCap); k < n; k++ {
				put = append(put, eventRow{sb.events[k], total - n + 1 + k})
			}
			// Trim when the oldest event to keep passes a multiple of
			// trimSlack; earlier rows of this batch were never inserted.
			if prev := total - n; prev > 0 && trimStep(total) > trimStep(prev) {
				trim = append(trim, sb)
			}
		}
		err = inRowChunks(put, func(chunk []eventRow) error {
			args := make([]any, 0, 8*len(chunk))
			for _, r := range chunk {
				e := &events[r.i]
				args = append(args, e.SID, r.seq, ms(e.At), e.Type, e.User, data[r.i], e.Day, e.Hour)
			}
			_, err := tx.StmtContext(ctx, st.eventPut[len(chunk)]).ExecContext(ctx, args...)
			return err
		})
		if err != nil {
			return err
		}
		if len(trim) > 0 {
			del := tx.StmtContext(ctx, st.timelineTrim)
			for _, sb := range trim {
				if _, err := del.ExecContext(ctx, sb.sid, totals[sb.sid]-store.TimelineCap); err != nil {
					return err
				}
			}
		}
		if len(days) > 0 {
			dayEvents := tx.StmtContext(ctx, st.dayEvents)
			for _, b := range days {
				if _, err := dayEvents.ExecContext(ctx, b.key, b.analyses, b.pageViews, b.apiCalls,
					bucketExpiry(b.key, 24*time.Hour, b.last, retention)); err != nil {
					return err
				}
			}
		}
		if len(hours) > 0 {
			hourEvents := tx.StmtContext(ctx, st.hourEvents)
			for _, b := range hours {
				if _, err := hourEvents.ExecContext(ctx, b.key, b.analyses, b.pageViews,
					bucketExpiry(b.key, time.Hour, b.last, retention)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: append %d events: %w", len(events), err)
	}
	s.saw(nowMS)
	return nil
}

// Timeline returns sid's events, newest first, from offset. A limit of zero
// or less returns none. Events are read by their number (seq),
// newest first along the primary key, and never beyond TimelineCap.
func (s *Store) Timeline(ctx context.Context, sid string, offset, limit int) ([]store.Event, error) {
	// The newest TimelineCap rows are the timeline: up to trimSlack older
	// ones may wait for the next trim.
	offset = max(offset, 0)
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, store.TimelineCap-offset)
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `
SELECT at, type, username, data, day, hour FROM events WHERE sid = ? ORDER BY seq DESC LIMIT ? OFFSET ?`,
		sid, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %s: %w", sid, err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		e := store.Event{SID: sid}
		var at int64
		var data string
		if err := rows.Scan(&at, &e.Type, &e.User, &data, &e.Day, &e.Hour); err != nil {
			return nil, fmt.Errorf("sqlite: timeline of %s: %w", sid, err)
		}
		e.At = fromMS(at)
		if e.Data, err = decodeData(data); err != nil {
			return nil, fmt.Errorf("sqlite: timeline of %s: %w", sid, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %s: %w", sid, err)
	}
	return out, nil
}

// Counters returns sid's totals. Dropped is what the numbering of events
// says was trimmed: every event beyond the newest TimelineCap.
func (s *Store) Counters(ctx context.Context, sid string) (store.SessionCounters, bool, error) {
	var c store.SessionCounters
	var first, last int64
	err := s.read.QueryRowContext(ctx, `
SELECT page_views, api_calls, uploads, analyses, comments, events, first_at, last_at
FROM session_counters WHERE sid = ?`, sid).
		Scan(&c.PageViews, &c.APICalls, &c.Uploads, &c.Analyses, &c.Comments, &c.Events, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SessionCounters{}, false, nil
	}
	if err != nil {
		return store.SessionCounters{}, false, fmt.Errorf("sqlite: counters of %s: %w", sid, err)
	}
	c.Dropped = max(0, c.Events-store.TimelineCap)
	c.First, c.Last = fromMS(first), fromMS(last)
	return c, true, nil
}

// NoteStart counts a start in one BEGIN IMMEDIATE transaction: the write
// lock is what makes it atomic, since no session can be created or ended
// between the live count and the peaks it raises. The user is counted in
// the day's unique users only when its (day, user) row is new.
func (s *Store) NoteStart(ctx context.Context, user, day, hour string, now time.Time, retention time.Duration) error {
	nowMS := ms(now)
	st := s.an
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := pruneBucketData(ctx, tx, st, nowMS); err != nil {
			return err
		}
		var live int64
		if err := tx.StmtContext(ctx, st.liveCount).QueryRowContext(ctx, nowMS).Scan(&live); err != nil {
			return err
		}
		if day != "" {
			exp := bucketExpiry(day, 24*time.Hour, nowMS, retention)
			var newUser int64
			if user != "" {
				res, err := tx.StmtContext(ctx, st.dayUser).ExecContext(ctx, day, user, exp)
				if err != nil {
					return err
				}
				if newUser, err = res.RowsAffected(); err != nil {
					return err
				}
			}
			if _, err := tx.StmtContext(ctx, st.dayStart).ExecContext(ctx, day, newUser, live, exp); err != nil {
				return err
			}
		}
		if hour != "" {
			_, err := tx.StmtContext(ctx, st.hourStart).ExecContext(ctx, hour, live, bucketExpiry(hour, time.Hour, nowMS, retention))
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: note session start on %s: %w", day, err)
	}
	s.saw(nowMS)
	return nil
}

// NoteEnd counts an end and its duration in day. It is given no time, so
// it prunes nothing, and the day's expiry comes from the key (or, for a key
// that is not a date, from the newest time this Store has been given).
func (s *Store) NoteEnd(ctx context.Context, day string, duration time.Duration, retention time.Duration) error {
	if day == "" {
		return nil
	}
	now := s.seen.Load()
	if now == 0 {
		// Nothing timed was written since Open: the only clock left. It
		// sets an expiry, it decides nothing.
		now = ms(time.Now())
	}
	if _, err := s.an.dayEnd.ExecContext(ctx, day, int64(duration), bucketExpiry(day, 24*time.Hour, now, retention)); err != nil {
		return fmt.Errorf("sqlite: note session end on %s: %w", day, err)
	}
	return nil
}

// Days returns the days asked for, in order, zero where none is stored.
func (s *Store) Days(ctx context.Context, days []string) ([]store.DayStats, error) {
	found := map[string]store.DayStats{}
	err := inChunks(days, func(keys []string, args []any) error {
		rows, err := s.read.QueryContext(ctx, `
SELECT day, created, users, peak, ended, duration_ns, analyses, page_views, api_calls
FROM day_stats WHERE day IN (`+placeholders(1, len(keys))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d store.DayStats
			var dur int64
			if err := rows.Scan(&d.Day, &d.Created, &d.UniqueUsers, &d.PeakConcurrent, &d.Ended, &dur,
				&d.Analyses, &d.PageViews, &d.APICalls); err != nil {
				return err
			}
			d.DurationSum = time.Duration(dur)
			found[d.Day] = d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: day stats: %w", err)
	}
	out := make([]store.DayStats, len(days))
	for i, d := range days {
		out[i] = found[d]
		out[i].Day = d
	}
	return out, nil
}

// Hours returns the hours asked for, in order, zero where none is stored.
func (s *Store) Hours(ctx context.Context, hours []string) ([]store.HourStats, error) {
	found := map[string]store.HourStats{}
	err := inChunks(hours, func(keys []string, args []any) error {
		rows, err := s.read.QueryContext(ctx, `
SELECT hour, created, peak, analyses, page_views FROM hour_stats WHERE hour IN (`+placeholders(1, len(keys))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h store.HourStats
			if err := rows.Scan(&h.Hour, &h.Created, &h.PeakActive, &h.Analyses, &h.PageViews); err != nil {
				return err
			}
			found[h.Hour] = h
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: hour stats: %w", err)
	}
	out := make([]store.HourStats, len(hours))
	for i, h := range hours {
		out[i] = found[h]
		out[i].Hour = h
	}
	return out, nil
}

// keysPerQuery bounds the parameters of one IN list.
const keysPerQuery = 500

// inChunks calls fn with successive chunks of keys and the same as []any.
func inChunks(keys []string, fn func(keys []string, args []any) error) error {
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), keysPerQuery)]
		keys = keys[len(chunk):]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if err := fn(chunk, args); err != nil {
			return err
		}
	}
	return nil
}

// pruneSessionData removes up to pruneSessions sessions whose analytics
// expired by nowMS: their counters row and their events.
func pruneSessionData(ctx context.Context, tx *sql.Tx, st *analyticsStmts, nowMS int64) error {
	rows, err := tx.StmtContext(ctx, st.pruneCounters).QueryContext(ctx, nowMS, pruneSessions)
	if err != nil {
		return err
	}
	var sids []string
	for rows.Next() {
		var sid string
		if err := rows.Scan(&sid); err != nil {
			rows.Close()
			return err
		}
		sids = append(sids, sid)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(sids) == 0 {
		return nil
	}
	del := tx.StmtContext(ctx, st.pruneEvents)
	for _, sid := range sids {
		if _, err := del.ExecContext(ctx, sid); err != nil {
			return err
		}
	}
	return nil
}

// pruneBucketData removes a bounded batch of the days, day users and hours
// that expired by nowMS.
func pruneBucketData(ctx context.Context, tx *sql.Tx, st *analyticsStmts, nowMS int64) error {
	for _, p := range []struct {
		stmt  *sql.Stmt
		limit int
	}{{st.pruneDays, pruneBuckets}, {st.pruneDayUsers, pruneBatch}, {st.pruneHours, pruneBuckets}} {
		if _, err := tx.StmtContext(ctx, p.stmt).ExecContext(ctx, nowMS, p.limit); err != nil {
			return err
		}
	}
	return nil
}

// trimStep is how many whole trimSlacks of a session's events are older
// than its newest TimelineCap when it has recorded total events.
func trimStep(total int64) int64 {
	return max(0, total-store.TimelineCap) / trimSlack
}

// sessionExpiry is when a session's analytics expire if its newest event
// is at atMS: retention later, rounded up to expiryStep.
func sessionExpiry(atMS int64, retention time.Duration) int64 {
	step := expiryStep.Milliseconds()
	exp := expiry(atMS, retention)
	return (exp + step - 1) / step * step
}

// expiry is atMS + retention in unix milliseconds.
func expiry(atMS int64, retention time.Duration) int64 {
	return atMS + retention.Milliseconds()
}

// bucketExpiry is when a day or hour bucket (of length span) expires:
// retention after the bucket's end, read from its key ("2006-01-02",
// "2006-01-02T15") as if it were UTC plus bucketSlack, and never before
// retention after atMS, the time of the write. The store only uses keys as
// keys; a key that is not a date just expires retention after its last
// write.
func bucketExpiry(key string, span time.Duration, atMS int64, retention time.Duration) int64 {
	exp := expiry(atMS, retention)
	layout := "2006-01-02"
	if span == time.Hour {
		layout = "2006-01-02T15"
	}
	if start, err := time.Parse(layout, key); err == nil {
		exp = max(exp, expiry(ms(start.Add(span+bucketSlack)), retention))
	}
	return exp
}

// saw raises the newest time the Store has been given in a write to atMS.
func (s *Store) saw(atMS int64) {
	for {
		old := s.seen.Load()
		if atMS <= old || s.seen.CompareAndSwap(old, atMS) {
			return
		}
	}
}

// encodeData is an event's data as stored: a JSON object, or the empty
// string for a nil map (an empty one is {}, so both read back as written).
func encodeData(m map[string]string) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeData reverses encodeData.
func decodeData(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("malformed event data: %w", err)
	}
	return m, nil
}
