package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

const (
	timeout  = 30 * time.Minute
	idle     = 20 * time.Minute
	lifetime = 12 * time.Hour
)

// testNow is a fixed clock: these tests never depend on the real time.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// seed inserts n sessions in one transaction, bypassing Create's per-user
// limit (and recounting the counters Create would keep): users u0..u(n/3), roles cycling over three, activity spread one
// millisecond apart. It returns their sids.
func seed(tb testing.TB, s *Store, n int, now time.Time) []string {
	tb.Helper()
	roles := []string{"analyst", "operator", "admin"}
	sids := make([]string, n)
	err := s.inTx(tb.Context(), func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(tb.Context(), "INSERT INTO sessions ("+recordCols+", deadline) VALUES ("+placeholders(1, 24)+")")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			sid := fmt.Sprintf("s-%07d", i)
			sids[i] = sid
			at := now.Add(-time.Duration(n-i) * time.Millisecond)
			rec := storetest.NewRecord(sid, fmt.Sprintf("u%d", i/3), roles[i%3], at, timeout, idle, lifetime)
			args := append(recordArgs(rec), deadlineMS(ms(rec.ExpiresAt), ms(rec.IdleAt), ms(rec.LifetimeAt)))
			if _, err := stmt.ExecContext(tb.Context(), args...); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(tb.Context(), `DELETE FROM counts;
INSERT INTO counts (k, n) SELECT '', count(*) FROM sessions
	UNION ALL SELECT 'r:' || role, count(*) FROM sessions GROUP BY role`)
		return err
	})
	if err != nil {
		tb.Fatalf("seed %d sessions: %v", n, err)
	}
	return sids
}

