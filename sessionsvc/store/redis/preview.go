package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// storedPreview is a preview with its end by the callers' clock, which Preview
// checks against now; Redis's own expiry (PX ttl in real time) only keeps
// abandoned previews from piling up.
type storedPreview struct {
	store.Preview
	ExpiresAt time.Time
}

func (s *Store) previewKey(id string) string { return s.prefix + "pv:" + id }

// SavePreview stores p as JSON with one SET ... PX ttl.
func (s *Store) SavePreview(ctx context.Context, id string, p store.Preview, ttl time.Duration) error {
	b, err := json.Marshal(storedPreview{Preview: p, ExpiresAt: p.CreatedAt.Add(ttl)})
	if err != nil {
		return fmt.Errorf("redis: encode preview: %w", err)
	}
	px := ttl.Milliseconds()
	if px <= 0 {
		px = 1
	}
	if _, err := s.do(ctx, "SET", s.previewKey(id), b, "PX", px); err != nil {
		return fmt.Errorf("redis: save preview: %w", err)
	}
	return nil
}

// Preview returns the preview saved under id while it has not expired at now.
func (s *Store) Preview(ctx context.Context, id string, now time.Time) (store.Preview, bool, error) {
	b, err := redigo.Bytes(s.do(ctx, "GET", s.previewKey(id)))
	if errors.Is(err, redigo.ErrNil) {
		return store.Preview{}, false, nil
	}
	if err != nil {
		return store.Preview{}, false, fmt.Errorf("redis: load preview: %w", err)
	}
	var sp storedPreview
	if err := json.Unmarshal(b, &sp); err != nil {
		return store.Preview{}, false, fmt.Errorf("redis: decode preview: %w", err)
	}
	if !now.Before(sp.ExpiresAt) {
		return store.Preview{}, false, nil
	}
	return sp.Preview, true, nil
}
