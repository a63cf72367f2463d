package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// vals is shorthand for a category's values in tests.
type vals = map[string][]byte

// allBytes is every byte value once, the value that trips text encodings.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// mustUpdate applies u to sid and fails the test on error.
func mustUpdate(t *testing.T, s store.Store, sid string, u store.StateUpdate) store.StateVersions {
	t.Helper()
	v, err := s.UpdateState(t.Context(), sid, u)
	if err != nil {
		t.Fatalf("UpdateState(%s, %s): %v", sid, u.Category, err)
	}
	return v
}

// mustState returns sid's state or fails the test if it is not found.
func mustState(t *testing.T, s store.Store, sid string) store.StateDoc {
	t.Helper()
	doc, found, err := s.GetState(t.Context(), sid)
	if err != nil {
		t.Fatalf("GetState(%s): %v", sid, err)
	}
	if !found {
		t.Fatalf("GetState(%s): found = false, want true", sid)
	}
	return doc
}

// wantNoState fails the test if GetState finds sid.
func wantNoState(t *testing.T, s store.Store, sid string) {
	t.Helper()
	doc, found, err := s.GetState(t.Context(), sid)
	if err != nil {
		t.Fatalf("GetState(%s): %v", sid, err)
	}
	if found {
		t.Errorf("GetState(%s): found (version %d, %d categories), want not found", sid, doc.Version, len(doc.Categories))
	}
}

// mustSnapshots returns the snapshots of sid's category.
func mustSnapshots(t *testing.T, s store.Store, sid, category string) []store.Snapshot {
	t.Helper()
	snaps, err := s.Snapshots(t.Context(), sid, category)
	if err != nil {
		t.Fatalf("Snapshots(%s, %s): %v", sid, category, err)
	}
	return snaps
}

// wantDoc builds the StateDoc a test expects: categories with their values
// and versions, the state version, the time of the last update, and Bytes
// computed from the values.
func wantDoc(cats map[string]store.CategoryDoc, version int64, lastModified time.Time) store.StateDoc {
	d := store.StateDoc{Categories: cats, Version: version, LastModified: lastModified}
	for _, c := range cats {
		for k, v := range c.Values {
			d.Bytes += int64(len(k) + len(v))
		}
	}
	return d
}

// diffValues lists the differences between two categories' values. A nil
// and an empty value are the same.
func diffValues(got, want vals) []string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("key %q: missing, want %s", k, short(want[k])))
		case !bytes.Equal(g, want[k]):
			d = append(d, fmt.Sprintf("key %q: got %s, want %s", k, short(g), short(want[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("key %q: got %s, want no such key", k, short(got[k])))
		}
	}
	return d
}

