package redis

import (
	"context"
	"fmt"

	redigo "github.com/gomodule/redigo/redis"
)

// disabledKey is the SET of disabled account names (no TTL: an account stays
// disabled until an administrator enables it).
func (s *Store) disabledKey() string { return s.prefix + "disabled" }

// SetAccountDisabled adds user to or removes user from the disabled set.
func (s *Store) SetAccountDisabled(ctx context.Context, user string, disabled bool) error {
	cmd := "SREM"
	if disabled {
		cmd = "SADD"
	}
	if _, err := s.do(ctx, cmd, s.disabledKey(), user); err != nil {
		return fmt.Errorf("redis: set account %s disabled=%t: %w", user, disabled, err)
	}
	return nil
}

// AccountDisabled reports whether user is in the disabled set: one SISMEMBER.
func (s *Store) AccountDisabled(ctx context.Context, user string) (bool, error) {
	ok, err := redigo.Bool(s.do(ctx, "SISMEMBER", s.disabledKey(), user))
	if err != nil {
		return false, fmt.Errorf("redis: account %s disabled: %w", user, err)
	}
	return ok, nil
}
