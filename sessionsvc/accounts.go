package sessionsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// ErrReasonRequired is returned when an action that must say why was given
// no reason.
var ErrReasonRequired = errors.New("sessionsvc: a reason is required")

// UserAccount is what the console shows of one account.
type UserAccount struct {
	Username string
	Role     string // "" for a name without an account in the config
	Known    bool   // the config has the account
	// ConfigDisabled is the config's `disabled: true`; Disabled is the flag an
	// administrator set in the store. Either refuses the sign-in.
	ConfigDisabled bool
	Disabled       bool
}

// Account returns user's account and whether it is disabled: one store read.
func (s *Service) Account(ctx context.Context, user string) (UserAccount, error) {
	a, known := s.account(user)
	disabled, err := s.st.AccountDisabled(ctx, user)
	if err != nil {
		return UserAccount{}, s.unavailable("account state", err)
	}
	return UserAccount{Username: user, Role: a.Role, Known: known, ConfigDisabled: a.Disabled, Disabled: disabled}, nil
}

// DisableUser disables user's account in the store, so that no app instance
// signs it in again, then ends every live session of the user with reason
// account_disabled; ending the sessions alone would not stop someone who
// knows the password. The flag is set first, so a sign-in racing the
// disable is either refused or its session ended. reason is required. It
// returns how many sessions it ended; the action is audited as "disable".
func (s *Service) DisableUser(ctx context.Context, user, actor, reason string) (int, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return 0, ErrReasonRequired
	}
	if user == "" {
		return 0, fmt.Errorf("%w: empty user", ErrNotFound)
	}
	var n int
	err := s.audited(ctx, actor, "disable", user, reason, func() (int, error) {
		if err := s.st.SetAccountDisabled(ctx, user, true); err != nil {
			return 0, s.unavailable("disable account", err)
		}
		var err error
		n, err = s.endUser(ctx, user, nil, store.ReasonAccountDisabled, actor, reason)
		return n, err
	})
	if err == nil {
		s.log.InfoContext(ctx, "account disabled", slog.String("user", user), slog.String("actor", actor), slog.Int("sessions_ended", n))
	}
	return n, err
}

// EnableUser lifts an administrator's disable of user; the config's
// `disabled: true` still applies. Audited as "enable".
func (s *Service) EnableUser(ctx context.Context, user, actor string) error {
	if user == "" {
		return fmt.Errorf("%w: empty user", ErrNotFound)
	}
	err := s.audited(ctx, actor, "enable", user, "", func() (int, error) {
		if err := s.st.SetAccountDisabled(ctx, user, false); err != nil {
			return 0, s.unavailable("enable account", err)
		}
		return 0, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "account enabled", slog.String("user", user), slog.String("actor", actor))
	}
	return err
}
