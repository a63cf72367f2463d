package storetest

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// retention is what the analytics tests write with: long, because Redis
// applies it as a real-time TTL and nothing may expire while a test runs.
const retention = 30 * 24 * time.Hour

// dayKey and hourKey name the buckets of t as the service does (here in UTC).
// Tests use keys near the real clock, because a store may derive a bucket's
// expiry from its key.
func dayKey(t time.Time) string  { return t.UTC().Format("2006-01-02") }
func hourKey(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// event returns an event of sid by "ana" at at, with its day and hour keys.
func event(sid, typ string, at time.Time, data map[string]string) store.Event {
	return store.Event{SID: sid, User: "ana", Type: typ, At: at, Data: data, Day: dayKey(at), Hour: hourKey(at)}
}

func mustAppend(t *testing.T, s store.Store, events ...store.Event) {
	t.Helper()
	if err := s.AppendEvents(t.Context(), events, retention); err != nil {
		t.Fatalf("AppendEvents(%d events): %v", len(events), err)
	}
}

func mustCounters(t *testing.T, s store.Store, sid string) store.SessionCounters {
	t.Helper()
	c, ok, err := s.Counters(t.Context(), sid)
	if err != nil {
		t.Fatalf("Counters(%s): %v", sid, err)
	}
	if !ok {
		t.Fatalf("Counters(%s): found=false, want true", sid)
	}
	return c
}

func mustTimeline(t *testing.T, s store.Store, sid string, offset, limit int) []store.Event {
	t.Helper()
	evs, err := s.Timeline(t.Context(), sid, offset, limit)
	if err != nil {
		t.Fatalf("Timeline(%s, %d, %d): %v", sid, offset, limit, err)
	}
	return evs
}

func mustDays(t *testing.T, s store.Store, days ...string) []store.DayStats {
	t.Helper()
	got, err := s.Days(t.Context(), days)
	if err != nil {
		t.Fatalf("Days(%v): %v", days, err)
	}
	if len(got) != len(days) {
		t.Fatalf("Days(%v): got %d buckets, want %d", days, len(got), len(days))
	}
	return got
}

func mustHours(t *testing.T, s store.Store, hours ...string) []store.HourStats {
	t.Helper()
	got, err := s.Hours(t.Context(), hours)
	if err != nil {
		t.Fatalf("Hours(%v): %v", hours, err)
	}
	if len(got) != len(hours) {
		t.Fatalf("Hours(%v): got %d buckets, want %d", hours, len(got), len(hours))
	}
	return got
}

func mustNoteStart(t *testing.T, s store.Store, user, day, hour string, now time.Time) {
	t.Helper()
	if err := s.NoteStart(t.Context(), user, day, hour, now, retention); err != nil {
		t.Errorf("NoteStart(%s, %s, %s): %v", user, day, hour, err)
	}
}

// diffEvent lists the fields where got differs from want. A nil and an empty
// Data are the same; Day and Hour are bucket keys, not part of the timeline.
func diffEvent(got, want store.Event) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	str("SID", got.SID, want.SID)
	str("User", got.User, want.User)
	str("Type", got.Type, want.Type)
	if !got.At.Equal(want.At) {
		d = append(d, fmt.Sprintf("At: got %s, want %s", fmtTime(got.At), fmtTime(want.At)))
	}
	if !maps.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data: got %v, want %v", got.Data, want.Data))
	}
	return d
}

// checkEvents fails the test unless got is want, event by event.
func checkEvents(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d events, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if d := diffEvent(got[i], want[i]); len(d) > 0 {
			t.Errorf("%s: event %d differs:\n  %s", what, i, strings.Join(d, "\n  "))
		}
	}
}

// newestFirst returns evs reversed: the order a timeline returns them in.
func newestFirst(evs []store.Event) []store.Event {
	out := make([]store.Event, len(evs))
	for i, e := range evs {
		out[len(evs)-1-i] = e
	}
	return out
}

// checkCounters compares every field of SessionCounters.
func checkCounters(t *testing.T, what string, got, want store.SessionCounters) {
	t.Helper()
	var d []string
	num := func(name string, g, w int64) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %d, want %d", name, g, w))
		}
	}
	num("PageViews", got.PageViews, want.PageViews)
	num("APICalls", got.APICalls, want.APICalls)
	num("Uploads", got.Uploads, want.Uploads)
	num("Analyses", got.Analyses, want.Analyses)
	num("Comments", got.Comments, want.Comments)
	num("Events", got.Events, want.Events)
	num("Dropped", got.Dropped, want.Dropped)
	if !got.First.Equal(want.First) {
		d = append(d, fmt.Sprintf("First: got %s, want %s", fmtTime(got.First), fmtTime(want.First)))
	}
	if !got.Last.Equal(want.Last) {
		d = append(d, fmt.Sprintf("Last: got %s, want %s", fmtTime(got.Last), fmtTime(want.Last)))
	}
	if len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// testAnalytics checks events, per-session counters and timelines, daily and
// hourly aggregates, and the audit log. Everything is written with a long
// retention except in the Retention cases.
func testAnalytics(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Events", func(t *testing.T) { testEvents(t, newStore) })
	t.Run("Aggregates", func(t *testing.T) { testAggregates(t, newStore) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, newStore) })
}

func testEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CountersExact", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Second) }
		evs := []store.Event{
			event("s-1", store.EventLogin, at(0), nil),
			event("s-1", store.EventPageView, at(1), map[string]string{"path": "/workspace"}),
			event("s-1", store.EventPageView, at(2), map[string]string{"path": "/workspace/files"}),
			event("s-1", store.EventAPICall, at(3), map[string]string{"path": "/api/status"}),
			// An upload's comment count is not an analysis: only analysis_run adds to Comments.
			event("s-1", store.EventFileUpload, at(4), map[string]string{"bytes": "2048", "comments": "999"}),
			event("s-1", store.EventAnalysisRun, at(5), map[string]string{"comments": "120"}),
			event("s-1", store.EventStateChange, at(6), map[string]string{"category": "ui_state"}),
			event("s-1", store.EventAnalysisRun, at(7), map[string]string{"comments": "30"}),
			event("s-1", store.EventAnalysisRun, at(8), nil), // no comment count: adds none
			// A malformed count adds none and fails nothing: a batch that
			// failed for it would be retried forever.
			event("s-1", store.EventAnalysisRun, at(8), map[string]string{"comments": "12 comments"}),
			event("s-1", store.EventAPICall, at(9), nil),
			event("s-1", store.EventAPICall, at(10), nil),
			event("s-1", store.EventRefresh, at(11), nil),
			event("s-1", store.EventPageView, at(12), nil),
			event("s-1", store.EventLogout, at(13), nil),
		}
		mustAppend(t, s, evs[:5]...)
		mustAppend(t, s, evs[5:]...)
		checkCounters(t, "Counters after two batches", mustCounters(t, s, "s-1"), store.SessionCounters{
			PageViews: 3, APICalls: 3, Uploads: 1, Analyses: 4, Comments: 150,
			Events: int64(len(evs)), First: at(0), Last: at(13),
		})
		// Appending again counts again.
		mustAppend(t, s, event("s-1", store.EventAnalysisRun, at(14), map[string]string{"comments": "5"}))
		checkCounters(t, "Counters after one more analysis", mustCounters(t, s, "s-1"), store.SessionCounters{
			PageViews: 3, APICalls: 3, Uploads: 1, Analyses: 5, Comments: 155,
			Events: int64(len(evs)) + 1, First: at(0), Last: at(14),
		})
	})

	t.Run("UnknownSession", func(t *testing.T) {
		s := newStore(t)
		mustAppend(t, s, event("s-1", store.EventPageView, baseTime(), nil))
		c, ok, err := s.Counters(t.Context(), "s-none")
		if err != nil || ok {
			t.Errorf("Counters of a session without events: got (%+v, %v, %v), want (zero, false, nil)", c, ok, err)
		}
		if evs := mustTimeline(t, s, "s-none", 0, 50); len(evs) != 0 {
			t.Errorf("Timeline of a session without events: got %d events, want 0", len(evs))
		}
		if err := s.AppendEvents(t.Context(), nil, retention); err != nil {
			t.Errorf("AppendEvents of an empty batch: %v", err)
		}
	})

	t.Run("TimelineNewestFirst", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		data := []map[string]string{
			{"path": "/workspace/a?b=c&d=e", "title": "ñandutí 🕸 \"quoted\" <b>"},
			nil,
			{"bytes": "1048576", "name": "comments, 2026.csv", "empty": ""},
			{"comments": "42", "cost": "0.37", "model": "v2"},
		}
		types := []string{store.EventPageView, store.EventAPICall, store.EventFileUpload, store.EventAnalysisRun}
		var evs []store.Event
		for i := range 10 {
			evs = append(evs, event("s-1", types[i%4], now.Add(time.Duration(i)*1500*time.Millisecond), data[i%4]))
		}
		mustAppend(t, s, evs...)
		want := newestFirst(evs)
		checkEvents(t, "Timeline(0, 50)", mustTimeline(t, s, "s-1", 0, 50), want)
		pages := []struct{ offset, limit, from, to int }{
			{0, 3, 0, 3},
			{3, 4, 3, 7},
			{7, 10, 7, 10},
			{9, 1, 9, 10},
			{10, 5, 10, 10},
			{25, 5, 10, 10},
		}
		for _, p := range pages {
			checkEvents(t, fmt.Sprintf("Timeline(%d, %d)", p.offset, p.limit),
				mustTimeline(t, s, "s-1", p.offset, p.limit), want[p.from:p.to])
		}
	})

	t.Run("OrderAcrossBatches", func(t *testing.T) {
		// The timeline is in append order, not time order: events that share
		// a timestamp, or arrive late, keep the order they were appended in.
		s := newStore(t)
		now := baseTime()
		var all []store.Event
		for b, times := range [][]time.Duration{{0, 0, 0}, {0, time.Second}, {500 * time.Millisecond, time.Second, time.Second, 2 * time.Second}} {
			var batch []store.Event
			for i, d := range times {
				batch = append(batch, event("s-1", store.EventPageView, now.Add(d), map[string]string{"n": fmt.Sprintf("%d.%d", b, i)}))
			}
			mustAppend(t, s, batch...)
			all = append(all, batch...)
		}
		checkEvents(t, "Timeline after three batches", mustTimeline(t, s, "s-1", 0, 50), newestFirst(all))
		if c := mustCounters(t, s, "s-1"); c.Events != int64(len(all)) || c.PageViews != int64(len(all)) {
			t.Errorf("Counters: got Events %d PageViews %d, want %d each", c.Events, c.PageViews, len(all))
		}
	})

	t.Run("TimelineCap", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		const n = store.TimelineCap + 100
		evs := make([]store.Event, n)
		for i := range n {
			evs[i] = event("s-1", store.EventPageView, now.Add(time.Duration(i)*time.Millisecond), map[string]string{"n": strconv.Itoa(i)})
		}
		// Cross the cap within a batch and between batches.
		mustAppend(t, s, evs[:450]...)
		mustAppend(t, s, evs[450:520]...)
		mustAppend(t, s, evs[520:]...)
		want := newestFirst(evs)[:store.TimelineCap]
		checkEvents(t, "Timeline past the cap", mustTimeline(t, s, "s-1", 0, n), want)
		checkEvents(t, "Timeline tail past the cap", mustTimeline(t, s, "s-1", store.TimelineCap-10, 50), want[store.TimelineCap-10:])
		checkCounters(t, "Counters past the cap", mustCounters(t, s, "s-1"), store.SessionCounters{
			PageViews: n, Events: n, Dropped: n - store.TimelineCap, First: evs[0].At, Last: evs[n-1].At,
		})
	})

	t.Run("SessionsIndependent", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		var batch, a, b []store.Event
		for i := range 12 {
			at := now.Add(time.Duration(i) * time.Second)
			if i%3 == 0 {
				e := event("s-b", store.EventAnalysisRun, at, map[string]string{"comments": "10"})
				e.User = "beto"
				b = append(b, e)
				batch = append(batch, e)
				continue
			}
			e := event("s-a", store.EventPageView, at, map[string]string{"i": strconv.Itoa(i)})
			a = append(a, e)
			batch = append(batch, e)
		}
		mustAppend(t, s, batch...)
		checkEvents(t, "Timeline(s-a)", mustTimeline(t, s, "s-a", 0, 50), newestFirst(a))
		checkEvents(t, "Timeline(s-b)", mustTimeline(t, s, "s-b", 0, 50), newestFirst(b))
		checkCounters(t, "Counters(s-a)", mustCounters(t, s, "s-a"), store.SessionCounters{
			PageViews: int64(len(a)), Events: int64(len(a)), First: a[0].At, Last: a[len(a)-1].At,
		})
		checkCounters(t, "Counters(s-b)", mustCounters(t, s, "s-b"), store.SessionCounters{
			Analyses: int64(len(b)), Comments: 10 * int64(len(b)), Events: int64(len(b)), First: b[0].At, Last: b[len(b)-1].At,
		})
	})

	t.Run("OutliveTheSession", func(t *testing.T) {
		// The console shows an archived session's analytics: ending and
		// archiving the session leaves its events to their retention.
		s := newStore(t)
		now := baseTime()
		mustCreate(t, s, newRecord("s-1", "ana", "analyst", now), now)
		evs := []store.Event{
			event("s-1", store.EventLogin, now, nil),
			event("s-1", store.EventPageView, now.Add(time.Second), map[string]string{"path": "/workspace"}),
			event("s-1", store.EventAnalysisRun, now.Add(2*time.Second), map[string]string{"comments": "7"}),
		}
		mustAppend(t, s, evs[:2]...)
		endAt := now.Add(3 * time.Second)
		if _, err := s.End(t.Context(), "s-1", store.Tombstone{SID: "s-1", Reason: store.ReasonLogout, Actor: "ana", At: endAt}, keep); err != nil {
			t.Fatalf("End: %v", err)
		}
		// A batch flushed after the end still lands.
		mustAppend(t, s, evs[2])
		ended := mustEnded(t, s, endAt, 10)
		if len(ended) != 1 {
			t.Fatalf("Ended: got %v, want [s-1]", endedSIDs(ended))
		}
		if err := s.Archive(t.Context(), ended[0], endAt.Add(time.Minute), retention); err != nil {
			t.Fatalf("Archive: %v", err)
		}
		checkEvents(t, "Timeline after Archive", mustTimeline(t, s, "s-1", 0, 50), newestFirst(evs))
		checkCounters(t, "Counters after Archive", mustCounters(t, s, "s-1"), store.SessionCounters{
			PageViews: 1, Analyses: 1, Comments: 7, Events: 3, First: evs[0].At, Last: evs[2].At,
		})
	})

	t.Run("Retention", func(t *testing.T) {
		// A session's events expire retention after its last event. Redis
		// measures that on the real clock (a TTL), an embedded store may
		// measure it against the times it is given and prune on a later
		// write: the old session is past its retention on both clocks when
		// the next batch, an hour later in passed time, is written.
		s := newStore(t)
		now := baseTime()
		const short = 50 * time.Millisecond
		if err := s.AppendEvents(t.Context(), []store.Event{event("s-old", store.EventPageView, now, nil)}, short); err != nil {
			t.Fatalf("AppendEvents with a short retention: %v", err)
		}
		mustAppend(t, s, event("s-kept", store.EventPageView, now, nil))
		time.Sleep(3 * short)
		mustAppend(t, s, event("s-new", store.EventPageView, now.Add(time.Hour), nil))
		if c, ok, err := s.Counters(t.Context(), "s-old"); err != nil || ok {
			t.Errorf("Counters past the retention: got (%+v, %v, %v), want (zero, false, nil)", c, ok, err)
		}
		if evs := mustTimeline(t, s, "s-old", 0, 50); len(evs) != 0 {
			t.Errorf("Timeline past the retention: got %d events, want 0", len(evs))
		}
		for _, sid := range []string{"s-kept", "s-new"} {
			if c := mustCounters(t, s, sid); c.Events != 1 {
				t.Errorf("Counters(%s): got Events %d, want 1", sid, c.Events)
			}
		}
	})

	t.Run("ConcurrentAppends", func(t *testing.T) {
		// Batches from many flushers at once: none is lost, and each
		// writer's events keep their order in the timeline.
		s := newStore(t)
		now := baseTime()
		const writers, batches, size = 10, 10, 4
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					batch := make([]store.Event, size)
					for i := range batch {
						n := b*size + i
						batch[i] = event("s-1", store.EventAPICall, now.Add(time.Duration(n)*time.Millisecond), map[string]string{"w": strconv.Itoa(w), "n": strconv.Itoa(n)})
					}
					if err := s.AppendEvents(t.Context(), batch, retention); err != nil {
						t.Errorf("AppendEvents(writer %d, batch %d): %v", w, b, err)
						return
					}
				}
			})
		}
		wg.Wait()
		const total = writers * batches * size
		if c := mustCounters(t, s, "s-1"); c.Events != total || c.APICalls != total || c.Dropped != 0 {
			t.Errorf("Counters: got Events %d APICalls %d Dropped %d, want %d, %d, 0", c.Events, c.APICalls, c.Dropped, total, total)
		}
		evs := mustTimeline(t, s, "s-1", 0, store.TimelineCap)
		if len(evs) != total {
			t.Fatalf("Timeline: got %d events, want %d", len(evs), total)
		}
		next := map[string]int{} // per writer, the n expected next (newest first)
		for w := range writers {
			next[strconv.Itoa(w)] = batches*size - 1
		}
		for i, e := range evs {
			w, n := e.Data["w"], e.Data["n"]
			if want := next[w]; n != strconv.Itoa(want) {
				t.Fatalf("Timeline[%d]: writer %q event n=%s, want n=%d: a writer's events are out of order", i, w, n, want)
			}
			next[w]--
		}
	})
}

