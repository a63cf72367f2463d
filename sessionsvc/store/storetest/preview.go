package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testPreviews holds the bulk-termination previews to their contract: a round
// trip keeps every field, the callers' clock ends a preview at CreatedAt+ttl,
// and an unknown id is found=false without an error.
func testPreviews(t *testing.T, newStore func(t *testing.T) store.Store) {
	const ttl = 5 * time.Minute
	load := func(t *testing.T, s store.Store, id string, now time.Time) (store.Preview, bool) {
		t.Helper()
		p, ok, err := s.Preview(t.Context(), id, now)
		if err != nil {
			t.Fatalf("Preview(%s): %v", id, err)
		}
		return p, ok
	}
	save := func(t *testing.T, s store.Store, id string, p store.Preview) {
		t.Helper()
		if err := s.SavePreview(t.Context(), id, p, ttl); err != nil {
			t.Fatalf("SavePreview(%s): %v", id, err)
		}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		want := store.Preview{
			Actor: "adam", SIDs: []string{"s1", "s2", "s3"}, Users: []string{"ana", "bob"},
			Filter: "role analyst", CreatedAt: now,
		}
		save(t, s, "p1", want)
		got, ok := load(t, s, "p1", now.Add(time.Second))
		if !ok {
			t.Fatalf("Preview(p1) right after saving: not found")
		}
		if got.Actor != want.Actor || got.Filter != want.Filter || !got.CreatedAt.Equal(want.CreatedAt) ||
			!slices.Equal(got.SIDs, want.SIDs) || !slices.Equal(got.Users, want.Users) {
			t.Errorf("Preview(p1) = %+v, want %+v", got, want)
		}
		// Saving the id again replaces the preview.
		again := want
		again.SIDs = []string{"s9"}
		save(t, s, "p1", again)
		if got, _ := load(t, s, "p1", now.Add(time.Second)); !slices.Equal(got.SIDs, again.SIDs) {
			t.Errorf("Preview(p1) after saving again: SIDs %v, want %v", got.SIDs, again.SIDs)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		now := baseTime()
		save(t, s, "p1", store.Preview{Actor: "adam", SIDs: []string{"s1"}, Users: []string{"ana"}, CreatedAt: now})
		if _, ok := load(t, s, "p1", now.Add(ttl-time.Millisecond)); !ok {
			t.Errorf("Preview just before its end: not found, want found")
		}
		if _, ok := load(t, s, "p1", now.Add(ttl)); ok {
			t.Errorf("Preview at CreatedAt+ttl: found, want expired")
		}
		if _, ok := load(t, s, "p1", now.Add(6*time.Minute)); ok {
			t.Errorf("Preview 6 minutes on: found, want expired")
		}
		// A later save (pruning what expired) leaves live previews alone.
		save(t, s, "p2", store.Preview{Actor: "adam", SIDs: []string{"s2"}, CreatedAt: now.Add(time.Minute)})
		if _, ok := load(t, s, "p2", now.Add(2*time.Minute)); !ok {
			t.Errorf("Preview(p2): not found, want found")
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		s := newStore(t)
		if p, ok := load(t, s, "never-saved", baseTime()); ok {
			t.Errorf("Preview of an unknown id = %+v, want not found", p)
		}
	})
}
