package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Ended returns up to limit ended sessions that are ready for cleanup at
// now, from the ready index: earliest ready_at (then sid) first. For every
// session that ended with the same recovery window that is the order of
// their ends; a logout, ready at its end, comes before the sessions that
// ended earlier but whose window is still closing. Each carries its final
// state, read in the same snapshot as the entries.
func (s *Store) Ended(ctx context.Context, now time.Time, limit int) ([]store.EndedSession, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []store.EndedSession
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, "SELECT "+recordCols+", "+endedCols+` FROM ended INDEXED BY ended_ready
WHERE ready_at <= ? ORDER BY ready_at, sid LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e endedScan
			if err := rows.Scan(e.dest()...); err != nil {
				rows.Close()
				return err
			}
			out = append(out, e.ended())
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for i := range out {
			if out[i].State, _, err = loadState(ctx, tx, out[i].Record.SID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: ended sessions: %w", err)
	}
	return out, nil
}

// Archive stores e, with its State and Files, as archived until
// now+retention, and removes the ended entry (and with it the recovery
// point) and the session's state and snapshots in the same transaction.
// Archiving again keeps the first archived copy. It also drops a batch of
// archived sessions whose retention ended by now.
func (s *Store) Archive(ctx context.Context, e store.EndedSession, now time.Time, retention time.Duration) error {
	sid := cmp.Or(e.Record.SID, e.Tombstone.SID)
	if sid == "" {
		return fmt.Errorf("sqlite: archive: ended session without sid")
	}
	e.Record.SID = sid
	state, files, err := encodeArchive(e.State, e.Files)
	if err != nil {
		return fmt.Errorf("sqlite: archive session %s: %w", sid, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// The recovery window and claim come from the ended row, which
		// dropEnded removes below.
		args := append(endedArgs(e), ms(now), ms(now.Add(retention)), state, files)
		n := len(args)
		args = append(args, sid)
		if _, err := tx.ExecContext(ctx, "INSERT INTO archived ("+recordCols+", "+endedCols+`, archived_at, retain_until, state, files,
	recover_until, claimed)
SELECT `+placeholders(1, n)+`, coalesce(e.recover_until, 0), coalesce(e.claimed, 0)
FROM (SELECT 1) LEFT JOIN ended e ON e.sid = ?`+strconv.Itoa(n+1)+`
WHERE true ON CONFLICT (sid) DO NOTHING`, args...); err != nil {
			return err
		}
		if err := dropEnded(ctx, tx, sid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
DELETE FROM archived WHERE rowid IN (
	SELECT rowid FROM archived INDEXED BY archived_retention WHERE retain_until <= ? LIMIT ?)`,
			ms(now), pruneBatch)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: archive session %s: %w", sid, err)
	}
	return nil
}

// Purge removes what Archive removes, without archiving.
func (s *Store) Purge(ctx context.Context, sid string) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return dropEnded(ctx, tx, sid) }); err != nil {
		return fmt.Errorf("sqlite: purge session %s: %w", sid, err)
	}
	return nil
}

// dropEnded removes sid's ended entry (its recovery point), state and
// snapshots.
func dropEnded(ctx context.Context, tx *sql.Tx, sid string) error {
	for _, table := range []string{"ended", "state_values", "state_categories", "state_meta", "snapshots"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE sid = ?", sid); err != nil {
			return err
		}
	}
	return nil
}

// Archived returns the archived session sid. Like Tombstone it has no now:
// archived sessions past their retention are removed by later Archive calls.
func (s *Store) Archived(ctx context.Context, sid string) (store.Archived, bool, error) {
	var e endedScan
	var archivedAt int64
	var state, files []byte
	err := s.read.QueryRowContext(ctx, "SELECT "+recordCols+", "+endedCols+", archived_at, state, files FROM archived WHERE sid = ?", sid).
		Scan(append(e.dest(), &archivedAt, &state, &files)...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Archived{}, false, nil
	}
	if err != nil {
		return store.Archived{}, false, fmt.Errorf("sqlite: archived session %s: %w", sid, err)
	}
	a := store.Archived{EndedSession: e.ended(), ArchivedAt: fromMS(archivedAt)}
	if a.State, a.Files, err = decodeArchive(state, files); err != nil {
		return store.Archived{}, false, fmt.Errorf("sqlite: archived session %s: %w", sid, err)
	}
	return a, true, nil
}

// recoveryCols are what a RecoveryPoint needs of an ended row, after
// recordCols.
const recoveryCols = "t_reason, t_at, recover_until"

