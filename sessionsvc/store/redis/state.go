package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Meta hash fields ({prefix}sm:{sid}); each category's version is "v:" plus
// its name.
const (
	metaVersion      = "sv"
	metaLastModified = "lm"
	metaBytes        = "b"
	metaCatPrefix    = "v:"
)

// GetState reads the meta hash and every category hash with one script (one
// round trip).
func (s *Store) GetState(ctx context.Context, sid string) (store.StateDoc, bool, error) {
	reply, err := redigo.Values(s.run(ctx, scriptGetState, sid))
	if err != nil {
		return store.StateDoc{}, false, fmt.Errorf("redis: get state of %s: %w", sid, err)
	}
	if len(reply) != 3+len(store.Categories) {
		return store.StateDoc{}, false, fmt.Errorf("redis: get state of %s: reply has %d parts", sid, len(reply))
	}
	rec, _ := redigo.Int(reply[0], nil)
	ended, _ := redigo.Int(reply[1], nil)
	doc, written, err := decodeState(reply[2:])
	if err != nil {
		return store.StateDoc{}, false, fmt.Errorf("redis: get state of %s: %w", sid, err)
	}
	if rec == 0 && ended == 0 && !written {
		return store.StateDoc{}, false, nil
	}
	return doc, true, nil
}

// decodeState builds a StateDoc from a read_state reply: the meta hash, then
// each category hash in store.Categories order. written reports whether the
// session's state was ever written.
func decodeState(parts []any) (doc store.StateDoc, written bool, err error) {
	meta, err := redigo.StringMap(parts[0], nil)
	if err != nil {
		return doc, false, fmt.Errorf("meta: %w", err)
	}
	if len(meta) == 0 {
		return doc, false, nil
	}
	num := func(f string) (int64, error) {
		v, ok := meta[f]
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meta field %s=%q: %w", f, v, err)
		}
		return n, nil
	}
	if doc.Version, err = num(metaVersion); err != nil {
		return doc, false, err
	}
	if doc.Bytes, err = num(metaBytes); err != nil {
		return doc, false, err
	}
	if lm, ok := meta[metaLastModified]; ok {
		if doc.LastModified, err = parseMillis(lm); err != nil {
			return doc, false, fmt.Errorf("meta last modified %q: %w", lm, err)
		}
	}
	for i, cat := range store.Categories {
		v, err := num(metaCatPrefix + cat)
		if err != nil {
			return doc, false, err
		}
		if v == 0 {
			continue
		}
		vals, err := byteMap(parts[1+i])
		if err != nil {
			return doc, false, fmt.Errorf("category %s: %w", cat, err)
		}
		if doc.Categories == nil {
			doc.Categories = make(map[string]store.CategoryDoc, len(store.Categories))
		}
		doc.Categories[cat] = store.CategoryDoc{Values: vals, Version: v}
	}
	return doc, true, nil
}

// byteMap turns an HGETALL reply into a map whose values keep their bytes.
func byteMap(v any) (map[string][]byte, error) {
	kv, err := redigo.ByteSlices(v, nil)
	if err != nil {
		return nil, err
	}
	if len(kv)%2 != 0 {
		return nil, errors.New("odd number of hash items")
	}
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[string(kv[i])] = kv[i+1]
	}
	return m, nil
}

