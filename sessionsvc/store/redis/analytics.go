package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Analytics keys (under the prefix P):
//
//	P ev:{sid}    timeline: list of encoded events, newest first, trimmed to
//	              store.TimelineCap
//	P ec:{sid}    the session's counters (hash, counterFields)
//	P ad:{day}    day aggregates (hash, bucket fields)
//	P ah:{hour}   hour aggregates (hash, bucket fields)
//	P uu:{day}    the day's unique users (HyperLogLog)
//
// Retention runs on the server's real clock, as every TTL here does: session
// data lives retention after its last event, buckets retention plus a day
// after their last write (the store cannot tell when a day ends in the
// service's time zone, and a day more is what "retention after the day"
// needs at most).

// Counter fields of P ec:{sid}. Dropped is not stored: it is events less what
// the timeline keeps.
const (
	ecPageViews = "page_views"
	ecAPICalls  = "api_calls"
	ecUploads   = "uploads"
	ecAnalyses  = "analyses"
	ecComments  = "comments"
	ecEvents    = "events"
	ecFirst     = "first"
	ecLast      = "last"
)

// Bucket fields of P ad:{day} and P ah:{hour}.
const (
	bkCreated   = "created"
	bkEnded     = "ended"
	bkDuration  = "duration_ms"
	bkPeak      = "peak"
	bkPageViews = "page_views"
	bkAnalyses  = "analyses"
	bkAPICalls  = "api_calls"
)

func (s *Store) evKey(sid string) string    { return s.prefix + "ev:" + sid }
func (s *Store) ecKey(sid string) string    { return s.prefix + "ec:" + sid }
func (s *Store) dayKey(day string) string   { return s.prefix + "ad:" + day }
func (s *Store) hourKey(hour string) string { return s.prefix + "ah:" + hour }
func (s *Store) usersKey(day string) string { return s.prefix + "uu:" + day }

// bucketTTL is how long (ms) a day or hour bucket outlives its last write.
func bucketTTL(retention time.Duration) int64 {
	return (retention + 24*time.Hour).Milliseconds()
}

// wireEvent is an event as the timeline stores it: short JSON names, the sid
// implied by the key, the time in unix ms (the precision every store keeps).
// JSON keeps the list readable with redis-cli; an event is ~100 bytes.
type wireEvent struct {
	Type string            `json:"t"`
	At   int64             `json:"a"`
	User string            `json:"u,omitempty"`
	Data map[string]string `json:"d,omitempty"`
	Day  string            `json:"y,omitempty"`
	Hour string            `json:"h,omitempty"`
}

func encodeEvent(e store.Event) ([]byte, error) {
	return json.Marshal(wireEvent{Type: e.Type, At: millis(e.At), User: e.User, Data: e.Data, Day: e.Day, Hour: e.Hour})
}

func decodeEvent(sid string, b []byte) (store.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return store.Event{}, err
	}
	return store.Event{SID: sid, User: w.User, Type: w.Type, At: fromMillis(w.At), Data: w.Data, Day: w.Day, Hour: w.Hour}, nil
}

// sessionBatch is what one batch does to one session: its encoded events in
// batch order and the counter increments they add up to.
type sessionBatch struct {
	sid                                    string
	enc                                    []any
	pageViews, apiCalls, uploads, analyses int64
	comments                               int64
	first, last                            int64
}

// bucketBatch is what one batch adds to one day or hour bucket.
type bucketBatch struct {
	key                           string
	pageViews, analyses, apiCalls int64
}

