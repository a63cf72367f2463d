package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// pruneBatch bounds how many expired tombstones or archived sessions one
// write removes, so that housekeeping never makes a request slow.
const pruneBatch = 1000

// Create inserts rec in one BEGIN IMMEDIATE transaction with the per-user
// limit, so concurrent Creates of one user serialize on the write lock and
// each sees the others' sessions. A max of zero or less means no limit. The
// tombstones of the sessions it ends are kept for Options.Keep.
func (s *Store) Create(ctx context.Context, rec store.Record, max int, now time.Time, keep time.Duration) ([]store.Tombstone, error) {
	if rec.SID == "" || rec.TokenHash == "" || rec.User == "" || rec.Role == "" {
		return nil, fmt.Errorf("sqlite: create session: record needs sid, token hash, user and role")
	}
	var ended []store.Tombstone
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ended = nil
		recs, err := queryRecords(ctx, tx, "SELECT "+recordCols+" FROM sessions INDEXED BY sessions_user WHERE username = ?", rec.User)
		if err != nil {
			return err
		}
		end := func(r store.Record, reason store.Reason) error {
			t := store.Tombstone{Reason: reason, Actor: "system", At: now}
			if _, err := endSessions(ctx, tx, []string{r.SID}, t, keep); err != nil {
				return err
			}
			t.SID, t.TokenHash, t.User = r.SID, r.TokenHash, r.User
			ended = append(ended, t)
			return nil
		}
		nowMS := ms(now)
		var live []store.Record
		for _, r := range recs {
			if deadlineMS(ms(r.ExpiresAt), ms(r.IdleAt), ms(r.LifetimeAt)) > nowMS {
				live = append(live, r)
				continue
			}
			reason := r.DueReason(now)
			if reason == "" {
				reason = store.ReasonExpired
			}
			if err := end(r, reason); err != nil {
				return err
			}
		}
		if max > 0 && len(live) >= max {
			slices.SortFunc(live, func(a, b store.Record) int {
				return cmp.Or(a.LastActivity.Compare(b.LastActivity), a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.SID, b.SID))
			})
			for _, r := range live[:len(live)-max+1] {
				if err := end(r, store.ReasonEvicted); err != nil {
					return err
				}
			}
		}
		args := append(recordArgs(rec), deadlineMS(ms(rec.ExpiresAt), ms(rec.IdleAt), ms(rec.LifetimeAt)))
		if _, err = tx.ExecContext(ctx, "INSERT INTO sessions ("+recordCols+", deadline) VALUES ("+placeholders(1, len(args))+")", args...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, addCounts("VALUES ('', 1), ('r:' || ?, 1)"), rec.Role)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: create session %s: %w", rec.SID, err)
	}
	return ended, nil
}

// Get returns the record of sid if its deadline is after now.
func (s *Store) Get(ctx context.Context, sid string, now time.Time) (store.Record, bool, error) {
	recs, err := queryRecords(ctx, s.read, "SELECT "+recordCols+" FROM sessions WHERE sid = ? AND deadline > ?", sid, ms(now))
	if err != nil {
		return store.Record{}, false, fmt.Errorf("sqlite: get session %s: %w", sid, err)
	}
	if len(recs) == 0 {
		return store.Record{}, false, nil
	}
	return recs[0], true, nil
}

// Rekey moves a live session to newHash and role and deletes the old blob.
// An empty role keeps the current one.
func (s *Store) Rekey(ctx context.Context, sid, oldHash, newHash, role string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var oldRole string
		err := tx.QueryRowContext(ctx, "SELECT role FROM sessions WHERE sid = ? AND token_hash = ? AND deadline > ?",
			sid, oldHash, ms(now)).Scan(&oldRole)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrSessionGone
		}
		if err != nil {
			return err
		}
		role := cmp.Or(role, oldRole)
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET token_hash = ?, role = ? WHERE sid = ?", newHash, role, sid); err != nil {
			return err
		}
		if role != oldRole {
			if _, err := tx.ExecContext(ctx, addCounts("VALUES ('r:' || ?, -1), ('r:' || ?, 1)"), oldRole, role); err != nil {
				return err
			}
		}
		if oldHash != newHash {
			_, err = tx.ExecContext(ctx, "DELETE FROM blobs WHERE token_hash = ?", oldHash)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: rekey session %s: %w", sid, err)
	}
	return nil
}