// UpdateState applies u with one script: the live-record check, Expect, the
// snapshot, the limit, the writes and every version bump happen in one
// atomic step, so concurrent writers to one session never lose keys.
func (s *Store) UpdateState(ctx context.Context, sid string, u store.StateUpdate) (store.StateVersions, error) {
	if !store.ValidCategory(u.Category) {
		return store.StateVersions{}, fmt.Errorf("redis: update state of %s: unknown category %q", sid, u.Category)
	}
	if u.Now.IsZero() {
		return store.StateVersions{}, fmt.Errorf("redis: update state of %s: no time given", sid)
	}
	args := make([]any, 0, 8+2*len(u.Set)+len(u.Delete))
	args = append(args, sid, u.Category, u.Expect, max(u.Snapshots, 0), max(u.Limit, 0),
		millis(u.Now), boolStr(u.Replace), len(u.Set))
	for k, v := range u.Set {
		args = append(args, k, v)
	}
	for _, k := range u.Delete {
		args = append(args, k)
	}
	reply, err := redigo.Int64s(s.run(ctx, scriptUpdateState, args...))
	if err != nil {
		return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: %w", sid, u.Category, err)
	}
	switch {
	case len(reply) == 0:
		return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: empty reply", sid, u.Category)
	case reply[0] == 0:
		return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: %w", sid, u.Category, store.ErrSessionGone)
	case reply[0] == -1 && len(reply) == 2:
		return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: at version %d, expected %d: %w",
			sid, u.Category, reply[1], u.Expect, store.ErrVersionConflict)
	case reply[0] == -2 && len(reply) == 2:
		return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: %d bytes, limit %d: %w",
			sid, u.Category, reply[1], u.Limit, store.ErrStateTooLarge)
	case reply[0] == 1 && len(reply) == 3:
		return store.StateVersions{Category: reply[1], State: reply[2], LastModified: fromMillis(millis(u.Now))}, nil
	}
	return store.StateVersions{}, fmt.Errorf("redis: update state %s/%s: unexpected reply %v", sid, u.Category, reply)
}

// Snapshots reads a category's snapshot list, newest first.
func (s *Store) Snapshots(ctx context.Context, sid, category string) ([]store.Snapshot, error) {
	if !store.ValidCategory(category) {
		return nil, fmt.Errorf("redis: snapshots of %s: unknown category %q", sid, category)
	}
	items, err := redigo.ByteSlices(s.do(ctx, "LRANGE", s.prefix+"ss:"+sid+":"+category, 0, -1))
	if err != nil {
		return nil, fmt.Errorf("redis: snapshots of %s/%s: %w", sid, category, err)
	}
	out := make([]store.Snapshot, 0, len(items))
	for _, b := range items {
		snap, err := decodeSnapshot(b)
		if err != nil {
			return nil, fmt.Errorf("redis: snapshots of %s/%s: %w", sid, category, err)
		}
		out = append(out, snap)
	}
	return out, nil
}

// decodeSnapshot parses the layout the update script packs: format byte,
// version and time (uint64 big-endian), pair count (uint32), then each key
// and value as a uint32 length and its bytes.
func decodeSnapshot(b []byte) (store.Snapshot, error) {
	bad := errors.New("malformed snapshot")
	if len(b) < 21 || b[0] != snapshotFormat {
		return store.Snapshot{}, bad
	}
	snap := store.Snapshot{
		Version: int64(binary.BigEndian.Uint64(b[1:9])),
		At:      fromMillis(int64(binary.BigEndian.Uint64(b[9:17]))),
	}
	n := binary.BigEndian.Uint32(b[17:21])
	b = b[21:]
	// Each pair takes at least 8 bytes, which bounds the map before it is made.
	if uint64(n)*8 > uint64(len(b)) {
		return store.Snapshot{}, bad
	}
	snap.Values = make(map[string][]byte, n)
	next := func() ([]byte, bool) {
		if len(b) < 4 {
			return nil, false
		}
		l := binary.BigEndian.Uint32(b)
		if uint64(l) > uint64(len(b)-4) {
			return nil, false
		}
		v := b[4 : 4+l : 4+l]
		b = b[4+l:]
		return v, true
	}
	for range n {
		k, ok := next()
		if !ok {
			return store.Snapshot{}, bad
		}
		v, ok := next()
		if !ok {
			return store.Snapshot{}, bad
		}
		snap.Values[string(k)] = v
	}
	if len(b) != 0 {
		return store.Snapshot{}, bad
	}
	return snap, nil
}

