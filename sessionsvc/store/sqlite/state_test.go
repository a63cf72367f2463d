package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// createTest creates a live session of user at testNow or fails the test.
func createTest(t testing.TB, s *Store, sid, user string) store.Record {
	t.Helper()
	rec := storetest.NewRecord(sid, user, "analyst", testNow, timeout, idle, lifetime)
	if _, err := s.Create(t.Context(), rec, 0, testNow, time.Hour); err != nil {
		t.Fatalf("Create(%s): %v", sid, err)
	}
	return rec
}

// stateBytes sums len(key)+len(value) over doc, what Bytes must equal.
func stateBytes(doc store.StateDoc) int64 {
	var n int64
	for _, c := range doc.Categories {
		for k, v := range c.Values {
			n += int64(len(k) + len(v))
		}
	}
	return n
}

func mustGetState(t *testing.T, s *Store, sid string) store.StateDoc {
	t.Helper()
	doc, found, err := s.GetState(t.Context(), sid)
	if err != nil || !found {
		t.Fatalf("GetState(%s): found %v, err %v; want found", sid, found, err)
	}
	return doc
}

// TestStateBytesStayExact applies a sequence of updates, each of a kind that
// changes the byte count differently, and checks after every one that Bytes
// equals the sum over the stored values.
func TestStateBytesStayExact(t *testing.T) {
	s := openTest(t, Options{})
	createTest(t, s, "s-a", "ana")
	steps := []struct {
		name string
		u    store.StateUpdate
	}{
		{"set two", store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"a": []byte("12345"), "bb": []byte("x")}}},
		{"overwrite longer", store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"a": []byte("1234567890")}}},
		{"overwrite shorter", store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"a": []byte("1")}}},
		{"other category", store.StateUpdate{Category: store.CatUIState, Set: map[string][]byte{"page": []byte(`"upload"`)}}},
		{"multibyte key", store.StateUpdate{Category: store.CatUIState, Set: map[string][]byte{"página": []byte("ñ")}}},
		{"empty value", store.StateUpdate{Category: store.CatUIState, Set: map[string][]byte{"nil": nil, "empty": {}}}},
		{"delete one and an unknown", store.StateUpdate{Category: store.CatUserData, Delete: []string{"bb", "missing"}}},
		{"delete and set one key", store.StateUpdate{Category: store.CatUserData, Delete: []string{"a"}, Set: map[string][]byte{"a": []byte("back")}}},
		{"replace", store.StateUpdate{Category: store.CatUIState, Replace: true, Set: map[string][]byte{"only": []byte("this")}}},
		{"replace with nothing", store.StateUpdate{Category: store.CatUserData, Replace: true}},
	}
	for i, st := range steps {
		st.u.Expect, st.u.Now = -1, testNow.Add(time.Duration(i)*time.Second)
		v, err := s.UpdateState(t.Context(), "s-a", st.u)
		if err != nil {
			t.Fatalf("%s: UpdateState: %v", st.name, err)
		}
		if v.State != int64(i+1) {
			t.Errorf("%s: state version %d, want %d", st.name, v.State, i+1)
		}
		doc := mustGetState(t, s, "s-a")
		if want := stateBytes(doc); doc.Bytes != want {
			t.Errorf("%s: Bytes = %d, values sum to %d", st.name, doc.Bytes, want)
		}
	}
	doc := mustGetState(t, s, "s-a")
	if got := doc.Categories[store.CatUserData]; len(got.Values) != 0 || got.Version != 6 {
		t.Errorf("user_data after replace with nothing: %+v, want no values at version 6", got)
	}
	if got := doc.Categories[store.CatUIState].Values; !maps.EqualFunc(got, map[string][]byte{"only": []byte("this")}, bytes.Equal) {
		t.Errorf("ui_state values: got %q", got)
	}
	rec, _, err := s.Get(t.Context(), "s-a", testNow)
	if err != nil || rec.StateVersion != int64(len(steps)) {
		t.Errorf("record StateVersion = %d (err %v), want %d", rec.StateVersion, err, len(steps))
	}
}