// End ends sid; see endSessions.
func (s *Store) End(ctx context.Context, sid string, t store.Tombstone, keep time.Duration) (bool, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = endSessions(ctx, tx, []string{sid}, t, keep)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: end session %s: %w", sid, err)
	}
	return n > 0, nil
}

// endTxBatch is how many sids one transaction of EndMany ends. Ending 100,000
// sessions takes seconds (some fifteen b-tree writes each); in batches other
// writers (logins, commits) get the write lock between them instead of
// waiting for the whole list. Smaller batches cost more in total, since every
// commit rewrites the index pages that the batches share.
const endTxBatch = 10000

// EndMany ends sids in transactions of endTxBatch sids: each session is
// ended atomically, as the contract asks, and the list is not. On error the
// sessions of earlier batches stay ended, and the count so far is returned
// with the error.
func (s *Store) EndMany(ctx context.Context, sids []string, t store.Tombstone, keep time.Duration) (int, error) {
	total := 0
	for len(sids) > 0 {
		batch := sids[:min(len(sids), s.endBatch)]
		sids = sids[len(batch):]
		var n int
		err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
			n, err = endSessions(ctx, tx, batch, t, keep)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlite: end %d sessions: %w", len(batch)+len(sids), err)
		}
		total += n
	}
	return total, nil
}

// EndUser ends every session record of user but those in except, whether or
// not its deadline has passed (the call has no now to tell).
func (s *Store) EndUser(ctx context.Context, user string, except []string, t store.Tombstone, keep time.Duration) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT sid FROM sessions INDEXED BY sessions_user WHERE username = ?", user)
		if err != nil {
			return err
		}
		var sids []string
		for rows.Next() {
			var sid string
			if err := rows.Scan(&sid); err != nil {
				rows.Close()
				return err
			}
			if !slices.Contains(except, sid) {
				sids = append(sids, sid)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		n, err = endSessions(ctx, tx, sids, t, keep)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: end sessions of %s: %w", user, err)
	}
	return n, nil
}