// AppendEvents writes the batch as one MULTI/EXEC pipeline: one round trip,
// applied all or nothing, so a failed batch can be retried whole. Commands are
// coalesced per batch: per session one LPUSH of all its events (in batch
// order, so the newest ends up in front), one LTRIM, one HINCRBY per counter
// that changed and one PEXPIRE per key; per day and hour bucket one HINCRBY
// per field that changed and one PEXPIRE. Events without a sid are skipped
// (they belong to no timeline); an empty Day or Hour counts in no bucket.
func (s *Store) AppendEvents(ctx context.Context, events []store.Event, retention time.Duration) error {
	var (
		sessions []*sessionBatch
		bySID    = make(map[string]*sessionBatch)
		buckets  []*bucketBatch
		byKey    = make(map[string]*bucketBatch)
	)
	bucket := func(key string) *bucketBatch {
		b, ok := byKey[key]
		if !ok {
			b = &bucketBatch{key: key}
			byKey[key] = b
			buckets = append(buckets, b)
		}
		return b
	}
	for _, e := range events {
		if e.SID == "" {
			continue
		}
		enc, err := encodeEvent(e)
		if err != nil {
			return fmt.Errorf("redis: append events: encode %s event of %s: %w", e.Type, e.SID, err)
		}
		sb, ok := bySID[e.SID]
		if !ok {
			sb = &sessionBatch{sid: e.SID, first: millis(e.At)}
			bySID[e.SID] = sb
			sessions = append(sessions, sb)
		}
		sb.enc = append(sb.enc, enc)
		sb.last = millis(e.At)
		var day, hour *bucketBatch
		if e.Day != "" {
			day = bucket(s.dayKey(e.Day))
		}
		if e.Hour != "" {
			hour = bucket(s.hourKey(e.Hour))
		}
		switch e.Type {
		case store.EventPageView:
			sb.pageViews++
			if day != nil {
				day.pageViews++
			}
			if hour != nil {
				hour.pageViews++
			}
		case store.EventAPICall:
			sb.apiCalls++
			if day != nil {
				day.apiCalls++
			}
			if hour != nil {
				hour.apiCalls++
			}
		case store.EventFileUpload:
			sb.uploads++
		case store.EventAnalysisRun:
			sb.analyses++
			if day != nil {
				day.analyses++
			}
			if hour != nil {
				hour.analyses++
			}
			// A malformed count adds nothing rather than failing the batch:
			// the buffer would retry it forever.
			n, _ := strconv.ParseInt(e.Data["comments"], 10, 64)
			sb.comments += n
		}
	}
	if len(sessions) == 0 && len(buckets) == 0 {
		return nil
	}

	c, err := s.conn(ctx)
	if err != nil {
		return fmt.Errorf("redis: append events: %w", err)
	}
	defer c.Close()
	ttl := retention.Milliseconds()
	send := func(cmd string, args ...any) {
		if err == nil {
			err = c.Send(cmd, args...)
		}
	}
	incr := func(key, field string, n int64) {
		if n != 0 {
			send("HINCRBY", key, field, n)
		}
	}
	send("MULTI")
	for _, sb := range sessions {
		ev, ec := s.evKey(sb.sid), s.ecKey(sb.sid)
		send("LPUSH", append([]any{ev}, sb.enc...)...)
		send("LTRIM", ev, 0, store.TimelineCap-1)
		incr(ec, ecEvents, int64(len(sb.enc)))
		incr(ec, ecPageViews, sb.pageViews)
		incr(ec, ecAPICalls, sb.apiCalls)
		incr(ec, ecUploads, sb.uploads)
		incr(ec, ecAnalyses, sb.analyses)
		incr(ec, ecComments, sb.comments)
		send("HSETNX", ec, ecFirst, sb.first)
		send("HSET", ec, ecLast, sb.last)
		send("PEXPIRE", ev, ttl)
		send("PEXPIRE", ec, ttl)
	}
	bttl := bucketTTL(retention)
	for _, b := range buckets {
		if b.pageViews == 0 && b.analyses == 0 && b.apiCalls == 0 {
			continue
		}
		incr(b.key, bkPageViews, b.pageViews)
		incr(b.key, bkAnalyses, b.analyses)
		incr(b.key, bkAPICalls, b.apiCalls)
		send("PEXPIRE", b.key, bttl)
	}
	if err != nil {
		return fmt.Errorf("redis: append events: %w", err)
	}
	// Do flushes the pipeline and reads every reply; it returns the first
	// error among them, so a command refused while queueing (EXECABORT)
	// surfaces here.
	reply, err := redigo.Values(redigo.DoContext(c, ctx, "EXEC"))
	if err != nil {
		return fmt.Errorf("redis: append events: %w", err)
	}
	// Errors at run time (a key of the wrong type) do not abort a
	// transaction; they come back in its reply.
	for _, r := range reply {
		if re, ok := r.(redigo.Error); ok {
			return fmt.Errorf("redis: append events: %w", re)
		}
	}
	return nil
}