func short(b []byte) string {
	if len(b) > 24 {
		return fmt.Sprintf("%q… (%d bytes)", b[:24], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// diffDoc lists the fields where got differs from want. Times compare by instant.
func diffDoc(got, want store.StateDoc) []string {
	var d []string
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version: got %d, want %d", got.Version, want.Version))
	}
	if !got.LastModified.Equal(want.LastModified) {
		d = append(d, fmt.Sprintf("LastModified: got %s, want %s", fmtTime(got.LastModified), fmtTime(want.LastModified)))
	}
	if got.Bytes != want.Bytes {
		d = append(d, fmt.Sprintf("Bytes: got %d, want %d", got.Bytes, want.Bytes))
	}
	for _, c := range store.Categories {
		g, gok := got.Categories[c]
		w, wok := want.Categories[c]
		switch {
		case gok && !wok:
			d = append(d, fmt.Sprintf("%s: present (version %d), want absent (never written)", c, g.Version))
		case !gok && wok:
			d = append(d, fmt.Sprintf("%s: absent, want version %d", c, w.Version))
		case gok && wok:
			if g.Version != w.Version {
				d = append(d, fmt.Sprintf("%s: version %d, want %d", c, g.Version, w.Version))
			}
			for _, v := range diffValues(g.Values, w.Values) {
				d = append(d, c+": "+v)
			}
		}
	}
	return d
}

// checkDoc fails the test if got differs from want.
func checkDoc(t *testing.T, what string, got, want store.StateDoc) {
	t.Helper()
	if d := diffDoc(got, want); len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// checkVersions fails the test if an update's versions are not the wanted ones.
func checkVersions(t *testing.T, what string, got store.StateVersions, category, state int64, at time.Time) {
	t.Helper()
	if got.Category != category || got.State != state || !got.LastModified.Equal(at) {
		t.Errorf("%s: versions (category %d, state %d, at %s), want (%d, %d, %s)",
			what, got.Category, got.State, fmtTime(got.LastModified), category, state, fmtTime(at))
	}
}

// testState covers UpdateState, GetState and Snapshots on live sessions: versions,
// optimistic concurrency, exact sizes and limits, snapshots, and the registry
// figures that go with state (StateVersion, SetProcessing) and user preferences.
func testState(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("NoStateYet", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		doc := mustState(t, s, rec.SID)
		if doc.Version != 0 || doc.Bytes != 0 || len(doc.Categories) != 0 {
			t.Errorf("GetState of a live session never written: version %d, bytes %d, %d categories; want an empty doc",
				doc.Version, doc.Bytes, len(doc.Categories))
		}
		wantNoState(t, s, "s-unknown")
		// Ended before it was ever written: still found, still empty, until cleanup.
		mustCreate(t, s, newRecord("s-b", "ana", "analyst", now), now)
		mustEnd(t, s, "s-b", store.Tombstone{SID: "s-b", Reason: store.ReasonIdle, Actor: "system", At: now})
		if doc := mustState(t, s, "s-b"); doc.Version != 0 || doc.Bytes != 0 || len(doc.Categories) != 0 {
			t.Errorf("GetState of an ended session never written: version %d, bytes %d, %d categories; want an empty doc",
				doc.Version, doc.Bytes, len(doc.Categories))
		}
		if snaps := mustSnapshots(t, s, rec.SID, store.CatUserData); len(snaps) != 0 {
			t.Errorf("Snapshots of a session never written: got %d, want none", len(snaps))
		}
		if snaps := mustSnapshots(t, s, "s-unknown", store.CatUserData); len(snaps) != 0 {
			t.Errorf("Snapshots of an unknown session: got %d, want none", len(snaps))
		}
	})

	t.Run("UpdateNeedsALiveSession", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		u := store.StateUpdate{Category: store.CatUserData, Set: vals{"k": []byte("v")}, Expect: -1, Now: now}
		mustUpdate(t, s, rec.SID, u)

		if _, err := s.UpdateState(t.Context(), "s-unknown", u); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("UpdateState of an unknown session: got %v, want ErrSessionGone", err)
		}
		wantNoState(t, s, "s-unknown")
		// Past its deadline a session is not live, even before cleanup ends it.
		due := store.StateUpdate{Category: store.CatUserData, Set: vals{"k": []byte("due")}, Expect: -1, Now: rec.Deadline()}
		if _, err := s.UpdateState(t.Context(), rec.SID, due); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("UpdateState at the session's deadline: got %v, want ErrSessionGone", err)
		}

		at := now.Add(time.Minute)
		mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonTerminated, Actor: "root", At: at})
		late := store.StateUpdate{Category: store.CatUserData, Set: vals{"k": []byte("late"), "k2": []byte("x")}, Expect: -1, Now: at}
		if _, err := s.UpdateState(t.Context(), rec.SID, late); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("UpdateState of an ended session: got %v, want ErrSessionGone", err)
		}
		late.Expect = 1
		if _, err := s.UpdateState(t.Context(), rec.SID, late); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("UpdateState with the right Expect of an ended session: got %v, want ErrSessionGone", err)
		}
		want := wantDoc(map[string]store.CategoryDoc{store.CatUserData: {Values: vals{"k": []byte("v")}, Version: 1}}, 1, now)
		checkDoc(t, "GetState of an ended session after refused updates", mustState(t, s, rec.SID), want)
	})

	t.Run("Versions", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		other := newRecord("s-b", "bob", "analyst", now)
		mustCreate(t, s, other, now)

		steps := []struct {
			cat            string
			key            string
			category, sver int64
		}{
			{store.CatUserData, "a", 1, 1},
			{store.CatUIState, "page", 1, 2},
			{store.CatUserData, "b", 2, 3},
			{store.CatPreferences, "theme", 1, 4},
			{store.CatUserData, "a", 3, 5},
			{store.CatTemporaryData, "tmp", 1, 6},
			{store.CatAnalysisData, "results", 1, 7},
		}
		cats := map[string]store.CategoryDoc{}
		var at time.Time
		for i, st := range steps {
			at = now.Add(time.Duration(i+1)*time.Second + 7*time.Millisecond)
			val := []byte(fmt.Sprintf("v%d", i))
			got := mustUpdate(t, s, rec.SID, store.StateUpdate{Category: st.cat, Set: vals{st.key: val}, Expect: -1, Now: at})
			checkVersions(t, fmt.Sprintf("update #%d (%s)", i+1, st.cat), got, st.category, st.sver, at)

			c := cats[st.cat]
			if c.Values == nil {
				c.Values = vals{}
			}
			c.Values[st.key] = val
			c.Version = st.category
			cats[st.cat] = c
			checkDoc(t, fmt.Sprintf("GetState after update #%d", i+1), mustState(t, s, rec.SID), wantDoc(cats, st.sver, at))

			// The registry record follows the state version.
			if r := mustGet(t, s, rec.SID, at); r.StateVersion != st.sver {
				t.Errorf("Get after update #%d: StateVersion %d, want %d", i+1, r.StateVersion, st.sver)
			}
		}
		page, err := s.List(t.Context(), store.Query{Filter: store.Filter{User: "ana"}}, at)
		if err != nil || len(page.Records) != 1 {
			t.Fatalf("List(ana): got (%d rows, %v), want 1 row", len(page.Records), err)
		}
		if got := page.Records[0].StateVersion; got != int64(len(steps)) {
			t.Errorf("List row StateVersion: got %d, want %d", got, len(steps))
		}
		// Another session's state is its own.
		doc := mustState(t, s, other.SID)
		if doc.Version != 0 || len(doc.Categories) != 0 {
			t.Errorf("GetState of the other session: version %d, %d categories; want untouched", doc.Version, len(doc.Categories))
		}
		if r := mustGet(t, s, other.SID, at); r.StateVersion != 0 {
			t.Errorf("Get of the other session: StateVersion %d, want 0", r.StateVersion)
		}
	})

	t.Run("ExpectedVersion", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		cat := store.CatAnalysisData

		// Expect 0 is "never written"; any other version of an unwritten category conflicts.
		if _, err := s.UpdateState(t.Context(), rec.SID, store.StateUpdate{Category: cat, Set: vals{"n": []byte("x")}, Expect: 1, Now: now}); !errors.Is(err, store.ErrVersionConflict) {
			t.Errorf("Expect 1 on a category never written: got %v, want ErrVersionConflict", err)
		}
		checkDoc(t, "GetState after a conflicting first write", mustState(t, s, rec.SID), wantDoc(nil, 0, time.Time{}))
		t1 := now.Add(time.Second)
		checkVersions(t, "Expect 0 on a category never written", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: cat, Set: vals{"n": []byte("1")}, Expect: 0, Snapshots: 5, Now: t1}), 1, 1, t1)
		t2 := now.Add(2 * time.Second)
		checkVersions(t, "Expect 1", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: cat, Set: vals{"n": []byte("2")}, Expect: 1, Snapshots: 5, Now: t2}), 2, 2, t2)
		// Another category's update moves the state version, not this category's.
		t3 := now.Add(3 * time.Second)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUIState, Set: vals{"p": []byte("/x")}, Expect: 0, Now: t3})

		want := wantDoc(map[string]store.CategoryDoc{
			cat:              {Values: vals{"n": []byte("2")}, Version: 2},
			store.CatUIState: {Values: vals{"p": []byte("/x")}, Version: 1},
		}, 3, t3)
		snapsBefore := mustSnapshots(t, s, rec.SID, cat)
		for _, stale := range []int64{0, 1, 3, 99} {
			_, err := s.UpdateState(t.Context(), rec.SID, store.StateUpdate{
				Category: cat, Set: vals{"n": []byte("stale"), "new": []byte("x")}, Delete: []string{"n"},
				Expect: stale, Snapshots: 5, Now: now.Add(time.Minute),
			})
			if !errors.Is(err, store.ErrVersionConflict) {
				t.Errorf("Expect %d when the version is 2: got %v, want ErrVersionConflict", stale, err)
			}
		}
		// A refused update writes nothing: no value, no version, no snapshot.
		checkDoc(t, "GetState after conflicting updates", mustState(t, s, rec.SID), want)
		if r := mustGet(t, s, rec.SID, t3); r.StateVersion != 3 {
			t.Errorf("Get after conflicting updates: StateVersion %d, want 3", r.StateVersion)
		}
		if got := mustSnapshots(t, s, rec.SID, cat); len(got) != len(snapsBefore) {
			t.Errorf("Snapshots after conflicting updates: got %d, want %d (a refused update takes none)", len(got), len(snapsBefore))
		}

		// -1 writes whatever the version.
		t4 := now.Add(4 * time.Second)
		checkVersions(t, "Expect -1", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: cat, Set: vals{"n": []byte("3")}, Expect: -1, Now: t4}), 3, 4, t4)
		t5 := now.Add(5 * time.Second)
		checkVersions(t, "Expect -1 on a category never written", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: store.CatPreferences, Set: vals{"theme": []byte("dark")}, Expect: -1, Now: t5}), 1, 5, t5)
		checkVersions(t, "Expect 3 after the unconditional write", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: cat, Set: vals{"n": []byte("4")}, Expect: 3, Now: t5}), 4, 6, t5)
	})

	t.Run("SetDeleteReplace", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		ui := store.CategoryDoc{Values: vals{"page": []byte("upload"), "open": []byte(`["a","b"]`)}, Version: 1}
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUIState, Set: ui.Values, Expect: -1, Now: now})

		steps := []struct {
			name string
			u    store.StateUpdate
			want vals
		}{
			{"set three keys", store.StateUpdate{Set: vals{"a": []byte("1"), "b": []byte("22"), "c": []byte("333")}}, vals{"a": []byte("1"), "b": []byte("22"), "c": []byte("333")}},
			{"overwrite one with a longer value", store.StateUpdate{Set: vals{"a": []byte("1111111")}}, vals{"a": []byte("1111111"), "b": []byte("22"), "c": []byte("333")}},
			{"overwrite one with a shorter value", store.StateUpdate{Set: vals{"c": []byte("3")}}, vals{"a": []byte("1111111"), "b": []byte("22"), "c": []byte("3")}},
			{"delete one and a missing key", store.StateUpdate{Delete: []string{"b", "zz"}}, vals{"a": []byte("1111111"), "c": []byte("3")}},
			{"set and delete together", store.StateUpdate{Set: vals{"d": []byte("4")}, Delete: []string{"a"}}, vals{"c": []byte("3"), "d": []byte("4")}},
			{"empty value", store.StateUpdate{Set: vals{"e": {}}}, vals{"c": []byte("3"), "d": []byte("4"), "e": {}}},
			{"replace", store.StateUpdate{Set: vals{"d": []byte("44"), "f": []byte("5")}, Replace: true}, vals{"d": []byte("44"), "f": []byte("5")}},
			{"replace with nothing", store.StateUpdate{Replace: true}, vals{}},
			{"write after emptying", store.StateUpdate{Set: vals{"g": []byte("6")}}, vals{"g": []byte("6")}},
		}
		for i, st := range steps {
			u := st.u
			u.Category, u.Expect, u.Now = store.CatUserData, -1, now.Add(time.Duration(i+1)*time.Second)
			got := mustUpdate(t, s, rec.SID, u)
			checkVersions(t, st.name, got, int64(i+1), int64(i+2), u.Now)
			want := wantDoc(map[string]store.CategoryDoc{store.CatUserData: {Values: st.want, Version: int64(i + 1)}, store.CatUIState: ui}, int64(i+2), u.Now)
			checkDoc(t, "GetState after "+st.name, mustState(t, s, rec.SID), want)
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		// 40 bytes in another category count against the session's limit.
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUIState, Set: vals{"page": []byte(strings.Repeat("p", 36))}, Expect: -1, Now: now})
		const limit = 100
		t1 := now.Add(time.Second)
		// 40 + 4 + 56 = 100: exactly the limit is allowed.
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUserData, Set: vals{"blob": bytes.Repeat([]byte{'x'}, 56)}, Expect: -1, Limit: limit, Now: t1})
		want := mustState(t, s, rec.SID)
		if want.Bytes != limit {
			t.Fatalf("Bytes at the limit: got %d, want %d", want.Bytes, limit)
		}

		over := []struct {
			name string
			u    store.StateUpdate
		}{
			{"one byte more in a value", store.StateUpdate{Category: store.CatUserData, Set: vals{"blob": bytes.Repeat([]byte{'x'}, 57)}}},
			{"a new one-byte key", store.StateUpdate{Category: store.CatAnalysisData, Set: vals{"k": {}}}},
			{"a write that also deletes too little", store.StateUpdate{Category: store.CatUIState, Set: vals{"page": []byte(strings.Repeat("p", 30)), "more": []byte("12345678")}}},
			{"a replace larger than what it drops", store.StateUpdate{Category: store.CatUserData, Set: vals{"blob2": bytes.Repeat([]byte{'y'}, 56)}, Replace: true}},
		}
		for _, o := range over {
			u := o.u
			u.Expect, u.Limit, u.Snapshots, u.Now = -1, limit, 3, now.Add(time.Minute)
			if _, err := s.UpdateState(t.Context(), rec.SID, u); !errors.Is(err, store.ErrStateTooLarge) {
				t.Errorf("%s past the limit: got %v, want ErrStateTooLarge", o.name, err)
			}
		}
		checkDoc(t, "GetState after refused oversize updates", mustState(t, s, rec.SID), want)
		for _, c := range store.Categories {
			if snaps := mustSnapshots(t, s, rec.SID, c); len(snaps) != 0 {
				t.Errorf("Snapshots of %s after refused updates: got %d, want none", c, len(snaps))
			}
		}
		if r := mustGet(t, s, rec.SID, t1); r.StateVersion != want.Version {
			t.Errorf("StateVersion after refused updates: got %d, want %d", r.StateVersion, want.Version)
		}

		// Deleting makes room; a shrinking write fits; no limit means no limit.
		t2 := now.Add(2 * time.Second)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUserData, Set: vals{"b": []byte("1234567890")}, Delete: []string{"blob"}, Expect: -1, Limit: limit, Now: t2})
		if got := mustState(t, s, rec.SID).Bytes; got != 40+11 {
			t.Errorf("Bytes after a delete: got %d, want 51", got)
		}
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUserData, Set: vals{"big": bytes.Repeat([]byte{'z'}, 4096)}, Expect: -1, Now: t2})
		if got := mustState(t, s, rec.SID).Bytes; got != 40+11+3+4096 {
			t.Errorf("Bytes after a write without limit: got %d, want %d", got, 40+11+3+4096)
		}
	})

	t.Run("BinaryValuesAndOddKeys", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		v := vals{
			"all":          allBytes(),
			"nul":          {0},
			"crlf":         []byte("a\r\nb"),
			"json":         []byte(`{"k":"v","n":null}`),
			"a:b":          []byte("colon"),
			"x y":          []byte("space"),
			"{tag}":        []byte("braces"),
			"ñandutí ✓":    []byte("utf-8"),
			"user_data":    []byte("a category's name as a key"),
			"__version__":  []byte("a key that looks like bookkeeping"),
			"0":            []byte("a numeric key"),
			"invalid-utf8": {0xff, 0xfe, 0xc3},
		}
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatAnalysisData, Set: v, Expect: -1, Now: now})
		want := wantDoc(map[string]store.CategoryDoc{store.CatAnalysisData: {Values: v, Version: 1}}, 1, now)
		checkDoc(t, "GetState of binary values", mustState(t, s, rec.SID), want)

		// The same values come back from a snapshot.
		t1 := now.Add(time.Second)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatAnalysisData, Set: vals{"all": []byte("gone")}, Replace: true, Expect: 1, Snapshots: 1, Now: t1})
		snaps := mustSnapshots(t, s, rec.SID, store.CatAnalysisData)
		if len(snaps) != 1 {
			t.Fatalf("Snapshots: got %d, want 1", len(snaps))
		}
		if d := diffValues(snaps[0].Values, v); len(d) > 0 {
			t.Errorf("snapshot of binary values:\n  %s", strings.Join(d, "\n  "))
		}
	})

	t.Run("Snapshots", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		cat := store.CatUserData
		write := func(i int, snapshots int) time.Time {
			t.Helper()
			at := now.Add(time.Duration(i) * time.Second)
			u := store.StateUpdate{Category: cat, Set: vals{"n": []byte(strconv.Itoa(i)), "k" + strconv.Itoa(i): []byte("x")}, Expect: -1, Snapshots: snapshots, Now: at}
			mustUpdate(t, s, rec.SID, u)
			return at
		}
		// The first write has nothing before it to keep.
		write(1, 3)
		if got := mustSnapshots(t, s, rec.SID, cat); len(got) != 0 {
			t.Errorf("Snapshots after the first write: got %d, want none (nothing was written before)", len(got))
		}
		// An update that asks for none takes none.
		write(2, 0)
		if got := mustSnapshots(t, s, rec.SID, cat); len(got) != 0 {
			t.Errorf("Snapshots after an update with Snapshots 0: got %d, want none", len(got))
		}
		// Each snapshotting update keeps the category as it was before it.
		at := map[int]time.Time{2: now.Add(2 * time.Second)}
		for i := 3; i <= 7; i++ {
			at[i] = write(i, 3)
		}
		// values written by updates 1..i
		valuesAfter := func(i int) vals {
			v := vals{"n": []byte(strconv.Itoa(i))}
			for j := 1; j <= i; j++ {
				v["k"+strconv.Itoa(j)] = []byte("x")
			}
			return v
		}
		snaps := mustSnapshots(t, s, rec.SID, cat)
		// Newest first, trimmed to 3: before updates 7, 6, 5, capturing versions 6, 5, 4.
		if len(snaps) != 3 {
			t.Fatalf("Snapshots after five snapshotting updates with Snapshots 3: got %d, want 3", len(snaps))
		}
		for i, snap := range snaps {
			ver := int64(6 - i)
			if snap.Version != ver {
				t.Errorf("snapshot #%d: Version %d, want %d (newest first)", i, snap.Version, ver)
			}
			if d := diffValues(snap.Values, valuesAfter(int(ver))); len(d) > 0 {
				t.Errorf("snapshot #%d (version %d) values:\n  %s", i, ver, strings.Join(d, "\n  "))
			}
			// At is when the snapshot was taken: the Now of the update that replaced it.
			if taken := at[int(ver)+1]; !snap.At.Equal(taken) {
				t.Errorf("snapshot #%d (version %d): At %s, want %s (the Now of the update that took it)", i, ver, fmtTime(snap.At), fmtTime(taken))
			}
		}
		// A smaller N trims further.
		write(8, 2)
		if got := mustSnapshots(t, s, rec.SID, cat); len(got) != 2 || got[0].Version != 7 || got[1].Version != 6 {
			t.Errorf("Snapshots after an update with Snapshots 2: got versions %v, want [7 6]", snapVersions(got))
		}
		// Snapshots are per category and per session.
		other := newRecord("s-b", "ana", "analyst", now)
		mustCreate(t, s, other, now)
		mustUpdate(t, s, other.SID, store.StateUpdate{Category: cat, Set: vals{"n": []byte("o")}, Expect: -1, Now: now})
		mustUpdate(t, s, other.SID, store.StateUpdate{Category: cat, Set: vals{"n": []byte("p")}, Expect: -1, Snapshots: 3, Now: now})
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatPreferences, Set: vals{"t": []byte("1")}, Expect: -1, Snapshots: 3, Now: now})
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatPreferences, Set: vals{"t": []byte("2")}, Expect: -1, Snapshots: 3, Now: now})
		if got := mustSnapshots(t, s, rec.SID, cat); len(got) != 2 || got[0].Version != 7 {
			t.Errorf("Snapshots of %s after other writes: got versions %v, want [7 6]", cat, snapVersions(got))
		}
		if got := mustSnapshots(t, s, rec.SID, store.CatPreferences); len(got) != 1 || got[0].Version != 1 || !bytes.Equal(got[0].Values["t"], []byte("1")) {
			t.Errorf("Snapshots of preferences: got versions %v, want [1] holding t=1", snapVersions(got))
		}
		if got := mustSnapshots(t, s, other.SID, cat); len(got) != 1 || got[0].Version != 1 || !bytes.Equal(got[0].Values["n"], []byte("o")) {
			t.Errorf("Snapshots of the other session: got versions %v, want [1] holding n=o", snapVersions(got))
		}
		if got := mustSnapshots(t, s, rec.SID, store.CatUIState); len(got) != 0 {
			t.Errorf("Snapshots of a category never written: got %d, want none", len(got))
		}
		// Snapshots are not state: they do not count in Bytes.
		if got, want := mustState(t, s, rec.SID).Bytes, wantDoc(mustState(t, s, rec.SID).Categories, 0, now).Bytes; got != want {
			t.Errorf("Bytes with snapshots kept: got %d, want %d (the current values only)", got, want)
		}
	})

	t.Run("ConcurrentWritersOwnKeys", func(t *testing.T) {
		// Two tabs (here 50) of one session writing at once: every write lands.
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatUIState, Set: vals{"page": []byte("/")}, Expect: -1, Now: now})
		const n = 50
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			cats = map[int64]int{}
			svs  = map[int64]int{}
			gate = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-gate
				u := store.StateUpdate{Category: store.CatUserData, Set: vals{fmt.Sprintf("k%02d", i): []byte(strconv.Itoa(i))},
					Expect: -1, Snapshots: 5, Now: now.Add(time.Duration(i) * time.Millisecond)}
				v, err := s.UpdateState(t.Context(), rec.SID, u)
				if err != nil {
					t.Errorf("UpdateState #%d: %v", i, err)
					return
				}
				mu.Lock()
				cats[v.Category]++
				svs[v.State]++
				mu.Unlock()
			})
		}
		close(gate)
		wg.Wait()
		doc := mustState(t, s, rec.SID)
		want := vals{}
		for i := range n {
			want[fmt.Sprintf("k%02d", i)] = []byte(strconv.Itoa(i))
		}
		if d := diffValues(doc.Categories[store.CatUserData].Values, want); len(d) > 0 {
			t.Errorf("after %d concurrent writers of their own key:\n  %s", n, strings.Join(d, "\n  "))
		}
		if got := doc.Categories[store.CatUserData].Version; got != n {
			t.Errorf("category version after %d concurrent writes: got %d, want %d", n, got, n)
		}
		if doc.Version != n+1 {
			t.Errorf("state version after %d concurrent writes: got %d, want %d", n, doc.Version, n+1)
		}
		if got := wantDoc(doc.Categories, 0, now).Bytes; doc.Bytes != got {
			t.Errorf("Bytes after concurrent writes: got %d, want %d", doc.Bytes, got)
		}
		// Each update saw its own version: 1..n once each.
		for v := int64(1); v <= n; v++ {
			if cats[v] != 1 || svs[v+1] != 1 {
				t.Errorf("versions returned to concurrent writers: category %d seen %d times, state %d seen %d times; want once each", v, cats[v], v+1, svs[v+1])
				break
			}
		}
		if r := mustGet(t, s, rec.SID, now); r.StateVersion != n+1 {
			t.Errorf("registry StateVersion: got %d, want %d", r.StateVersion, n+1)
		}
		if got := mustSnapshots(t, s, rec.SID, store.CatUserData); len(got) != 5 || got[0].Version != n-1 {
			t.Errorf("Snapshots after concurrent writes: got versions %v, want the 5 newest from %d down", snapVersions(got), n-1)
		}
	})

	t.Run("ConcurrentIncrementsWithExpect", func(t *testing.T) {
		// Read, compute, write with the version read, retry on conflict: no
		// increment is lost.
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		const n = 50
		cat := store.CatAnalysisData
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			conflicts int
			gate      = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-gate
				for attempt := 0; ; attempt++ {
					if attempt == 10*n {
						t.Errorf("increment #%d: no success after %d attempts", i, attempt)
						return
					}
					doc, found, err := s.GetState(t.Context(), rec.SID)
					if err != nil || !found {
						t.Errorf("GetState: (found %v, %v)", found, err)
						return
					}
					c := doc.Categories[cat]
					cur := 0
					if b, ok := c.Values["counter"]; ok {
						if cur, err = strconv.Atoi(string(b)); err != nil {
							t.Errorf("counter holds %q: %v", b, err)
							return
						}
					}
					_, err = s.UpdateState(t.Context(), rec.SID, store.StateUpdate{
						Category: cat, Set: vals{"counter": []byte(strconv.Itoa(cur + 1))}, Expect: c.Version,
						Now: now.Add(time.Duration(i) * time.Millisecond),
					})
					if errors.Is(err, store.ErrVersionConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("UpdateState: %v", err)
					}
					return
				}
			})
		}
		close(gate)
		wg.Wait()
		doc := mustState(t, s, rec.SID)
		c := doc.Categories[cat]
		if got := string(c.Values["counter"]); got != strconv.Itoa(n) {
			t.Errorf("counter after %d concurrent increments: got %q, want %d (%d conflicts retried)", n, got, n, conflicts)
		}
		if c.Version != n || doc.Version != n {
			t.Errorf("versions after %d increments: category %d, state %d; want %d and %d", n, c.Version, doc.Version, n, n)
		}
		t.Logf("%d conflicts retried", conflicts)
	})

	t.Run("UpdatesRacingEnd", func(t *testing.T) {
		// A write in flight when the session ends either lands before the end
		// (and is in the final state) or is refused: never lost, never after.
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		const n = 30
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			landed = map[string]bool{}
			gate   = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-gate
				key := fmt.Sprintf("k%02d", i)
				_, err := s.UpdateState(t.Context(), rec.SID, store.StateUpdate{Category: store.CatUserData, Set: vals{key: []byte("v")}, Expect: -1, Now: now})
				switch {
				case err == nil:
					mu.Lock()
					landed[key] = true
					mu.Unlock()
				case !errors.Is(err, store.ErrSessionGone):
					t.Errorf("UpdateState racing End: %v", err)
				}
			})
		}
		wg.Go(func() {
			<-gate
			mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonTerminated, Actor: "root", At: now})
		})
		close(gate)
		wg.Wait()
		doc := mustState(t, s, rec.SID)
		got := doc.Categories[store.CatUserData].Values
		for k := range got {
			if !landed[k] {
				t.Errorf("key %s is in the final state, but its update was refused", k)
			}
		}
		for k := range landed {
			if _, ok := got[k]; !ok {
				t.Errorf("key %s: its update succeeded, but it is not in the final state", k)
			}
		}
		if doc.Version != int64(len(landed)) {
			t.Errorf("final state version %d, want %d (one per update that landed)", doc.Version, len(landed))
		}
		ended := mustEnded(t, s, now.Add(keep), 10)
		if len(ended) != 1 {
			t.Fatalf("Ended: got %v, want [s-a]", endedSIDs(ended))
		}
		checkDoc(t, "Ended State of a session ended among writes", ended[0].State, doc)
		if ended[0].Record.StateVersion != doc.Version {
			t.Errorf("final record StateVersion %d, want %d", ended[0].Record.StateVersion, doc.Version)
		}
		t.Logf("%d of %d updates landed before the end", len(landed), n)
	})

	t.Run("StateFollowsTheSidNotTheToken", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatPreferences, Set: vals{"theme": []byte("dark")}, Expect: -1, Now: now})
		if err := s.Rekey(t.Context(), rec.SID, rec.TokenHash, TokenHash(rec.SID, 1), "admin", now); err != nil {
			t.Fatalf("Rekey: %v", err)
		}
		t1 := now.Add(time.Second)
		checkVersions(t, "UpdateState after Rekey", mustUpdate(t, s, rec.SID,
			store.StateUpdate{Category: store.CatPreferences, Set: vals{"locale": []byte("es-PY")}, Expect: 1, Now: t1}), 2, 2, t1)
		want := wantDoc(map[string]store.CategoryDoc{store.CatPreferences: {Values: vals{"theme": []byte("dark"), "locale": []byte("es-PY")}, Version: 2}}, 2, t1)
		checkDoc(t, "GetState after Rekey", mustState(t, s, rec.SID), want)
		if r := mustGet(t, s, rec.SID, t1); r.StateVersion != 2 || r.Role != "admin" {
			t.Errorf("Get after Rekey and update: StateVersion %d role %q, want 2 admin", r.StateVersion, r.Role)
		}
	})

	t.Run("LargeValue", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		big := make([]byte, 512<<10)
		rand.Read(big)
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatAnalysisData, Set: vals{"results": big}, Expect: -1, Limit: 1 << 20, Now: now})
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatAnalysisData, Set: vals{"results": []byte("small")}, Expect: -1, Snapshots: 2, Limit: 1 << 20, Now: now})
		snaps := mustSnapshots(t, s, rec.SID, store.CatAnalysisData)
		if len(snaps) != 1 || !bytes.Equal(snaps[0].Values["results"], big) {
			t.Errorf("snapshot of a 512 KiB random value: not the value written")
		}
		mustUpdate(t, s, rec.SID, store.StateUpdate{Category: store.CatAnalysisData, Set: vals{"results": big}, Expect: -1, Limit: 1 << 20, Now: now})
		doc := mustState(t, s, rec.SID)
		if !bytes.Equal(doc.Categories[store.CatAnalysisData].Values["results"], big) || doc.Bytes != int64(len("results")+len(big)) {
			t.Errorf("GetState of a 512 KiB random value: not the value written, or Bytes %d", doc.Bytes)
		}
	})

	t.Run("SetProcessing", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-a", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("blob"), nil, now.Add(timeout))
		for _, st := range []struct {
			status   string
			progress int
		}{{"queued", 0}, {"running", 42}, {"running", 99}, {"done", 100}} {
			if err := s.SetProcessing(t.Context(), rec.SID, st.status, st.progress); err != nil {
				t.Fatalf("SetProcessing(%s, %d): %v", st.status, st.progress, err)
			}
			want := rec
			want.Processing, want.Progress = st.status, st.progress
			checkRecord(t, fmt.Sprintf("Get after SetProcessing(%s, %d)", st.status, st.progress), mustGet(t, s, rec.SID, now), want)
			page, err := s.List(t.Context(), store.Query{}, now)
			if err != nil || len(page.Records) != 1 {
				t.Fatalf("List: got (%d rows, %v), want 1 row", len(page.Records), err)
			}
			checkRecord(t, "List row after SetProcessing", page.Records[0], want)
		}
		// It does not count as activity nor move any index.
		wantOrder(t, s, store.Query{Sort: store.SortDeadline}, now, []string{rec.SID})
		wantBlob(t, s, rec.TokenHash, []byte("blob"))

		if err := s.SetProcessing(t.Context(), "s-unknown", "running", 1); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("SetProcessing of an unknown session: got %v, want ErrSessionGone", err)
		}
		mustEnd(t, s, rec.SID, store.Tombstone{SID: rec.SID, Reason: store.ReasonIdle, Actor: "system", At: now})
		if err := s.SetProcessing(t.Context(), rec.SID, "failed", 0); !errors.Is(err, store.ErrSessionGone) {
			t.Errorf("SetProcessing of an ended session: got %v, want ErrSessionGone", err)
		}
		wantNoRecord(t, s, rec.SID, now)
	})

	t.Run("UserPrefs", func(t *testing.T) {
		s := newStore(t)
		if b, found, err := s.UserPrefs(t.Context(), "ana"); err != nil || found {
			t.Errorf("UserPrefs of a user who saved none: got (%q, %v, %v), want not found", b, found, err)
		}
		steps := []struct {
			user string
			b    []byte
		}{
			{"ana", []byte(`{"theme":"dark"}`)},
			{"Ana", []byte(`{"theme":"light"}`)},
			{"ana:x", allBytes()},
			{"ana", []byte(`{"theme":"light","page_size":100}`)}, // overwrite
		}
		saved := map[string][]byte{}
		for _, st := range steps {
			if err := s.SaveUserPrefs(t.Context(), st.user, st.b); err != nil {
				t.Fatalf("SaveUserPrefs(%s): %v", st.user, err)
			}
			saved[st.user] = st.b
			for user, want := range saved {
				got, found, err := s.UserPrefs(t.Context(), user)
				if err != nil || !found || !bytes.Equal(got, want) {
					t.Errorf("UserPrefs(%q): got (%s, %v, %v), want %s", user, short(got), found, err, short(want))
				}
			}
		}
		if b, found, err := s.UserPrefs(t.Context(), "an"); err != nil || found {
			t.Errorf("UserPrefs of a prefix of a user: got (%q, %v, %v), want not found", b, found, err)
		}
	})
}

func snapVersions(snaps []store.Snapshot) []int64 {
	out := make([]int64, len(snaps))
	for i, s := range snaps {
		out[i] = s.Version
	}
	return out
}
