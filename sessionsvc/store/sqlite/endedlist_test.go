package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// TestListEndedPlans checks that each arm of a ListEnded page walks the
// index the doc comment promises, in order (the arms are merged, never
// sorted), seeking to the cursor, and that the total counts from an index.
func TestListEndedPlans(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	cursor := store.EncodeCursor(ms(testNow), "s-0000100")
	cases := []struct {
		q                     store.EndedQuery
		endedIndex, archIndex string
		archCount             string
	}{
		{store.EndedQuery{}, "ended_at", "archived_at", "COVERING INDEX archived_retention"},
		{store.EndedQuery{User: "u1"}, "ended_user_at", "archived_user_at", "COVERING INDEX archived_user_at"},
		{store.EndedQuery{Reason: store.ReasonIdle}, "ended_at", "archived_reason_at", "COVERING INDEX archived_reason_at"},
		{store.EndedQuery{Recoverable: true}, "ended_at", "archived_recovery_at", "COVERING INDEX archived_recovery_at"},
		{store.EndedQuery{Reason: store.ReasonIdle, Recoverable: true}, "ended_at", "archived_reason_at", "COVERING INDEX archived_reason_at"},
		{store.EndedQuery{User: "u1", Reason: store.ReasonIdle, Recoverable: true}, "ended_user_at", "archived_user_at", "INDEX archived_user_at"},
	}
	for _, c := range cases {
		for _, cur := range []string{"", cursor} {
			t.Run(fmt.Sprintf("%+v/cursor=%v", c.q, cur != ""), func(t *testing.T) {
				q := c.q
				q.Cursor = cur
				q, err := store.NormalizeEndedQuery(q)
				if err != nil {
					t.Fatal(err)
				}
				lq, err := buildListEnded(q, ms(testNow))
				if err != nil {
					t.Fatal(err)
				}
				plan := explain(t, s, lq.page, lq.pageArgs)
				t.Logf("page plan: %s", plan)
				for _, idx := range []string{"ended USING INDEX " + c.endedIndex, "archived USING INDEX " + c.archIndex} {
					if !strings.Contains(plan, idx+" ") && !strings.HasSuffix(plan, idx) {
						t.Errorf("page plan %q does not walk %s", plan, idx)
					}
				}
				if !strings.Contains(plan, "MERGE (UNION ALL)") || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("page plan %q: want the arms merged, nothing sorted", plan)
				}
				if cur != "" && strings.Count(plan, "SEARCH") != 2 {
					t.Errorf("page plan with cursor %q does not seek in both indexes", plan)
				}
				plan = explain(t, s, lq.total, lq.totalArgs)
				t.Logf("total plan: %s", plan)
				if !strings.Contains(plan, "archived USING "+c.archCount) {
					t.Errorf("total plan %q does not count archives with %s", plan, c.archCount)
				}
			})
		}
	}
}

// TestArchiveKeepsRecoveryPoint checks that the archived row takes the
// recovery window and claim from the ended row, and that archiving again
// keeps them (ON CONFLICT keeps the first copy).
func TestArchiveKeepsRecoveryPoint(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	seed(t, s, 2, testNow)
	tomb := store.Tombstone{Reason: store.ReasonIdle, Actor: "system", At: testNow}
	if n, err := s.EndMany(ctx, []string{"s-0000000", "s-0000001"}, tomb, time.Hour); err != nil || n != 2 {
		t.Fatalf("EndMany = %d, %v", n, err)
	}
	if _, ok, err := s.ClaimRecovery(ctx, "s-0000001", "u0", testNow.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("ClaimRecovery = %v, %v", ok, err)
	}
	ended, err := s.Ended(ctx, testNow.Add(time.Hour), 10)
	if err != nil || len(ended) != 2 {
		t.Fatalf("Ended = %d, %v", len(ended), err)
	}
	for range 2 {
		for _, e := range ended {
			if err := s.Archive(ctx, e, testNow.Add(time.Hour), 24*time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := s.read.QueryContext(ctx, "SELECT sid, recover_until, claimed FROM archived ORDER BY sid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var sid string
		var ru, claimed int64
		if err := rows.Scan(&sid, &ru, &claimed); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d %d", sid, ru-ms(testNow), claimed))
	}
	want := []string{"s-0000000 3600000 0", "s-0000001 3600000 1"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("archived (sid, recover_until - end, claimed) = %q, want %q", got, want)
	}
}
