package views

import (
	"strings"
	"testing"
	"time"
)

func TestSystemPage(t *testing.T) {
	base := SystemProps{
		Layout: signedIn("operator"), CheckedAt: now, Version: "v1.2.3", Instance: "inst-" + hostile,
		Backend: "redis", StoreUp: true, StoreLatency: 1500 * time.Microsecond,
		CleanupEnabled: true, CleanupInterval: 5 * time.Minute,
		AnalyticsOn: true, BufferLen: 3, BufferCap: 1000, EventsDropped: 7,
		Encryption: true, KeyIDs: []string{"new", "old"},
	}
	t.Run("up", func(t *testing.T) {
		p := base
		p.LeaseHeld, p.LeaseHolder, p.LeaseUntil, p.LeaseMine = true, hostile, now.Add(time.Minute), false
		p.LastPass = &SystemPass{At: now.Add(-time.Minute), Duration: 20 * time.Millisecond, Ended: 4, Archived: 3, Purged: 0}
		pg := render(t, SystemPage(p))
		assertSafe(t, pg)
		checks := map[string]string{
			"system-store-status": "up", "system-store-latency": "1.5 ms", "system-backend": "redis",
			"system-lease-holder": hostile, "system-pass-ended": "4", "system-pass-archived": "3",
			"system-buffer": "3 of 1000", "system-dropped": "7", "system-version": "v1.2.3",
		}
		for id, want := range checks {
			if got := text(pg.one(t, id)); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
		keys := pg.testIDs("system-key")
		if len(keys) != 2 || !strings.HasPrefix(text(keys[0]), "new") || !strings.Contains(text(keys[0]), "primary") || strings.Contains(text(keys[1]), "primary") {
			t.Errorf("keys rendered wrong: %d", len(keys))
		}
		pg.none(t, "system-store-error")
		pg.none(t, "system-lease-free")
		for _, f := range pg.all(byTag("form")) {
			if ancestor(f, "main") != nil {
				t.Errorf("System page has an action form: it is read-only")
			}
		}
	})
	t.Run("down", func(t *testing.T) {
		p := base
		p.StoreUp, p.StoreErr, p.LeaseErr = false, "dial tcp: "+hostile, "store unreachable"
		p.Encryption, p.KeyIDs, p.AnalyticsOn = false, nil, false
		pg := render(t, SystemPage(p))
		assertSafe(t, pg)
		if got := text(pg.one(t, "system-store-status")); got != "down" {
			t.Errorf("status = %q, want down", got)
		}
		if got := text(pg.one(t, "system-store-error")); got != "dial tcp: "+hostile {
			t.Errorf("error = %q", got)
		}
		pg.one(t, "system-lease-error")
		pg.one(t, "system-encryption-off")
		pg.one(t, "system-analytics-off")
		if got := text(pg.one(t, "system-last-pass")); !strings.Contains(got, "none") {
			t.Errorf("last pass = %q, want none", got)
		}
	})
}
