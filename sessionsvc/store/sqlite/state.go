package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// dbtx is what the state queries need of a *sql.DB or *sql.Tx.
type dbtx interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// The statements of UpdateState, the hot write of the state contract. They
// are prepared once on the write connection (prepareUpdate) and bound to
// each transaction with Tx.StmtContext, which reuses the connection's
// prepared statement: parsing them anew in every update cost a third of
// its time.
const (
	qUpdateHead = `
SELECT m.version, m.bytes, c.version
FROM sessions s
LEFT JOIN state_meta m ON m.sid = s.sid
LEFT JOIN state_categories c ON c.sid = s.sid AND c.category = ?2
WHERE s.sid = ?1 AND s.deadline > ?3`
	qCategoryValues = "SELECT k, value FROM state_values WHERE sid = ? AND category = ?"
	qSnapshotPut    = "INSERT OR REPLACE INTO snapshots (sid, category, version, at, vals) VALUES (?, ?, ?, ?, ?)"
	qSnapshotTrim   = `
DELETE FROM snapshots WHERE sid = ?1 AND category = ?2 AND version <= coalesce(
	(SELECT version FROM snapshots WHERE sid = ?1 AND category = ?2 ORDER BY version DESC LIMIT 1 OFFSET ?3), -1)`
	qCategoryClear = "DELETE FROM state_values WHERE sid = ? AND category = ? RETURNING k, length(value)"
	qValueDelete   = "DELETE FROM state_values WHERE sid = ? AND category = ? AND k = ? RETURNING length(value)"
	qValueLen      = "SELECT length(value) FROM state_values WHERE sid = ? AND category = ? AND k = ?"
	qValuePut      = `
INSERT INTO state_values (sid, category, k, value) VALUES (?, ?, ?, ?)
ON CONFLICT (sid, category, k) DO UPDATE SET value = excluded.value`
	qCategoryPut = `
INSERT INTO state_categories (sid, category, version) VALUES (?1, ?2, ?3)
ON CONFLICT (sid, category) DO UPDATE SET version = excluded.version`
	qMetaPut = `
INSERT INTO state_meta (sid, version, last_modified, bytes) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (sid) DO UPDATE SET version = excluded.version, last_modified = excluded.last_modified,
	bytes = excluded.bytes`
	qRecordVersion = "UPDATE sessions SET state_version = ? WHERE sid = ?"
)

// updateStmts are UpdateState's statements prepared on the write connection.
type updateStmts struct {
	head, catValues, snapPut, snapTrim, catClear, valDelete, valLen, valPut, catPut, metaPut, recVersion *sql.Stmt
}

// prepareUpdate prepares UpdateState's statements on db, the write side. It
// must run outside any transaction: the write side has one connection.
func prepareUpdate(ctx context.Context, db *sql.DB) (*updateStmts, error) {
	var st updateStmts
	list := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.head, qUpdateHead}, {&st.catValues, qCategoryValues}, {&st.snapPut, qSnapshotPut},
		{&st.snapTrim, qSnapshotTrim}, {&st.catClear, qCategoryClear}, {&st.valDelete, qValueDelete},
		{&st.valLen, qValueLen}, {&st.valPut, qValuePut}, {&st.catPut, qCategoryPut},
		{&st.metaPut, qMetaPut}, {&st.recVersion, qRecordVersion},
	}
	for _, x := range list {
		var err error
		if *x.dst, err = db.PrepareContext(ctx, x.query); err != nil {
			st.close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	return &st, nil
}

// close closes the prepared statements.
func (st *updateStmts) close() error {
	var errs []error
	for _, x := range []*sql.Stmt{st.head, st.catValues, st.snapPut, st.snapTrim, st.catClear,
		st.valDelete, st.valLen, st.valPut, st.catPut, st.metaPut, st.recVersion} {
		if x != nil {
			errs = append(errs, x.Close())
		}
	}
	return errors.Join(errs...)
}

// GetState returns sid's state while its record is live or its ended entry
// is held (not yet archived or purged). A session that has never written
// state has the zero StateDoc. The reads share one snapshot, so the doc is
// never half of one update and half of the next.
func (s *Store) GetState(ctx context.Context, sid string) (store.StateDoc, bool, error) {
	var doc store.StateDoc
	var found bool
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		doc, found, err = loadState(ctx, tx, sid)
		if err != nil || found {
			return err
		}
		return tx.QueryRowContext(ctx, `
SELECT EXISTS (SELECT 1 FROM sessions WHERE sid = ?1) OR EXISTS (SELECT 1 FROM ended WHERE sid = ?1)`,
			sid).Scan(&found)
	})
	if err != nil {
		return store.StateDoc{}, false, fmt.Errorf("sqlite: get state of %s: %w", sid, err)
	}
	return doc, found, nil
}

