package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// pruneBatch bounds how many archives past their retention one Archive or
// ListEnded script call unlists, so that neither blocks Redis for long.
const pruneBatch = 1000

// endChunk is how many sids one EndMany script call ends: small enough that
// one call blocks Redis for only a few milliseconds, large enough that 100k
// sids take a few hundred pipelined calls.
const endChunk = 500

// sortKind names the index of a sort.
func sortKind(s store.Sort) string {
	switch s {
	case store.SortCreated:
		return "cre"
	case store.SortDeadline:
		return "dl"
	}
	return "act"
}

// Create inserts rec and ends the user's sessions beyond max in one script.
// Sessions it ends get tombstones kept for Options.Keep. max <= 0 means no
// limit.
func (s *Store) Create(ctx context.Context, rec store.Record, max int, now time.Time, keep time.Duration) ([]store.Tombstone, error) {
	if rec.SID == "" || rec.TokenHash == "" || rec.User == "" || rec.Role == "" {
		return nil, fmt.Errorf("redis: create: record needs SID, TokenHash, User and Role")
	}
	if rec.CreatedAt.IsZero() || rec.LastActivity.IsZero() || rec.ExpiresAt.IsZero() ||
		rec.IdleAt.IsZero() || rec.LifetimeAt.IsZero() {
		return nil, fmt.Errorf("redis: create %s: record needs its times", rec.SID)
	}
	reply, err := redigo.Values(s.run(ctx, scriptCreate, s.createArgs(rec, max, now, keep)...))
	if err != nil {
		if strings.HasPrefix(err.Error(), "EXISTS") {
			return nil, fmt.Errorf("redis: create %s: session already exists", rec.SID)
		}
		return nil, fmt.Errorf("redis: create %s: %w", rec.SID, err)
	}
	var ended []store.Tombstone
	for _, v := range reply {
		fields, err := redigo.Values(v, nil)
		if err != nil {
			return nil, fmt.Errorf("redis: create %s: tombstone reply: %w", rec.SID, err)
		}
		t, err := decodeTombstoneValues(fields)
		if err != nil {
			return nil, fmt.Errorf("redis: create %s: %w", rec.SID, err)
		}
		ended = append(ended, t)
	}
	return ended, nil
}

// createArgs are scriptCreate's arguments after the prefix. The state's
// expiry (the record's sx) is the record's latest possible safety net
// (its lifetime plus Grace) plus the ended entry's TTL for keep, so that
// the state outlives both the record and, when the session ends in time,
// its ended entry.
func (s *Store) createArgs(rec store.Record, max int, now time.Time, keep time.Duration) []any {
	endedTTL := s.endedTTL(keep)
	sx := (s.ttlAt(rec.LifetimeAt) + endedTTL + 999) / 1000 // unix seconds, rounded up
	args := []any{millis(now), max, keep.Milliseconds(), endedTTL, s.ttlAt(rec.Deadline()),
		s.stateAt(endedTTL), sx}
	return append(args, encodeRecord(rec)...)
}

// stateAt is the real time (unix ms) until which an ended session's state
// must last: the expiry of an ended entry written now.
func (s *Store) stateAt(endedTTL int64) int64 {
	return time.Now().UnixMilli() + endedTTL
}

// Get reads a record with one HMGET.
func (s *Store) Get(ctx context.Context, sid string, now time.Time) (store.Record, bool, error) {
	args := make([]any, 0, len(recordFields)+1)
	args = append(args, s.prefix+"s:"+sid)
	for _, f := range recordFields {
		args = append(args, f)
	}
	v, err := redigo.Values(s.do(ctx, "HMGET", args...))
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redis: get %s: %w", sid, err)
	}
	rec, found, err := decodeRecordValues(v)
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redis: get %s: %w", sid, err)
	}
	if !found || !rec.Deadline().After(now) {
		return store.Record{}, false, nil
	}
	return rec, true, nil
}

