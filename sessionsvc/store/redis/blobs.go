package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// FindCtx reads a blob with exactly one GET (the key scs/redisstore would
// read), on a connection borrowed through the gate like every other call:
// ctx bounds the wait for a connection, and a call while Redis is down fails
// at once.
func (s *Store) FindCtx(ctx context.Context, tokenHash string) ([]byte, bool, error) {
	b, err := redigo.Bytes(s.do(ctx, "GET", s.prefix+"b:"+tokenHash))
	switch {
	case errors.Is(err, redigo.ErrNil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("redis: find blob: %w", err)
	}
	return b, true, nil
}

// Find is FindCtx with a background context.
func (s *Store) Find(tokenHash string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), tokenHash)
}

// CommitCtx writes the blob, and the Touch of the CommitInfo in ctx, with one
// script that checks the registry record first (see store.Blobs). The blob
// expires at the later of expiry and the record's deadline, plus Grace.
func (s *Store) CommitCtx(ctx context.Context, tokenHash string, b []byte, expiry time.Time) error {
	info, ok := store.CommitFrom(ctx)
	if !ok {
		return store.ErrNoCommitInfo
	}
	args := []any{
		info.SID, tokenHash, b,
		s.ttlAt(expiry), s.grace.Milliseconds(), s.ttlAt(time.Time{}),
	}
	if t := info.Touch; t != nil {
		args = append(args, "1", millis(t.LastActivity), millis(t.ExpiresAt), millis(t.IdleAt),
			t.IP, t.UserAgent, t.Path)
	} else {
		args = append(args, "0", "", "", "", "", "", "")
	}
	n, err := redigo.Int(s.run(ctx, scriptCommit, args...))
	if err != nil {
		return fmt.Errorf("redis: commit blob of %s: %w", info.SID, err)
	}
	if n == 0 {
		return store.ErrSessionGone
	}
	return nil
}

// Commit is CommitCtx with a background context, which carries no CommitInfo:
// it always fails with store.ErrNoCommitInfo. It exists to satisfy scs.Store.
func (s *Store) Commit(tokenHash string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), tokenHash, b, expiry)
}

// DeleteCtx deletes the blob only.
func (s *Store) DeleteCtx(ctx context.Context, tokenHash string) error {
	if _, err := s.do(ctx, "DEL", s.prefix+"b:"+tokenHash); err != nil {
		return fmt.Errorf("redis: delete blob: %w", err)
	}
	return nil
}

// Delete is DeleteCtx with a background context.
func (s *Store) Delete(tokenHash string) error {
	return s.DeleteCtx(context.Background(), tokenHash)
}