// loadState reads sid's state. It reports false, with the zero doc, when
// sid has never written state (or its state was archived or purged).
func loadState(ctx context.Context, q dbtx, sid string) (store.StateDoc, bool, error) {
	var doc store.StateDoc
	var lastModified int64
	err := q.QueryRowContext(ctx, "SELECT version, last_modified, bytes FROM state_meta WHERE sid = ?", sid).
		Scan(&doc.Version, &lastModified, &doc.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return store.StateDoc{}, false, nil
	}
	if err != nil {
		return store.StateDoc{}, false, err
	}
	doc.LastModified = fromMS(lastModified)
	doc.Categories = map[string]store.CategoryDoc{}

	rows, err := q.QueryContext(ctx, "SELECT category, version FROM state_categories WHERE sid = ?", sid)
	if err != nil {
		return store.StateDoc{}, false, err
	}
	for rows.Next() {
		var c string
		var v int64
		if err := rows.Scan(&c, &v); err != nil {
			rows.Close()
			return store.StateDoc{}, false, err
		}
		doc.Categories[c] = store.CategoryDoc{Values: map[string][]byte{}, Version: v}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return store.StateDoc{}, false, err
	}

	rows, err = q.QueryContext(ctx, "SELECT category, k, value FROM state_values WHERE sid = ?", sid)
	if err != nil {
		return store.StateDoc{}, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, k string
		var v []byte
		if err := rows.Scan(&c, &k, &v); err != nil {
			return store.StateDoc{}, false, err
		}
		cd, ok := doc.Categories[c]
		if !ok {
			// A value without its category's version cannot be written by
			// UpdateState; show it rather than hide data.
			cd = store.CategoryDoc{Values: map[string][]byte{}}
			doc.Categories[c] = cd
		}
		cd.Values[k] = nonNil(v)
	}
	if err := rows.Err(); err != nil {
		return store.StateDoc{}, false, err
	}
	return doc, true, nil
}

// UpdateState applies u in one BEGIN IMMEDIATE transaction. The store's
// single write connection serializes every update, so concurrent writers of
// one session queue rather than race, and none of them loses a key: each
// sees the versions and bytes the previous one committed.
//
// Bytes is kept exact without summing the state: the update subtracts the
// sizes of the values it deletes or overwrites (read in the transaction)
// and adds those it writes. The Limit is checked on the result, so an
// update is refused whenever it would leave the session above Limit.
func (s *Store) UpdateState(ctx context.Context, sid string, u store.StateUpdate) (store.StateVersions, error) {
	if u.Category == "" {
		return store.StateVersions{}, fmt.Errorf("sqlite: update state of %s: no category", sid)
	}
	var out store.StateVersions
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		st := func(p *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, p) }
		// The record must be live at u.Now; an ended session's record is
		// gone, so this is also what keeps a late write off ended state.
		var stateVer, bytes, catVer sql.NullInt64
		err := st(s.upd.head).QueryRowContext(ctx, sid, u.Category, ms(u.Now)).Scan(&stateVer, &bytes, &catVer)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrSessionGone
		}
		if err != nil {
			return err
		}
		if u.Expect != -1 && u.Expect != catVer.Int64 {
			return store.ErrVersionConflict
		}
		if u.Snapshots > 0 && catVer.Valid {
			vals, err := categoryValues(ctx, st(s.upd.catValues), sid, u.Category)
			if err != nil {
				return err
			}
			if _, err := st(s.upd.snapPut).ExecContext(ctx, sid, u.Category, catVer.Int64, ms(u.Now), encodeValues(vals)); err != nil {
				return err
			}
			if _, err := st(s.upd.snapTrim).ExecContext(ctx, sid, u.Category, u.Snapshots); err != nil {
				return err
			}
		}
		delta, err := s.applyValues(ctx, st, sid, u)
		if err != nil {
			return err
		}
		after := bytes.Int64 + delta
		if u.Limit > 0 && after > u.Limit {
			return store.ErrStateTooLarge
		}
		out = store.StateVersions{Category: catVer.Int64 + 1, State: stateVer.Int64 + 1, LastModified: fromMS(ms(u.Now))}
		if _, err := st(s.upd.catPut).ExecContext(ctx, sid, u.Category, out.Category); err != nil {
			return err
		}
		if _, err := st(s.upd.metaPut).ExecContext(ctx, sid, out.State, ms(u.Now), after); err != nil {
			return err
		}
		_, err = st(s.upd.recVersion).ExecContext(ctx, out.State, sid)
		return err
	})
	if err != nil {
		return store.StateVersions{}, fmt.Errorf("sqlite: update state of %s, %s: %w", sid, u.Category, err)
	}
	return out, nil
}

