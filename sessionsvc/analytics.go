package sessionsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// recorder keeps event writes off the request path: Record only puts the event
// in a bounded buffer (a full buffer drops it and counts the drop, it never
// blocks), and one goroutine flushes batches, in order, retrying a failed batch
// with backoff before it takes the next, so order within a session holds.
type recorder struct {
	st        store.Analytics
	log       *slog.Logger
	ch        chan store.Event
	batch     int
	interval  time.Duration
	retention time.Duration
	dropped   atomic.Int64
	flushed   atomic.Int64
	onDrop    func(int)
	onFlush   func(int, time.Duration)

	flushReq chan chan struct{}
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

func newRecorder(st store.Analytics, log *slog.Logger, size, batch int, interval, retention time.Duration) *recorder {
	return &recorder{st: st, log: log, ch: make(chan store.Event, size), batch: batch, interval: interval,
		retention: retention, stop: make(chan struct{}), done: make(chan struct{}), flushReq: make(chan chan struct{}),
		onDrop: func(int) {}, onFlush: func(int, time.Duration) {}}
}

// Record queues ev; it never blocks.
func (r *recorder) Record(ev store.Event) {
	select {
	case r.ch <- ev:
	default:
		r.dropped.Add(1)
		r.onDrop(1)
	}
}

// Len is how many events wait in the buffer.
func (r *recorder) Len() int { return len(r.ch) }

// run flushes until Close.
func (r *recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	buf := make([]store.Event, 0, r.batch)
	for {
		select {
		case ev := <-r.ch:
			buf = append(buf, ev)
			if len(buf) < r.batch {
				continue
			}
		case <-tick.C:
		case reply := <-r.flushReq:
			// Everything queued before the request goes out now.
			for n := len(r.ch); n > 0; n-- {
				buf = append(buf, <-r.ch)
			}
			r.flush(buf, -1)
			buf = buf[:0]
			close(reply)
			continue
		case <-r.stop:
			// Drain what is buffered and flush it all, with a last retry budget.
			for {
				select {
				case ev := <-r.ch:
					buf = append(buf, ev)
					if len(buf) >= r.batch {
						r.flush(buf, 3)
						buf = buf[:0]
					}
					continue
				default:
				}
				break
			}
			r.flush(buf, 3)
			return
		}
		if len(buf) > 0 {
			r.flush(buf, -1)
			buf = buf[:0]
		}
	}
}

// flush writes one batch, retrying with backoff (tries < 0: until it lands or
// Close is called).
func (r *recorder) flush(batch []store.Event, tries int) {
	if len(batch) == 0 {
		return
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.st.AppendEvents(ctx, batch, r.retention)
		cancel()
		if err == nil {
			r.flushed.Add(int64(len(batch)))
			r.onFlush(len(batch), time.Since(start))
			return
		}
		r.log.Warn("analytics flush failed; retrying", slog.Int("events", len(batch)), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		if tries > 0 && attempt >= tries {
			r.dropped.Add(int64(len(batch)))
			r.onDrop(len(batch))
			r.log.Error("analytics events lost at shutdown", slog.Int("events", len(batch)))
			return
		}
		select {
		case <-time.After(backoff):
		case <-r.stop:
			if tries < 0 {
				tries = attempt + 3 // shutting down: a few more tries, then give up
			}
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Flush writes every event queued so far and returns when they are stored (or
// ctx ends).
func (r *recorder) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case r.flushReq <- reply:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the recorder after flushing every buffered event, or when ctx ends.
func (r *recorder) Close(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sessionsvc: analytics flush at shutdown: %w", ctx.Err())
	}
}

// eventFor maps an end reason to the event that records it.
func eventFor(reason store.Reason) string {
	switch reason {
	case store.ReasonLogout:
		return store.EventLogout
	case store.ReasonExpired, store.ReasonIdle, store.ReasonLifetime:
		return store.EventExpired
	case store.ReasonEvicted:
		return store.EventEvicted
	case store.ReasonTerminated:
		return store.EventTerminated
	}
	return store.EventSecurity
}

// bucketNames caches the day and hour names of one local hour, so that most
// events format no time.
type bucketNames struct {
	from, to  time.Time
	day, hour string
}

// buckets names the day and hour of t in the analytics time zone.
func (s *Service) buckets(t time.Time) (day, hour string) {
	if b := s.bucketCache.Load(); b != nil && !t.Before(b.from) && t.Before(b.to) {
		return b.day, b.hour
	}
	lt := t.In(s.tz)
	from := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, s.tz)
	b := &bucketNames{from: from, to: from.Add(time.Hour), day: lt.Format("2006-01-02"), hour: lt.Format("2006-01-02T15")}
	s.bucketCache.Store(b)
	return b.day, b.hour
}

// Record queues an event of a session (off the request path).
func (s *Service) Record(sid, user, typ string, data map[string]string) {
	if s.rec == nil || sid == "" {
		return
	}
	now := s.now()
	day, hour := s.buckets(now)
	s.rec.Record(store.Event{SID: sid, User: user, Type: typ, At: now, Data: data, Day: day, Hour: hour})
}

// RecordCurrent queues an event of the request's session.
func (s *Service) RecordCurrent(ctx context.Context, typ string, data map[string]string) {
	if cur, ok := s.Current(ctx); ok {
		s.Record(cur.SID, cur.User, typ, data)
	}
}

// FlushEvents writes every analytics event queued so far.
func (s *Service) FlushEvents(ctx context.Context) error {
	if s.rec == nil {
		return nil
	}
	return s.rec.Flush(ctx)
}

// EventsDropped counts events lost to a full buffer or a failed final flush.
func (s *Service) EventsDropped() int64 {
	if s.rec == nil {
		return 0
	}
	return s.rec.dropped.Load()
}

// noteStart counts a new session in the aggregates. A failure costs a figure
// on the dashboard, not the sign-in, so it is logged.
func (s *Service) noteStart(ctx context.Context, user string) {
	now := s.now()
	day, hour := s.buckets(now)
	if err := s.st.NoteStart(ctx, user, day, hour, now, s.retention()); err != nil {
		s.log.WarnContext(ctx, "analytics: note session start", slog.String("error", err.Error()))
	}
	s.metrics.SessionCreated()
}

// noteEnd records a session's end: its event, and its duration in the day's
// aggregates when its start is known.
func (s *Service) noteEnd(ctx context.Context, t store.Tombstone, created time.Time) {
	data := map[string]string{"reason": string(t.Reason)}
	if t.Actor != "" {
		data["actor"] = t.Actor
	}
	if !created.IsZero() {
		d := t.At.Sub(created)
		data["duration_ms"] = strconv.FormatInt(d.Milliseconds(), 10)
		day, _ := s.buckets(t.At)
		if err := s.st.NoteEnd(ctx, day, d, s.retention()); err != nil {
			s.log.WarnContext(ctx, "analytics: note session end", slog.String("error", err.Error()))
		}
	}
	s.Record(t.SID, t.User, eventFor(t.Reason), data)
	s.metrics.SessionEnded(string(t.Reason))
}

func (s *Service) retention() time.Duration {
	return time.Duration(s.cfg.Analytics.RetentionDays) * 24 * time.Hour
}

// Cost is an estimated cost in millionths of the currency unit.
type Cost struct {
	Micros   int64
	Currency string
}

// String formats the cost to the cent, e.g. "USD 1.27".
func (c Cost) String() string {
	cents := (c.Micros + 5000) / 10000
	return fmt.Sprintf("%s %d.%02d", c.Currency, cents/100, cents%100)
}

// SessionAnalytics is what one session did.
type SessionAnalytics struct {
	SID       string
	User      string
	Live      bool
	Started   time.Time
	Ended     time.Time // zero while live
	Duration  time.Duration
	PageViews int64
	Analyses  int64
	Uploads   int64
	APICalls  int64
	Comments  int64
	Cost      Cost
	Events    int64
	Dropped   int64         // events older than the timeline keeps
	Timeline  []store.Event // newest first, at most store.TimelineCap
}

// SessionAnalytics returns a session's figures and timeline, for live,
// ended and archived sessions.
func (s *Service) SessionAnalytics(ctx context.Context, sid string) (SessionAnalytics, error) {
	out := SessionAnalytics{SID: sid}
	c, found, err := s.st.Counters(ctx, sid)
	if err != nil {
		return out, s.unavailable("session counters", err)
	}
	now := s.now()
	if rec, ok, err := s.st.Get(ctx, sid, now); err != nil {
		return out, s.unavailable("get session", err)
	} else if ok {
		out.Live, out.User, out.Started = true, rec.User, rec.CreatedAt
		out.Duration = now.Sub(rec.CreatedAt)
	} else if a, ok, err := s.st.Archived(ctx, sid); err != nil {
		return out, s.unavailable("archived session", err)
	} else if ok {
		out.User, out.Started, out.Ended = a.Record.User, a.Record.CreatedAt, a.Tombstone.At
		out.Duration = a.Tombstone.At.Sub(a.Record.CreatedAt)
	} else if found {
		// Ended, not archived yet: its events bound it.
		out.Started, out.Ended = c.First, c.Last
		out.Duration = c.Last.Sub(c.First)
	} else {
		return out, fmt.Errorf("%w: %s", ErrNotFound, sid)
	}
	out.PageViews, out.Analyses, out.Uploads, out.APICalls, out.Comments = c.PageViews, c.Analyses, c.Uploads, c.APICalls, c.Comments
	out.Events, out.Dropped = c.Events, c.Dropped
	out.Cost = s.cost(c)
	tl, err := s.st.Timeline(ctx, sid, 0, store.TimelineCap)
	if err != nil {
		return out, s.unavailable("timeline", err)
	}
	out.Timeline = tl
	if out.User == "" && len(tl) > 0 {
		out.User = tl[0].User
	}
	return out, nil
}

// cost estimates what a session's analyses and API calls cost, in micro-units
// so that sums are exact to the cent.
func (s *Service) cost(c store.SessionCounters) Cost {
	perAnalysis, per1000, perAPI := s.cfg.Analytics.Cost.Micros()
	return Cost{Micros: c.Analyses*perAnalysis + c.Comments*per1000/1000 + c.APICalls*perAPI, Currency: s.cfg.Analytics.Cost.Currency}
}

// Aggregate is the dashboard's figures for a range of days.
type Aggregate struct {
	From, To        string // days, inclusive
	ActiveNow       int
	Created         int64
	UniqueUsers     int64 // per day, summed over the range
	PeakConcurrent  int64
	Ended           int64
	AverageDuration time.Duration
	Analyses        int64
	PageViews       int64
	Days            []store.DayStats
}

// Aggregates returns the figures of the days from..to (inclusive, in
// analytics.timezone); Today is the usual call.
func (s *Service) Aggregates(ctx context.Context, from, to time.Time) (Aggregate, error) {
	var days []string
	start := from.In(s.tz)
	start = time.Date(start.Year(), start.Month(), start.Day(), 12, 0, 0, 0, s.tz)
	end := to.In(s.tz)
	for d := start; !d.After(time.Date(end.Year(), end.Month(), end.Day(), 12, 0, 0, 0, s.tz)) && len(days) < 366; d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	if len(days) == 0 {
		return Aggregate{}, errors.New("sessionsvc: aggregates: empty range")
	}
	stats, err := s.st.Days(ctx, days)
	if err != nil {
		return Aggregate{}, s.unavailable("aggregates", err)
	}
	page, err := s.st.List(ctx, store.Query{Sort: store.SortDeadline, Limit: 1}, s.now())
	if err != nil {
		return Aggregate{}, s.unavailable("active sessions", err)
	}
	a := Aggregate{From: days[0], To: days[len(days)-1], ActiveNow: page.Total, Days: stats}
	var durSum time.Duration
	for _, d := range stats {
		a.Created += d.Created
		a.UniqueUsers += d.UniqueUsers
		a.PeakConcurrent = max(a.PeakConcurrent, d.PeakConcurrent)
		a.Ended += d.Ended
		durSum += d.DurationSum
		a.Analyses += d.Analyses
		a.PageViews += d.PageViews
	}
	if a.Ended > 0 {
		a.AverageDuration = durSum / time.Duration(a.Ended)
	}
	return a, nil
}

// Today returns today's aggregates.
func (s *Service) Today(ctx context.Context) (Aggregate, error) {
	now := s.now()
	return s.Aggregates(ctx, now, now)
}

// Hourly returns the last n hours' buckets (oldest first), for charts.
func (s *Service) Hourly(ctx context.Context, n int) ([]store.HourStats, error) {
	n = min(max(n, 1), 24*31)
	now := s.now()
	hours := make([]string, n)
	for i := range n {
		_, hours[n-1-i] = s.buckets(now.Add(-time.Duration(i) * time.Hour))
	}
	hs, err := s.st.Hours(ctx, hours)
	if err != nil {
		return nil, s.unavailable("hourly buckets", err)
	}
	return hs, nil
}

// ActiveByRole counts live sessions by role from the deadline indexes, for the
// active-sessions gauge.
func (s *Service) ActiveByRole(ctx context.Context) (map[string]int, error) {
	out := make(map[string]int, 3)
	for _, role := range []string{RoleAdmin, RoleOperator, RoleAnalyst} {
		p, err := s.st.List(ctx, store.Query{Filter: store.Filter{Role: role}, Sort: store.SortDeadline, Limit: 1}, s.now())
		if err != nil {
			return nil, s.unavailable("active sessions", err)
		}
		out[role] = p.Total
	}
	return out, nil
}

// DayCost is a user's estimated cost on one day.
type DayCost struct {
	Day      string // YYYY-MM-DD in analytics.timezone
	Sessions int    // sessions started that day
	Analyses int64
	Comments int64
	APICalls int64
	Cost     Cost
}

// userCostSessions bounds the sessions UserCosts reads: a user has at most
// max_sessions_per_user live ones, and the ended ones of the last days.
const userCostSessions = 200

// UserCosts estimates what a user cost per day over the last days days
// (today last), from the counters of their sessions, live and ended (held or
// archived), each counted on the day it started. It reads one counter set
// per session, at most userCostSessions of them, newest first.
func (s *Service) UserCosts(ctx context.Context, user string, days int) ([]DayCost, error) {
	now := s.now().In(s.tz)
	out := make([]DayCost, days)
	index := make(map[string]int, days)
	for i := range out {
		d := now.AddDate(0, 0, i-days+1).Format(time.DateOnly)
		out[i] = DayCost{Day: d, Cost: Cost{Currency: s.cfg.Analytics.Cost.Currency}}
		index[d] = i
	}
	oldest := now.AddDate(0, 0, -days+1).Format(time.DateOnly)
	type started struct {
		sid string
		at  time.Time
	}
	var list []started
	live, err := s.UserSessions(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, r := range live {
		list = append(list, started{r.SID, r.CreatedAt})
	}
	cursor := ""
	for len(list) < userCostSessions {
		p, err := s.ListEnded(ctx, store.EndedQuery{User: user, Cursor: cursor, Limit: 100})
		if err != nil {
			return nil, err
		}
		stop := false
		for _, e := range p.Entries {
			if e.Tombstone.At.In(s.tz).Format(time.DateOnly) < oldest {
				stop = true // ended before the range: so did every later entry
				break
			}
			list = append(list, started{e.Record.SID, e.Record.CreatedAt})
		}
		if stop || p.Next == "" {
			break
		}
		cursor = p.Next
	}
	for _, x := range list {
		i, ok := index[x.at.In(s.tz).Format(time.DateOnly)]
		if !ok {
			continue
		}
		c, _, err := s.st.Counters(ctx, x.sid)
		if err != nil {
			return nil, s.unavailable("session counters", err)
		}
		d := &out[i]
		d.Sessions++
		d.Analyses += c.Analyses
		d.Comments += c.Comments
		d.APICalls += c.APICalls
		d.Cost.Micros += s.cost(c).Micros
	}
	return out, nil
}