// List serves one page with one script: O(log N + page) from the chosen
// index of each role (merged, when no role is asked for), skipping entries
// whose deadline has passed; with a User filter from the user's small set;
// with an IP filter by walking the indexes.
func (s *Store) List(ctx context.Context, q store.Query, now time.Time) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	var (
		hasCursor = "0"
		cScore    int64
		cSID      string
	)
	if q.Cursor != "" {
		cScore, cSID, err = store.DecodeCursor(q.Cursor)
		if err != nil {
			return store.Page{}, err
		}
		hasCursor = "1"
	}
	reply, err := redigo.Values(s.run(ctx, scriptList, millis(now), sortKind(q.Sort),
		q.Filter.Role, q.Filter.User, q.Filter.IP, q.Limit, hasCursor, cScore, cSID))
	if err != nil {
		return store.Page{}, fmt.Errorf("redis: list: %w", err)
	}
	if len(reply) < 2 {
		return store.Page{}, fmt.Errorf("redis: list: short reply")
	}
	total, err := redigo.Int(reply[0], nil)
	if err != nil {
		return store.Page{}, fmt.Errorf("redis: list total: %w", err)
	}
	more, err := redigo.Int(reply[1], nil)
	if err != nil {
		return store.Page{}, fmt.Errorf("redis: list: %w", err)
	}
	recs, err := decodeRows(reply[2:])
	if err != nil {
		return store.Page{}, fmt.Errorf("redis: list: %w", err)
	}
	if q.Filter.User != "" {
		recs, more = pageInGo(recs, q, hasCursor == "1", cScore, cSID)
	}
	page := store.Page{Records: recs, Total: total}
	if more == 1 && len(recs) > 0 {
		last := recs[len(recs)-1]
		page.Next = store.EncodeCursor(store.Score(last, q.Sort), last.SID)
	}
	return page, nil
}

// pageInGo sorts a user's matching sessions as the indexes would (score, then
// sid by bytes, in the sort's direction) and cuts the page after the cursor.
func pageInGo(recs []store.Record, q store.Query, hasCursor bool, cScore int64, cSID string) ([]store.Record, int) {
	asc := q.Sort == store.SortDeadline
	cmpRow := func(aScore int64, aSID string, bScore int64, bSID string) int {
		c := cmp.Compare(aScore, bScore)
		if c == 0 {
			c = strings.Compare(aSID, bSID)
		}
		if !asc {
			c = -c
		}
		return c
	}
	slices.SortFunc(recs, func(a, b store.Record) int {
		return cmpRow(store.Score(a, q.Sort), a.SID, store.Score(b, q.Sort), b.SID)
	})
	if hasCursor {
		i := 0
		for i < len(recs) && cmpRow(store.Score(recs[i], q.Sort), recs[i].SID, cScore, cSID) <= 0 {
			i++
		}
		recs = recs[i:]
	}
	if len(recs) > q.Limit {
		return recs[:q.Limit], 1
	}
	return recs, 0
}