// endSessions ends the sessions in sids that have a record, in tx, and
// returns how many. For each it writes the tombstone under the record's token
// hash (kept until t.At+keep), copies the final record, blob and tombstone
// into the ended holding area, and deletes the blob and the record with its
// index entries and counts. The state stays under the sid; unless the reason
// is logout the ended entry is a recovery point until t.At+keep and ready
// for cleanup only then, a logout is ready at once. Unknown sids are skipped, so
// ending twice is a no-op. It also drops tombstones that expired by t.At, at
// least as many as it may write, so that their number stays bounded: the
// contract gives Tombstone no now, so tombstones are removed by the writes
// that know the time.
//
// Each of its five statements handles the whole list at once: the sids go
// in as one JSON array (of hex, so that any bytes survive) that json_each
// unpacks, which the planner turns into a sorted list probing the
// sessions' primary key. Statements of 500 numbered parameters cost a
// quarter more CPU in all (the driver looks up each parameter's name in a
// linear list, and binds 500 values per statement), and the tombstones are
// written in token-hash order so that their b-tree is walked once.
func endSessions(ctx context.Context, tx *sql.Tx, sids []string, t store.Tombstone, keep time.Duration) (int, error) {
	at := ms(t.At)
	if !t.At.IsZero() {
		if _, err := tx.ExecContext(ctx, `
DELETE FROM tombstones WHERE token_hash IN (
	SELECT token_hash FROM tombstones INDEXED BY tombstones_expiry WHERE expires_at <= ? LIMIT ?)`,
			at, max(pruneBatch, len(sids))); err != nil {
			return 0, err
		}
	}
	if len(sids) == 0 {
		return 0, nil
	}
	list, err := sidList(sids)
	if err != nil {
		return 0, err
	}
	const in = `(SELECT CAST(unhex(value) AS TEXT) FROM json_each(?1))`
	logout := "'" + string(store.ReasonLogout) + "'"
	tomb := []any{list, string(t.Reason), t.Actor, t.Note, at, ms(t.At.Add(keep))}
	for _, st := range []struct {
		query string
		args  []any
	}{
		{`INSERT OR REPLACE INTO tombstones (token_hash, sid, username, reason, actor, note, at, expires_at)
	SELECT token_hash, sid, username, ?2, ?3, ?4, ?5, ?6
	FROM sessions WHERE sid IN ` + in + ` ORDER BY token_hash`, tomb},
		{`INSERT OR REPLACE INTO ended (` + recordCols + `, ` + endedCols + `, ready_at, recover_until)
	SELECT ` + prefixCols("s.", recordCols) + `, b.data, s.sid, s.token_hash, s.username, ?2, ?3, ?4, ?5,
		CASE WHEN ?2 = ` + logout + ` THEN ?5 ELSE ?6 END,
		CASE WHEN ?2 = ` + logout + ` THEN 0 ELSE ?6 END
	FROM sessions s LEFT JOIN blobs b ON b.token_hash = s.token_hash WHERE s.sid IN ` + in, tomb},
		{`DELETE FROM blobs WHERE token_hash IN (SELECT token_hash FROM sessions WHERE sid IN ` + in + `)`, tomb[:1]},
		{addCounts(`SELECT '', -count(*) FROM sessions WHERE sid IN ` + in + `
	UNION ALL SELECT 'r:' || role, -count(*) FROM sessions WHERE sid IN ` + in + ` GROUP BY role`), tomb[:1]},
	} {
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE sid IN `+in, list)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// sidList encodes sids as the JSON array of hex strings that endSessions
// unpacks with json_each and unhex.
func sidList(sids []string) (string, error) {
	hexed := make([]string, len(sids))
	for i, sid := range sids {
		hexed[i] = hex.EncodeToString([]byte(sid))
	}
	b, err := json.Marshal(hexed)
	return string(b), err
}

// Tombstone returns the tombstone kept under tokenHash. Having no now, it
// does not compare the tombstone's expiry (At+keep) with the time: expired
// tombstones stay visible until a later End or Create, whose time has passed
// their expiry, removes them.
func (s *Store) Tombstone(ctx context.Context, tokenHash string) (store.Tombstone, bool, error) {
	var t store.Tombstone
	var reason string
	var at int64
	err := s.read.QueryRowContext(ctx, `
SELECT sid, token_hash, username, reason, actor, note, at FROM tombstones WHERE token_hash = ?`, tokenHash).
		Scan(&t.SID, &t.TokenHash, &t.User, &reason, &t.Actor, &t.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Tombstone{}, false, nil
	}
	if err != nil {
		return store.Tombstone{}, false, fmt.Errorf("sqlite: tombstone: %w", err)
	}
	t.Reason, t.At = store.Reason(reason), fromMS(at)
	return t, true, nil
}

// Due returns up to limit sessions whose deadline is at or before now,
// earliest deadline (then sid) first, from the deadline index.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]store.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	recs, err := queryRecords(ctx, s.read, "SELECT "+recordCols+` FROM sessions INDEXED BY sessions_deadline
WHERE deadline <= ? ORDER BY deadline, sid LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due sessions: %w", err)
	}
	return recs, nil
}

// querier is what queryRecords needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRecords runs a query selecting recordCols and returns its records.
func queryRecords(ctx context.Context, q querier, query string, args ...any) ([]store.Record, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		var r recordScan
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.record())
	}
	return out, rows.Err()
}

// addCounts returns the statement that adds the (k, n) rows of rows, a
// VALUES list or a SELECT, to the session counters. Every statement that
// inserts or deletes sessions or changes a role runs one in its transaction.
func addCounts(rows string) string {
	return `INSERT INTO counts (k, n) SELECT * FROM (` + rows + `) WHERE true
ON CONFLICT (k) DO UPDATE SET n = counts.n + excluded.n`
}

// placeholders returns "?from, ?from+1, ..." for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// prefixCols qualifies each column of a comma-separated list with prefix.
func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
