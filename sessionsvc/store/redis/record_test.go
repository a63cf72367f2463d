package redis

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// TestRecordLeavesOutRepeats checks that a new record leaves out the first
// IP and user agent while they equal the last ones, and default fields,
// that every read gives them back (Get, List, and once ended ListEnded,
// RecoveryPoints, Ended and the archive), and that a touch writes the
// first ones out before the last ones change.
func TestRecordLeavesOutRepeats(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	now := baseTime()
	rec := realisticRecord("ana", "analyst", now)
	rec.Processing, rec.Fingerprint = "idle", ""
	if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	rk := s.prefix + "s:" + rec.SID
	fields := func() []string {
		t.Helper()
		ks, err := redigo.Strings(srv.Do("HKEYS", rk))
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	for _, f := range []string{"fip", "fua", "fua2", "fua3", "auth", "ipc", "uac", "prog", "sv", "rf", "proc", "fp", "lua3"} {
		if slices.Contains(fields(), f) {
			t.Errorf("new record has field %s", f)
		}
	}
	get := func(what string, want store.Record) {
		t.Helper()
		got, ok, err := s.Get(ctx, rec.SID, now)
		if err != nil || !ok {
			t.Fatalf("Get %s = %v, %v", what, ok, err)
		}
		if got != want {
			t.Errorf("Get %s:\n got  %+v\n want %+v", what, got, want)
		}
		page, err := s.List(ctx, store.Query{}, now)
		if err != nil || len(page.Records) != 1 || page.Records[0] != want {
			t.Errorf("List %s = %+v, %v; want %+v", what, page.Records, err, want)
		}
	}
	get("after Create", rec)

	touch := func(ip, ua string) {
		t.Helper()
		tc := store.WithCommit(ctx, store.CommitInfo{SID: rec.SID, Touch: &store.Touch{
			LastActivity: now, ExpiresAt: rec.ExpiresAt, IdleAt: rec.IdleAt, IP: ip, UserAgent: ua, Path: rec.Path}})
		if err := s.CommitCtx(tc, rec.TokenHash, []byte("blob"), rec.ExpiresAt); err != nil {
			t.Fatal(err)
		}
	}
	touch(rec.LastIP, rec.LastUserAgent)
	if fs := fields(); slices.Contains(fs, "fip") || slices.Contains(fs, "fua") || slices.Contains(fs, "ipc") || slices.Contains(fs, "uac") || slices.Contains(fs, "lua3") {
		t.Errorf("a touch with the same IP and agent wrote fields %v", fs)
	}
	get("after a touch with the same IP and agent", rec)

	want := rec
	want.LastIP, want.IPChanged = "198.51.100.7", true
	touch(want.LastIP, want.LastUserAgent)
	get("after a new IP", want)
	want.LastUserAgent, want.UAChanged = "curl/8.5.0", true
	touch(want.LastIP, want.LastUserAgent)
	get("after a new agent", want)
	want.LastIP, want.LastUserAgent = rec.LastIP, rec.LastUserAgent
	touch(want.LastIP, want.LastUserAgent)
	get("back to the first IP and agent", want)
	// An agent of three parts, then a short one: the parts it no longer
	// has read as empty.
	want.LastUserAgent = strings.Repeat("x", 2*uaPart+5)
	touch(want.LastIP, want.LastUserAgent)
	get("after a long agent", want)
	want.LastUserAgent = "short"
	touch(want.LastIP, want.LastUserAgent)
	get("after a short agent", want)

	// A record whose first and last differ at Create keeps both; an empty
	// first one stays empty; so do an authentication time other than the
	// creation and an empty processing status.
	other := realisticRecord("bob", "analyst", now)
	other.FirstIP, other.FirstUserAgent = "", ""
	other.AuthenticatedAt, other.Processing = now.Add(-time.Minute), ""
	if _, err := s.Create(ctx, other, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Get(ctx, other.SID, now); err != nil || got != other {
		t.Errorf("Get of a record with empty first IP and agent:\n got  %+v\n want %+v (%v)", got, other, err)
	}

	// Ended, archived: the same record everywhere.
	fresh := realisticRecord("cy", "operator", now)
	if _, err := s.Create(ctx, fresh, 3, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	at := now.Add(time.Minute)
	if ok, err := s.End(ctx, fresh.SID, store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: at}, time.Hour); !ok || err != nil {
		t.Fatalf("End = %v, %v", ok, err)
	}
	check := func(what string, got store.Record) {
		t.Helper()
		if got != fresh {
			t.Errorf("%s:\n got  %+v\n want %+v", what, got, fresh)
		}
	}
	page, err := s.ListEnded(ctx, store.EndedQuery{User: "cy"}, at)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("ListEnded = %d entries, %v", len(page.Entries), err)
	}
	check("ListEnded", page.Entries[0].Record)
	points, err := s.RecoveryPoints(ctx, "cy", at)
	if err != nil || len(points) != 1 {
		t.Fatalf("RecoveryPoints = %d, %v", len(points), err)
	}
	check("RecoveryPoints", points[0].Record)
	ended, err := s.Ended(ctx, at.Add(time.Hour), 10)
	if err != nil || len(ended) != 1 {
		t.Fatalf("Ended = %d, %v", len(ended), err)
	}
	check("Ended", ended[0].Record)
	if err := s.Archive(ctx, ended[0], at.Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	arch, ok, err := s.Archived(ctx, fresh.SID)
	if err != nil || !ok {
		t.Fatalf("Archived = %v, %v", ok, err)
	}
	check("Archived", arch.Record)
}

// TestEndedBlobParts checks that an ended entry keeps the blob in parts
// that leave it a listpack hash, up to blobParts parts, whole beyond, and
// that Ended gives every blob back byte for byte.
func TestEndedBlobParts(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx := t.Context()
	now := baseTime()
	for _, n := range []int{0, 1, uaPart, uaPart + 1, 300, blobParts * uaPart, blobParts*uaPart + 1, 5000} {
		sid := fmt.Sprintf("s-%d", n)
		rec := record(sid, "u-"+sid, "analyst", now)
		if _, err := s.Create(ctx, rec, 3, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		blob := make([]byte, n)
		for i := range blob {
			blob[i] = byte(i * 7)
		}
		if err := s.CommitCtx(store.WithCommit(ctx, store.CommitInfo{SID: sid}), rec.TokenHash, blob, rec.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.End(ctx, sid, store.Tombstone{Reason: store.ReasonLogout, Actor: "u", At: now}, time.Hour); !ok || err != nil {
			t.Fatalf("End = %v, %v", ok, err)
		}
		enc, err := redigo.String(srv.Do("OBJECT", "ENCODING", s.prefix+"e:"+sid))
		if want := "listpack"; err != nil || (n <= blobParts*uaPart && enc != want) {
			t.Errorf("entry with a blob of %d bytes: encoding %q, %v; want %s", n, enc, err, want)
		}
		ended, err := s.Ended(ctx, now, 100)
		if err != nil || len(ended) != 1 {
			t.Fatalf("Ended = %d, %v", len(ended), err)
		}
		if !bytes.Equal(ended[0].Blob, blob) || ended[0].Blob == nil {
			t.Errorf("blob of %d bytes came back as %d bytes", n, len(ended[0].Blob))
		}
		if err := s.Purge(ctx, sid); err != nil {
			t.Fatal(err)
		}
	}
}