// categoryValues reads one category's values with qCategoryValues.
func categoryValues(ctx context.Context, q *sql.Stmt, sid, category string) (map[string][]byte, error) {
	rows, err := q.QueryContext(ctx, sid, category)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		vals[k] = nonNil(v)
	}
	return vals, rows.Err()
}

// applyValues writes u's keys: with Replace every old key goes first, else
// u.Delete's keys do; then u.Set's keys are written (a key both deleted and
// set ends up set). It returns the change in state bytes. st binds a
// prepared statement to the transaction.
func (s *Store) applyValues(ctx context.Context, st func(*sql.Stmt) *sql.Stmt, sid string, u store.StateUpdate) (int64, error) {
	var delta int64
	if u.Replace {
		rows, err := st(s.upd.catClear).QueryContext(ctx, sid, u.Category)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return 0, err
			}
			delta -= int64(len(k)) + n
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, err
		}
	} else if len(u.Delete) > 0 {
		del := st(s.upd.valDelete)
		for _, k := range u.Delete {
			var n int64
			err := del.QueryRowContext(ctx, sid, u.Category, k).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return 0, err
			}
			delta -= int64(len(k)) + n
		}
	}
	if len(u.Set) == 0 {
		return delta, nil
	}
	// The old size comes from a read before the upsert: an upsert's
	// RETURNING sees only the new row.
	old, put := st(s.upd.valLen), st(s.upd.valPut)
	for k, v := range u.Set {
		if !u.Replace {
			var n int64
			err := old.QueryRowContext(ctx, sid, u.Category, k).Scan(&n)
			switch {
			case err == nil:
				delta -= int64(len(k)) + n
			case !errors.Is(err, sql.ErrNoRows):
				return 0, err
			}
		}
		if _, err := put.ExecContext(ctx, sid, u.Category, k, nonNil(v)); err != nil {
			return 0, err
		}
		delta += int64(len(k) + len(v))
	}
	return delta, nil
}

// Snapshots returns the snapshots of sid's category, newest first.
func (s *Store) Snapshots(ctx context.Context, sid, category string) ([]store.Snapshot, error) {
	rows, err := s.read.QueryContext(ctx, `
SELECT version, at, vals FROM snapshots WHERE sid = ? AND category = ? ORDER BY version DESC`, sid, category)
	if err != nil {
		return nil, fmt.Errorf("sqlite: snapshots of %s, %s: %w", sid, category, err)
	}
	defer rows.Close()
	var out []store.Snapshot
	for rows.Next() {
		var snap store.Snapshot
		var at int64
		var b []byte
		if err := rows.Scan(&snap.Version, &at, &b); err != nil {
			return nil, fmt.Errorf("sqlite: snapshots of %s, %s: %w", sid, category, err)
		}
		if snap.Values, err = decodeValues(b); err != nil {
			return nil, fmt.Errorf("sqlite: snapshot %d of %s, %s: %w", snap.Version, sid, category, err)
		}
		snap.At = fromMS(at)
		out = append(out, snap)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: snapshots of %s, %s: %w", sid, category, err)
	}
	return out, nil
}

// SetProcessing sets a session's processing status and progress, in place:
// no index covers them, so it is one row write.
func (s *Store) SetProcessing(ctx context.Context, sid, status string, progress int) error {
	res, err := s.write.ExecContext(ctx, "UPDATE sessions SET processing = ?, progress = ? WHERE sid = ?", status, progress, sid)
	if err != nil {
		return fmt.Errorf("sqlite: set processing of %s: %w", sid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: set processing of %s: %w", sid, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: set processing of %s: %w", sid, store.ErrSessionGone)
	}
	return nil
}

// SaveUserPrefs stores user's preferences, replacing earlier ones.
func (s *Store) SaveUserPrefs(ctx context.Context, user string, b []byte) error {
	if _, err := s.write.ExecContext(ctx, `
INSERT INTO user_prefs (username, value) VALUES (?, ?)
ON CONFLICT (username) DO UPDATE SET value = excluded.value`, user, nonNil(b)); err != nil {
		return fmt.Errorf("sqlite: save preferences of %s: %w", user, err)
	}
	return nil
}

// UserPrefs returns user's saved preferences.
func (s *Store) UserPrefs(ctx context.Context, user string) ([]byte, bool, error) {
	var b []byte
	err := s.read.QueryRowContext(ctx, "SELECT value FROM user_prefs WHERE username = ?", user).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: preferences of %s: %w", user, err)
	}
	return nonNil(b), true, nil
}

// nonNil turns a nil slice into an empty one: a NOT NULL blob column takes
// an empty blob, and an empty blob reads back as nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
