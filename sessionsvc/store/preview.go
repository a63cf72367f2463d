package store

import (
	"context"
	"time"
)

// Preview is what an admin saw before confirming a bulk termination: the
// sessions that were live and matched, and whose they are. Only these may end
// on confirm, so a session started after the preview never does.
type Preview struct {
	Actor     string   // the admin who asked; only they may confirm it
	SIDs      []string // the previewed sessions
	Users     []string // their distinct users, sorted
	Filter    string   // a human description of what was selected
	CreatedAt time.Time
}

// Previews keeps bulk-termination previews server-side, never in the admin's
// cookie blob, for a short time.
type Previews interface {
	// SavePreview stores p under id until p.CreatedAt+ttl (the callers'
	// clock); a backend may also drop it that long after in real time.
	// Saving an id again replaces it.
	SavePreview(ctx context.Context, id string, p Preview, ttl time.Duration) error
	// Preview returns the preview saved under id; unknown, or expired at now
	// (now at or after CreatedAt+ttl), is found=false.
	Preview(ctx context.Context, id string, now time.Time) (Preview, bool, error)
}
