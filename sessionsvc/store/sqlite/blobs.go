package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// FindCtx returns the blob stored under tokenHash. The blob's expiry is not
// compared with the clock: a blob only exists while its session's record does
// (End and Rekey delete it), and the session middleware checks the deadlines
// the blob carries.
func (s *Store) FindCtx(ctx context.Context, tokenHash string) ([]byte, bool, error) {
	var b []byte
	err := s.read.QueryRowContext(ctx, "SELECT data FROM blobs WHERE token_hash = ?", tokenHash).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: find blob: %w", err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, true, nil
}

// CommitCtx writes the blob and the CommitInfo's Touch in one transaction,
// only while the session has a record carrying tokenHash.
func (s *Store) CommitCtx(ctx context.Context, tokenHash string, b []byte, expiry time.Time) error {
	info, ok := store.CommitFrom(ctx)
	if !ok {
		return store.ErrNoCommitInfo
	}
	if b == nil {
		b = []byte{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if t := info.Touch; t != nil {
			// An empty IP or user agent (not known for this request) keeps
			// the last one rather than erase it.
			res, err := tx.ExecContext(ctx, `
UPDATE sessions SET
	last_activity = ?3, expires_at = ?4, idle_at = ?5,
	deadline = min(?4, ?5, lifetime_at),
	path = ?6,
	last_ip = CASE WHEN ?7 = '' THEN last_ip ELSE ?7 END,
	last_ua = CASE WHEN ?8 = '' THEN last_ua ELSE ?8 END,
	ip_changed = ip_changed OR (?7 <> '' AND ?7 <> first_ip),
	ua_changed = ua_changed OR (?8 <> '' AND ?8 <> first_ua)
WHERE sid = ?1 AND token_hash = ?2`,
				info.SID, tokenHash, ms(t.LastActivity), ms(t.ExpiresAt), ms(t.IdleAt),
				t.Path, t.IP, t.UserAgent)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return store.ErrSessionGone
			}
		} else {
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM sessions WHERE sid = ? AND token_hash = ?",
				info.SID, tokenHash).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrSessionGone
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO blobs (token_hash, data, expiry) VALUES (?, ?, ?)
ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
			tokenHash, b, ms(expiry))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: commit blob of %s: %w", info.SID, err)
	}
	return nil
}

// DeleteCtx removes the blob only.
func (s *Store) DeleteCtx(ctx context.Context, tokenHash string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM blobs WHERE token_hash = ?", tokenHash); err != nil {
		return fmt.Errorf("sqlite: delete blob: %w", err)
	}
	return nil
}

// Find is FindCtx with a background context, for scs.Store.
func (s *Store) Find(tokenHash string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), tokenHash)
}

// Commit is CommitCtx with a background context, for scs.Store. It carries no
// CommitInfo, so it always fails with store.ErrNoCommitInfo.
func (s *Store) Commit(tokenHash string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), tokenHash, b, expiry)
}

// Delete is DeleteCtx with a background context, for scs.Store.
func (s *Store) Delete(tokenHash string) error {
	return s.DeleteCtx(context.Background(), tokenHash)
}