func testAggregates(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("EventsByDayAndHour", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		d1, d2 := dayKey(now), dayKey(now.Add(24*time.Hour))
		h1, h2, h3 := hourKey(now), hourKey(now.Add(time.Hour)), hourKey(now.Add(24*time.Hour))
		// The buckets are the event's keys, whatever its time says.
		ev := func(sid, typ, day, hour string) store.Event {
			e := event(sid, typ, now, nil)
			e.Day, e.Hour = day, hour
			return e
		}
		var batch []store.Event
		add := func(n int, sid, typ, day, hour string) {
			for range n {
				batch = append(batch, ev(sid, typ, day, hour))
			}
		}
		add(3, "s-1", store.EventPageView, d1, h1)
		add(2, "s-2", store.EventPageView, d1, h2)
		add(4, "s-1", store.EventAPICall, d1, h1)
		add(2, "s-2", store.EventAnalysisRun, d1, h2)
		add(1, "s-1", store.EventAnalysisRun, d1, h1)
		add(5, "s-3", store.EventPageView, d2, h3)
		add(1, "s-3", store.EventAnalysisRun, d2, h3)
		add(2, "s-3", store.EventAPICall, d2, h3)
		// Types the aggregates do not count.
		for _, typ := range []string{store.EventFileUpload, store.EventStateChange, store.EventLogin, store.EventLogout, store.EventRefresh} {
			add(1, "s-1", typ, d1, h1)
		}
		mustAppend(t, s, batch[:10]...)
		mustAppend(t, s, batch[10:]...)

		const unknownDay, unknownHour = "1999-01-01", "1999-01-01T00"
		gotDays := mustDays(t, s, d2, unknownDay, d1)
		wantDays := []store.DayStats{
			{Day: d2, PageViews: 5, Analyses: 1, APICalls: 2},
			{Day: unknownDay},
			{Day: d1, PageViews: 5, Analyses: 3, APICalls: 4},
		}
		for i := range wantDays {
			if gotDays[i] != wantDays[i] {
				t.Errorf("Days[%d]: got %+v, want %+v", i, gotDays[i], wantDays[i])
			}
		}
		gotHours := mustHours(t, s, h1, unknownHour, h3, h2)
		wantHours := []store.HourStats{
			{Hour: h1, PageViews: 3, Analyses: 1},
			{Hour: unknownHour},
			{Hour: h3, PageViews: 5, Analyses: 1},
			{Hour: h2, PageViews: 2, Analyses: 2},
		}
		for i := range wantHours {
			if gotHours[i] != wantHours[i] {
				t.Errorf("Hours[%d]: got %+v, want %+v", i, gotHours[i], wantHours[i])
			}
		}
		if got := mustDays(t, s); len(got) != 0 {
			t.Errorf("Days of no days: got %d buckets, want 0", len(got))
		}
		if got := mustHours(t, s); len(got) != 0 {
			t.Errorf("Hours of no hours: got %d buckets, want 0", len(got))
		}
	})

	t.Run("StartsAndUniqueUsers", func(t *testing.T) {
		// No session is live in the registry here, so every peak stays 0.
		s := newStore(t)
		now := baseTime()
		d1, d2 := dayKey(now), dayKey(now.Add(24*time.Hour))
		h1, h2 := hourKey(now), hourKey(now.Add(24*time.Hour))
		for _, u := range []string{"ana", "beto", "ana", "ana"} {
			mustNoteStart(t, s, u, d1, h1, now)
		}
		// The next day counts its own users: ana again, and carla.
		for _, u := range []string{"ana", "carla"} {
			mustNoteStart(t, s, u, d2, h2, now.Add(24*time.Hour))
		}
		got := mustDays(t, s, d1, d2)
		want := []store.DayStats{{Day: d1, Created: 4, UniqueUsers: 2}, {Day: d2, Created: 2, UniqueUsers: 2}}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("Days[%d]: got %+v, want %+v", i, got[i], want[i])
			}
		}
		gotH := mustHours(t, s, h1, h2)
		wantH := []store.HourStats{{Hour: h1, Created: 4}, {Hour: h2, Created: 2}}
		for i := range wantH {
			if gotH[i] != wantH[i] {
				t.Errorf("Hours[%d]: got %+v, want %+v", i, gotH[i], wantH[i])
			}
		}
	})

	t.Run("FiftyUniqueUsers", func(t *testing.T) {
		// HyperLogLog is approximate. Redis counts these 50 names exactly
		// (PFADD/PFCOUNT: no two share a register), though not every set of 50
		// names is counted exactly ("user-%02d" counts 49): keep the names.
		s := newStore(t)
		now := baseTime()
		d, h := dayKey(now), hourKey(now)
		const users = 50
		for round := range 2 {
			for i := range users {
				mustNoteStart(t, s, fmt.Sprintf("u%02d", i), d, h, now.Add(time.Duration(round)*time.Minute))
			}
		}
		if got := mustDays(t, s, d)[0]; got.UniqueUsers != users || got.Created != 2*users {
			t.Errorf("Days(%s): got UniqueUsers %d Created %d, want %d and %d", d, got.UniqueUsers, got.Created, users, 2*users)
		}
	})

	t.Run("PeakConcurrent", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		d, h1 := dayKey(now), hourKey(now)
		n := 0
		start := func(at time.Time, hour string) string {
			t.Helper()
			n++
			sid, user := fmt.Sprintf("s-%02d", n), fmt.Sprintf("u%02d", n) // one user each: Create ends nothing
			mustCreate(t, s, newRecord(sid, user, "analyst", at), at)
			mustNoteStart(t, s, user, d, hour, at)
			return sid
		}
		peak := func(what string, wantDay, wantHour int64, hour string) {
			t.Helper()
			if got := mustDays(t, s, d)[0]; got.PeakConcurrent != wantDay || got.Created != int64(n) {
				t.Errorf("%s: Days(%s) PeakConcurrent %d Created %d, want %d and %d", what, d, got.PeakConcurrent, got.Created, wantDay, n)
			}
			if got := mustHours(t, s, hour)[0]; got.PeakActive != wantHour {
				t.Errorf("%s: Hours(%s) PeakActive %d, want %d", what, hour, got.PeakActive, wantHour)
			}
		}
		first := start(now, h1)
		peak("after 1 start", 1, 1, h1)
		start(now.Add(time.Minute), h1)
		start(now.Add(2*time.Minute), h1)
		peak("after 3 starts", 3, 3, h1)

		// One ends: the next start sees 3 live again, the peak stays 3.
		if _, err := s.End(t.Context(), first, store.Tombstone{SID: first, Reason: store.ReasonLogout, Actor: "u01", At: now.Add(3 * time.Minute)}, keep); err != nil {
			t.Fatalf("End(%s): %v", first, err)
		}
		start(now.Add(4*time.Minute), h1)
		peak("after an end and a start", 3, 3, h1)
		start(now.Add(5*time.Minute), h1)
		peak("after 5 starts, 1 end", 4, 4, h1)

		// Two hours on, every session so far is past its idle deadline though
		// still in the registry: none of them is live, so the new hour's peak
		// is the new session alone.
		later := now.Add(2 * time.Hour)
		h2 := hourKey(later)
		start(later, h2)
		peak("after a start when the others had passed their deadline", 4, 1, h2)
		if got := mustHours(t, s, h1)[0]; got.PeakActive != 4 || got.Created != 5 {
			t.Errorf("Hours(%s) after the later start: got PeakActive %d Created %d, want 4 and 5", h1, got.PeakActive, got.Created)
		}
	})

	t.Run("PeakAtTheDeadline", func(t *testing.T) {
		// Live means a deadline after now: a session is counted up to the
		// millisecond before its deadline and not at it.
		s := newStore(t)
		now := baseTime()
		d, h1, h2 := dayKey(now), hourKey(now), hourKey(now.Add(time.Hour))
		a := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, a, now)
		before := a.Deadline().Add(-time.Millisecond)
		mustCreate(t, s, newRecord("s-b", "beto", "analyst", before), before)
		mustNoteStart(t, s, "beto", d, h1, before)
		if _, err := s.End(t.Context(), "s-b", store.Tombstone{SID: "s-b", Reason: store.ReasonLogout, Actor: "beto", At: before}, keep); err != nil {
			t.Fatalf("End(s-b): %v", err)
		}
		at := a.Deadline()
		mustCreate(t, s, newRecord("s-c", "carla", "analyst", at), at)
		mustNoteStart(t, s, "carla", d, h2, at)
		got := mustHours(t, s, h1, h2)
		if got[0].PeakActive != 2 || got[1].PeakActive != 1 {
			t.Errorf("PeakActive a millisecond before s-a's deadline and at it: got %d and %d, want 2 and 1", got[0].PeakActive, got[1].PeakActive)
		}
	})

	t.Run("PeakConcurrentFifty", func(t *testing.T) {
		// 50 logins at once: the last NoteStart to run sees all 50 created.
		s := newStore(t)
		now := baseTime()
		d, h := dayKey(now), hourKey(now)
		const n = 50
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				sid, user := fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d", i) // the names of FiftyUniqueUsers
				if _, err := s.Create(t.Context(), newRecord(sid, user, "analyst", now), 3, now, time.Hour); err != nil {
					t.Errorf("Create(%s): %v", sid, err)
					return
				}
				if err := s.NoteStart(t.Context(), user, d, h, now, retention); err != nil {
					t.Errorf("NoteStart(%s): %v", user, err)
				}
			})
		}
		wg.Wait()
		if got, want := mustDays(t, s, d)[0], (store.DayStats{Day: d, Created: n, UniqueUsers: n, PeakConcurrent: n}); got != want {
			t.Errorf("Days(%s): got %+v, want %+v", d, got, want)
		}
		if got, want := mustHours(t, s, h)[0], (store.HourStats{Hour: h, Created: n, PeakActive: n}); got != want {
			t.Errorf("Hours(%s): got %+v, want %+v", h, got, want)
		}
	})

	t.Run("Ends", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		d1, d2 := dayKey(now), dayKey(now.Add(24*time.Hour))
		ends := []struct {
			day string
			dur time.Duration
		}{
			{d1, 90 * time.Second},
			{d1, 30 * time.Minute},
			{d1, 11*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond},
			{d2, 1500 * time.Millisecond},
		}
		for _, e := range ends {
			if err := s.NoteEnd(t.Context(), e.day, e.dur, retention); err != nil {
				t.Fatalf("NoteEnd(%s, %s): %v", e.day, e.dur, err)
			}
		}
		mustNoteStart(t, s, "ana", d1, hourKey(now), now)
		got := mustDays(t, s, d1, d2)
		want := []store.DayStats{
			{Day: d1, Created: 1, UniqueUsers: 1, Ended: 3, DurationSum: 12*time.Hour + 31*time.Minute + 29*time.Second + 999*time.Millisecond},
			{Day: d2, Ended: 1, DurationSum: 1500 * time.Millisecond},
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("Days[%d]: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("EverythingInOneDay", func(t *testing.T) {
		// Starts, ends and events add up in the same bucket.
		s := newStore(t)
		now := baseTime()
		d, h := dayKey(now), hourKey(now)
		mustCreate(t, s, newRecord("s-1", "ana", "analyst", now), now)
		mustNoteStart(t, s, "ana", d, h, now)
		ev := func(typ string) store.Event {
			e := event("s-1", typ, now, nil)
			e.Day, e.Hour = d, h
			return e
		}
		mustAppend(t, s, ev(store.EventLogin), ev(store.EventPageView), ev(store.EventAnalysisRun), ev(store.EventAPICall))
		if err := s.NoteEnd(t.Context(), d, time.Minute, retention); err != nil {
			t.Fatalf("NoteEnd: %v", err)
		}
		if got, want := mustDays(t, s, d)[0], (store.DayStats{Day: d, Created: 1, UniqueUsers: 1, PeakConcurrent: 1, Ended: 1, DurationSum: time.Minute, Analyses: 1, PageViews: 1, APICalls: 1}); got != want {
			t.Errorf("Days(%s): got %+v, want %+v", d, got, want)
		}
		if got, want := mustHours(t, s, h)[0], (store.HourStats{Hour: h, Created: 1, PeakActive: 1, Analyses: 1, PageViews: 1}); got != want {
			t.Errorf("Hours(%s): got %+v, want %+v", h, got, want)
		}
	})
}

