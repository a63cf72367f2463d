package storetest

import (
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// testAccounts checks that disabling and enabling accounts is kept per user
// and idempotent both ways.
func testAccounts(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	check := func(user string, want bool) {
		t.Helper()
		got, err := s.AccountDisabled(ctx, user)
		if err != nil {
			t.Fatalf("AccountDisabled(%s): %v", user, err)
		}
		if got != want {
			t.Fatalf("AccountDisabled(%s) = %t, want %t", user, got, want)
		}
	}
	set := func(user string, disabled bool) {
		t.Helper()
		if err := s.SetAccountDisabled(ctx, user, disabled); err != nil {
			t.Fatalf("SetAccountDisabled(%s, %t): %v", user, disabled, err)
		}
	}
	check("alice", false) // unknown user: not disabled
	set("alice", false)   // enabling an enabled account is no error
	check("alice", false)
	set("alice", true)
	set("alice", true) // twice is no error
	check("alice", true)
	check("bob", false) // per user
	check("Alice", false)
	set("bob", true)
	set("alice", false)
	check("alice", false)
	check("bob", true)
}
