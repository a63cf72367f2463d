package sqlite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// analyticsRetention is what these tests write with unless they test expiry.
const analyticsRetention = 30 * 24 * time.Hour

// testEvent returns a page view of sid at at, bucketed in at's UTC day and hour.
func testEvent(sid string, at time.Time) store.Event {
	return store.Event{SID: sid, User: "ana", Type: store.EventPageView, At: at,
		Day: at.UTC().Format("2006-01-02"), Hour: at.UTC().Format("2006-01-02T15")}
}

// queryInt runs a query returning one integer on the write connection (which
// sees every committed write of an in-memory store too).
func queryInt(t *testing.T, s *Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.write.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestTimelineRows checks what the events table holds for a session past the
// cap: the newest TimelineCap rows and at most trimSlack more, numbered
// without gaps up to its event count, and that Timeline shows exactly the
// newest TimelineCap, whether the cap is crossed by many batches or by one
// batch of a new session (whose oldest events are never inserted).
func TestTimelineRows(t *testing.T) {
	s := openTest(t, Options{})
	batches := []struct {
		sid   string
		sizes []int
	}{
		{"s-many", []int{1, 99, 300, 99, 1, 250, 450, 63, 1, 1, 64, 65, 200}},
		{"s-one", []int{store.TimelineCap*2 + 7}},
		{"s-exact", []int{store.TimelineCap}},
	}
	for _, b := range batches {
		total := 0
		for _, n := range b.sizes {
			evs := make([]store.Event, n)
			for i := range evs {
				evs[i] = testEvent(b.sid, testNow.Add(time.Duration(total+i)*time.Millisecond))
				evs[i].Data = map[string]string{"i": fmt.Sprint(total + i)}
			}
			if err := s.AppendEvents(t.Context(), evs, analyticsRetention); err != nil {
				t.Fatalf("AppendEvents(%s, %d): %v", b.sid, n, err)
			}
			total += n
			// Rows are numbered without gaps up to total; at least the
			// newest TimelineCap are there, and at most trimSlack more.
			kept := int64(min(total, store.TimelineCap))
			rows := queryInt(t, s, "SELECT count(*) FROM events WHERE sid = ?", b.sid)
			lo := queryInt(t, s, "SELECT min(seq) FROM events WHERE sid = ?", b.sid)
			hi := queryInt(t, s, "SELECT max(seq) FROM events WHERE sid = ?", b.sid)
			if rows < kept || rows > kept+trimSlack || hi != int64(total) || lo != int64(total)-rows+1 {
				t.Fatalf("%s after %d events: %d rows, seq %d..%d; want %d to %d rows ending at seq %d",
					b.sid, total, rows, lo, hi, kept, kept+trimSlack, total)
			}
			tl, err := s.Timeline(t.Context(), b.sid, 0, store.TimelineCap)
			if err != nil || int64(len(tl)) != kept || tl[len(tl)-1].Data["i"] != fmt.Sprint(int64(total)-kept) {
				t.Fatalf("%s after %d events: Timeline has %d events (err %v), want the newest %d", b.sid, total, len(tl), err, kept)
			}
			if tl, err := s.Timeline(t.Context(), b.sid, int(kept)-1, 10); err != nil || len(tl) != 1 {
				t.Fatalf("%s: Timeline(%d, 10) = %d events, %v; want the oldest kept only", b.sid, kept-1, len(tl), err)
			}
		}
		evs, err := s.Timeline(t.Context(), b.sid, 0, 1)
		if err != nil || len(evs) != 1 || evs[0].Data["i"] != fmt.Sprint(total-1) {
			t.Errorf("Timeline(%s, 0, 1) = %+v, %v; want the event i=%d", b.sid, evs, err, total-1)
		}
		c, ok, err := s.Counters(t.Context(), b.sid)
		if err != nil || !ok || c.Events != int64(total) || c.Dropped != int64(max(0, total-store.TimelineCap)) {
			t.Errorf("Counters(%s) = %+v, %v, %v; want Events %d, Dropped %d", b.sid, c, ok, err, total, max(0, total-store.TimelineCap))
		}
	}
}

// TestEventDataRoundTrip checks that a nil and an empty Data read back as
// they were written, and that an event without a sid fails its batch whole.
func TestEventDataRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	evs := []store.Event{testEvent("s-1", testNow), testEvent("s-1", testNow), testEvent("s-1", testNow)}
	evs[1].Data = map[string]string{}
	evs[2].Data = map[string]string{"path": "/a?b=\"c\"", "ñ": "🕸", "": ""}
	if err := s.AppendEvents(t.Context(), evs, analyticsRetention); err != nil {
		t.Fatal(err)
	}
	got, err := s.Timeline(t.Context(), "s-1", 0, store.TimelineCap)
	if err != nil || len(got) != 3 {
		t.Fatalf("Timeline = %d events, %v; want 3", len(got), err)
	}
	slices.Reverse(got)
	for i := range evs {
		if (got[i].Data == nil) != (evs[i].Data == nil) || !maps.Equal(got[i].Data, evs[i].Data) ||
			got[i].Day != evs[i].Day || got[i].Hour != evs[i].Hour {
			t.Errorf("event %d: got Data %#v Day %q Hour %q, want %#v %q %q", i, got[i].Data, got[i].Day, got[i].Hour,
				evs[i].Data, evs[i].Day, evs[i].Hour)
		}
	}

	// The contract: an event without a sid is skipped; the batch lands.
	mixed := []store.Event{testEvent("s-2", testNow), testEvent("", testNow)}
	if err := s.AppendEvents(t.Context(), mixed, analyticsRetention); err != nil {
		t.Errorf("AppendEvents with an event without sid: %v", err)
	}
	if c, ok, err := s.Counters(t.Context(), "s-2"); !ok || err != nil || c.Events != 1 {
		t.Errorf("Counters(s-2) = %+v found=%v err %v; want its one event", c, ok, err)
	}
	if _, ok, _ := s.Counters(t.Context(), ""); ok {
		t.Errorf("an event without sid was stored")
	}
}