// auditRetention is what the audit tests write with (see retention).
const auditRetention = 90 * 24 * time.Hour

func mustAudit(t *testing.T, s store.Store, e store.AuditEntry) string {
	t.Helper()
	id, err := s.AppendAudit(t.Context(), e, auditRetention)
	if err != nil {
		t.Fatalf("AppendAudit(%s by %s): %v", e.Action, e.Actor, err)
	}
	if id == "" {
		t.Fatalf("AppendAudit(%s by %s): empty id", e.Action, e.Actor)
	}
	return id
}

func mustQueryAudit(t *testing.T, s store.Store, q store.AuditQuery) store.AuditPage {
	t.Helper()
	p, err := s.QueryAudit(t.Context(), q)
	if err != nil {
		t.Fatalf("QueryAudit(%+v): %v", q, err)
	}
	return p
}

// diffAudit lists the fields where got differs from want.
func diffAudit(got, want store.AuditEntry) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s: got %s, want %s", name, fmtTime(g), fmtTime(w)))
		}
	}
	str("ID", got.ID, want.ID)
	tm("At", got.At, want.At)
	str("Actor", got.Actor, want.Actor)
	str("ActorIP", got.ActorIP, want.ActorIP)
	str("Action", got.Action, want.Action)
	str("Target", got.Target, want.Target)
	str("Reason", got.Reason, want.Reason)
	str("Result", got.Result, want.Result)
	if got.Affected != want.Affected {
		d = append(d, fmt.Sprintf("Affected: got %d, want %d", got.Affected, want.Affected))
	}
	tm("CompletedAt", got.CompletedAt, want.CompletedAt)
	return d
}

