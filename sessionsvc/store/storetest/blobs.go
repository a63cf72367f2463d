package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// commit writes b for rec's session under hash, as the session middleware does.
func commit(ctx context.Context, s store.Store, sid, hash string, b []byte, touch *store.Touch, expiry time.Time) error {
	ctx = store.WithCommit(ctx, store.CommitInfo{SID: sid, Touch: touch})
	return s.CommitCtx(ctx, hash, b, expiry)
}

// mustCommit is commit that fails the test on error.
func mustCommit(t *testing.T, s store.Store, sid, hash string, b []byte, touch *store.Touch, expiry time.Time) {
	t.Helper()
	if err := commit(t.Context(), s, sid, hash, b, touch, expiry); err != nil {
		t.Fatalf("CommitCtx(sid %s): %v", sid, err)
	}
}

// wantBlob fails the test unless FindCtx(hash) returns exactly want.
func wantBlob(t *testing.T, s store.Store, hash string, want []byte) {
	t.Helper()
	got, found, err := s.FindCtx(t.Context(), hash)
	if err != nil {
		t.Fatalf("FindCtx: %v", err)
	}
	if !found {
		t.Fatalf("FindCtx: found = false, want true with %q", want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("FindCtx: got %q, want %q", got, want)
	}
}

// wantNoBlob fails the test unless FindCtx(hash) is (nil, false, nil).
func wantNoBlob(t *testing.T, s store.Store, hash string) {
	t.Helper()
	got, found, err := s.FindCtx(t.Context(), hash)
	if err != nil {
		t.Fatalf("FindCtx: %v", err)
	}
	if found || got != nil {
		t.Fatalf("FindCtx: got (%q, %v), want (nil, false)", got, found)
	}
}

// mustGet returns the live record of sid at now or fails the test.
func mustGet(t *testing.T, s store.Store, sid string, now time.Time) store.Record {
	t.Helper()
	rec, found, err := s.Get(t.Context(), sid, now)
	if err != nil {
		t.Fatalf("Get(%s): %v", sid, err)
	}
	if !found {
		t.Fatalf("Get(%s): found = false, want true", sid)
	}
	return rec
}

// wantNoRecord fails the test unless Get(sid, now) is not found.
func wantNoRecord(t *testing.T, s store.Store, sid string, now time.Time) {
	t.Helper()
	rec, found, err := s.Get(t.Context(), sid, now)
	if err != nil {
		t.Fatalf("Get(%s): %v", sid, err)
	}
	if found {
		t.Fatalf("Get(%s): found = true (%+v), want false", sid, rec)
	}
}

// testBlobs checks the scs side: a blob is written only for a live session
// with the current token hash, and touches update the record and indexes.
func testBlobs(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("FindMissingIsNotFound", func(t *testing.T) {
		s := newStore(t)
		wantNoBlob(t, s, TokenHash("nobody", 0))
		got, found, err := s.Find(TokenHash("nobody", 0))
		if err != nil || found || got != nil {
			t.Fatalf("Find: got (%q, %v, %v), want (nil, false, nil)", got, found, err)
		}
	})

	t.Run("CommitWithoutCommitInfo", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-noinfo", "ana", "analyst", now)
		mustCreate(t, s, rec, now)

		err := s.CommitCtx(t.Context(), rec.TokenHash, []byte("blob"), now.Add(timeout))
		if !errors.Is(err, store.ErrNoCommitInfo) {
			t.Errorf("CommitCtx without info: got %v, want ErrNoCommitInfo", err)
		}
		ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: ""})
		err = s.CommitCtx(ctx, rec.TokenHash, []byte("blob"), now.Add(timeout))
		if !errors.Is(err, store.ErrNoCommitInfo) {
			t.Errorf("CommitCtx with empty sid: got %v, want ErrNoCommitInfo", err)
		}
		// Commit (no ctx) uses a background context, which carries no info.
		err = s.Commit(rec.TokenHash, []byte("blob"), now.Add(timeout))
		if !errors.Is(err, store.ErrNoCommitInfo) {
			t.Errorf("Commit: got %v, want ErrNoCommitInfo", err)
		}
		wantNoBlob(t, s, rec.TokenHash)
	})

	t.Run("CommitUnknownSessionIsGone", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		hash := TokenHash("s-ghost", 0)
		err := commit(t.Context(), s, "s-ghost", hash, []byte("blob"), nil, now.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Fatalf("CommitCtx: got %v, want ErrSessionGone", err)
		}
		wantNoBlob(t, s, hash)
		touch := &store.Touch{LastActivity: now, ExpiresAt: now.Add(timeout), IdleAt: now.Add(idle), Path: "/x"}
		err = commit(t.Context(), s, "s-ghost", hash, []byte("blob"), touch, now.Add(timeout))
		if !errors.Is(err, store.ErrSessionGone) {
			t.Fatalf("CommitCtx with touch: got %v, want ErrSessionGone", err)
		}
		wantNoBlob(t, s, hash)
		wantNoRecord(t, s, "s-ghost", now)
	})

	t.Run("CommitThenFind", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-commit", "ana", "analyst", now)
		mustCreate(t, s, rec, now)

		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("first"), nil, now.Add(timeout))
		wantBlob(t, s, rec.TokenHash, []byte("first"))

		// A second write replaces the first.
		blob := []byte{0, 1, 2, 0xff, 'x', 0}
		mustCommit(t, s, rec.SID, rec.TokenHash, blob, nil, now.Add(timeout))
		wantBlob(t, s, rec.TokenHash, blob)
		got, found, err := s.Find(rec.TokenHash)
		if err != nil || !found || !bytes.Equal(got, blob) {
			t.Fatalf("Find: got (%q, %v, %v), want (%q, true, nil)", got, found, err, blob)
		}

		// A blob-only write does not touch the record.
		checkRecord(t, "Get after blob-only commits", mustGet(t, s, rec.SID, now), rec)
	})

	t.Run("CommitWithWrongHashIsGone", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		b := newRecord("s-b", "bob", "analyst", now)
		mustCreate(t, s, a, now)
		mustCreate(t, s, b, now)
		mustCommit(t, s, a.SID, a.TokenHash, []byte("a"), nil, now.Add(timeout))

		cases := []struct {
			name string
			sid  string
			hash string
		}{
			{"unknown hash", a.SID, TokenHash(a.SID, 1)},
			{"another session's hash", a.SID, b.TokenHash},
		}
		for _, c := range cases {
			err := commit(t.Context(), s, c.sid, c.hash, []byte("evil"), nil, now.Add(timeout))
			if !errors.Is(err, store.ErrSessionGone) {
				t.Errorf("%s: CommitCtx: got %v, want ErrSessionGone", c.name, err)
			}
		}
		wantNoBlob(t, s, TokenHash(a.SID, 1))
		wantBlob(t, s, a.TokenHash, []byte("a"))
		wantNoBlob(t, s, b.TokenHash)
	})

	t.Run("CommitTouchUpdatesRecord", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-touch", "ana", "analyst", now)
		mustCreate(t, s, rec, now)

		// Same IP and user agent: nothing changed.
		t1 := now.Add(2 * time.Minute)
		touch := &store.Touch{
			LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle),
			IP: rec.FirstIP, UserAgent: rec.FirstUserAgent, Path: "/workspace/upload",
		}
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("v1"), touch, t1.Add(timeout))
		want := rec
		want.LastActivity, want.ExpiresAt, want.IdleAt, want.Path = t1, t1.Add(timeout), t1.Add(idle), "/workspace/upload"
		checkRecord(t, "Get after touch with same IP and UA", mustGet(t, s, rec.SID, t1), want)

		// A new IP and user agent raise the flags.
		t2 := t1.Add(3*time.Minute + 7*time.Millisecond)
		touch = &store.Touch{
			LastActivity: t2, ExpiresAt: t2.Add(timeout), IdleAt: t2.Add(idle),
			IP: "198.51.100.7", UserAgent: "curl/8.0", Path: "/workspace/analysis",
		}
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("v2"), touch, t2.Add(timeout))
		want.LastActivity, want.ExpiresAt, want.IdleAt, want.Path = t2, t2.Add(timeout), t2.Add(idle), "/workspace/analysis"
		want.LastIP, want.LastUserAgent, want.IPChanged, want.UAChanged = "198.51.100.7", "curl/8.0", true, true
		checkRecord(t, "Get after touch with new IP and UA", mustGet(t, s, rec.SID, t2), want)
		wantBlob(t, s, rec.TokenHash, []byte("v2"))

		// Going back to the first ones keeps the flags: they say it changed at some point.
		t3 := t2.Add(time.Minute)
		touch = &store.Touch{
			LastActivity: t3, ExpiresAt: t3.Add(timeout), IdleAt: t3.Add(idle),
			IP: rec.FirstIP, UserAgent: rec.FirstUserAgent, Path: "/workspace",
		}
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("v3"), touch, t3.Add(timeout))
		want.LastActivity, want.ExpiresAt, want.IdleAt, want.Path = t3, t3.Add(timeout), t3.Add(idle), "/workspace"
		want.LastIP, want.LastUserAgent = rec.FirstIP, rec.FirstUserAgent
		checkRecord(t, "Get after touch back to the first IP and UA", mustGet(t, s, rec.SID, t3), want)

		// The touch moved the deadline: the session is live past its first deadline.
		late := rec.Deadline().Add(time.Minute)
		mustGet(t, s, rec.SID, late)
	})

	t.Run("CommitTouchMovesListOrder", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		a := newRecord("s-a", "ana", "analyst", now)
		b := newRecord("s-b", "bob", "analyst", now.Add(time.Second))
		mustCreate(t, s, a, now)
		mustCreate(t, s, b, now.Add(time.Second))
		at := now.Add(2 * time.Second)

		wantOrder(t, s, store.Query{Sort: store.SortActivity}, at, []string{"s-b", "s-a"})
		wantOrder(t, s, store.Query{Sort: store.SortDeadline}, at, []string{"s-a", "s-b"})

		t1 := now.Add(time.Minute)
		touch := &store.Touch{LastActivity: t1, ExpiresAt: t1.Add(timeout), IdleAt: t1.Add(idle), IP: a.FirstIP, UserAgent: a.FirstUserAgent, Path: "/"}
		mustCommit(t, s, a.SID, a.TokenHash, []byte("a"), touch, t1.Add(timeout))

		wantOrder(t, s, store.Query{Sort: store.SortActivity}, t1, []string{"s-a", "s-b"})
		wantOrder(t, s, store.Query{Sort: store.SortDeadline}, t1, []string{"s-b", "s-a"})
		// Creation order does not move.
		wantOrder(t, s, store.Query{Sort: store.SortCreated}, t1, []string{"s-b", "s-a"})

		// Past b's deadline only a is live, and it is due no earlier than its new deadline.
		afterB := b.Deadline()
		wantOrder(t, s, store.Query{Sort: store.SortActivity}, afterB, []string{"s-a"})
		due, err := s.Due(t.Context(), afterB, 10)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		if got := sids(due); !slices.Equal(got, []string{"s-b"}) {
			t.Errorf("Due at b's deadline: got %v, want [s-b]", got)
		}
	})

	t.Run("DeleteIsIdempotentAndBlobOnly", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := newRecord("s-del", "ana", "analyst", now)
		mustCreate(t, s, rec, now)
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("blob"), nil, now.Add(timeout))

		for i := range 2 {
			if err := s.DeleteCtx(t.Context(), rec.TokenHash); err != nil {
				t.Fatalf("DeleteCtx #%d: %v", i+1, err)
			}
			wantNoBlob(t, s, rec.TokenHash)
		}
		if err := s.DeleteCtx(t.Context(), TokenHash("never", 0)); err != nil {
			t.Fatalf("DeleteCtx of an unknown hash: %v", err)
		}
		// The session itself lives on: DeleteCtx is not End.
		mustGet(t, s, rec.SID, now)
		mustCommit(t, s, rec.SID, rec.TokenHash, []byte("again"), nil, now.Add(timeout))
		wantBlob(t, s, rec.TokenHash, []byte("again"))
		if err := s.Delete(rec.TokenHash); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNoBlob(t, s, rec.TokenHash)
	})
}