// TestAnalyticsPruning checks that the writes remove what expired by their
// time, a bounded batch at a time, and nothing that has not.
func TestAnalyticsPruning(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	ctx := t.Context()
	const short = time.Hour
	const old = pruneSessions*2 + 5
	for i := range old {
		evs := []store.Event{testEvent(fmt.Sprintf("s-old-%03d", i), testNow), testEvent(fmt.Sprintf("s-old-%03d", i), testNow)}
		if err := s.AppendEvents(ctx, evs, short); err != nil {
			t.Fatal(err)
		}
	}
	// A session whose last event keeps it: its expiry follows its newest event.
	if err := s.AppendEvents(ctx, []store.Event{testEvent("s-kept", testNow)}, short); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, []store.Event{testEvent("s-kept", testNow.Add(30*time.Minute))}, short); err != nil {
		t.Fatal(err)
	}

	oldSessions := func() int64 {
		return queryInt(t, s, "SELECT count(*) FROM session_counters WHERE sid LIKE 's-old-%'")
	}
	if n := oldSessions(); n != old {
		t.Fatalf("before expiry: %d old sessions, want %d", n, old)
	}
	later := testNow.Add(80 * time.Minute) // past the old ones' expiry, before s-kept's
	for i, want := range []int64{old - pruneSessions, old - 2*pruneSessions, 0, 0} {
		if err := s.AppendEvents(ctx, []store.Event{testEvent(fmt.Sprintf("s-new-%d", i), later)}, short); err != nil {
			t.Fatal(err)
		}
		if n := oldSessions(); n != want {
			t.Errorf("after write %d: %d old sessions, want %d (at most %d pruned per write)", i, n, want, pruneSessions)
		}
	}
	if n := queryInt(t, s, "SELECT count(*) FROM events WHERE sid LIKE 's-old-%'"); n != 0 {
		t.Errorf("events of pruned sessions: %d rows, want 0", n)
	}
	if c, ok, err := s.Counters(ctx, "s-kept"); err != nil || !ok || c.Events != 2 {
		t.Errorf("Counters(s-kept) = %+v, %v, %v; want its 2 events kept", c, ok, err)
	}

	// Day and hour buckets live retention past their day (from the key),
	// and their unique users with them.
	day, hour := testNow.Format("2006-01-02"), testNow.Format("2006-01-02T15")
	if err := s.NoteStart(ctx, "ana", day, hour, testNow, short); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteStart(ctx, "beto", "", "", testNow.Add(24*time.Hour), short); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Days(ctx, []string{day}); d[0].Created != 1 || d[0].UniqueUsers != 1 {
		t.Errorf("Days(%s) a day later, within retention past the day: %+v, want it kept", day, d[0])
	}
	if err := s.NoteStart(ctx, "beto", "", "", testNow.Add(3*24*time.Hour), short); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Days(ctx, []string{day}); d[0] != (store.DayStats{Day: day}) {
		t.Errorf("Days(%s) past retention: %+v, want zero", day, d[0])
	}
	if h, _ := s.Hours(ctx, []string{hour}); h[0] != (store.HourStats{Hour: hour}) {
		t.Errorf("Hours(%s) past retention: %+v, want zero", hour, h[0])
	}
	if n := queryInt(t, s, "SELECT count(*) FROM day_users"); n != 0 {
		t.Errorf("day_users past retention: %d rows, want 0", n)
	}

	// Audit entries expire retention after their time.
	id, err := s.AppendAudit(ctx, store.AuditEntry{At: testNow, Actor: "root", Action: "terminate", Target: "s-1"}, short)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{At: testNow.Add(2 * short), Actor: "root", Action: "login"}, short); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAudit(ctx, id, "ok", 1, testNow.Add(2*short)); err != nil {
		t.Errorf("CompleteAudit of a pruned entry: %v", err)
	}
	page, err := s.QueryAudit(ctx, store.AuditQuery{})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Action != "login" {
		t.Errorf("QueryAudit after expiry = %+v, %v; want only the login", page.Entries, err)
	}
}