// checkAudit fails the test unless got is want, entry by entry.
func checkAudit(t *testing.T, what string, got, want []store.AuditEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d entries %v, want %d %v", what, len(got), auditIDs(got), len(want), auditIDs(want))
		return
	}
	for i := range got {
		if d := diffAudit(got[i], want[i]); len(d) > 0 {
			t.Errorf("%s: entry %d differs:\n  %s", what, i, strings.Join(d, "\n  "))
		}
	}
}

func auditIDs(es []store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// reverseAudit returns es newest first, given es in the order appended.
func reverseAudit(es []store.AuditEntry) []store.AuditEntry {
	out := make([]store.AuditEntry, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e
	}
	return out
}

// auditAll reads every page of q (its Limit per page) and checks that the
// pages end.
func auditAll(t *testing.T, s store.Store, q store.AuditQuery) (entries []store.AuditEntry, pages int) {
	t.Helper()
	for {
		p := mustQueryAudit(t, s, q)
		pages++
		entries = append(entries, p.Entries...)
		if p.Next == "" {
			return entries, pages
		}
		if pages > 1000 {
			t.Fatalf("QueryAudit: more than 1000 pages; the cursor does not advance")
		}
		q.Cursor = p.Next
	}
}

func testAudit(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("AppendAndComplete", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		in := []store.AuditEntry{
			{At: now, Actor: "root", ActorIP: "192.0.2.1", Action: "terminate", Target: "s-1", Reason: "left the office \"open\" — ñ"},
			{At: now.Add(time.Second), Actor: "mallory", ActorIP: "2001:db8::7", Action: "login_failed", Target: "mallory",
				Result: "failed: bad password", CompletedAt: now.Add(time.Second)}, // a security event, written whole
			{At: now.Add(2 * time.Second), Actor: "root", ActorIP: "192.0.2.1", Action: "terminate_user", Target: "ana"},
		}
		var want []store.AuditEntry
		for i, e := range in {
			e.ID = mustAudit(t, s, e)
			if e.Result == "" {
				e.Result = "pending"
			}
			for _, w := range want {
				if w.ID == e.ID {
					t.Fatalf("AppendAudit #%d returned the id of an earlier entry: %q", i, e.ID)
				}
			}
			// Ids sort by time: a later entry's id sorts after an earlier one's.
			if len(want) > 0 && e.ID <= want[len(want)-1].ID {
				t.Errorf("AppendAudit #%d: id %q does not sort after the earlier entry's %q", i, e.ID, want[len(want)-1].ID)
			}
			want = append(want, e)
		}
		checkAudit(t, "QueryAudit after appends", mustQueryAudit(t, s, store.AuditQuery{}).Entries, reverseAudit(want))

		done := now.Add(3 * time.Second)
		if err := s.CompleteAudit(t.Context(), want[0].ID, "ok", 1, done); err != nil {
			t.Fatalf("CompleteAudit: %v", err)
		}
		if err := s.CompleteAudit(t.Context(), want[2].ID, "failed: store unavailable", 0, done.Add(time.Millisecond)); err != nil {
			t.Fatalf("CompleteAudit: %v", err)
		}
		want[0].Result, want[0].Affected, want[0].CompletedAt = "ok", 1, done
		want[2].Result, want[2].CompletedAt = "failed: store unavailable", done.Add(time.Millisecond)
		checkAudit(t, "QueryAudit after CompleteAudit", mustQueryAudit(t, s, store.AuditQuery{}).Entries, reverseAudit(want))

		// Completing what does not exist is no error and changes nothing.
		for _, id := range []string{"no-such-entry", "0", strings.Repeat("9", 40)} {
			if err := s.CompleteAudit(t.Context(), id, "ok", 9, done); err != nil {
				t.Errorf("CompleteAudit(%q) of an unknown entry: %v", id, err)
			}
		}
		checkAudit(t, "QueryAudit after completing unknown entries", mustQueryAudit(t, s, store.AuditQuery{}).Entries, reverseAudit(want))
	})

	// entries appends n entries one second apart, actors, actions and
	// targets cycling, and returns them as stored, in append order.
	entries := func(t *testing.T, s store.Store, now time.Time, n int) []store.AuditEntry {
		t.Helper()
		actors := []string{"root", "ops", "ana"}
		actions := []string{"terminate", "login", "recover", "terminate_user"}
		targets := []string{"s-1", "s-2", "ana", "user=ana role=analyst", "s-3"}
		var out []store.AuditEntry
		for i := range n {
			e := store.AuditEntry{
				At: now.Add(time.Duration(i) * time.Second), Actor: actors[i%len(actors)], ActorIP: "192.0.2.9",
				Action: actions[i%len(actions)], Target: targets[i%len(targets)], Reason: fmt.Sprintf("#%d", i),
			}
			e.ID = mustAudit(t, s, e)
			e.Result = "pending"
			out = append(out, e)
		}
		return out
	}
	// newestMatching returns the entries of all that keep, newest first.
	newestMatching := func(all []store.AuditEntry, keep func(store.AuditEntry) bool) []store.AuditEntry {
		var out []store.AuditEntry
		for _, e := range reverseAudit(all) {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}

	t.Run("TimeRange", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		all := entries(t, s, now, 10)
		at := func(i int) time.Time { return all[i].At }
		cases := []struct {
			name     string
			from, to time.Time
			want     []int // indexes into all, newest first
		}{
			{"all", time.Time{}, time.Time{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
			{"from is inclusive, to exclusive", at(2), at(5), []int{4, 3, 2}},
			{"from only", at(7), time.Time{}, []int{9, 8, 7}},
			{"to only", time.Time{}, at(2), []int{1, 0}},
			{"between entries", at(3).Add(time.Millisecond), at(5).Add(time.Millisecond), []int{5, 4}},
			{"empty range", at(4), at(4), nil},
			{"after the last", at(9).Add(time.Millisecond), time.Time{}, nil},
		}
		for _, c := range cases {
			var want []store.AuditEntry
			for _, i := range c.want {
				want = append(want, all[i])
			}
			p := mustQueryAudit(t, s, store.AuditQuery{From: c.from, To: c.to})
			checkAudit(t, c.name, p.Entries, want)
			if p.Next != "" {
				t.Errorf("%s: Next %q on the only page, want empty", c.name, p.Next)
			}
		}
	})

	t.Run("Filters", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		all := entries(t, s, now, 24)
		cases := []struct {
			name string
			q    store.AuditQuery
			keep func(store.AuditEntry) bool
		}{
			{"actor", store.AuditQuery{Actor: "root"}, func(e store.AuditEntry) bool { return e.Actor == "root" }},
			{"action", store.AuditQuery{Action: "terminate"}, func(e store.AuditEntry) bool { return e.Action == "terminate" }},
			{"target", store.AuditQuery{Target: "user=ana role=analyst"}, func(e store.AuditEntry) bool { return e.Target == "user=ana role=analyst" }},
			{"target that is also an actor", store.AuditQuery{Target: "ana"}, func(e store.AuditEntry) bool { return e.Target == "ana" }},
			{"actor and action", store.AuditQuery{Actor: "ops", Action: "login"}, func(e store.AuditEntry) bool { return e.Actor == "ops" && e.Action == "login" }},
			{"action, target and time", store.AuditQuery{Action: "terminate", Target: "s-1", From: all[1].At, To: all[23].At},
				func(e store.AuditEntry) bool {
					return e.Action == "terminate" && e.Target == "s-1" && !e.At.Before(all[1].At) && e.At.Before(all[23].At)
				}},
			{"no match", store.AuditQuery{Actor: "nobody"}, func(store.AuditEntry) bool { return false }},
			{"no match of a combination", store.AuditQuery{Actor: "ana", Action: "login"}, func(e store.AuditEntry) bool { return e.Actor == "ana" && e.Action == "login" }},
		}
		for _, c := range cases {
			want := newestMatching(all, c.keep)
			p := mustQueryAudit(t, s, c.q)
			checkAudit(t, c.name, p.Entries, want)
			if p.Next != "" {
				t.Errorf("%s: Next %q on the only page, want empty", c.name, p.Next)
			}
			// The same filter, paged by 2, visits the same entries.
			q := c.q
			q.Limit = 2
			got, _ := auditAll(t, s, q)
			checkAudit(t, c.name+", paged by 2", got, want)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		// Pairs share a timestamp: paging must still visit each entry once.
		const n = 23
		var ids []string
		for i := range n {
			ids = append(ids, mustAudit(t, s, store.AuditEntry{At: now.Add(time.Duration(i/2) * time.Second), Actor: "root", Action: "terminate", Target: fmt.Sprintf("s-%02d", i)}))
		}
		for _, limit := range []int{1, 5, 22, 23, 24} {
			got, pages := auditAll(t, s, store.AuditQuery{Limit: limit})
			if want := (n + limit - 1) / limit; pages != want && !(n%limit == 0 && pages == want+1) {
				t.Errorf("Limit %d: %d pages, want %d", limit, pages, want)
			}
			seen := map[string]int{}
			for i, e := range got {
				seen[e.ID]++
				if i > 0 && e.At.After(got[i-1].At) {
					t.Errorf("Limit %d: entry %d (%s) is newer than the one before it (%s)", limit, i, fmtTime(e.At), fmtTime(got[i-1].At))
				}
			}
			for _, id := range ids {
				if seen[id] != 1 {
					t.Errorf("Limit %d: entry %s seen %d times, want once", limit, id, seen[id])
				}
			}
			if len(got) != n {
				t.Errorf("Limit %d: got %d entries, want %d", limit, len(got), n)
			}
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		all := entries(t, s, now, 60)
		p := mustQueryAudit(t, s, store.AuditQuery{})
		checkAudit(t, "first page with the default limit", p.Entries, reverseAudit(all)[:50])
		if p.Next == "" {
			t.Fatalf("first page with the default limit: Next empty, want a cursor")
		}
		p = mustQueryAudit(t, s, store.AuditQuery{Cursor: p.Next})
		checkAudit(t, "second page with the default limit", p.Entries, reverseAudit(all)[50:])
		if p.Next != "" {
			t.Errorf("last page: Next %q, want empty", p.Next)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		// As for events (see Events/Retention): past its retention on the
		// real clock and in passed time, an entry is gone, and completing it
		// does not bring it back.
		s := newStore(t)
		now := baseTime()
		const short = 50 * time.Millisecond
		oldID, err := s.AppendAudit(t.Context(), store.AuditEntry{At: now, Actor: "root", Action: "terminate", Target: "s-old"}, short)
		if err != nil {
			t.Fatalf("AppendAudit with a short retention: %v", err)
		}
		kept := store.AuditEntry{At: now.Add(time.Millisecond), Actor: "root", Action: "terminate", Target: "s-kept", Result: "pending"}
		kept.ID = mustAudit(t, s, kept)
		time.Sleep(3 * short)
		later := store.AuditEntry{At: now.Add(time.Hour), Actor: "root", Action: "terminate", Target: "s-new", Result: "pending"}
		later.ID = mustAudit(t, s, later)
		if err := s.CompleteAudit(t.Context(), oldID, "ok", 1, later.At); err != nil {
			t.Errorf("CompleteAudit of an expired entry: %v", err)
		}
		checkAudit(t, "QueryAudit past the first entry's retention", mustQueryAudit(t, s, store.AuditQuery{}).Entries, []store.AuditEntry{later, kept})
		checkAudit(t, "QueryAudit of the expired entry's target", mustQueryAudit(t, s, store.AuditQuery{Target: "s-old"}).Entries, nil)
	})

	t.Run("ConcurrentAppends", func(t *testing.T) {
		// Many instances write intents at once, some at the same instant.
		s := newStore(t)
		now := baseTime()
		const n = 50
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id, err := s.AppendAudit(t.Context(), store.AuditEntry{At: now.Add(time.Duration(i%5) * time.Millisecond), Actor: "root", Action: "terminate", Target: fmt.Sprintf("s-%02d", i)}, auditRetention)
				if err != nil {
					t.Errorf("AppendAudit(s-%02d): %v", i, err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		got := mustQueryAudit(t, s, store.AuditQuery{Limit: 500}).Entries
		if len(got) != n {
			t.Errorf("QueryAudit: got %d entries, want %d", len(got), n)
		}
		seen := map[string]string{}
		for i, id := range ids {
			if prev, dup := seen[id]; dup {
				t.Errorf("AppendAudit returned id %q for both %s and s-%02d", id, prev, i)
			}
			seen[id] = fmt.Sprintf("s-%02d", i)
		}
		for _, e := range got {
			if want, ok := seen[e.ID]; !ok || want != e.Target {
				t.Errorf("QueryAudit entry %q has target %q, want %q", e.ID, e.Target, want)
			}
		}
	})
}
