package redis

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// writeState creates a session and writes one key to every category, with
// snapshots, twice, so that every state key of the layout exists.
func writeState(t *testing.T, s *Store, sid string, now time.Time) store.Record {
	t.Helper()
	return writeStateAfter(t, s, sid, now, nil)
}

// writeStateAfter is writeState, calling created (if not nil) between the
// Create and the state writes.
func writeStateAfter(t *testing.T, s *Store, sid string, now time.Time, created func()) store.Record {
	t.Helper()
	rec := record(sid, "ana", "analyst", now)
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if created != nil {
		created()
	}
	for i := range 2 {
		for _, cat := range store.Categories {
			u := store.StateUpdate{Category: cat, Set: map[string][]byte{"k": {byte(i)}},
				Expect: -1, Snapshots: 3, Now: now}
			if _, err := s.UpdateState(t.Context(), sid, u); err != nil {
				t.Fatalf("UpdateState(%s): %v", cat, err)
			}
		}
	}
	return rec
}

// stateKeys lists sid's state keys that exist.
func stateKeys(t *testing.T, srv *redistest.Server, s *Store, sid string) []string {
	t.Helper()
	var keys []string
	for _, pat := range []string{"st:", "ss:", "sm:"} {
		ks, err := redigo.Strings(srv.Do("KEYS", s.prefix+pat+sid+"*"))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ks...)
	}
	return keys
}

func pttl(t *testing.T, srv *redistest.Server, key string) time.Duration {
	t.Helper()
	ms, err := redigo.Int64(srv.Do("PTTL", key))
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ms) * time.Millisecond
}

// TestStateTTLsOfOlderRecords checks the safety net of state keys of a
// record written by a version without sx (see scriptCreate): they live as
// long as the record while the session lives (also after a touch moves
// it), and after End at least keep plus Grace, since recovery and cleanup
// read them.
func TestStateTTLsOfOlderRecords(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	rec := writeStateAfter(t, s, "s1", now, func() {
		if _, err := srv.Do("HDEL", s.prefix+"s:s1", "sx"); err != nil {
			t.Fatal(err)
		}
	})
	keys := stateKeys(t, srv, s, "s1")
	if len(keys) != 1+2*len(store.Categories) {
		t.Fatalf("state keys %v: want meta, %d category hashes and snapshot lists", keys, len(store.Categories))
	}
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-5*time.Second || got > want+time.Second {
			t.Errorf("%s TTL = %v, want about %v", what, got, want)
		}
	}
	for _, k := range keys {
		near(k+" while live", pttl(t, srv, k), idle+s.grace)
	}

	t1 := now.Add(10 * time.Minute)
	touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), Path: "/p"}
	ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID, Touch: touch})
	if err := s.CommitCtx(ctx, rec.TokenHash, []byte("b"), t1.Add(timeout)); err != nil {
		t.Fatal(err)
	}
	recTTL := pttl(t, srv, s.prefix+"s:s1")
	for _, k := range keys {
		near(k+" after a touch", pttl(t, srv, k), recTTL)
	}

	// A long recovery window outlives the record's own deadline.
	keep := 6 * time.Hour
	if ok, err := s.End(t.Context(), "s1", store.Tombstone{Reason: store.ReasonExpired, Actor: "system", At: t1}, keep); !ok || err != nil {
		t.Fatalf("End = %v, %v", ok, err)
	}
	for _, k := range keys {
		near(k+" after End", pttl(t, srv, k), keep+s.grace)
	}
	near("recovery point index", pttl(t, srv, s.prefix+"rp:ana"), keep+s.grace)
	near("ended entry", pttl(t, srv, s.prefix+"e:s1"), keep+s.grace)
}