func TestStateLimit(t *testing.T) {
	s := openTest(t, Options{})
	createTest(t, s, "s-a", "ana")
	up := func(u store.StateUpdate) error {
		u.Expect, u.Now, u.Limit = -1, testNow, 20
		_, err := s.UpdateState(t.Context(), "s-a", u)
		return err
	}
	if err := up(store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"k": bytes.Repeat([]byte("x"), 19)}}); err != nil {
		t.Fatalf("update to exactly the limit: %v", err)
	}
	err := up(store.StateUpdate{Category: store.CatUIState, Set: map[string][]byte{"k": nil}})
	if !errors.Is(err, store.ErrStateTooLarge) {
		t.Fatalf("update past the limit: got %v, want ErrStateTooLarge", err)
	}
	if doc := mustGetState(t, s, "s-a"); doc.Bytes != 20 || doc.Version != 1 || len(doc.Categories) != 1 {
		t.Errorf("refused update left a trace: %+v", doc)
	}
	// Replacing the one key with a shorter value fits.
	if err := up(store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"k": []byte("x")}}); err != nil {
		t.Fatalf("shrinking update: %v", err)
	}
}

func TestStateOfUnknownAndEndedSessions(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if _, found, err := s.GetState(ctx, "s-unknown"); err != nil || found {
		t.Fatalf("GetState of an unknown sid: found %v, err %v", found, err)
	}
	createTest(t, s, "s-a", "ana")
	if doc := mustGetState(t, s, "s-a"); doc.Version != 0 || len(doc.Categories) != 0 {
		t.Errorf("state of a new session: %+v, want empty", doc)
	}
	u := store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"k": []byte("v")}, Expect: -1, Now: testNow}
	if _, err := s.UpdateState(ctx, "s-a", u); err != nil {
		t.Fatal(err)
	}
	late := u
	late.Now = testNow.Add(idle)
	if _, err := s.UpdateState(ctx, "s-a", late); !errors.Is(err, store.ErrSessionGone) {
		t.Errorf("UpdateState at the deadline: got %v, want ErrSessionGone", err)
	}
	if _, err := s.End(ctx, "s-a", store.Tombstone{Reason: store.ReasonIdle, Actor: "system", At: testNow}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateState(ctx, "s-a", u); !errors.Is(err, store.ErrSessionGone) {
		t.Errorf("UpdateState after End: got %v, want ErrSessionGone", err)
	}
	if err := s.SetProcessing(ctx, "s-a", "running", 50); !errors.Is(err, store.ErrSessionGone) {
		t.Errorf("SetProcessing after End: got %v, want ErrSessionGone", err)
	}
	if doc := mustGetState(t, s, "s-a"); doc.Version != 1 || string(doc.Categories[store.CatUserData].Values["k"]) != "v" {
		t.Errorf("state of an ended session: %+v", doc)
	}
	if err := s.Purge(ctx, "s-a"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.GetState(ctx, "s-a"); err != nil || found {
		t.Errorf("GetState after Purge: found %v, err %v; want not found", found, err)
	}
	for _, table := range []string{"state_values", "state_categories", "state_meta", "snapshots", "ended"} {
		var n int
		if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s after Purge: %d rows (err %v), want 0", table, n, err)
		}
	}
}

