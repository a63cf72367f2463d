package storetest

import (
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func testCreate(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("FieldsRoundTrip", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		rec := store.Record{
			SID:             "s-full",
			TokenHash:       TokenHash("s-full", 0),
			User:            "ana",
			Role:            "analyst",
			CreatedAt:       now.Add(-1500 * time.Millisecond),
			AuthenticatedAt: now.Add(-1499 * time.Millisecond),
			LastActivity:    now.Add(-3 * time.Millisecond),
			ExpiresAt:       now.Add(timeout + 1*time.Millisecond),
			IdleAt:          now.Add(idle + 2*time.Millisecond),
			LifetimeAt:      now.Add(lifetime + 3*time.Millisecond),
			FirstIP:         "2001:db8::1",
			LastIP:          "203.0.113.9",
			FirstUserAgent:  "Mozilla/5.0 (Macintosh) Safari/17",
			LastUserAgent:   "Mozilla/5.0 (Macintosh) Safari/18 \"quoted\" ünïcode",
			IPChanged:       true,
			UAChanged:       true,
			Device:          "Safari on macOS",
			Fingerprint:     "d2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26",
			Path:            "/workspace/analysis?id=42&tab=results",
			Processing:      "running",
			Progress:        57,
			StateVersion:    12,
			RecoveredFrom:   "s-old",
		}
		mustCreate(t, s, rec, now)
		checkRecord(t, "Get", mustGet(t, s, rec.SID, now), rec)

		// A Get at another instant returns the same record.
		checkRecord(t, "Get a minute later", mustGet(t, s, rec.SID, now.Add(time.Minute)), rec)

		page, err := s.List(t.Context(), store.Query{}, now)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(page.Records) != 1 || page.Total != 1 {
			t.Fatalf("List: got %d records, total %d; want 1, 1", len(page.Records), page.Total)
		}
		checkRecord(t, "List row", page.Records[0], rec)
	})

	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		s := newStore(t)
		wantNoRecord(t, s, "s-unknown", baseTime())
	})
}