// TestNoteStartCountsLiveFromRegistry checks that the peaks are the
// sessions live at now by their deadline, whether or not cleanup has ended
// the others yet.
func TestNoteStartCountsLiveFromRegistry(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	seed(t, s, 30, testNow) // deadlines about testNow+idle
	day := "2030-01-02"
	if err := s.NoteStart(ctx, "ana", day, "2030-01-02T03", testNow, analyticsRetention); err != nil {
		t.Fatal(err)
	}
	// Every seeded session is past its idle deadline, none ended yet.
	if err := s.NoteStart(ctx, "beto", day, "2030-01-02T04", testNow.Add(idle+time.Minute), analyticsRetention); err != nil {
		t.Fatal(err)
	}
	d, err := s.Days(ctx, []string{day})
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.DayStats{Day: day, Created: 2, UniqueUsers: 2, PeakConcurrent: 30}); d[0] != want {
		t.Errorf("Days = %+v, want %+v", d[0], want)
	}
	h, err := s.Hours(ctx, []string{"2030-01-02T03", "2030-01-02T04"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.HourStats{{Hour: "2030-01-02T03", Created: 1, PeakActive: 30}, {Hour: "2030-01-02T04", Created: 1}}
	if !slices.Equal(h, want) {
		t.Errorf("Hours = %+v, want %+v", h, want)
	}
}

// TestAuditIDs checks the id format, that ids of one millisecond sort in
// the order they were assigned, and that a cursor not of that format is
// refused.
func TestAuditIDs(t *testing.T) {
	s := openTest(t, Options{})
	var ids []string
	for range 100 {
		id, err := s.AppendAudit(t.Context(), store.AuditEntry{At: testNow, Actor: "root", Action: "login"}, analyticsRetention)
		if err != nil {
			t.Fatal(err)
		}
		if !validAuditID(id) || !strings.HasPrefix(id, fmt.Sprintf("%013d-", testNow.UnixMilli())) {
			t.Fatalf("id %q: want 13-digit ms of At, a dash and %d hex digits", id, auditSuffixLen)
		}
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids of one millisecond are not in the order assigned: %v", ids)
	}
	page, err := s.QueryAudit(t.Context(), store.AuditQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(page.Entries))
	for i, e := range page.Entries {
		got[i] = e.ID
	}
	slices.Reverse(got)
	if !slices.Equal(got, ids) {
		t.Errorf("QueryAudit did not return the entries newest first")
	}
	for _, c := range []string{"x", ids[0] + "0", strings.Replace(ids[0], "-", "_", 1), "' OR 1=1 --"} {
		if _, err := s.QueryAudit(t.Context(), store.AuditQuery{Cursor: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("QueryAudit(cursor %q): err %v, want ErrBadCursor", c, err)
		}
	}
}

// TestAnalyticsPlans checks that the analytics queries are served from
// their indexes, without sorting.
func TestAnalyticsPlans(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	cases := []struct {
		query string
		args  []any
		want  string
	}{
		{"SELECT at FROM events WHERE sid = ? ORDER BY seq DESC LIMIT 50", []any{"s"}, "SEARCH events USING PRIMARY KEY (sid=?)"},
		{qTimelineTrim, []any{"s", 10}, "SEARCH events USING PRIMARY KEY (sid=? AND seq<?)"},
		{qLiveCount, []any{1}, "USING COVERING INDEX sessions_deadline (deadline<?)"},
		{qPruneCounters, []any{1, 10}, "SEARCH session_counters USING COVERING INDEX session_counters_expiry (expires_at<?)"},
		{qPruneDays, []any{1, 10}, "SEARCH day_stats USING COVERING INDEX day_stats_expiry (expires_at<?)"},
		{qPruneDayUsers, []any{1, 10}, "SEARCH day_users USING COVERING INDEX day_users_expiry (expires_at<?)"},
		{qPruneHours, []any{1, 10}, "SEARCH hour_stats USING COVERING INDEX hour_stats_expiry (expires_at<?)"},
		{qPruneAudit, []any{1, 10}, "SEARCH audit USING COVERING INDEX audit_expiry (expires_at<?)"},
	}
	for _, c := range cases {
		if plan := explain(t, s, c.query, c.args); !strings.Contains(plan, c.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan of %.60q: %q, want %q without a sort", c.query, plan, c.want)
		}
	}

	from, to := testNow, testNow.Add(time.Hour)
	audits := []struct {
		q    store.AuditQuery
		want string
	}{
		{store.AuditQuery{}, "SCAN audit"},
		{store.AuditQuery{From: from, To: to, Cursor: fmt.Sprintf("%013d-%012x", to.UnixMilli(), 0)}, "SEARCH audit USING PRIMARY KEY (id>? AND id<?)"},
		{store.AuditQuery{Actor: "root", From: from}, "SEARCH audit USING INDEX audit_actor (actor=? AND id>?)"},
		{store.AuditQuery{Action: "login", To: to}, "SEARCH audit USING INDEX audit_action (action=? AND id<?)"},
		{store.AuditQuery{Target: "s-1", Actor: "root", Action: "terminate"}, "SEARCH audit USING INDEX audit_target (target=?)"},
	}
	for _, a := range audits {
		query, args := auditQuery(a.q, 50)
		if plan := explain(t, s, query, args); !strings.Contains(plan, a.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan of QueryAudit(%+v): %q, want %q without a sort", a.q, plan, a.want)
		}
	}
}

// TestAnalyticsSurviveReopen checks that analytics are in the file, not in
// the Store, and that audit ids stay ordered across a reopen.
func TestAnalyticsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	ctx := t.Context()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	evs := []store.Event{testEvent("s-1", testNow), testEvent("s-1", testNow.Add(time.Second))}
	if err := s.AppendEvents(ctx, evs, analyticsRetention); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteStart(ctx, "ana", "2030-01-02", "2030-01-02T03", testNow, analyticsRetention); err != nil {
		t.Fatal(err)
	}
	id1, err := s.AppendAudit(ctx, store.AuditEntry{At: testNow, Actor: "root", Action: "login"}, analyticsRetention)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, Options{Path: path})
	if c, ok, err := s.Counters(ctx, "s-1"); err != nil || !ok || c.PageViews != 2 {
		t.Errorf("Counters after reopen = %+v, %v, %v; want 2 page views", c, ok, err)
	}
	if d, err := s.Days(ctx, []string{"2030-01-02"}); err != nil || d[0].Created != 1 || d[0].PageViews != 2 {
		t.Errorf("Days after reopen = %+v, %v; want 1 created, 2 page views", d, err)
	}
	id2, err := s.AppendAudit(ctx, store.AuditEntry{At: testNow.Add(time.Millisecond), Actor: "root", Action: "logout"}, analyticsRetention)
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 {
		t.Errorf("audit id after reopen %q does not sort after %q", id2, id1)
	}
}