// Timeline reads the events with one LRANGE. A limit of zero or less returns
// nothing, as does an offset past the end.
func (s *Store) Timeline(ctx context.Context, sid string, offset, limit int) ([]store.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	offset = max(offset, 0)
	raw, err := redigo.ByteSlices(s.do(ctx, "LRANGE", s.evKey(sid), offset, offset+limit-1))
	if err != nil {
		return nil, fmt.Errorf("redis: timeline of %s: %w", sid, err)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]store.Event, len(raw))
	for i, b := range raw {
		if out[i], err = decodeEvent(sid, b); err != nil {
			return nil, fmt.Errorf("redis: timeline of %s: event %d: %w", sid, offset+i, err)
		}
	}
	return out, nil
}

// Counters reads the counters hash with one HGETALL.
func (s *Store) Counters(ctx context.Context, sid string) (store.SessionCounters, bool, error) {
	m, err := redigo.StringMap(s.do(ctx, "HGETALL", s.ecKey(sid)))
	if err != nil {
		return store.SessionCounters{}, false, fmt.Errorf("redis: counters of %s: %w", sid, err)
	}
	if len(m) == 0 {
		return store.SessionCounters{}, false, nil
	}
	var perr error
	num := func(f string) int64 {
		v, ok := m[f]
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("field %s=%q: %w", f, v, err)
		}
		return n
	}
	c := store.SessionCounters{
		PageViews: num(ecPageViews),
		APICalls:  num(ecAPICalls),
		Uploads:   num(ecUploads),
		Analyses:  num(ecAnalyses),
		Comments:  num(ecComments),
		Events:    num(ecEvents),
		First:     fromMillis(num(ecFirst)),
		Last:      fromMillis(num(ecLast)),
	}
	if perr != nil {
		return store.SessionCounters{}, false, fmt.Errorf("redis: counters of %s: %w", sid, perr)
	}
	c.Dropped = c.Events - min(c.Events, store.TimelineCap)
	return c, true, nil
}

// NoteStart runs scriptNoteStart: the counts, the unique user and both peaks
// in one atomic step, so concurrent starts never lower or miss a peak.
func (s *Store) NoteStart(ctx context.Context, user, day, hour string, now time.Time, retention time.Duration) error {
	if _, err := s.run(ctx, scriptNoteStart, day, hour, user, millis(now), bucketTTL(retention)); err != nil {
		return fmt.Errorf("redis: note start on %s: %w", day, err)
	}
	return nil
}

// NoteEnd adds the end and its duration to day in one MULTI/EXEC.
func (s *Store) NoteEnd(ctx context.Context, day string, duration time.Duration, retention time.Duration) error {
	if day == "" {
		return nil
	}
	c, err := s.conn(ctx)
	if err != nil {
		return fmt.Errorf("redis: note end on %s: %w", day, err)
	}
	defer c.Close()
	k := s.dayKey(day)
	for _, cmd := range [][]any{
		{"MULTI"},
		{"HINCRBY", k, bkEnded, 1},
		{"HINCRBY", k, bkDuration, duration.Milliseconds()},
		{"PEXPIRE", k, bucketTTL(retention)},
	} {
		if err := c.Send(cmd[0].(string), cmd[1:]...); err != nil {
			return fmt.Errorf("redis: note end on %s: %w", day, err)
		}
	}
	if _, err := redigo.DoContext(c, ctx, "EXEC"); err != nil {
		return fmt.Errorf("redis: note end on %s: %w", day, err)
	}
	return nil
}