// recoveryScan receives recordCols and recoveryCols.
type recoveryScan struct {
	recordScan
	reason           string
	at, recoverUntil int64
}

func (r *recoveryScan) dest() []any {
	return append(r.recordScan.dest(), &r.reason, &r.at, &r.recoverUntil)
}

func (r *recoveryScan) point() store.RecoveryPoint {
	rec := r.record()
	return store.RecoveryPoint{
		SID: rec.SID, User: rec.User, Reason: store.Reason(r.reason),
		EndedAt: fromMS(r.at), ExpiresAt: fromMS(r.recoverUntil), Record: rec,
	}
}

// RecoveryPoints returns user's unclaimed recovery points whose window is
// open at now, newest end first, from the (user, window) index: a user has
// few ended sessions inside one window.
func (s *Store) RecoveryPoints(ctx context.Context, user string, now time.Time) ([]store.RecoveryPoint, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+recordCols+", "+recoveryCols+` FROM ended INDEXED BY ended_recovery
WHERE t_user = ? AND recover_until > ? AND claimed = 0 ORDER BY t_at DESC, sid DESC`, user, ms(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: recovery points of %s: %w", user, err)
	}
	defer rows.Close()
	var out []store.RecoveryPoint
	for rows.Next() {
		var r recoveryScan
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("sqlite: recovery points of %s: %w", user, err)
		}
		out = append(out, r.point())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: recovery points of %s: %w", user, err)
	}
	return out, nil
}

// ClaimRecovery claims sid's recovery point for user in one conditional
// UPDATE, so two claims of one point cannot both succeed. The claimed
// entry becomes ready for cleanup from its end on, taking the place in
// Ended's order that its end gives it.
func (s *Store) ClaimRecovery(ctx context.Context, sid, user string, now time.Time) (store.RecoveryPoint, bool, error) {
	var r recoveryScan
	err := s.write.QueryRowContext(ctx, `
UPDATE ended SET claimed = 1, ready_at = min(ready_at, t_at)
WHERE sid = ? AND t_user = ? AND claimed = 0 AND recover_until > ?
RETURNING `+recordCols+", "+recoveryCols, sid, user, ms(now)).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.RecoveryPoint{}, false, nil
	}
	if err != nil {
		return store.RecoveryPoint{}, false, fmt.Errorf("sqlite: claim recovery of %s: %w", sid, err)
	}
	return r.point(), true, nil
}

// SaveRecoveryLink stores the link, replacing one saved under the same hash
// (the hash of 32 random bytes: never in practice).
func (s *Store) SaveRecoveryLink(ctx context.Context, tokenHash, sid, user string, expires time.Time) error {
	if _, err := s.write.ExecContext(ctx, `
INSERT OR REPLACE INTO recovery_links (token_hash, sid, username, expires_at, used) VALUES (?, ?, ?, ?, 0)`,
		tokenHash, sid, user, ms(expires)); err != nil {
		return fmt.Errorf("sqlite: save recovery link to %s: %w", sid, err)
	}
	return nil
}

// RecoveryLink returns the link if it is unused and unexpired at now.
func (s *Store) RecoveryLink(ctx context.Context, tokenHash string, now time.Time) (sid, user string, ok bool, err error) {
	err = s.read.QueryRowContext(ctx, `
SELECT sid, username FROM recovery_links WHERE token_hash = ? AND used = 0 AND expires_at > ?`,
		tokenHash, ms(now)).Scan(&sid, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("sqlite: recovery link: %w", err)
	}
	return sid, user, true, nil
}

// UseRecoveryLink marks the link used in one conditional UPDATE, so only
// one use succeeds. It also drops a batch of links that expired by now:
// this is the write that knows the time.
func (s *Store) UseRecoveryLink(ctx context.Context, tokenHash string, now time.Time) (sid, user string, ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
UPDATE recovery_links SET used = 1 WHERE token_hash = ? AND used = 0 AND expires_at > ?
RETURNING sid, username`, tokenHash, ms(now)).Scan(&sid, &user)
		switch {
		case err == nil:
			ok = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `
DELETE FROM recovery_links WHERE token_hash IN (
	SELECT token_hash FROM recovery_links INDEXED BY recovery_links_expiry WHERE expires_at <= ? LIMIT ?)`,
			ms(now), pruneBatch)
		return err
	})
	if err != nil {
		return "", "", false, fmt.Errorf("sqlite: use recovery link: %w", err)
	}
	if !ok {
		return "", "", false, nil
	}
	return sid, user, true, nil
}
