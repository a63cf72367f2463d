package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// listPlan is how one sort reads the sessions table.
type listPlan struct {
	col       string // score column
	desc      bool   // direction of score and sid
	index     string // index without a role filter
	roleIndex string // index with a role filter
}

var listPlans = map[store.Sort]listPlan{
	store.SortActivity: {"last_activity", true, "sessions_activity", "sessions_role_activity"},
	store.SortCreated:  {"created_at", true, "sessions_created", "sessions_role_created"},
	store.SortDeadline: {"deadline", false, "sessions_deadline", "sessions_role_deadline"},
}

// List returns one page of sessions whose deadline is after now. The index
// is forced (INDEXED BY) rather than left to the planner, which without
// statistics may prefer the deadline bound and sort every live session:
//
//   - a User filter reads the user's few rows and sorts them;
//   - a Role filter walks that role's index for the sort from the cursor;
//   - otherwise the sort's own index is walked from the cursor.
//
// Rows past their deadline are skipped as the walk meets them. The total is
// a counter kept by the writes (overall and per role) minus the rows past their
// deadline, which the deadline indexes count in O(log N + due); with a User
// filter it counts the user's rows; an IP filter without User counts by
// walking the index, the O(N) case the contract allows.
func (s *Store) List(ctx context.Context, q store.Query, now time.Time) (store.Page, error) {
	q, err := store.NormalizeQuery(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	lq, err := buildList(q, ms(now))
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	var page store.Page
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		recs, err := queryRecords(ctx, tx, lq.page, lq.pageArgs...)
		if err != nil {
			return err
		}
		if len(recs) > q.Limit {
			recs = recs[:q.Limit]
			last := recs[len(recs)-1]
			page.Next = store.EncodeCursor(store.Score(last, q.Sort), last.SID)
		}
		page.Records = recs
		return tx.QueryRowContext(ctx, lq.total, lq.totalArgs...).Scan(&page.Total)
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	return page, nil
}

// listQueries are the two statements of one List: the page (Limit+1 rows,
// the extra one tells whether there is a next page) and the total.
type listQueries struct {
	page      string
	pageArgs  []any
	total     string
	totalArgs []any
}

// buildList returns the statements for q, a normalized query, at nowMS.
func buildList(q store.Query, nowMS int64) (listQueries, error) {
	plan := listPlans[q.Sort]
	f := q.Filter

	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	index := plan.index
	switch {
	case f.User != "":
		index = "sessions_user"
	case f.Role != "":
		index = plan.roleIndex
	}
	if f.User != "" {
		add("username = ?", f.User)
	}
	if f.Role != "" {
		add("role = ?", f.Role)
	}
	deadlineAt, deadlineArg := len(where), len(args)
	add("deadline > ?", nowMS)
	if f.IP != "" {
		add("(last_ip = ? OR first_ip = ?)", f.IP, f.IP)
	}
	var lq listQueries
	lq.total, lq.totalArgs = totalQuery(f, strings.Join(where, " AND "), append([]any(nil), args...), nowMS)

	if q.Cursor != "" {
		score, sid, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return listQueries{}, err
		}
		// Strictly after (score, sid) in the sort's direction, written as a
		// range on the score plus a residual so that the index seeks to it.
		c := plan.col
		switch {
		case plan.desc:
			add(c+" <= ? AND ("+c+" < ? OR sid < ?)", score, score, sid)
		default:
			// The deadline sort has two lower bounds, now and the cursor;
			// SQLite seeks on one of them only, so give it the larger.
			where[deadlineAt] = "deadline >= ?"
			args[deadlineArg] = max(nowMS+1, score)
			add("(deadline > ? OR sid > ?)", score, sid)
		}
	}
	dir := "ASC"
	if plan.desc {
		dir = "DESC"
	}
	lq.pageArgs = append(args, q.Limit+1)
	lq.page = "SELECT " + recordCols + " FROM sessions INDEXED BY " + index +
		" WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + plan.col + " " + dir + ", sid " + dir + " LIMIT ?"
	return lq, nil
}

// totalQuery counts the live sessions matching f; filter and args are the
// WHERE clause buildList made for f.
func totalQuery(f store.Filter, filter string, args []any, nowMS int64) (string, []any) {
	var query string
	switch {
	case f.User != "":
		query = "SELECT count(*) FROM sessions INDEXED BY sessions_user WHERE " + filter
	case f.IP != "" && f.Role != "":
		query = "SELECT count(*) FROM sessions INDEXED BY sessions_role_deadline WHERE " + filter
	case f.IP != "":
		query = "SELECT count(*) FROM sessions INDEXED BY sessions_deadline WHERE " + filter
	case f.Role != "":
		query = `SELECT coalesce((SELECT n FROM counts WHERE k = ?1), 0) -
	(SELECT count(*) FROM sessions INDEXED BY sessions_role_deadline WHERE role = ?2 AND deadline <= ?3)`
		args = []any{"r:" + f.Role, f.Role, nowMS}
	default:
		query = `SELECT coalesce((SELECT n FROM counts WHERE k = ''), 0) -
	(SELECT count(*) FROM sessions INDEXED BY sessions_deadline WHERE deadline <= ?1)`
		args = []any{nowMS}
	}
	return query, args
}