// pipeline sends every command and reads every reply in one round trip.
// Errors of single commands are returned in their place in the replies.
func (s *Store) pipeline(ctx context.Context, cmds [][]any) ([]any, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for _, cmd := range cmds {
		if err := c.Send(cmd[0].(string), cmd[1:]...); err != nil {
			return nil, err
		}
	}
	// Do with no command flushes and returns all pending replies.
	return redigo.Values(redigo.DoContext(c, ctx, ""))
}

// Days reads every day's hash and unique-user count in one pipelined round
// trip (HGETALL and PFCOUNT per day).
func (s *Store) Days(ctx context.Context, days []string) ([]store.DayStats, error) {
	out := make([]store.DayStats, len(days))
	if len(days) == 0 {
		return out, nil
	}
	cmds := make([][]any, 0, 2*len(days))
	for _, d := range days {
		cmds = append(cmds, []any{"HGETALL", s.dayKey(d)}, []any{"PFCOUNT", s.usersKey(d)})
	}
	reply, err := s.pipeline(ctx, cmds)
	if err != nil {
		return nil, fmt.Errorf("redis: read days: %w", err)
	}
	for i, d := range days {
		m, err := bucketFields(reply[2*i])
		if err != nil {
			return nil, fmt.Errorf("redis: read day %s: %w", d, err)
		}
		users, err := redigo.Int64(reply[2*i+1], nil)
		if err != nil {
			return nil, fmt.Errorf("redis: read unique users of %s: %w", d, err)
		}
		out[i] = store.DayStats{
			Day:            d,
			Created:        m[bkCreated],
			UniqueUsers:    users,
			PeakConcurrent: m[bkPeak],
			Ended:          m[bkEnded],
			DurationSum:    time.Duration(m[bkDuration]) * time.Millisecond,
			Analyses:       m[bkAnalyses],
			PageViews:      m[bkPageViews],
			APICalls:       m[bkAPICalls],
		}
	}
	return out, nil
}

// Hours reads every hour's hash in one pipelined round trip.
func (s *Store) Hours(ctx context.Context, hours []string) ([]store.HourStats, error) {
	out := make([]store.HourStats, len(hours))
	if len(hours) == 0 {
		return out, nil
	}
	cmds := make([][]any, len(hours))
	for i, h := range hours {
		cmds[i] = []any{"HGETALL", s.hourKey(h)}
	}
	reply, err := s.pipeline(ctx, cmds)
	if err != nil {
		return nil, fmt.Errorf("redis: read hours: %w", err)
	}
	for i, h := range hours {
		m, err := bucketFields(reply[i])
		if err != nil {
			return nil, fmt.Errorf("redis: read hour %s: %w", h, err)
		}
		out[i] = store.HourStats{
			Hour:       h,
			Created:    m[bkCreated],
			PeakActive: m[bkPeak],
			Analyses:   m[bkAnalyses],
			PageViews:  m[bkPageViews],
		}
	}
	return out, nil
}

// bucketFields parses an HGETALL reply of integer fields.
func bucketFields(v any) (map[string]int64, error) {
	if err, ok := v.(redigo.Error); ok {
		return nil, err
	}
	kv, err := redigo.Strings(v, nil)
	if err != nil {
		return nil, err
	}
	if len(kv)%2 != 0 {
		return nil, errors.New("odd number of hash items")
	}
	m := make(map[string]int64, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		n, err := strconv.ParseInt(kv[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s=%q: %w", kv[i], kv[i+1], err)
		}
		m[kv[i]] = n
	}
	return m, nil
}