// TestStateTTLs checks the safety net of state keys: written, they expire
// at the record's sx, the session's lifetime plus Grace plus the ended
// entry's TTL for the keep passed to Create, which outlives the record
// (also after a touch moves it) and the ended entry of an End in time, so
// that neither a touch nor End moves them (no call per state key). An End
// with a recovery window too long for sx moves them to keep plus Grace,
// like the entry's; a touch that pushes the record's expiry past sx raises
// sx and moves them with the record.
func TestStateTTLs(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-5*time.Second || got > want+time.Second {
			t.Errorf("%s TTL = %v, want about %v", what, got, want)
		}
	}
	sx := lifetime + s.grace + time.Hour + s.grace // Create's keep is an hour
	rec := writeState(t, s, "s1", now)
	keys := stateKeys(t, srv, s, "s1")
	if len(keys) != 1+2*len(store.Categories) {
		t.Fatalf("state keys %v: want meta, %d category hashes and snapshot lists", keys, len(store.Categories))
	}
	for _, k := range keys {
		near(k+" while live", pttl(t, srv, k), sx)
	}

	t1 := now.Add(10 * time.Minute)
	touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), Path: "/p"}
	ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: rec.SID, Touch: touch})
	stats := commandDelta(t, srv, func() {
		if err := s.CommitCtx(ctx, rec.TokenHash, []byte("b"), t1.Add(timeout)); err != nil {
			t.Fatal(err)
		}
	})
	if stats["pexpireat"] != 1 || stats["pexpire"] != 0 {
		t.Errorf("a touch ran %d PEXPIREAT and %d PEXPIRE, want the record's PEXPIREAT alone", stats["pexpireat"], stats["pexpire"])
	}
	recTTL := pttl(t, srv, s.prefix+"s:s1")
	for _, k := range keys {
		got := pttl(t, srv, k)
		near(k+" after a touch", got, sx)
		if got < recTTL {
			t.Errorf("%s TTL %v after a touch, shorter than the record's %v", k, got, recTTL)
		}
	}

	// A longer recovery window than Create's, still within sx.
	keep := 6 * time.Hour
	stats = commandDelta(t, srv, func() {
		if ok, err := s.End(t.Context(), "s1", store.Tombstone{Reason: store.ReasonExpired, Actor: "system", At: t1}, keep); !ok || err != nil {
			t.Fatalf("End = %v, %v", ok, err)
		}
	})
	if stats["hmget"] != 1 || stats["pexpire"] != 2 {
		t.Errorf("End ran %d HMGET and %d PEXPIRE, want the record's HMGET and the PEXPIRE of the entry and the recovery-point index", stats["hmget"], stats["pexpire"])
	}
	entryTTL := pttl(t, srv, s.prefix+"e:s1")
	near("ended entry", entryTTL, keep+s.grace)
	near("recovery point index", pttl(t, srv, s.prefix+"rp:ana"), keep+s.grace)
	for _, k := range keys {
		got := pttl(t, srv, k)
		near(k+" after End", got, sx)
		if got < entryTTL {
			t.Errorf("%s TTL %v after End, shorter than the ended entry's %v", k, got, entryTTL)
		}
	}

	// A recovery window beyond sx: the state's TTL moves to the entry's.
	writeState(t, s, "s2", now)
	keep = 24 * time.Hour
	if ok, err := s.End(t.Context(), "s2", store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: now}, keep); !ok || err != nil {
		t.Fatalf("End = %v, %v", ok, err)
	}
	for _, k := range stateKeys(t, srv, s, "s2") {
		near(k+" after End with a long window", pttl(t, srv, k), keep+s.grace)
	}

	// A touch whose record expiry passes sx (a clock far off) raises sx.
	rec3 := writeState(t, s, "s3", now)
	low := time.Now().Add(time.Minute).Unix()
	if _, err := srv.Do("HSET", s.prefix+"s:s3", "sx", low); err != nil {
		t.Fatal(err)
	}
	ctx = store.WithCommit(t.Context(), store.CommitInfo{SID: rec3.SID, Touch: touch})
	if err := s.CommitCtx(ctx, rec3.TokenHash, []byte("b"), t1.Add(timeout)); err != nil {
		t.Fatal(err)
	}
	recTTL = pttl(t, srv, s.prefix+"s:s3")
	if got, err := redigo.Int64(srv.Do("HGET", s.prefix+"s:s3", "sx")); err != nil || got <= low {
		t.Errorf("sx after a touch past it = %d, %v; want raised from %d", got, err, low)
	}
	for _, k := range stateKeys(t, srv, s, "s3") {
		near(k+" after a touch past sx", pttl(t, srv, k), recTTL)
	}
}