// decodeRows decodes script rows, each an HMGET of recordFields.
func decodeRows(rows []any) ([]store.Record, error) {
	recs := make([]store.Record, 0, len(rows))
	for _, row := range rows {
		v, err := redigo.Values(row, nil)
		if err != nil {
			return nil, err
		}
		rec, found, err := decodeRecordValues(v)
		if err != nil {
			return nil, err
		}
		if found {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// Rekey moves a live session to newHash and role in one script.
func (s *Store) Rekey(ctx context.Context, sid, oldHash, newHash, role string, now time.Time) error {
	if newHash == "" || role == "" {
		return fmt.Errorf("redis: rekey %s: new hash and role are required", sid)
	}
	n, err := redigo.Int(s.run(ctx, scriptRekey, sid, oldHash, newHash, role, millis(now)))
	if err != nil {
		return fmt.Errorf("redis: rekey %s: %w", sid, err)
	}
	if n == 0 {
		return store.ErrSessionGone
	}
	return nil
}

// endArgs are the script arguments shared by End, EndMany and EndUser.
func (s *Store) endArgs(t store.Tombstone, keep time.Duration) []any {
	if !t.Reason.Valid() {
		t.Reason = store.ReasonTerminated
	}
	endedTTL := s.endedTTL(keep)
	return []any{string(t.Reason), t.Actor, t.Note, millis(t.At), keep.Milliseconds(), endedTTL, s.stateAt(endedTTL)}
}

// End ends one session with one script.
func (s *Store) End(ctx context.Context, sid string, t store.Tombstone, keep time.Duration) (bool, error) {
	args := append(s.endArgs(t, keep), sid)
	n, err := redigo.Int(s.runAcked(ctx, scriptEnd, args...))
	if err != nil {
		return false, fmt.Errorf("redis: end %s: %w", sid, err)
	}
	return n == 1, nil
}

// EndMany ends sids in chunks of endChunk per script call, all chunks
// pipelined on one connection: one round trip for the lot, while each call
// blocks Redis only briefly. Each session is ended atomically; the list is not.
func (s *Store) EndMany(ctx context.Context, sids []string, t store.Tombstone, keep time.Duration) (int, error) {
	if len(sids) == 0 {
		return 0, nil
	}
	base := append([]any{s.prefix}, s.endArgs(t, keep)...)
	chunkArgs := func(chunk []string) []any {
		args := make([]any, 0, len(base)+len(chunk))
		args = append(args, base...)
		for _, sid := range chunk {
			args = append(args, sid)
		}
		return args
	}
	var chunks [][]string
	for i := 0; i < len(sids); i += endChunk {
		chunks = append(chunks, sids[i:min(i+endChunk, len(sids))])
	}

	c, err := s.conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	defer s.waitReplica(ctx, c) // runs before Close: WAIT for one replica (sentinel.go)
	// The first chunk goes alone through Do, which loads the script if this
	// server has not seen it (EVALSHA falls back to EVAL); the rest can then
	// be pipelined with EVALSHA.
	total, err := redigo.Int(scriptEnd.DoContext(ctx, c, chunkArgs(chunks[0])...))
	if err != nil {
		return 0, fmt.Errorf("redis: end many: %w", err)
	}
	rest := chunks[1:]
	if len(rest) == 0 {
		return total, nil
	}
	for _, ch := range rest {
		if err := scriptEnd.SendHash(c, chunkArgs(ch)...); err != nil {
			return total, fmt.Errorf("redis: end many: %w", err)
		}
	}
	if err := c.Flush(); err != nil {
		return total, fmt.Errorf("redis: end many: %w", err)
	}
	var retry [][]string
	var firstErr error
	for _, ch := range rest {
		n, err := redigo.Int(redigo.ReceiveContext(c, ctx))
		var re redigo.Error
		switch {
		case errors.As(err, &re) && strings.HasPrefix(string(re), "NOSCRIPT"):
			// Redis restarted between the calls: run this chunk again.
			retry = append(retry, ch)
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		default:
			total += n
		}
	}
	if firstErr != nil {
		return total, fmt.Errorf("redis: end many: %w", firstErr)
	}
	for _, ch := range retry {
		n, err := redigo.Int(scriptEnd.DoContext(ctx, c, chunkArgs(ch)...))
		if err != nil {
			return total, fmt.Errorf("redis: end many: %w", err)
		}
		total += n
	}
	return total, nil
}

// EndUser ends the user's sessions, except those in except, with one script.
func (s *Store) EndUser(ctx context.Context, user string, except []string, t store.Tombstone, keep time.Duration) (int, error) {
	args := append([]any{user}, s.endArgs(t, keep)...)
	for _, sid := range except {
		args = append(args, sid)
	}
	n, err := redigo.Int(s.runAcked(ctx, scriptEndUser, args...))
	if err != nil {
		return 0, fmt.Errorf("redis: end sessions of user: %w", err)
	}
	return n, nil
}

// Tombstone reads the tombstone of a token hash: one GET of the JSON that the
// end script wrote.
func (s *Store) Tombstone(ctx context.Context, tokenHash string) (store.Tombstone, bool, error) {
	b, err := redigo.Bytes(s.do(ctx, "GET", s.prefix+"t:"+tokenHash))
	if errors.Is(err, redigo.ErrNil) {
		return store.Tombstone{}, false, nil
	}
	if err != nil {
		return store.Tombstone{}, false, fmt.Errorf("redis: tombstone: %w", err)
	}
	var j struct {
		SID    string `json:"sid"`
		TH     string `json:"th"`
		User   string `json:"user"`
		Reason string `json:"reason"`
		Actor  string `json:"actor"`
		Note   string `json:"note"`
		At     string `json:"at"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return store.Tombstone{}, false, fmt.Errorf("redis: tombstone: %w", err)
	}
	at, err := parseMillis(j.At)
	if err != nil {
		return store.Tombstone{}, false, fmt.Errorf("redis: tombstone time %q: %w", j.At, err)
	}
	return store.Tombstone{SID: j.SID, TokenHash: j.TH, User: j.User, Reason: store.Reason(j.Reason),
		Actor: j.Actor, Note: j.Note, At: at}, true, nil
}

// Due reads the deadline index up to now.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]store.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	reply, err := redigo.Values(s.run(ctx, scriptDue, millis(now), limit))
	if err != nil {
		return nil, fmt.Errorf("redis: due: %w", err)
	}
	recs, err := decodeRows(reply)
	if err != nil {
		return nil, fmt.Errorf("redis: due: %w", err)
	}
	return recs, nil
}

// Ended reads the ended index up to now (it is scored by the time each
// session is ready for cleanup: its end for a logout, the end of its
// recovery window otherwise, its claim time once recovered), with each
// session's final state, in one script.
func (s *Store) Ended(ctx context.Context, now time.Time, limit int) ([]store.EndedSession, error) {
	if limit <= 0 {
		return nil, nil
	}
	reply, err := redigo.Values(s.run(ctx, scriptEnded, millis(now), limit))
	if err != nil {
		return nil, fmt.Errorf("redis: ended: %w", err)
	}
	out := make([]store.EndedSession, 0, len(reply))
	for _, v := range reply {
		parts, err := redigo.Values(v, nil)
		if err != nil || len(parts) != 2+len(store.Categories) {
			return nil, fmt.Errorf("redis: ended: malformed entry reply")
		}
		m, err := flatMap(parts[0])
		if err != nil {
			return nil, fmt.Errorf("redis: ended: %w", err)
		}
		e, err := decodeEnded(m)
		if err != nil {
			return nil, fmt.Errorf("redis: ended: %w", err)
		}
		if e.State, _, err = decodeState(parts[1:]); err != nil {
			return nil, fmt.Errorf("redis: ended: state of %s: %w", e.Record.SID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Archive stores e, with its State and Files as JSON fields, under the
// archive for retention, and drops the ended entry, the session's state,
// snapshots and recovery point, in one script. The session stays in the
// ended lists until its retention ends; the script also unlists up to
// pruneBatch archives whose retention ended by now.
func (s *Store) Archive(ctx context.Context, e store.EndedSession, now time.Time, retention time.Duration) error {
	sid := e.Record.SID
	if sid == "" {
		sid = e.Tombstone.SID
		e.Record.SID = sid
	}
	if sid == "" {
		return fmt.Errorf("redis: archive: ended session has no sid")
	}
	ms := retention.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	user := e.Record.User
	if user == "" {
		user = e.Tombstone.User
	}
	st, err := encodeStateJSON(e.State)
	if err != nil {
		return fmt.Errorf("redis: archive %s: state: %w", sid, err)
	}
	files, err := json.Marshal(e.Files)
	if err != nil {
		return fmt.Errorf("redis: archive %s: files: %w", sid, err)
	}
	reason := e.Tombstone.Reason
	if !reason.Valid() {
		reason = store.ReasonTerminated // as End records it
	}
	args := []any{sid, millis(e.Tombstone.At), ms, millis(now.Add(-retention)), user,
		string(reason), millis(now), millis(now.Add(retention)), pruneBatch}
	args = append(args, encodeEnded(e)...)
	args = append(args, fieldArchivedAt, millis(now), fieldState, st, fieldFiles, files)
	if _, err := s.run(ctx, scriptArchive, args...); err != nil {
		return fmt.Errorf("redis: archive %s: %w", sid, err)
	}
	return nil
}

// Purge drops sid's ended entry, state, snapshots and recovery point in one
// script.
func (s *Store) Purge(ctx context.Context, sid string) error {
	if _, err := s.run(ctx, scriptPurge, sid); err != nil {
		return fmt.Errorf("redis: purge %s: %w", sid, err)
	}
	return nil
}

// Archived reads an archived session.
func (s *Store) Archived(ctx context.Context, sid string) (store.Archived, bool, error) {
	m, err := redigo.StringMap(s.do(ctx, "HGETALL", s.prefix+"a:"+sid))
	if err != nil {
		return store.Archived{}, false, fmt.Errorf("redis: archived %s: %w", sid, err)
	}
	if len(m) == 0 {
		return store.Archived{}, false, nil
	}
	e, err := decodeEnded(m)
	if err != nil {
		return store.Archived{}, false, fmt.Errorf("redis: archived %s: %w", sid, err)
	}
	at, err := parseMillis(m[fieldArchivedAt])
	if err != nil {
		return store.Archived{}, false, fmt.Errorf("redis: archived %s: time: %w", sid, err)
	}
	if st, ok := m[fieldState]; ok {
		if e.State, err = decodeStateJSON([]byte(st)); err != nil {
			return store.Archived{}, false, fmt.Errorf("redis: archived %s: state: %w", sid, err)
		}
	}
	if f, ok := m[fieldFiles]; ok {
		if err := json.Unmarshal([]byte(f), &e.Files); err != nil {
			return store.Archived{}, false, fmt.Errorf("redis: archived %s: files: %w", sid, err)
		}
	}
	return store.Archived{EndedSession: e, ArchivedAt: at}, true, nil
}
