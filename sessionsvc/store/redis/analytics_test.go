package redis

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

const retention = 30 * 24 * time.Hour

// events makes n events of sid, one millisecond apart from at, cycling
// through a page view, an API call, an upload and an analysis of 10 comments.
func events(sid string, n int, at time.Time) []store.Event {
	types := []string{store.EventPageView, store.EventAPICall, store.EventFileUpload, store.EventAnalysisRun}
	out := make([]store.Event, n)
	for i := range out {
		t := at.Add(time.Duration(i) * time.Millisecond)
		e := store.Event{SID: sid, User: "ana", Type: types[i%len(types)], At: t,
			Day: t.Format("2006-01-02"), Hour: t.Format("2006-01-02T15"),
			Data: map[string]string{"path": "/p/" + strconv.Itoa(i)}}
		if e.Type == store.EventAnalysisRun {
			e.Data["comments"] = "10"
		}
		out[i] = e
	}
	return out
}

func TestAppendEventsIsOneEvalsha(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	// The first call loads the script (EVALSHA, NOSCRIPT, EVAL).
	if err := s.AppendEvents(t.Context(), events("warm", 1, now), retention); err != nil {
		t.Fatal(err)
	}
	var batch []store.Event
	for i := range 10 {
		batch = append(batch, events(fmt.Sprintf("s%d", i), 50, now)...)
	}
	stats := commandDelta(t, srv, func() {
		if err := s.AppendEvents(t.Context(), batch, retention); err != nil {
			t.Fatal(err)
		}
	})
	if stats["evalsha"] != 1 || stats["eval"] != 0 {
		t.Errorf("500 events: evalsha %d, eval %d; want 1, 0 (all: %v)", stats["evalsha"], stats["eval"], stats)
	}
	// Coalesced: one LPUSH and HSET per session, not per event, and no
	// LTRIM while the lists are below the cap.
	for cmd, want := range map[string]int64{"lpush": 10, "hset": 10, "ltrim": 0} {
		if stats[cmd] != want {
			t.Errorf("%s ran %d times, want %d", cmd, stats[cmd], want)
		}
	}
	for cmd := range stats {
		if !strings.Contains("evalsha lpush ltrim hincrby hset pexpire", cmd) {
			t.Errorf("AppendEvents ran %s", cmd)
		}
	}
}

// TestEventEncoding: whatever the strings hold, an event reads back as
// written (invalid UTF-8 excepted, which JSON cannot carry).
func TestEventEncoding(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	at := baseTime()
	tests := []store.Event{
		{Type: store.EventLogin, At: at},
		{Type: "x\"\\\n\t\r\x00\x1f\u2028<&>", At: at, User: "ñandú 🐦", Day: "d", Hour: "h",
			Data: map[string]string{"": "", "a\"b": "c\\d", "path": "/é?q=1&r=<2>"}},
		{Type: store.EventPageView, At: time.Time{}, Data: map[string]string{}},
	}
	for i, e := range tests {
		e.SID = "s" + strconv.Itoa(i)
		if err := s.AppendEvents(ctx, []store.Event{e}, retention); err != nil {
			t.Fatal(err)
		}
		got, err := s.Timeline(ctx, e.SID, 0, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("Timeline = %v, %v", got, err)
		}
		if len(e.Data) == 0 {
			e.Data = nil
		}
		if fmt.Sprint(got[0]) != fmt.Sprint(e) || !got[0].At.Equal(e.At) {
			t.Errorf("event %d = %+v, want %+v", i, got[0], e)
		}
	}
}