// SetProcessing sets the record's processing status and progress with one
// script that writes only while the record exists.
func (s *Store) SetProcessing(ctx context.Context, sid, status string, progress int) error {
	n, err := redigo.Int(s.run(ctx, scriptSetProcessing, sid, status, progress))
	if err != nil {
		return fmt.Errorf("redis: set processing of %s: %w", sid, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: set processing of %s: %w", sid, store.ErrSessionGone)
	}
	return nil
}

// RecoveryPoints reads the user's recovery-point index ({prefix}rp:{user},
// scored by the end of each window) from now on, with each ended entry.
func (s *Store) RecoveryPoints(ctx context.Context, user string, now time.Time) ([]store.RecoveryPoint, error) {
	reply, err := redigo.Values(s.run(ctx, scriptRecoveryPoints, user, millis(now)))
	if err != nil {
		return nil, fmt.Errorf("redis: recovery points: %w", err)
	}
	out := make([]store.RecoveryPoint, 0, len(reply))
	for _, v := range reply {
		p, err := decodeRecoveryPoint(v)
		if err != nil {
			return nil, fmt.Errorf("redis: recovery points: %w", err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b store.RecoveryPoint) int {
		if c := b.EndedAt.Compare(a.EndedAt); c != 0 {
			return c
		}
		return strings.Compare(b.SID, a.SID)
	})
	return out, nil
}

// decodeRecoveryPoint parses a {score, HGETALL of the ended entry} reply.
func decodeRecoveryPoint(v any) (store.RecoveryPoint, error) {
	pair, err := redigo.Values(v, nil)
	if err != nil || len(pair) != 2 {
		return store.RecoveryPoint{}, fmt.Errorf("malformed recovery point reply")
	}
	score, err := redigo.String(pair[0], nil)
	if err != nil {
		return store.RecoveryPoint{}, err
	}
	exp, err := parseMillis(score)
	if err != nil {
		return store.RecoveryPoint{}, fmt.Errorf("recovery point score %q: %w", score, err)
	}
	m, err := flatMap(pair[1])
	if err != nil {
		return store.RecoveryPoint{}, err
	}
	e, err := decodeEnded(m)
	if err != nil {
		return store.RecoveryPoint{}, err
	}
	return store.RecoveryPoint{
		SID: e.Record.SID, User: e.Record.User, Reason: e.Tombstone.Reason,
		EndedAt: e.Tombstone.At, ExpiresAt: exp, Record: e.Record,
	}, nil
}

// ClaimRecovery takes the point with one script: its ZREM from the user's
// index happens once, so two concurrent claims cannot both succeed.
func (s *Store) ClaimRecovery(ctx context.Context, sid, user string, now time.Time) (store.RecoveryPoint, bool, error) {
	v, err := s.run(ctx, scriptClaimRecovery, sid, user, millis(now))
	if err != nil {
		return store.RecoveryPoint{}, false, fmt.Errorf("redis: claim recovery of %s: %w", sid, err)
	}
	if v == nil {
		return store.RecoveryPoint{}, false, nil
	}
	p, err := decodeRecoveryPoint(v)
	if err != nil {
		return store.RecoveryPoint{}, false, fmt.Errorf("redis: claim recovery of %s: %w", sid, err)
	}
	return p, true, nil
}

// linkKey names a recovery link by the hash of its token.
func (s *Store) linkKey(tokenHash string) string { return s.prefix + "rl:" + tokenHash }

// SaveRecoveryLink stores the link as a hash (sid, user, expiry) whose TTL
// is the expiry plus Grace; the expiry itself is checked against now.
func (s *Store) SaveRecoveryLink(ctx context.Context, tokenHash, sid, user string, expires time.Time) error {
	if tokenHash == "" || sid == "" || user == "" {
		return fmt.Errorf("redis: save recovery link: token hash, sid and user are required")
	}
	if _, err := s.run(ctx, scriptSaveLink, tokenHash, sid, user, millis(expires), s.ttlAt(expires)); err != nil {
		return fmt.Errorf("redis: save recovery link for %s: %w", sid, err)
	}
	return nil
}

// RecoveryLink reads the link with one HMGET, without using it.
func (s *Store) RecoveryLink(ctx context.Context, tokenHash string, now time.Time) (string, string, bool, error) {
	r, err := optStrings(redigo.Values(s.do(ctx, "HMGET", s.linkKey(tokenHash), "sid", "user", "exp")))
	if err != nil {
		return "", "", false, fmt.Errorf("redis: recovery link: %w", err)
	}
	if r[0] == "" {
		return "", "", false, nil
	}
	exp, err := parseMillis(r[2])
	if err != nil {
		return "", "", false, fmt.Errorf("redis: recovery link expiry %q: %w", r[2], err)
	}
	if !exp.After(now) {
		return "", "", false, nil
	}
	return r[0], r[1], true, nil
}

// UseRecoveryLink checks and deletes the link in one script, so it is used
// at most once.
func (s *Store) UseRecoveryLink(ctx context.Context, tokenHash string, now time.Time) (string, string, bool, error) {
	r, err := redigo.Strings(s.run(ctx, scriptUseLink, tokenHash, millis(now)))
	if errors.Is(err, redigo.ErrNil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("redis: use recovery link: %w", err)
	}
	if len(r) != 2 {
		return "", "", false, fmt.Errorf("redis: use recovery link: malformed reply")
	}
	return r[0], r[1], true, nil
}

// SaveUserPrefs stores the user's preferences in {prefix}up:{user} without a
// TTL: there is one small value per account (accounts come from config), and
// a user who returns after months should still find their preferences.
func (s *Store) SaveUserPrefs(ctx context.Context, user string, b []byte) error {
	if user == "" {
		return fmt.Errorf("redis: save user preferences: no user")
	}
	if _, err := s.do(ctx, "SET", s.prefix+"up:"+user, b); err != nil {
		return fmt.Errorf("redis: save preferences of %s: %w", user, err)
	}
	return nil
}

// UserPrefs reads the user's preferences with one GET.
func (s *Store) UserPrefs(ctx context.Context, user string) ([]byte, bool, error) {
	b, err := redigo.Bytes(s.do(ctx, "GET", s.prefix+"up:"+user))
	if errors.Is(err, redigo.ErrNil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: preferences of %s: %w", user, err)
	}
	return b, true, nil
}

// stateJSON is how an archive keeps its final state: JSON, with values as
// base64 (encoding/json's form of []byte), since the values are ciphertext.
type stateJSON struct {
	Version      int64              `json:"v"`
	LastModified int64              `json:"lm"`
	Bytes        int64              `json:"b"`
	Categories   map[string]catJSON `json:"c,omitempty"`
}

type catJSON struct {
	Version int64             `json:"v"`
	Values  map[string][]byte `json:"kv"`
}

func encodeStateJSON(d store.StateDoc) ([]byte, error) {
	j := stateJSON{Version: d.Version, LastModified: millis(d.LastModified), Bytes: d.Bytes}
	if len(d.Categories) > 0 {
		j.Categories = make(map[string]catJSON, len(d.Categories))
		for name, c := range d.Categories {
			j.Categories[name] = catJSON{Version: c.Version, Values: c.Values}
		}
	}
	return json.Marshal(j)
}

func decodeStateJSON(b []byte) (store.StateDoc, error) {
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return store.StateDoc{}, err
	}
	d := store.StateDoc{Version: j.Version, LastModified: fromMillis(j.LastModified), Bytes: j.Bytes}
	if len(j.Categories) > 0 {
		d.Categories = make(map[string]store.CategoryDoc, len(j.Categories))
		for name, c := range j.Categories {
			vals := c.Values
			if vals == nil {
				vals = map[string][]byte{}
			}
			d.Categories[name] = store.CategoryDoc{Version: c.Version, Values: vals}
		}
	}
	return d, nil
}