// TestConcurrentStateWriters is the no-lost-update proof on a file
// database: 50 writers of their own key, and 50 incrementers of one key
// through the versioned update with retry.
func TestConcurrentStateWriters(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	createTest(t, s, "s-a", "ana")
	ctx := t.Context()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateState(ctx, "s-a", store.StateUpdate{
				Category: store.CatUserData, Set: map[string][]byte{fmt.Sprintf("k%02d", i): []byte("v")},
				Expect: -1, Snapshots: 10, Now: testNow,
			})
			errs <- err
		})
	}
	for range n {
		wg.Go(func() {
			for {
				doc, _, err := s.GetState(ctx, "s-a")
				if err != nil {
					errs <- err
					return
				}
				cat := doc.Categories[store.CatAnalysisData]
				c, _ := strconv.Atoi(string(cat.Values["counter"]))
				_, err = s.UpdateState(ctx, "s-a", store.StateUpdate{
					Category: store.CatAnalysisData, Set: map[string][]byte{"counter": []byte(strconv.Itoa(c + 1))},
					Expect: cat.Version, Now: testNow,
				})
				if !errors.Is(err, store.ErrVersionConflict) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	doc := mustGetState(t, s, "s-a")
	if got := doc.Categories[store.CatUserData]; len(got.Values) != n || got.Version != n {
		t.Errorf("user_data: %d keys at version %d, want %d at %d", len(got.Values), got.Version, n, n)
	}
	if got := string(doc.Categories[store.CatAnalysisData].Values["counter"]); got != strconv.Itoa(n) {
		t.Errorf("counter = %s, want %d", got, n)
	}
	if doc.Version != 2*n {
		t.Errorf("state version %d, want %d", doc.Version, 2*n)
	}
	snaps, err := s.Snapshots(ctx, "s-a", store.CatUserData)
	if err != nil || len(snaps) != 10 || snaps[0].Version != n-1 || len(snaps[0].Values) != n-1 {
		t.Errorf("snapshots: %d (err %v), want the 10 newest, first of version %d", len(snaps), err, n-1)
	}
}

func TestSnapshotsAreTrimmed(t *testing.T) {
	s := openTest(t, Options{})
	createTest(t, s, "s-a", "ana")
	for i := range 6 {
		u := store.StateUpdate{Category: store.CatPreferences, Set: map[string][]byte{"v": []byte(strconv.Itoa(i))},
			Expect: int64(i), Snapshots: 3, Now: testNow.Add(time.Duration(i) * time.Second)}
		if _, err := s.UpdateState(t.Context(), "s-a", u); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	snaps, err := s.Snapshots(t.Context(), "s-a", store.CatPreferences)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sn := range snaps {
		got = append(got, fmt.Sprintf("%d@%ds=%s", sn.Version, sn.At.Sub(testNow)/time.Second, sn.Values["v"]))
	}
	if want := []string{"5@5s=4", "4@4s=3", "3@3s=2"}; !slices.Equal(got, want) {
		t.Errorf("snapshots: got %v, want %v", got, want)
	}
	if snaps, err := s.Snapshots(t.Context(), "s-a", store.CatUIState); err != nil || len(snaps) != 0 {
		t.Errorf("snapshots of an unwritten category: %v, %v", snaps, err)
	}
}

func TestValuesCodec(t *testing.T) {
	cases := []map[string][]byte{
		{},
		{"": {}},
		{"a": []byte("1"), "b": nil, "ñ": bytes.Repeat([]byte{0xff}, 300)},
	}
	for _, m := range cases {
		got, err := decodeValues(encodeValues(m))
		if err != nil {
			t.Fatalf("decode(encode(%q)): %v", m, err)
		}
		if !maps.EqualFunc(got, m, bytes.Equal) {
			t.Errorf("round trip: got %q, want %q", got, m)
		}
	}
	good := encodeValues(map[string][]byte{"key": []byte("value")})
	bad := [][]byte{nil, {}, {2, 0}, good[:len(good)-1], append(slices.Clone(good), 0), {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, {1, 1, 5, 'a'}}
	for _, b := range bad {
		if _, err := decodeValues(b); err == nil {
			t.Errorf("decodeValues(%v): got nil error", b)
		}
	}
}

func FuzzDecodeValues(f *testing.F) {
	f.Add(encodeValues(map[string][]byte{"a": []byte("b"), "c": nil}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeValues(b)
		if err != nil {
			return
		}
		if again := encodeValues(m); !bytes.Equal(again, b) {
			t.Errorf("decoded %q re-encodes to %v, not %v", m, again, b)
		}
	})
}

// TestRecoveryWindow follows ended sessions through their window: a logout is
// ready for cleanup at once and no recovery point; another reason is a point
// of its user until the window closes, ready for cleanup then or once
// claimed, and its state stays until Archive.
func TestRecoveryWindow(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	keep := time.Hour
	for _, sid := range []string{"s-out", "s-idle", "s-term"} {
		createTest(t, s, sid, "ana")
		u := store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"k": []byte(sid)}, Expect: -1, Now: testNow}
		if _, err := s.UpdateState(ctx, sid, u); err != nil {
			t.Fatal(err)
		}
	}
	createTest(t, s, "s-bob", "bob")
	end := func(sid string, r store.Reason, at time.Time) {
		t.Helper()
		if ok, err := s.End(ctx, sid, store.Tombstone{Reason: r, Actor: "system", At: at}, keep); err != nil || !ok {
			t.Fatalf("End(%s): %v, %v", sid, ok, err)
		}
	}
	end("s-idle", store.ReasonIdle, testNow)
	end("s-out", store.ReasonLogout, testNow.Add(time.Minute))
	end("s-term", store.ReasonTerminated, testNow.Add(2*time.Minute))
	end("s-bob", store.ReasonEvicted, testNow.Add(3*time.Minute))

	readySIDs := func(now time.Time) []string {
		t.Helper()
		ended, err := s.Ended(ctx, now, 10)
		if err != nil {
			t.Fatalf("Ended: %v", err)
		}
		var out []string
		for _, e := range ended {
			out = append(out, e.Record.SID)
			if want := "s-bob"; e.Record.SID != want && string(e.State.Categories[store.CatUserData].Values["k"]) != e.Record.SID {
				t.Errorf("Ended state of %s: %+v", e.Record.SID, e.State)
			}
		}
		return out
	}
	pointSIDs := func(user string, now time.Time) []string {
		t.Helper()
		points, err := s.RecoveryPoints(ctx, user, now)
		if err != nil {
			t.Fatalf("RecoveryPoints: %v", err)
		}
		var out []string
		for _, p := range points {
			out = append(out, p.SID)
			if !p.ExpiresAt.Equal(p.EndedAt.Add(keep)) || p.Record.SID != p.SID || p.User != user {
				t.Errorf("recovery point %+v", p)
			}
		}
		return out
	}

	now := testNow.Add(5 * time.Minute)
	if got, want := readySIDs(now), []string{"s-out"}; !slices.Equal(got, want) {
		t.Errorf("ready inside the window: %v, want %v", got, want)
	}
	if got, want := pointSIDs("ana", now), []string{"s-term", "s-idle"}; !slices.Equal(got, want) {
		t.Errorf("recovery points: %v, want %v", got, want)
	}
	if _, ok, err := s.ClaimRecovery(ctx, "s-term", "bob", now); err != nil || ok {
		t.Errorf("claim of another user's point: %v, %v", ok, err)
	}
	if _, ok, err := s.ClaimRecovery(ctx, "s-out", "ana", now); err != nil || ok {
		t.Errorf("claim of a logout: %v, %v", ok, err)
	}
	p, ok, err := s.ClaimRecovery(ctx, "s-term", "ana", now)
	if err != nil || !ok || p.Reason != store.ReasonTerminated || !p.EndedAt.Equal(testNow.Add(2*time.Minute)) {
		t.Fatalf("claim: %+v, %v, %v", p, ok, err)
	}
	if _, ok, _ := s.ClaimRecovery(ctx, "s-term", "ana", now); ok {
		t.Error("second claim succeeded")
	}
	if got, want := pointSIDs("ana", now), []string{"s-idle"}; !slices.Equal(got, want) {
		t.Errorf("recovery points after the claim: %v, want %v", got, want)
	}
	if got, want := readySIDs(now), []string{"s-out", "s-term"}; !slices.Equal(got, want) {
		t.Errorf("ready after the claim: %v, want %v", got, want)
	}
	closed := testNow.Add(keep)
	if _, ok, _ := s.ClaimRecovery(ctx, "s-idle", "ana", closed); ok {
		t.Error("claim after the window closed succeeded")
	}
	if got := pointSIDs("ana", closed); len(got) != 0 {
		t.Errorf("recovery points after the window: %v", got)
	}
	// Earliest ready first: the logout at its end, the claimed session from
	// its end, the idle one when its window closed.
	if got, want := readySIDs(closed), []string{"s-out", "s-term", "s-idle"}; !slices.Equal(got, want) {
		t.Errorf("ready when s-idle's window closed: %v, want %v", got, want)
	}

	// Archive keeps state and files, and takes everything else away.
	ended, err := s.Ended(ctx, closed, 3)
	if err != nil || len(ended) != 3 {
		t.Fatalf("Ended: %v, %v", ended, err)
	}
	e := ended[2]
	e.Files = []string{"uploads/a.csv", "results/b.json"}
	if err := s.Archive(ctx, e, closed, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	a, found, err := s.Archived(ctx, "s-idle")
	if err != nil || !found {
		t.Fatalf("Archived: %v, %v", found, err)
	}
	if !slices.Equal(a.Files, e.Files) || a.State.Version != 1 || !a.State.LastModified.Equal(testNow) ||
		string(a.State.Categories[store.CatUserData].Values["k"]) != "s-idle" || a.State.Bytes != e.State.Bytes {
		t.Errorf("Archived: files %v state %+v; want %v and the ended state %+v", a.Files, a.State, e.Files, e.State)
	}
	if _, found, _ := s.GetState(ctx, "s-idle"); found {
		t.Error("state found after Archive")
	}
}

func TestRecoveryLinks(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	exp := testNow.Add(time.Hour)
	for _, h := range []string{"h1", "h2"} {
		if err := s.SaveRecoveryLink(ctx, h, "s-"+h, "ana", exp); err != nil {
			t.Fatal(err)
		}
	}
	if sid, user, ok, err := s.RecoveryLink(ctx, "h1", testNow); err != nil || !ok || sid != "s-h1" || user != "ana" {
		t.Errorf("RecoveryLink: %q %q %v %v", sid, user, ok, err)
	}
	if sid, _, ok, err := s.UseRecoveryLink(ctx, "h1", testNow); err != nil || !ok || sid != "s-h1" {
		t.Errorf("UseRecoveryLink: %q %v %v", sid, ok, err)
	}
	for _, c := range []struct {
		hash string
		now  time.Time
	}{{"h1", testNow}, {"unknown", testNow}, {"h2", exp}} {
		if _, _, ok, err := s.RecoveryLink(ctx, c.hash, c.now); err != nil || ok {
			t.Errorf("RecoveryLink(%s): %v, %v; want false", c.hash, ok, err)
		}
		if _, _, ok, err := s.UseRecoveryLink(ctx, c.hash, c.now); err != nil || ok {
			t.Errorf("UseRecoveryLink(%s): %v, %v; want false", c.hash, ok, err)
		}
	}
	// Expired links are dropped by a later use.
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM recovery_links").Scan(&n); err != nil || n != 0 {
		t.Errorf("links after a use at their expiry: %d (err %v), want 0", n, err)
	}
}

func TestUserPrefs(t *testing.T) {
	s := openTest(t, Options{})
	if _, found, err := s.UserPrefs(t.Context(), "ana"); err != nil || found {
		t.Fatalf("UserPrefs before saving: %v, %v", found, err)
	}
	for _, v := range []string{`{"theme":"dark"}`, `{"theme":"light"}`} {
		if err := s.SaveUserPrefs(t.Context(), "ana", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if b, found, err := s.UserPrefs(t.Context(), "ana"); err != nil || !found || string(b) != v {
			t.Errorf("UserPrefs: %q %v %v, want %q", b, found, err, v)
		}
	}
}

// TestMigrateFromVersion1 opens a database written by the first schema and
// checks that its ended sessions stay ready for cleanup, its sessions can
// write state, and nothing else changed.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := openDB("file:"+path, time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	rec := storetest.NewRecord("s-live", "ana", "analyst", testNow, timeout, idle, lifetime)
	old := storetest.NewRecord("s-old", "ana", "analyst", testNow, timeout, idle, lifetime)
	tomb := store.Tombstone{SID: old.SID, TokenHash: old.TokenHash, User: "ana", Reason: store.ReasonIdle, Actor: "system", At: testNow}
	err = func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		stmts := []struct {
			q    string
			args []any
		}{
			{migrations[0], nil},
			{"INSERT INTO sessions (" + recordCols + ", deadline) VALUES (" + placeholders(1, 24) + ")",
				append(recordArgs(rec), deadlineMS(ms(rec.ExpiresAt), ms(rec.IdleAt), ms(rec.LifetimeAt)))},
			{"INSERT INTO ended (" + recordCols + ", " + endedCols + ") VALUES (" + placeholders(1, 31) + ")",
				endedArgs(store.EndedSession{Record: old, Tombstone: tomb})},
			{"PRAGMA user_version = 1", nil},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	db.Close()
	if err != nil {
		t.Fatalf("write a version 1 database: %v", err)
	}

	s := openTest(t, Options{Path: path})
	var v int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("user_version = %d (err %v), want %d", v, err, schemaVersion)
	}
	ended, err := s.Ended(ctx, testNow, 10)
	if err != nil || len(ended) != 1 || ended[0].Record.SID != "s-old" || ended[0].Tombstone.Reason != store.ReasonIdle {
		t.Fatalf("Ended after migration: %+v, %v; want s-old ready at its end", ended, err)
	}
	u := store.StateUpdate{Category: store.CatUserData, Set: map[string][]byte{"k": []byte("v")}, Expect: 0, Now: testNow}
	if v, err := s.UpdateState(ctx, "s-live", u); err != nil || v.State != 1 {
		t.Fatalf("UpdateState after migration: %+v, %v", v, err)
	}
	if err := s.Archive(ctx, ended[0], testNow, time.Hour); err != nil {
		t.Fatalf("Archive after migration: %v", err)
	}
}

// TestStatePlans checks that the new queries are served from their indexes.
func TestStatePlans(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	cases := []struct {
		query string
		args  []any
		want  string
	}{
		{"SELECT " + recordCols + ", " + endedCols + " FROM ended INDEXED BY ended_ready WHERE ready_at <= ? ORDER BY ready_at, sid LIMIT ?",
			[]any{ms(testNow), 10}, "SEARCH ended USING INDEX ended_ready (ready_at<?)"},
		{"SELECT " + recordCols + ", " + recoveryCols + " FROM ended INDEXED BY ended_recovery WHERE t_user = ? AND recover_until > ? AND claimed = 0 ORDER BY t_at DESC, sid DESC",
			[]any{"ana", ms(testNow)}, "SEARCH ended USING INDEX ended_recovery (t_user=? AND recover_until>?)"},
		{"SELECT category, k, value FROM state_values WHERE sid = ?", []any{"s"}, "SEARCH state_values USING INDEX sqlite_autoindex_state_values_1 (sid=?)"},
		{"SELECT version, at, vals FROM snapshots WHERE sid = ? AND category = ? ORDER BY version DESC", []any{"s", "c"},
			"SEARCH snapshots USING INDEX sqlite_autoindex_snapshots_1 (sid=? AND category=?)"},
	}
	for _, c := range cases {
		plan := explain(t, s, c.query, c.args)
		// Only the recovery points, a user's few, are sorted after the search.
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "TEMP B-TREE") != strings.Contains(c.query, "recover_until") {
			t.Errorf("plan of %.60s…: %q, want %q without a sort", c.query, plan, c.want)
		}
	}
}

// BenchmarkUpdateState measures state updates per second on a file
// database: one session written by every goroutine, and 1,000 sessions
// written round-robin. Each update sets one key of user_data with a
// snapshot (the costliest common update) and a 1 MiB limit.
func BenchmarkUpdateState(b *testing.B) {
	for _, sessions := range []int{1, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			s := openTest(b, Options{Path: filepath.Join(b.TempDir(), "sessions.db")})
			sids := seed(b, s, sessions, testNow)
			var mu sync.Mutex
			next := 0
			value := bytes.Repeat([]byte("v"), 200)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					_, err := s.UpdateState(b.Context(), sids[i%sessions], store.StateUpdate{
						Category: store.CatUserData, Set: map[string][]byte{"k" + strconv.Itoa(i%8): value},
						Expect: -1, Snapshots: 10, Limit: 1 << 20, Now: testNow,
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
		})
	}
}
