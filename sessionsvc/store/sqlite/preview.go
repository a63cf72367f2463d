package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// SavePreview stores p as JSON until p.CreatedAt+ttl and drops a batch of
// previews that expired by p.CreatedAt, so abandoned previews do not pile up.
func (s *Store) SavePreview(ctx context.Context, id string, p store.Preview, ttl time.Duration) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("sqlite: encode preview: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
DELETE FROM previews WHERE id IN (
	SELECT id FROM previews INDEXED BY previews_expiry WHERE expires_at <= ?1 LIMIT ?2)`,
			ms(p.CreatedAt), pruneBatch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO previews (id, data, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
			id, b, ms(p.CreatedAt.Add(ttl)))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: save preview: %w", err)
	}
	return nil
}

// Preview returns the preview saved under id while it has not expired at now.
func (s *Store) Preview(ctx context.Context, id string, now time.Time) (store.Preview, bool, error) {
	var b []byte
	err := s.read.QueryRowContext(ctx,
		"SELECT data FROM previews WHERE id = ? AND expires_at > ?", id, ms(now)).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Preview{}, false, nil
	}
	if err != nil {
		return store.Preview{}, false, fmt.Errorf("sqlite: load preview: %w", err)
	}
	var p store.Preview
	if err := json.Unmarshal(b, &p); err != nil {
		return store.Preview{}, false, fmt.Errorf("sqlite: decode preview: %w", err)
	}
	return p, true, nil
}
