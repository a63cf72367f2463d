package redis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// recordFields are the hash fields of a registry record ({prefix}s:{sid}), in
// the order encodeRecord writes them and the Lua scripts read them (HMGET).
// The names are short because there is one hash per live session. Times are
// unix milliseconds; the zero time.Time is kept as its own (negative) value.
//
// A user agent is split into three fields of at most uaPart bytes (fua,
// fua2, fua3 and lua, lua2, lua3; the last takes what is left), so that
// a record's values stay within Redis's hash-max-listpack-value (64 by
// default) and the hash keeps the compact listpack encoding: a browser's
// user agent is usually 100 to 150 bytes, and one value over the limit
// turns the whole record into a hash table, about 1.8 KB instead of 0.8 KB.
// Records written before the split have the whole agent in fua and lua and
// no fua2, fua3, lua2 or lua3, which read as empty.
//
// Create leaves out what a new record would repeat or hold as a default
// (recordDefaults), about 220 bytes of a typical record: the first IP
// while it equals the last (fip), the first user agent while it equals the
// last (fua, fua2, fua3), the authentication time when it is the creation
// time (auth), and fields that hold their default ("", "0", or "idle" for
// the processing status). A missing fip reads as lip, a missing fua as the
// last agent (the commit script writes them before the last ones change),
// a missing auth as cre, any other missing field as its default. Records
// of older versions have every field and read the same.
var recordFields = []string{
	"sid", "th", "user", "role", "cre", "auth", "act", "exp", "idle", "life",
	"fip", "lip", "fua", "lua", "ipc", "uac", "dev", "fp", "path", "proc",
	"prog", "sv", "rf", "fua2", "fua3", "lua2", "lua3",
}

// recordDefaults are the fields that Create leaves out of a new record when
// they hold this value (see recordFields).
var recordDefaults = map[string]string{
	"ipc": "0", "uac": "0", "prog": "0", "sv": "0", "rf": "", "proc": "idle",
	"dev": "", "fp": "", "path": "", "fua2": "", "fua3": "", "lua2": "", "lua3": "",
}

// uaPart is the most bytes of a user agent each of its first two fields
// holds.
const uaPart = 64

// splitUA cuts a user agent into its three record fields.
func splitUA(ua string) (a, b, c string) {
	a, ua = ua[:min(len(ua), uaPart)], ua[min(len(ua), uaPart):]
	b, c = ua[:min(len(ua), uaPart)], ua[min(len(ua), uaPart):]
	return a, b, c
}

