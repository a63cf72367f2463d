package redis

import (
	"reflect"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// TestFindWithState: one script returns the blob and, for a blob with an
// envelope, what GetState returns for the sid it names; no blob (also once
// the session ended) is not found, a blob without an envelope comes without
// state.
func TestFindWithState(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	now := baseTime()
	rec := storetest.NewRecord("sid-find-state", "ana", "analyst", now, timeout, idle, lifetime)
	if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	env := append([]byte{store.BlobEnvelope, byte(len(rec.SID))}, rec.SID...)
	env = append(env, "sealed bytes"...)
	commit := func(b []byte) {
		t.Helper()
		if err := s.CommitCtx(store.WithCommit(ctx, store.CommitInfo{SID: rec.SID}), rec.TokenHash, b, now.Add(timeout)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, wantFound bool) {
		t.Helper()
		b, found, fs, err := s.FindWithState(ctx, rec.TokenHash)
		if err != nil || !found || string(b) != string(env) || fs == nil || fs.SID != rec.SID {
			t.Fatalf("%s: FindWithState = %q, %v, %+v, %v", what, b, found, fs, err)
		}
		doc, ok, err := s.GetState(ctx, rec.SID)
		if err != nil || fs.Found != ok || ok != wantFound || !reflect.DeepEqual(fs.Doc, doc) {
			t.Errorf("%s: state %+v found %v; GetState %+v, %v, %v", what, fs.Doc, fs.Found, doc, ok, err)
		}
	}

	if _, found, fs, err := s.FindWithState(ctx, rec.TokenHash); err != nil || found || fs != nil {
		t.Fatalf("no blob: found %v, state %+v, %v", found, fs, err)
	}
	commit(env)
	check("no state yet", true)
	u := store.StateUpdate{Category: store.CatUIState, Set: map[string][]byte{"open": []byte("history")}, Expect: -1, Limit: 1 << 20, Now: now}
	if _, err := s.UpdateState(ctx, rec.SID, u); err != nil {
		t.Fatal(err)
	}
	check("with state", true)

	// A blob of another shape (no envelope, or one cut short) has no state.
	for _, b := range [][]byte{[]byte("plain blob"), {store.BlobEnvelope, 200, 'x'}} {
		commit(b)
		got, found, fs, err := s.FindWithState(ctx, rec.TokenHash)
		if err != nil || !found || string(got) != string(b) || fs != nil {
			t.Errorf("blob %q: FindWithState = %q, %v, %+v, %v", b, got, found, fs, err)
		}
	}
	commit(env)
	// Ended: the blob is gone, the state stays readable by sid.
	if ok, err := s.End(ctx, rec.SID, store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: now}, time.Hour); err != nil || !ok {
		t.Fatalf("End = %v, %v", ok, err)
	}
	if _, found, fs, err := s.FindWithState(ctx, rec.TokenHash); err != nil || found || fs != nil {
		t.Errorf("after End: found %v, state %+v, %v", found, fs, err)
	}
}
