package sqlite

import (
	"context"
	"fmt"
)

// SetAccountDisabled inserts user into or deletes user from disabled_accounts.
func (s *Store) SetAccountDisabled(ctx context.Context, user string, disabled bool) error {
	q := "DELETE FROM disabled_accounts WHERE username = ?"
	if disabled {
		q = "INSERT INTO disabled_accounts (username) VALUES (?) ON CONFLICT (username) DO NOTHING"
	}
	if _, err := s.write.ExecContext(ctx, q, user); err != nil {
		return fmt.Errorf("sqlite: set account %s disabled=%t: %w", user, disabled, err)
	}
	return nil
}

// AccountDisabled reports whether user has a row in disabled_accounts.
func (s *Store) AccountDisabled(ctx context.Context, user string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx,
		"SELECT count(*) FROM disabled_accounts WHERE username = ?", user).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: account %s disabled: %w", user, err)
	}
	return n > 0, nil
}
