package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// endedListCols are what a row of ListEnded reads of the ended and archived
// tables after recordCols: the tombstone without the blob. Each arm of the
// query adds whether it is archived, archived_at, recover_until and claimed.
const endedListCols = "t_sid, t_token_hash, t_user, t_reason, t_actor, t_note, t_at"

// ListEnded returns one page of ended sessions, held (table ended) or
// archived and within their retention at now (table archived), newest end
// first, as one UNION ALL whose arms each walk an index in (t_at, sid)
// order from the cursor and which SQLite merges, so the page costs
// O(log N + page):
//
//   - a User filter walks each table's (t_user, t_at, sid) index;
//   - otherwise the archive walks its reason or recovery-point index when
//     the query has that filter, and its (t_at, sid) index else, while the
//     holding area (about one recovery window of sessions) is walked by its
//     (t_at, sid) index with the other filters checked row by row.
//
// Archives past their retention are skipped as the walk meets them (the
// archive's indexes carry retain_until); Archive deletes them in batches.
// The total is a count over the same indexes in the same read
// transaction: O(matching rows), O(N) with no filter.
func (s *Store) ListEnded(ctx context.Context, q store.EndedQuery, now time.Time) (store.EndedPage, error) {
	q, err := store.NormalizeEndedQuery(q)
	if err != nil {
		return store.EndedPage{}, fmt.Errorf("sqlite: list ended: %w", err)
	}
	lq, err := buildListEnded(q, ms(now))
	if err != nil {
		return store.EndedPage{}, fmt.Errorf("sqlite: list ended: %w", err)
	}
	var page store.EndedPage
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		page = store.EndedPage{}
		rows, err := tx.QueryContext(ctx, lq.page, lq.pageArgs...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r endedRowScan
			if err := rows.Scan(r.dest()...); err != nil {
				rows.Close()
				return err
			}
			page.Entries = append(page.Entries, r.entry())
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(page.Entries) > q.Limit {
			page.Entries = page.Entries[:q.Limit]
			last := page.Entries[q.Limit-1]
			page.Next = store.EncodeCursor(ms(last.Tombstone.At), last.Record.SID)
		}
		return tx.QueryRowContext(ctx, lq.total, lq.totalArgs...).Scan(&page.Total)
	})
	if err != nil {
		return store.EndedPage{}, fmt.Errorf("sqlite: list ended: %w", err)
	}
	return page, nil
}

// buildListEnded returns the statements of one ListEnded for q, a
// normalized query, at nowMS: the page (Limit+1 rows, the extra one tells
// whether there is a next page) and the total.
func buildListEnded(q store.EndedQuery, nowMS int64) (listQueries, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	endedIndex, archIndex, archCountIndex := "ended_at", "archived_at", "archived_retention"
	switch {
	case q.User != "":
		endedIndex, archIndex, archCountIndex = "ended_user_at", "archived_user_at", "archived_user_at"
	case q.Reason != "":
		archIndex, archCountIndex = "archived_reason_at", "archived_reason_at"
	case q.Recoverable:
		archIndex, archCountIndex = "archived_recovery_at", "archived_recovery_at"
	}
	if q.User != "" {
		add("t_user = ?", q.User)
	}
	if q.Reason != "" {
		add("t_reason = ?", string(q.Reason))
	}
	if q.Recoverable {
		// The very term of archived_recovery_at's WHERE, so that it applies.
		add("recover_until > t_at")
	}
	filter := func(extra ...string) string {
		w := append(append([]string(nil), where...), extra...)
		if len(w) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(w, " AND ")
	}
	retained := "retain_until > ?"

	var lq listQueries
	lq.total = "SELECT (SELECT count(*) FROM ended INDEXED BY " + endedIndex + filter() + ") + " +
		"(SELECT count(*) FROM archived INDEXED BY " + archCountIndex + filter(retained) + ")"
	lq.totalArgs = append(append(append([]any(nil), args...), args...), nowMS)

	if q.Cursor != "" {
		at, sid, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return listQueries{}, err
		}
		// Strictly after (at, sid) in descending order, written as a range
		// on t_at plus a residual so that the index seeks to it.
		add("t_at <= ? AND (t_at < ? OR sid < ?)", at, at, sid)
	}
	lq.page = "SELECT " + recordCols + ", " + endedListCols + ", 0 AS archived, 0, recover_until, claimed" +
		" FROM ended INDEXED BY " + endedIndex + filter() +
		" UNION ALL SELECT " + recordCols + ", " + endedListCols + ", 1, archived_at, recover_until, claimed" +
		" FROM archived INDEXED BY " + archIndex + filter(retained) +
		" ORDER BY t_at DESC, sid DESC LIMIT ?"
	lq.pageArgs = append(append(append(append([]any(nil), args...), args...), nowMS), q.Limit+1)
	return lq, nil
}

// endedRowScan receives a row of ListEnded's page.
type endedRowScan struct {
	recordScan
	t                            store.Tombstone
	reason                       string
	at, archivedAt, recoverUntil int64
	archived, claimed            bool
}

func (r *endedRowScan) dest() []any {
	return append(r.recordScan.dest(),
		&r.t.SID, &r.t.TokenHash, &r.t.User, &r.reason, &r.t.Actor, &r.t.Note, &r.at,
		&r.archived, &r.archivedAt, &r.recoverUntil, &r.claimed)
}

func (r *endedRowScan) entry() store.EndedEntry {
	t := r.t
	t.Reason, t.At = store.Reason(r.reason), fromMS(r.at)
	e := store.EndedEntry{Record: r.record(), Tombstone: t, Archived: r.archived, Claimed: r.claimed}
	if r.archived {
		e.ArchivedAt = fromMS(r.archivedAt)
	}
	// A window that closes at the end itself (keep 0) was never one.
	if r.recoverUntil > r.at {
		e.RecoverUntil = fromMS(r.recoverUntil)
	}
	return e
}
