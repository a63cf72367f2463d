package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// diffRecord lists the fields where got differs from want. Times compare by
// instant, so a store may return them in any location.
func diffRecord(got, want store.Record) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s: got %s, want %s", name, fmtTime(g), fmtTime(w)))
		}
	}
	str("SID", got.SID, want.SID)
	str("TokenHash", got.TokenHash, want.TokenHash)
	str("User", got.User, want.User)
	str("Role", got.Role, want.Role)
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("AuthenticatedAt", got.AuthenticatedAt, want.AuthenticatedAt)
	tm("LastActivity", got.LastActivity, want.LastActivity)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	tm("IdleAt", got.IdleAt, want.IdleAt)
	tm("LifetimeAt", got.LifetimeAt, want.LifetimeAt)
	str("FirstIP", got.FirstIP, want.FirstIP)
	str("LastIP", got.LastIP, want.LastIP)
	str("FirstUserAgent", got.FirstUserAgent, want.FirstUserAgent)
	str("LastUserAgent", got.LastUserAgent, want.LastUserAgent)
	if got.IPChanged != want.IPChanged {
		d = append(d, fmt.Sprintf("IPChanged: got %v, want %v", got.IPChanged, want.IPChanged))
	}
	if got.UAChanged != want.UAChanged {
		d = append(d, fmt.Sprintf("UAChanged: got %v, want %v", got.UAChanged, want.UAChanged))
	}
	str("Device", got.Device, want.Device)
	str("Fingerprint", got.Fingerprint, want.Fingerprint)
	str("Path", got.Path, want.Path)
	str("Processing", got.Processing, want.Processing)
	if got.Progress != want.Progress {
		d = append(d, fmt.Sprintf("Progress: got %d, want %d", got.Progress, want.Progress))
	}
	if got.StateVersion != want.StateVersion {
		d = append(d, fmt.Sprintf("StateVersion: got %d, want %d", got.StateVersion, want.StateVersion))
	}
	str("RecoveredFrom", got.RecoveredFrom, want.RecoveredFrom)
	return d
}

// checkRecord fails the test if got differs from want in any field.
func checkRecord(t *testing.T, what string, got, want store.Record) {
	t.Helper()
	if d := diffRecord(got, want); len(d) > 0 {
		t.Errorf("%s differs from what was stored:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// diffTombstone lists the fields where got differs from want.
func diffTombstone(got, want store.Tombstone) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	str("SID", got.SID, want.SID)
	str("TokenHash", got.TokenHash, want.TokenHash)
	str("User", got.User, want.User)
	str("Reason", string(got.Reason), string(want.Reason))
	str("Actor", got.Actor, want.Actor)
	str("Note", got.Note, want.Note)
	if !got.At.Equal(want.At) {
		d = append(d, fmt.Sprintf("At: got %s, want %s", fmtTime(got.At), fmtTime(want.At)))
	}
	return d
}

// checkTombstone fails the test if got differs from want in any field.
func checkTombstone(t *testing.T, what string, got, want store.Tombstone) {
	t.Helper()
	if d := diffTombstone(got, want); len(d) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(d, "\n  "))
	}
}

func fmtTime(tm time.Time) string {
	if tm.IsZero() {
		return "zero"
	}
	return tm.UTC().Format("15:04:05.000 2006-01-02")
}

// sids returns the sids of recs in order.
func sids(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.SID
	}
	return out
}