// TestMigrateFromVersion2 opens a database written by schema version 2 and
// checks that its sessions survive and the analytics tables work.
func TestMigrateFromVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := openDB("file:"+path, time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	rec := storetest.NewRecord("s-live", "ana", "analyst", testNow, timeout, idle, lifetime)
	err = func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		stmts := []struct {
			q    string
			args []any
		}{
			{migrations[0], nil},
			{migrations[1], nil},
			{"INSERT INTO sessions (" + recordCols + ", deadline) VALUES (" + placeholders(1, 24) + ")",
				append(recordArgs(rec), deadlineMS(ms(rec.ExpiresAt), ms(rec.IdleAt), ms(rec.LifetimeAt)))},
			{"INSERT INTO counts (k, n) VALUES ('', 1), ('r:analyst', 1)", nil},
			{"PRAGMA user_version = 2", nil},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	db.Close()
	if err != nil {
		t.Fatalf("write a version 2 database: %v", err)
	}

	s := openTest(t, Options{Path: path})
	if v := queryInt(t, s, "PRAGMA user_version"); v != schemaVersion {
		t.Fatalf("user_version = %d, want %d", v, schemaVersion)
	}
	if _, ok, err := s.Get(ctx, "s-live", testNow); err != nil || !ok {
		t.Fatalf("Get(s-live) after migration: found=%v, err %v", ok, err)
	}
	if err := s.AppendEvents(ctx, []store.Event{testEvent("s-live", testNow)}, analyticsRetention); err != nil {
		t.Fatalf("AppendEvents after migration: %v", err)
	}
	if err := s.NoteStart(ctx, "ana", "2030-01-02", "2030-01-02T03", testNow, analyticsRetention); err != nil {
		t.Fatalf("NoteStart after migration: %v", err)
	}
	d, err := s.Days(ctx, []string{"2030-01-02"})
	if want := (store.DayStats{Day: "2030-01-02", Created: 1, UniqueUsers: 1, PeakConcurrent: 1, PageViews: 1}); err != nil || d[0] != want {
		t.Errorf("Days after migration = %+v, %v; want %+v", d, err, want)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{At: testNow, Actor: "root", Action: "login"}, analyticsRetention); err != nil {
		t.Errorf("AppendAudit after migration: %v", err)
	}
}

// BenchmarkAppendEvents measures flush throughput on a file database:
// batches of 100 and 1,000 events spread round-robin over 100 sessions,
// types cycling as a working session's do. Once each session passes
// TimelineCap, every batch also trims.
func BenchmarkAppendEvents(b *testing.B) {
	types := []string{store.EventPageView, store.EventPageView, store.EventAPICall, store.EventStateChange,
		store.EventAnalysisRun, store.EventPageView, store.EventFileUpload, store.EventAPICall}
	const sessions = 100
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openTest(b, Options{Path: filepath.Join(b.TempDir(), "sessions.db")})
			ctx := context.Background()
			batch := make([]store.Event, size)
			at := testNow
			n := 0
			sids := make([]string, sessions)
			for i := range sids {
				sids[i] = fmt.Sprintf("s-%03d", i)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				for i := range batch {
					at = at.Add(time.Millisecond)
					e := testEvent(sids[n%sessions], at)
					e.Type = types[n%len(types)]
					e.Data = map[string]string{"path": "/workspace/files", "comments": "25"}
					batch[i] = e
					n++
				}
				if err := s.AppendEvents(ctx, batch, analyticsRetention); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
		})
	}
}