// TestArchiveLeavesNoStateKeys checks that Archive and Purge leave nothing of
// the session but its archive (listed by ListEnded) and tombstone.
func TestArchiveLeavesNoStateKeys(t *testing.T) {
	tests := []struct {
		name    string
		archive bool
	}{
		{"archive", true},
		{"purge", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			s := newStore(t, srv)
			now := baseTime()
			writeState(t, s, "s1", now)
			if _, err := s.End(t.Context(), "s1", store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: now}, time.Hour); err != nil {
				t.Fatal(err)
			}
			ended, err := s.Ended(t.Context(), now.Add(time.Hour), 10)
			if err != nil || len(ended) != 1 {
				t.Fatalf("Ended = %d, %v; want 1", len(ended), err)
			}
			if tt.archive {
				err = s.Archive(t.Context(), ended[0], now.Add(time.Hour), 24*time.Hour)
			} else {
				err = s.Purge(t.Context(), "s1")
			}
			if err != nil {
				t.Fatal(err)
			}
			keys, err := redigo.Strings(srv.Do("KEYS", s.prefix+"*"))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				rest := strings.TrimPrefix(k, s.prefix)
				if !strings.HasPrefix(rest, "t:") && rest != "roles" &&
					!(tt.archive && (rest == "a:s1" || rest == "archived" || strings.HasPrefix(rest, "x:end"))) {
					t.Errorf("key %s left after %s", k, tt.name)
				}
			}
		})
	}
}

// TestGetStateIsOneEvalsha checks that reading a whole state is one round
// trip.
func TestGetStateIsOneEvalsha(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	now := baseTime()
	writeState(t, s, "s1", now)
	if _, _, err := s.GetState(t.Context(), "s1"); err != nil { // loads the script
		t.Fatal(err)
	}
	stats := commandDelta(t, srv, func() {
		doc, found, err := s.GetState(t.Context(), "s1")
		if err != nil || !found || len(doc.Categories) != len(store.Categories) {
			t.Fatalf("GetState = %d categories, %v, %v", len(doc.Categories), found, err)
		}
	})
	if stats["evalsha"] != 1 || stats["eval"] != 0 {
		t.Errorf("GetState: evalsha %d, eval %d; want 1, 0 (all: %v)", stats["evalsha"], stats["eval"], stats)
	}
}

// TestSnapshotOfEveryByte checks the Lua packing of snapshots with keys and
// values holding every byte value, including a value made of the layout's
// own length prefixes.
func TestSnapshotOfEveryByte(t *testing.T) {
	s := newStore(t, nil)
	now := baseTime()
	rec := record("s1", "ana", "analyst", now)
	if _, err := s.Create(t.Context(), rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	first := map[string][]byte{
		string(all[1:]): all,
		"empty":         {},
		"prefix":        binary.BigEndian.AppendUint32(nil, 0xffffffff),
	}
	at := now.Add(time.Second)
	for _, set := range []map[string][]byte{first, {"x": []byte("y")}} {
		u := store.StateUpdate{Category: store.CatUserData, Set: set, Replace: true, Expect: -1, Snapshots: 5, Now: at}
		if _, err := s.UpdateState(t.Context(), "s1", u); err != nil {
			t.Fatal(err)
		}
	}
	snaps, err := s.Snapshots(t.Context(), "s1", store.CatUserData)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].Version != 1 || !snaps[0].At.Equal(at) || len(snaps[0].Values) != len(first) {
		t.Fatalf("Snapshots = %+v, want one of version 1 at %v with %d keys", snaps, at, len(first))
	}
	for k, want := range first {
		if got := snaps[0].Values[k]; !bytes.Equal(got, want) {
			t.Errorf("snapshot value of %q = %x, want %x", k, got, want)
		}
	}
}

func TestDecodeSnapshotRefusesMalformed(t *testing.T) {
	good := []byte{snapshotFormat}
	good = binary.BigEndian.AppendUint64(good, 7)
	good = binary.BigEndian.AppendUint64(good, uint64(baseTime().UnixMilli()))
	good = binary.BigEndian.AppendUint32(good, 1)
	good = binary.BigEndian.AppendUint32(good, 1)
	good = append(good, 'k')
	good = binary.BigEndian.AppendUint32(good, 2)
	good = append(good, 'v', 'w')
	if snap, err := decodeSnapshot(good); err != nil || snap.Version != 7 || string(snap.Values["k"]) != "vw" {
		t.Fatalf("decodeSnapshot(good) = %+v, %v", snap, err)
	}
	huge := slices.Clone(good)
	binary.BigEndian.PutUint32(huge[17:], 0xffffffff)
	long := slices.Clone(good)
	binary.BigEndian.PutUint32(long[len(long)-6:], 0xfffffff0)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:20]},
		{"unknown format", append([]byte{9}, good[1:]...)},
		{"count beyond the data", huge},
		{"length beyond the data", long},
		{"truncated value", good[:len(good)-1]},
		{"trailing bytes", append(slices.Clone(good), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if snap, err := decodeSnapshot(tt.b); err == nil {
				t.Errorf("decodeSnapshot = %+v, want an error", snap)
			}
		})
	}
}