// zeroMillis is the UnixMilli of the zero time.Time, which round-trips as zero.
var zeroMillis = time.Time{}.UnixMilli()

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time {
	if ms == zeroMillis {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// encodeRecord returns r's field values in recordFields order.
func encodeRecord(r store.Record) []any {
	fua, fua2, fua3 := splitUA(r.FirstUserAgent)
	lua, lua2, lua3 := splitUA(r.LastUserAgent)
	return []any{
		r.SID, r.TokenHash, r.User, r.Role,
		millis(r.CreatedAt), millis(r.AuthenticatedAt), millis(r.LastActivity),
		millis(r.ExpiresAt), millis(r.IdleAt), millis(r.LifetimeAt),
		r.FirstIP, r.LastIP, fua, lua,
		boolStr(r.IPChanged), boolStr(r.UAChanged),
		r.Device, r.Fingerprint, r.Path, r.Processing,
		r.Progress, r.StateVersion, r.RecoveredFrom,
		fua2, fua3, lua2, lua3,
	}
}

// decodeRecordValues parses an HMGET reply in recordFields order. found is
// false if the hash did not exist (every value nil).
func decodeRecordValues(v []any) (rec store.Record, found bool, err error) {
	if len(v) != len(recordFields) {
		return rec, false, fmt.Errorf("redis: record reply has %d fields, want %d", len(v), len(recordFields))
	}
	if v[0] == nil {
		return rec, false, nil
	}
	m := make(map[string]string, len(v))
	for i, f := range recordFields {
		if v[i] == nil {
			continue
		}
		s, err := redigo.String(v[i], nil)
		if err != nil {
			return rec, false, fmt.Errorf("redis: record field %s: %w", f, err)
		}
		m[f] = s
	}
	rec, err = decodeRecordMap(m)
	return rec, err == nil, err
}

// decodeRecordMap builds a record from its hash fields (HGETALL or HMGET).
func decodeRecordMap(m map[string]string) (store.Record, error) {
	var perr error
	num := func(f string) int64 {
		s, ok := m[f]
		if !ok || s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			// Lua may hand back numbers in float notation.
			fl, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil {
				if perr == nil {
					perr = fmt.Errorf("redis: record field %s=%q: %w", f, s, err)
				}
				return 0
			}
			n = int64(fl)
		}
		return n
	}
	// str reads a field that a record may leave out as its default.
	str := func(f string) string {
		if s, ok := m[f]; ok {
			return s
		}
		return recordDefaults[f]
	}
	tm := func(f string) time.Time {
		if _, ok := m[f]; !ok {
			return time.Time{}
		}
		return fromMillis(num(f))
	}
	r := store.Record{
		SID:             m["sid"],
		TokenHash:       m["th"],
		User:            m["user"],
		Role:            m["role"],
		CreatedAt:       tm("cre"),
		AuthenticatedAt: tm("auth"),
		LastActivity:    tm("act"),
		ExpiresAt:       tm("exp"),
		IdleAt:          tm("idle"),
		LifetimeAt:      tm("life"),
		FirstIP:         m["fip"],
		LastIP:          m["lip"],
		FirstUserAgent:  m["fua"] + m["fua2"] + m["fua3"],
		LastUserAgent:   m["lua"] + m["lua2"] + m["lua3"],
		IPChanged:       m["ipc"] == "1",
		UAChanged:       m["uac"] == "1",
		Device:          m["dev"],
		Fingerprint:     m["fp"],
		Path:            m["path"],
		Processing:      str("proc"),
		Progress:        int(num("prog")),
		StateVersion:    num("sv"),
		RecoveredFrom:   m["rf"],
	}
	if _, ok := m["fip"]; !ok {
		r.FirstIP = r.LastIP
	}
	if _, ok := m["fua"]; !ok {
		r.FirstUserAgent = r.LastUserAgent
	}
	if _, ok := m["auth"]; !ok {
		r.AuthenticatedAt = r.CreatedAt
	}
	return r, perr
}

// blobParts is the most fields an ended entry splits its blob into:
// _blob, then _blob2 to _blob{blobParts}, each of at most uaPart bytes, so
// that the entry stays a listpack hash like the record it was renamed
// from. A longer blob, and the blob of an archive or of an entry written
// by an older version, is in _blob whole.
const blobParts = 32

// Ended-entry and archive hashes hold the record fields plus these.
const (
	fieldBlob       = "_blob"
	fieldReason     = "_reason"
	fieldActor      = "_actor"
	fieldNote       = "_note"
	fieldAt         = "_at"
	fieldArchivedAt = "_archived"
	fieldState      = "_state" // archive only: final state as JSON
	fieldFiles      = "_files" // archive only: file list as JSON
	// The end of the recovery window (unix ms), only for a recovery point.
	fieldRecoverUntil = "_ru"
	fieldClaimed      = "_claimed" // "1" once ClaimRecovery took the point
	fieldRetainUntil  = "_retain"  // archive only: end of its retention (unix ms)
)

// Tombstone fields in the order the scripts return them (Create).
var tombstoneFields = []string{"sid", "th", "user", "reason", "actor", "note", "at"}

func decodeTombstoneValues(v []any) (store.Tombstone, error) {
	if len(v) != len(tombstoneFields) {
		return store.Tombstone{}, fmt.Errorf("redis: tombstone reply has %d fields, want %d", len(v), len(tombstoneFields))
	}
	s := make([]string, len(v))
	for i := range v {
		if v[i] == nil {
			continue
		}
		str, err := redigo.String(v[i], nil)
		if err != nil {
			return store.Tombstone{}, fmt.Errorf("redis: tombstone field %s: %w", tombstoneFields[i], err)
		}
		s[i] = str
	}
	at, err := parseMillis(s[6])
	if err != nil {
		return store.Tombstone{}, fmt.Errorf("redis: tombstone time %q: %w", s[6], err)
	}
	return store.Tombstone{
		SID: s[0], TokenHash: s[1], User: s[2], Reason: store.Reason(s[3]),
		Actor: s[4], Note: s[5], At: at,
	}, nil
}

func parseMillis(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return time.Time{}, err
		}
		n = int64(fl)
	}
	return fromMillis(n), nil
}

// flatMap turns an HGETALL reply into a map.
func flatMap(v any) (map[string]string, error) {
	return redigo.StringMap(v, nil)
}

// decodeEnded builds an EndedSession from an ended-entry or archive hash.
func decodeEnded(m map[string]string) (store.EndedSession, error) {
	rec, err := decodeRecordMap(m)
	if err != nil {
		return store.EndedSession{}, err
	}
	at, err := parseMillis(m[fieldAt])
	if err != nil {
		return store.EndedSession{}, fmt.Errorf("redis: ended time %q: %w", m[fieldAt], err)
	}
	e := store.EndedSession{
		Record: rec,
		Tombstone: store.Tombstone{
			SID: rec.SID, TokenHash: rec.TokenHash, User: rec.User,
			Reason: store.Reason(m[fieldReason]), Actor: m[fieldActor], Note: m[fieldNote], At: at,
		},
	}
	if b, ok := m[fieldBlob]; ok {
		for i := 2; ; i++ {
			p, ok := m[fieldBlob+strconv.Itoa(i)]
			if !ok {
				break
			}
			b += p
		}
		e.Blob = []byte(b)
	}
	return e, nil
}

// encodeEnded returns the field/value pairs of an ended-entry or archive hash.
func encodeEnded(e store.EndedSession) []any {
	vals := encodeRecord(e.Record)
	out := make([]any, 0, 2*len(vals)+10)
	for i, f := range recordFields {
		out = append(out, f, vals[i])
	}
	out = append(out,
		fieldReason, string(e.Tombstone.Reason),
		fieldActor, e.Tombstone.Actor,
		fieldNote, e.Tombstone.Note,
		fieldAt, millis(e.Tombstone.At))
	if e.Blob != nil {
		out = append(out, fieldBlob, e.Blob)
	}
	return out
}

// luaStringMap renders m as a Lua table literal of string keys and values.
func luaStringMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = "[" + strconv.Quote(k) + "]=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(q, ",") + "}"
}

// luaStringList renders names as a Lua table literal.
func luaStringList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "{" + strings.Join(q, ",") + "}"
}

// optStrings converts an array reply whose items may be nil (HMGET) to
// strings, nil becoming "".
func optStrings(v []any, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	out := make([]string, len(v))
	for i, x := range v {
		if x == nil {
			continue
		}
		s, err := redigo.String(x, nil)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