func TestTimelineCapAndDropped(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	all := events("s1", store.TimelineCap+100, now)
	// Three batches, the second split so that order across batches counts.
	for _, b := range [][]store.Event{all[:250], all[250:251], all[251:]} {
		if err := s.AppendEvents(ctx, b, retention); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Timeline(ctx, "s1", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.TimelineCap {
		t.Fatalf("timeline has %d events, want %d", len(got), store.TimelineCap)
	}
	for i, e := range got {
		want := all[len(all)-1-i]
		if e.SID != want.SID || e.Type != want.Type || !e.At.Equal(want.At) || e.Data["path"] != want.Data["path"] ||
			e.Day != want.Day || e.Hour != want.Hour || e.User != want.User {
			t.Fatalf("timeline[%d] = %+v, want %+v", i, e, want)
		}
	}
	page, err := s.Timeline(ctx, "s1", 10, 5)
	if err != nil || len(page) != 5 || page[0].Data["path"] != got[10].Data["path"] {
		t.Errorf("Timeline(10, 5) = %d events (%v), first %+v; want from %+v", len(page), err, page, got[10])
	}
	c, found, err := s.Counters(ctx, "s1")
	if err != nil || !found {
		t.Fatalf("Counters = %v, %v", found, err)
	}
	n := int64(len(all))
	want := store.SessionCounters{PageViews: n / 4, APICalls: n / 4, Uploads: n / 4, Analyses: n / 4,
		Comments: 10 * n / 4, Events: n, Dropped: 100, First: all[0].At, Last: all[len(all)-1].At}
	if c.PageViews != want.PageViews || c.APICalls != want.APICalls || c.Uploads != want.Uploads ||
		c.Analyses != want.Analyses || c.Comments != want.Comments || c.Events != want.Events ||
		c.Dropped != want.Dropped || !c.First.Equal(want.First) || !c.Last.Equal(want.Last) {
		t.Errorf("Counters = %+v, want %+v", c, want)
	}
	if _, found, err := s.Counters(ctx, "nobody"); found || err != nil {
		t.Errorf("Counters(nobody) = %v, %v; want not found", found, err)
	}
	if evs, err := s.Timeline(ctx, "nobody", 0, 10); len(evs) != 0 || err != nil {
		t.Errorf("Timeline(nobody) = %v, %v", evs, err)
	}
}

func TestAggregates(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	day1, day2 := "2026-11-26", "2026-11-27"
	for i, sid := range []string{"a", "b", "c"} {
		rec := record(sid, "u"+strconv.Itoa(i%2), "analyst", now)
		if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.NoteStart(ctx, rec.User, day1, day1+"T10", now, retention); err != nil {
			t.Fatal(err)
		}
	}
	// One more start on day 2 after two sessions' deadlines passed.
	later := now.Add(timeout + time.Minute)
	if _, err := s.Create(ctx, record("d", "u0", "analyst", later), 3, later, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteStart(ctx, "u0", day2, day2+"T00", later, retention); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute} {
		if err := s.NoteEnd(ctx, day2, d, retention); err != nil {
			t.Fatal(err)
		}
	}
	evs := []store.Event{
		{SID: "a", Type: store.EventPageView, At: now, Day: day1, Hour: day1 + "T10"},
		{SID: "a", Type: store.EventAnalysisRun, At: now, Day: day1, Hour: day1 + "T10"},
		{SID: "b", Type: store.EventAPICall, At: now, Day: day1, Hour: day1 + "T11"},
		{SID: "b", Type: store.EventLogin, At: now, Day: day2, Hour: day2 + "T00"},
	}
	if err := s.AppendEvents(ctx, evs, retention); err != nil {
		t.Fatal(err)
	}
	days, err := s.Days(ctx, []string{day2, "2000-01-01", day1})
	if err != nil {
		t.Fatal(err)
	}
	wantDays := []store.DayStats{
		{Day: day2, Created: 1, UniqueUsers: 1, PeakConcurrent: 1, Ended: 2, DurationSum: 3 * time.Minute},
		{Day: "2000-01-01"},
		{Day: day1, Created: 3, UniqueUsers: 2, PeakConcurrent: 3, Analyses: 1, PageViews: 1, APICalls: 1},
	}
	for i := range wantDays {
		if days[i] != wantDays[i] {
			t.Errorf("Days[%d] = %+v, want %+v", i, days[i], wantDays[i])
		}
	}
	hours, err := s.Hours(ctx, []string{day1 + "T10", day1 + "T11", day2 + "T00", day2 + "T01"})
	if err != nil {
		t.Fatal(err)
	}
	wantHours := []store.HourStats{
		{Hour: day1 + "T10", Created: 3, PeakActive: 3, Analyses: 1, PageViews: 1},
		{Hour: day1 + "T11"},
		{Hour: day2 + "T00", Created: 1, PeakActive: 1},
		{Hour: day2 + "T01"},
	}
	for i := range wantHours {
		if hours[i] != wantHours[i] {
			t.Errorf("Hours[%d] = %+v, want %+v", i, hours[i], wantHours[i])
		}
	}
	if d, err := s.Days(ctx, nil); len(d) != 0 || err != nil {
		t.Errorf("Days(nil) = %v, %v", d, err)
	}
}

// TestPeakUnderConcurrentStarts: 50 sessions start at once; whatever the
// order, the peak is 50, because the count and the raise are one script.
func TestPeakUnderConcurrentStarts(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			rec := record(fmt.Sprintf("s%d", i), fmt.Sprintf("u%d", i), "analyst", now)
			if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
				t.Error(err)
				return
			}
			if err := s.NoteStart(ctx, rec.User, "d", "h", now, retention); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	days, err := s.Days(ctx, []string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	if got := days[0]; got.Created != 50 || got.PeakConcurrent != 50 || got.UniqueUsers != 50 {
		t.Errorf("day = %+v, want 50 created, peak 50, 50 users", got)
	}
	hours, err := s.Hours(ctx, []string{"h"})
	if err != nil || hours[0].PeakActive != 50 {
		t.Errorf("hour = %+v, %v; want peak 50", hours, err)
	}
}

func TestAnalyticsTTLs(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	if err := s.AppendEvents(ctx, events("s1", 4, now), retention); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteStart(ctx, "ana", "d1", "h1", now, retention); err != nil {
		t.Fatal(err)
	}
	id, err := s.AppendAudit(ctx, store.AuditEntry{At: now, Actor: "root", Action: "terminate"}, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	day, hour := now.Format("2006-01-02"), now.Format("2006-01-02T15")
	tests := []struct {
		key  string
		want time.Duration
	}{
		{s.evKey("s1"), retention},
		{s.ecKey("s1"), retention},
		{s.dayKey(day), retention + 24*time.Hour},
		{s.hourKey(hour), retention + 24*time.Hour},
		{s.dayKey("d1"), retention + 24*time.Hour},
		{s.hourKey("h1"), retention + 24*time.Hour},
		{s.usersKey("d1"), retention + 24*time.Hour},
		{s.auditKey(id), 90 * 24 * time.Hour},
	}
	for _, tt := range tests {
		ms, err := redigo.Int64(s.do(ctx, "PTTL", tt.key))
		if err != nil {
			t.Fatal(err)
		}
		got := time.Duration(ms) * time.Millisecond
		if got > tt.want || got < tt.want-time.Minute {
			t.Errorf("TTL of %s = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestAppendEventsSkipsEventsWithoutSID(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	evs := []store.Event{{Type: store.EventPageView, At: baseTime(), Day: "d"}}
	if err := s.AppendEvents(ctx, evs, retention); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, nil, retention); err != nil {
		t.Fatal(err)
	}
	days, err := s.Days(ctx, []string{"d"})
	if err != nil || days[0] != (store.DayStats{Day: "d"}) {
		t.Errorf("Days = %+v, %v; want nothing counted", days, err)
	}
}

func TestAudit(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	const ret = 90 * 24 * time.Hour
	actions := []string{"login", "terminate", "logout"}
	var ids []string
	// 30 entries, three per millisecond, so that paging has to split
	// entries of one millisecond.
	for i := range 30 {
		e := store.AuditEntry{At: now.Add(time.Duration(i/3) * time.Millisecond), Actor: "a" + strconv.Itoa(i%2),
			ActorIP: "192.0.2.1", Action: actions[i%3], Target: "t" + strconv.Itoa(i%5), Reason: "r"}
		id, err := s.AppendAudit(ctx, e, ret)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > 0 && id <= ids[len(ids)-1] {
			t.Fatalf("id %q does not sort after %q", id, ids[len(ids)-1])
		}
		ids = append(ids, id)
	}
	if err := s.CompleteAudit(ctx, ids[4], "ok", 7, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAudit(ctx, "0000000000001-000000000001", "ok", 1, now); err != nil {
		t.Fatalf("CompleteAudit of an unknown id: %v", err)
	}
	if n, _ := redigo.Int(s.do(ctx, "EXISTS", s.auditKey("0000000000001-000000000001"))); n != 0 {
		t.Error("CompleteAudit of an unknown id created it")
	}

	// index returns the positions in ids (append order) of the entries
	// that match, newest first.
	index := func(match func(i int) bool) []int {
		var out []int
		for i := len(ids) - 1; i >= 0; i-- {
			if match(i) {
				out = append(out, i)
			}
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want []int
	}{
		{"all", store.AuditQuery{Limit: 7}, index(func(int) bool { return true })},
		{"actor", store.AuditQuery{Actor: "a1", Limit: 4}, index(func(i int) bool { return i%2 == 1 })},
		{"action and target", store.AuditQuery{Action: "terminate", Target: "t1", Limit: 1},
			index(func(i int) bool { return i%3 == 1 && i%5 == 1 })},
		{"range", store.AuditQuery{From: now.Add(2 * time.Millisecond), To: now.Add(5 * time.Millisecond), Limit: 4},
			index(func(i int) bool { return i/3 >= 2 && i/3 < 5 })},
		{"sub-ms range", store.AuditQuery{From: now.Add(1500 * time.Microsecond), To: now.Add(2500 * time.Microsecond)},
			index(func(i int) bool { return i/3 == 2 })},
		{"none", store.AuditQuery{Actor: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			q := tt.q
			for pages := 0; ; pages++ {
				if pages > 40 {
					t.Fatal("paging does not end")
				}
				p, err := s.QueryAudit(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if p.Next != "" && len(p.Entries) != q.Limit {
					t.Errorf("page of %d entries with a next, limit %d", len(p.Entries), q.Limit)
				}
				for _, e := range p.Entries {
					got = append(got, slicesIndex(ids, e.ID))
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("entries %v, want %v", got, tt.want)
			}
		})
	}

	p, err := s.QueryAudit(ctx, store.AuditQuery{From: now.Add(time.Millisecond), To: now.Add(2 * time.Millisecond), Action: "terminate"})
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("QueryAudit = %+v, %v", p, err)
	}
	want := store.AuditEntry{ID: ids[4], At: now.Add(time.Millisecond), Actor: "a0", ActorIP: "192.0.2.1",
		Action: "terminate", Target: "t4", Reason: "r", Result: "ok", Affected: 7, CompletedAt: now.Add(time.Second)}
	got := p.Entries[0]
	if got.At.Equal(want.At) && got.CompletedAt.Equal(want.CompletedAt) {
		got.At, got.CompletedAt = want.At, want.CompletedAt
	}
	if got != want {
		t.Errorf("entry = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"x", "123", "0000000000001_000000000001", "0000000000001-"} {
		if _, err := s.QueryAudit(ctx, store.AuditQuery{Cursor: bad}); err == nil {
			t.Errorf("QueryAudit(cursor %q) = nil error", bad)
		}
	}
}

func slicesIndex(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// TestAuditWalksPastOneCall: a filter that matches only the oldest entry
// makes the query walk more than one script call's worth of ids.
func TestAuditWalksPastOneCall(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	n := auditScanPerCall*2 + 10
	for i := range n {
		actor := "busy"
		if i == 0 {
			actor = "rare"
		}
		if _, err := s.AppendAudit(ctx, store.AuditEntry{At: now.Add(time.Duration(i) * time.Millisecond), Actor: actor, Action: "login"}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.QueryAudit(ctx, store.AuditQuery{Actor: "rare"})
	if err != nil || len(p.Entries) != 1 || p.Next != "" || !p.Entries[0].At.Equal(now) {
		t.Errorf("QueryAudit(rare) = %d entries, next %q, %v; want the oldest entry alone", len(p.Entries), p.Next, err)
	}
}

// TestAuditIndexPruned: the index drops ids whose entry expired, on the next
// append, whatever time the entries carry.
func TestAuditIndexPruned(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	old := baseTime().Add(-365 * 24 * time.Hour)
	for i := range 3 {
		if _, err := s.AppendAudit(ctx, store.AuditEntry{At: old.Add(time.Duration(i) * time.Second), Actor: "a", Action: "login"}, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := s.AppendAudit(ctx, store.AuditEntry{At: old, Actor: "a", Action: "login"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{s.prefix + "audit", s.prefix + "audit:x"} {
		if n, err := redigo.Int(s.do(ctx, "ZCARD", k)); n != 1 || err != nil {
			t.Errorf("ZCARD %s = %d, %v; want 1", k, n, err)
		}
	}
	p, err := s.QueryAudit(ctx, store.AuditQuery{})
	if err != nil || len(p.Entries) != 1 {
		t.Errorf("QueryAudit = %d entries, %v; want 1", len(p.Entries), err)
	}
}

// TestAuditWalkIsBounded: a query stops after auditMaxCalls script calls and
// returns a short page whose Next resumes the walk where it stopped.
func TestAuditWalkIsBounded(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	now := baseTime()
	n := auditScanPerCall*auditMaxCalls + 1
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := s.AppendAudit(ctx, store.AuditEntry{At: now, Actor: "rare", Action: "login"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		err := scriptAppendAudit.SendHash(c, s.prefix, millis(now)+int64(i), time.Hour.Milliseconds(), time.Now().UnixMilli(),
			"busy", "", "login", "", "", "pending", 0, zeroMillis)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Do(""); err != nil {
		t.Fatal(err)
	}
	p, err := s.QueryAudit(ctx, store.AuditQuery{Actor: "rare"})
	if err != nil || len(p.Entries) != 0 || p.Next == "" {
		t.Fatalf("first page = %d entries, next %q, %v; want a short page with a next", len(p.Entries), p.Next, err)
	}
	p, err = s.QueryAudit(ctx, store.AuditQuery{Actor: "rare", Cursor: p.Next})
	if err != nil || len(p.Entries) != 1 || p.Next != "" || p.Entries[0].Actor != "rare" {
		t.Errorf("second page = %+v, %v; want the rare entry and no next", p, err)
	}
}