// checkCounts fails the test unless the trigger-kept counters agree with the
// sessions table.
func checkCounts(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), `
SELECT k, n, (SELECT count(*) FROM sessions WHERE k = '' OR k = 'r:' || role) FROM counts`)
	if err != nil {
		t.Fatalf("read counts: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n, want int
		if err := rows.Scan(&k, &n, &want); err != nil {
			t.Fatalf("read counts: %v", err)
		}
		if n != want {
			t.Errorf("counter %q = %d, sessions table has %d", k, n, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read counts: %v", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	first, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	// flock locks belong to the open file description, so a second open in
	// the same process conflicts just as another process would.
	second, err := Open(t.Context(), Options{Path: path})
	if !errors.Is(err, store.ErrLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second Open error %q does not say the file is in use", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := third.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestLockHelperProcess is not a test: TestLockedByAnotherProcess runs it in
// a child process to open the database there.
func TestLockHelperProcess(t *testing.T) {
	path := os.Getenv("SQLITE_LOCK_HELPER_PATH")
	if path == "" {
		t.Skip("helper process for TestLockedByAnotherProcess")
	}
	s, err := Open(context.Background(), Options{Path: path})
	switch {
	case errors.Is(err, store.ErrLocked):
		fmt.Println("LOCKED")
	case err != nil:
		fmt.Println("ERROR", err)
	default:
		s.Close()
		fmt.Println("OPENED")
	}
}

func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	child := func() string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SQLITE_LOCK_HELPER_PATH="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		return string(out)
	}
	s := openTest(t, Options{Path: path})
	if out := child(); !strings.Contains(out, "LOCKED") {
		t.Fatalf("child process while the store is open: got %q, want LOCKED", out)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if out := child(); !strings.Contains(out, "OPENED") {
		t.Fatalf("child process after Close: got %q, want OPENED", out)
	}
}

func TestReopenKeepsSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "sessions.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rec := storetest.NewRecord("s-keep", "ana", "analyst", testNow, timeout, idle, lifetime)
	if _, err := s.Create(t.Context(), rec, 3, testNow, time.Hour); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("parent directory: mode %v, err %v; want 0700", fi.Mode().Perm(), err)
	}

	s = openTest(t, Options{Path: path})
	if _, found, err := s.Get(t.Context(), rec.SID, testNow); err != nil || !found {
		t.Fatalf("Get after reopen: found %v, err %v; want found", found, err)
	}
	var mode string
	if err := s.read.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (err %v), want wal", mode, err)
	}
}

func TestMemoryStoresAreSeparate(t *testing.T) {
	a := openTest(t, Options{})
	b := openTest(t, Options{Path: ":memory:"})
	rec := storetest.NewRecord("s-a", "ana", "analyst", testNow, timeout, idle, lifetime)
	if _, err := a.Create(t.Context(), rec, 3, testNow, time.Hour); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, found, err := b.Get(t.Context(), rec.SID, testNow); err != nil || found {
		t.Fatalf("Get on another memory store: found %v, err %v; want not found", found, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.write.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", schemaVersion+1)); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	s.Close()
	s, err = Open(t.Context(), Options{Path: path})
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema: got nil error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: got %v, want a version error", err)
	}
}

func TestEndManyChunks(t *testing.T) {
	s := openTest(t, Options{})
	s.endBatch = 1000 // two transactions
	const n = 1234    // three statement chunks
	sids := seed(t, s, n, testNow)
	for _, sid := range sids[:10] {
		ctx := store.WithCommit(t.Context(), store.CommitInfo{SID: sid})
		if err := s.CommitCtx(ctx, storetest.TokenHash(sid, 0), []byte("blob "+sid), testNow.Add(timeout)); err != nil {
			t.Fatalf("CommitCtx: %v", err)
		}
	}
	// Duplicates and unknown sids are not counted.
	list := append(append([]string{"s-unknown"}, sids...), sids[:700]...)
	tomb := store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", Note: "bulk", At: testNow}
	got, err := s.EndMany(t.Context(), list, tomb, time.Hour)
	if err != nil {
		t.Fatalf("EndMany: %v", err)
	}
	if got != n {
		t.Errorf("EndMany ended %d, want %d", got, n)
	}
	if got, err := s.EndMany(t.Context(), list, tomb, time.Hour); err != nil || got != 0 {
		t.Errorf("EndMany again: got (%d, %v), want (0, nil)", got, err)
	}
	page, err := s.List(t.Context(), store.Query{}, testNow)
	if err != nil || page.Total != 0 || len(page.Records) != 0 {
		t.Errorf("List after EndMany: total %d, %d records, err %v; want empty", page.Total, len(page.Records), err)
	}
	checkCounts(t, s)
	ended, err := s.Ended(t.Context(), testNow.Add(time.Hour), 2*n)
	if err != nil || len(ended) != n {
		t.Fatalf("Ended: %d sessions, err %v; want %d", len(ended), err, n)
	}
	withBlob := 0
	for _, e := range ended {
		if e.Blob != nil {
			withBlob++
			if want := "blob " + e.Record.SID; string(e.Blob) != want {
				t.Errorf("ended %s blob = %q, want %q", e.Record.SID, e.Blob, want)
			}
		}
		if e.Tombstone.SID != e.Record.SID || e.Tombstone.TokenHash != e.Record.TokenHash || e.Tombstone.User != e.Record.User {
			t.Errorf("ended %s tombstone %+v does not name its session", e.Record.SID, e.Tombstone)
		}
	}
	if withBlob != 10 {
		t.Errorf("ended sessions with a blob: %d, want 10", withBlob)
	}
	for _, sid := range []string{sids[0], sids[n-1]} {
		if _, found, err := s.FindCtx(t.Context(), storetest.TokenHash(sid, 0)); err != nil || found {
			t.Errorf("FindCtx after EndMany: found %v, err %v", found, err)
		}
		tb, found, err := s.Tombstone(t.Context(), storetest.TokenHash(sid, 0))
		if err != nil || !found || tb.SID != sid || tb.Reason != store.ReasonTerminated || tb.Note != "bulk" {
			t.Errorf("Tombstone of %s: %+v found %v err %v", sid, tb, found, err)
		}
	}
}

func TestCountersFollowWrites(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	for i, role := range []string{"analyst", "analyst", "operator"} {
		rec := storetest.NewRecord(fmt.Sprintf("s-%d", i), "ana", role, testNow, timeout, idle, lifetime)
		if _, err := s.Create(ctx, rec, 0, testNow, time.Hour); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if err := s.Rekey(ctx, "s-0", storetest.TokenHash("s-0", 0), storetest.TokenHash("s-0", 1), "admin", testNow); err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	checkCounts(t, s)
	totals := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, role := range []string{"", "analyst", "operator", "admin"} {
			page, err := s.List(ctx, store.Query{Filter: store.Filter{Role: role}}, testNow)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			out[role] = page.Total
		}
		return out
	}
	if got, want := totals(), map[string]int{"": 3, "analyst": 1, "operator": 1, "admin": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("totals after Rekey: got %v, want %v", got, want)
	}
	// At the deadline nothing counts, though nothing has been ended yet.
	late := testNow.Add(idle)
	for _, role := range []string{"", "analyst", "admin"} {
		page, err := s.List(ctx, store.Query{Filter: store.Filter{Role: role}}, late)
		if err != nil || page.Total != 0 {
			t.Errorf("List role %q at the deadline: total %d, err %v; want 0", role, page.Total, err)
		}
	}
	if n, err := s.EndUser(ctx, "ana", []string{"s-2"}, store.Tombstone{Reason: store.ReasonSecurity, Actor: "admin", At: testNow}, time.Hour); err != nil || n != 2 {
		t.Fatalf("EndUser: got (%d, %v), want (2, nil)", n, err)
	}
	checkCounts(t, s)
	if got, want := totals(), map[string]int{"": 1, "analyst": 0, "operator": 1, "admin": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("totals after EndUser: got %v, want %v", got, want)
	}
}

func TestTombstonesArePrunedByLaterEnds(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	for _, sid := range []string{"s-a", "s-b"} {
		rec := storetest.NewRecord(sid, "user-"+sid, "analyst", testNow, timeout, idle, lifetime)
		if _, err := s.Create(ctx, rec, 3, testNow, time.Hour); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if _, err := s.End(ctx, "s-a", store.Tombstone{Reason: store.ReasonLogout, Actor: "ana", At: testNow}, time.Hour); err != nil {
		t.Fatalf("End: %v", err)
	}
	if _, found, _ := s.Tombstone(ctx, storetest.TokenHash("s-a", 0)); !found {
		t.Fatal("tombstone of s-a missing right after End")
	}
	later := testNow.Add(time.Hour)
	if _, err := s.End(ctx, "s-b", store.Tombstone{Reason: store.ReasonLogout, Actor: "bob", At: later}, time.Hour); err != nil {
		t.Fatalf("End: %v", err)
	}
	if _, found, _ := s.Tombstone(ctx, storetest.TokenHash("s-a", 0)); found {
		t.Error("tombstone of s-a still there after an End at its expiry")
	}
	if _, found, _ := s.Tombstone(ctx, storetest.TokenHash("s-b", 0)); !found {
		t.Error("tombstone of s-b missing")
	}
}

// TestListPlans checks that every List is served from the index the contract
// promises, walking it in order rather than sorting the matches.
func TestListPlans(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	seed(t, s, 300, testNow)
	cursor := store.EncodeCursor(ms(testNow), "s-0000100")
	cases := []struct {
		filter     store.Filter
		sort       store.Sort
		pageIndex  string
		sorts      bool // the page is sorted in a temporary b-tree (a user's few rows)
		totalIndex string
	}{
		{store.Filter{}, store.SortActivity, "sessions_activity", false, "sessions_deadline"},
		{store.Filter{}, store.SortCreated, "sessions_created", false, "sessions_deadline"},
		{store.Filter{}, store.SortDeadline, "sessions_deadline", false, "sessions_deadline"},
		{store.Filter{Role: "admin"}, store.SortActivity, "sessions_role_activity", false, "sessions_role_deadline"},
		{store.Filter{Role: "admin"}, store.SortCreated, "sessions_role_created", false, "sessions_role_deadline"},
		{store.Filter{Role: "admin"}, store.SortDeadline, "sessions_role_deadline", false, "sessions_role_deadline"},
		{store.Filter{User: "u1"}, store.SortActivity, "sessions_user", true, "sessions_user"},
		{store.Filter{User: "u1", Role: "admin", IP: "192.0.2.10"}, store.SortDeadline, "sessions_user", true, "sessions_user"},
		{store.Filter{IP: "192.0.2.10"}, store.SortCreated, "sessions_created", false, "sessions_deadline"},
	}
	for _, c := range cases {
		for _, cur := range []string{"", cursor} {
			name := fmt.Sprintf("%s/%+v/cursor=%v", c.sort, c.filter, cur != "")
			t.Run(name, func(t *testing.T) {
				q, err := store.NormalizeQuery(store.Query{Filter: c.filter, Sort: c.sort, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				lq, err := buildList(q, ms(testNow))
				if err != nil {
					t.Fatal(err)
				}
				plan := explain(t, s, lq.page, lq.pageArgs)
				t.Logf("page plan: %s", plan)
				if !strings.Contains(plan, "INDEX "+c.pageIndex+" ") && !strings.HasSuffix(plan, "INDEX "+c.pageIndex) {
					t.Errorf("page plan %q does not use %s", plan, c.pageIndex)
				}
				if got := strings.Contains(plan, "TEMP B-TREE"); got != c.sorts {
					t.Errorf("page plan %q: sorts = %v, want %v", plan, got, c.sorts)
				}
				if cur != "" && !c.sorts && !strings.Contains(plan, "SEARCH") {
					t.Errorf("page plan with cursor %q does not seek in the index", plan)
				}
				plan = explain(t, s, lq.total, lq.totalArgs)
				t.Logf("total plan: %s", plan)
				if !strings.Contains(plan, c.totalIndex) {
					t.Errorf("total plan %q does not use %s", plan, c.totalIndex)
				}
			})
		}
	}
}

// explain returns the query plan of query, its detail lines joined by " | ".
func explain(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatalf("explain: %v", err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, " | ")
}

// BenchmarkList100k lists the first page of 100,000 live sessions, for each
// sort, unfiltered and by role.
func BenchmarkList100k(b *testing.B) {
	s := openTest(b, Options{Path: filepath.Join(b.TempDir(), "sessions.db")})
	seed(b, s, 100_000, testNow)
	for _, sort := range []store.Sort{store.SortActivity, store.SortCreated, store.SortDeadline} {
		for _, role := range []string{"", "analyst"} {
			b.Run(fmt.Sprintf("sort=%s/role=%s", sort, role), func(b *testing.B) {
				q := store.Query{Sort: sort, Filter: store.Filter{Role: role}}
				for b.Loop() {
					page, err := s.List(b.Context(), q, testNow)
					if err != nil {
						b.Fatal(err)
					}
					if len(page.Records) != 50 || page.Total < 33_333 {
						b.Fatalf("List: %d records, total %d", len(page.Records), page.Total)
					}
				}
			})
		}
	}
}

// BenchmarkEndMany100k ends 100,000 sessions in one call and reports the
// figure of issue 7 (s/100k, the wall time of the call) and the process's
// CPU time during it (cpu-s/100k), which a busy machine inflates much less.
// "bare" sessions are records alone; "blob" ones also have a 300-byte blob,
// which the end copies into the holding area and deletes.
func BenchmarkEndMany100k(b *testing.B) {
	for _, withBlobs := range []bool{false, true} {
		name := "bare"
		if withBlobs {
			name = "blob"
		}
		b.Run(name, func(b *testing.B) {
			s := openTest(b, Options{Path: filepath.Join(b.TempDir(), "sessions.db")})
			tomb := store.Tombstone{Reason: store.ReasonTerminated, Actor: "admin", At: testNow}
			var wall, cpu float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if _, err := s.write.ExecContext(b.Context(), "DELETE FROM ended; DELETE FROM tombstones"); err != nil {
					b.Fatal(err)
				}
				sids := seed(b, s, 100_000, testNow)
				if withBlobs {
					if _, err := s.write.ExecContext(b.Context(), `INSERT INTO blobs (token_hash, data, expiry)
	SELECT token_hash, randomblob(300), ? FROM sessions`, ms(testNow.Add(time.Hour))); err != nil {
						b.Fatal(err)
					}
				}
				cpu0, start := processCPU(), time.Now()
				b.StartTimer()
				n, err := s.EndMany(b.Context(), sids, tomb, time.Hour)
				b.StopTimer()
				wall += time.Since(start).Seconds()
				cpu += (processCPU() - cpu0).Seconds()
				if err != nil {
					b.Fatal(err)
				}
				if n != len(sids) {
					b.Fatalf("EndMany ended %d, want %d", n, len(sids))
				}
			}
			b.ReportMetric(wall/float64(b.N), "s/100k")
			b.ReportMetric(cpu/float64(b.N), "cpu-s/100k")
		})
	}
}
