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

// wireEvent is an event as the timeline stores it: JSON with short names,
// the sid implied by the key, the time in unix ms (the precision every store
// keeps). JSON keeps the list readable with redis-cli; an event is about
// 100 bytes. appendEvent writes it without reflection; decodeEvent reads it
// with encoding/json.
type wireEvent struct {
	Type string            `json:"t"`
	At   int64             `json:"a"`
	User string            `json:"u,omitempty"`
	Data map[string]string `json:"d,omitempty"`
	Day  string            `json:"y,omitempty"`
	Hour string            `json:"h,omitempty"`
}

// appendEvent appends e as the JSON of its wireEvent.
func appendEvent(b []byte, e store.Event) []byte {
	b = append(b, `{"t":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"a":`...)
	b = strconv.AppendInt(b, millis(e.At), 10)
	if e.User != "" {
		b = append(b, `,"u":`...)
		b = appendJSONString(b, e.User)
	}
	if len(e.Data) > 0 {
		b = append(b, `,"d":{`...)
		first := true
		for k, v := range e.Data {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v)
		}
		b = append(b, '}')
	}
	if e.Day != "" {
		b = append(b, `,"y":`...)
		b = appendJSONString(b, e.Day)
	}
	if e.Hour != "" {
		b = append(b, `,"h":`...)
		b = appendJSONString(b, e.Hour)
	}
	return append(b, '}')
}

// eventSizeHint is the length of e encoded, unless its strings need
// escapes.
func eventSizeHint(e store.Event) int {
	n := len(`{"t":"","a":-62135596800000,"u":"","d":{},"y":"","h":""}`) + len(e.Type) + len(e.User) + len(e.Day) + len(e.Hour)
	for k, v := range e.Data {
		n += len(k) + len(v) + len(`"":"",`)
	}
	return n
}

// appendJSONString appends s as a JSON string. Bytes that are not valid
// UTF-8 pass through; encoding/json reads each as U+FFFD, as it would have
// written them.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decodeEvent(sid string, b []byte) (store.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return store.Event{}, err
	}
	return store.Event{SID: sid, User: w.User, Type: w.Type, At: fromMillis(w.At), Data: w.Data, Day: w.Day, Hour: w.Hour}, nil
}

// sessionBatch is what one batch does to one session: its encoded events in
// batch order and the increments of counterFields they add up to.
type sessionBatch struct {
	sid         string
	enc         []any
	incr        [6]int64 // counterFields order
	first, last int64
}

// bucketBatch is what one batch adds to one day or hour bucket, in
// bucketIncrFields order.
type bucketBatch struct {
	kind, name string // "ad" or "ah", the day or hour
	incr       [3]int64
}

// AppendEvents writes the batch with one script call (scriptAppendEvents):
// one round trip, atomic for every reader. A batch that fails on the way to
// Redis left nothing written and can be retried whole (a script error half
// way, which only keys of a foreign type could cause, is not rolled back). The batch is coalesced in Go first: per session one LPUSH of all
// its events (in batch order, so the newest ends up in front) and one
// increment per counter; per day and hour bucket one increment per field.
// Events without a sid are skipped (they belong to no timeline); an empty
// Day or Hour counts in no bucket.
//
// The script holds Redis for about 8 commands per session in the batch
// plus one per event (BenchmarkAppendEvents: ~17 µs per session with one
// event, ~2.5 µs per event with ten, on a loaded 2-core machine), so the
// caller should keep batches to a few thousand events.
func (s *Store) AppendEvents(ctx context.Context, events []store.Event, retention time.Duration) error {
	var (
		sessions []*sessionBatch
		bySID    = make(map[string]*sessionBatch)
		buckets  []*bucketBatch
		byName   = make(map[[2]string]*bucketBatch)
		buf      []byte
		ends     = make([]int, 0, len(events))
	)
	bucket := func(kind, name string) *bucketBatch {
		if name == "" {
			return nil
		}
		b, ok := byName[[2]string{kind, name}]
		if !ok {
			b = &bucketBatch{kind: kind, name: name}
			byName[[2]string{kind, name}] = b
			buckets = append(buckets, b)
		}
		return b
	}
	// Encode every event into one buffer first; the args slice it into
	// per-event parts once it has stopped growing.
	size := 0
	for _, e := range events {
		size += eventSizeHint(e)
	}
	buf = make([]byte, 0, size)
	kept := events[:0:0]
	for _, e := range events {
		if e.SID == "" {
			continue
		}
		buf = appendEvent(buf, e)
		ends = append(ends, len(buf))
		kept = append(kept, e)
	}
	for i, e := range kept {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		sb, ok := bySID[e.SID]
		if !ok {
			sb = &sessionBatch{sid: e.SID, first: millis(e.At)}
			bySID[e.SID] = sb
			sessions = append(sessions, sb)
		}
		sb.enc = append(sb.enc, buf[start:ends[i]:ends[i]])
		sb.last = millis(e.At)
		sb.incr[0]++ // events
		field := -1  // index in bucketIncrFields
		switch e.Type {
		case store.EventPageView:
			sb.incr[1]++
			field = 0
		case store.EventAPICall:
			sb.incr[2]++
			field = 2
		case store.EventFileUpload:
			sb.incr[3]++
		case store.EventAnalysisRun:
			sb.incr[4]++
			field = 1
			// A malformed count adds nothing rather than failing the
			// batch, which the buffer would retry forever.
			if n, err := strconv.ParseInt(e.Data["comments"], 10, 64); err == nil && n > 0 {
				sb.incr[5] += n
			}
		}
		if field < 0 {
			continue
		}
		for _, b := range []*bucketBatch{bucket("ad", e.Day), bucket("ah", e.Hour)} {
			if b != nil {
				b.incr[field]++
			}
		}
	}
	if len(sessions) == 0 {
		return nil
	}
	args := make([]any, 0, 5+len(sessions)*(4+len(counterFields))+len(kept)+1+len(buckets)*(2+len(bucketIncrFields)))
	args = append(args, retention.Milliseconds(), store.TimelineCap, bucketTTL(retention), len(sessions))
	for _, sb := range sessions {
		args = append(args, sb.sid, len(sb.enc))
		for _, n := range sb.incr {
			args = append(args, n)
		}
		args = append(args, sb.first, sb.last)
		args = append(args, sb.enc...)
	}
	args = append(args, len(buckets))
	for _, b := range buckets {
		args = append(args, b.kind, b.name)
		for _, n := range b.incr {
			args = append(args, n)
		}
	}
	if _, err := s.run(ctx, scriptAppendEvents, args...); err != nil {
		return fmt.Errorf("redis: append %d events: %w", len(kept), err)
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
