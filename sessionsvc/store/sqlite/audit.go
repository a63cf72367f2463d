package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Audit ids are the entry's At in unix milliseconds, 13 digits, a dash and
// 12 hex digits: random for the first entry of a millisecond and counting
// up from there for the next ones of this Store, so ids sort by time and,
// within a millisecond, by the order they were assigned.
const (
	auditMSDigits  = 13
	auditSuffixLen = 12
	auditIDLen     = auditMSDigits + 1 + auditSuffixLen
	auditSuffixMax = 1<<(4*auditSuffixLen) - 1
)

// auditClock remembers the last id assigned.
type auditClock struct {
	ms     int64
	suffix uint64
}

// newAuditID returns the id of an entry at atMS.
func (s *Store) newAuditID(atMS int64) string {
	atMS = min(max(atMS, 0), 9_999_999_999_999)
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	c := &s.auditLast
	if atMS == c.ms && c.suffix < auditSuffixMax {
		c.suffix++
	} else {
		var b [8]byte
		rand.Read(b[:])
		// The lower half of the range, so that a millisecond's successors
		// can count up without running out.
		c.ms, c.suffix = atMS, binary.BigEndian.Uint64(b[:])&(auditSuffixMax>>1)
	}
	return fmt.Sprintf("%013d-%012x", c.ms, c.suffix)
}

// auditIDBound is the smallest id of the millisecond of t: ids of entries
// at or after t are >= it, those before are < it.
func auditIDBound(t time.Time) string {
	return fmt.Sprintf("%013d", min(max(ms(t), 0), 9_999_999_999_999))
}

// validAuditID reports whether id has the shape newAuditID gives.
func validAuditID(id string) bool {
	if len(id) != auditIDLen || id[auditMSDigits] != '-' {
		return false
	}
	if _, err := strconv.ParseUint(id[:auditMSDigits], 10, 64); err != nil {
		return false
	}
	_, err := strconv.ParseUint(id[auditMSDigits+1:], 16, 64)
	return err == nil
}

// AppendAudit writes e, expiring retention after e.At, and first removes a
// bounded batch of entries expired by e.At. An entry without a time is
// stamped with the system clock: the log records when things happened.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry, retention time.Duration) (string, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Result == "" {
		e.Result = "pending"
	}
	atMS := ms(e.At)
	id := s.newAuditID(atMS)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.an.pruneAudit).ExecContext(ctx, atMS, pruneBatch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO audit (id, at, actor, actor_ip, action, target, reason, result, affected, completed_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, atMS, e.Actor, e.ActorIP, e.Action, e.Target, e.Reason, e.Result, e.Affected,
			ms(e.CompletedAt), expiry(atMS, retention))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: append audit entry %s: %w", e.Action, err)
	}
	s.saw(atMS)
	return id, nil
}

// CompleteAudit records an entry's outcome; an id that is not stored
// (unknown, or pruned) changes nothing. It also prunes by at.
func (s *Store) CompleteAudit(ctx context.Context, id, result string, affected int, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.an.pruneAudit).ExecContext(ctx, ms(at), pruneBatch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE audit SET result = ?, affected = ?, completed_at = ? WHERE id = ?",
			result, affected, ms(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: complete audit entry %s: %w", id, err)
	}
	s.saw(ms(at))
	return nil
}

// QueryAudit returns a page of entries, newest first. The walk is by id,
// which orders like At: with a Target, Actor or Action filter along that
// column's (column, id) index (in that order of preference: a target names
// the fewest entries), otherwise along the primary key; a time range and
// the cursor bound the id, so a page reads its rows and those the other
// filters skip. The cursor is the last id of the previous page.
func (s *Store) QueryAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	if q.Cursor != "" && !validAuditID(q.Cursor) {
		return store.AuditPage{}, fmt.Errorf("sqlite: query audit: %w", store.ErrBadCursor)
	}
	query, args := auditQuery(q, limit)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("sqlite: query audit: %w", err)
	}
	defer rows.Close()
	var page store.AuditPage
	for rows.Next() {
		var e store.AuditEntry
		var at, completed int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.ActorIP, &e.Action, &e.Target, &e.Reason, &e.Result,
			&e.Affected, &completed); err != nil {
			return store.AuditPage{}, fmt.Errorf("sqlite: query audit: %w", err)
		}
		e.At, e.CompletedAt = fromMS(at), fromMS(completed)
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, fmt.Errorf("sqlite: query audit: %w", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Next = page.Entries[limit-1].ID
	}
	return page, nil
}

// auditQuery returns QueryAudit's statement for q (its cursor checked),
// reading limit+1 rows: the extra one tells whether there is a next page.
func auditQuery(q store.AuditQuery, limit int) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	index := "NOT INDEXED" // a WITHOUT ROWID table: its primary key
	if q.Target != "" {
		add("target = ?", q.Target)
		index = "INDEXED BY audit_target"
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
		if index == "NOT INDEXED" {
			index = "INDEXED BY audit_actor"
		}
	}
	if q.Action != "" {
		add("action = ?", q.Action)
		if index == "NOT INDEXED" {
			index = "INDEXED BY audit_action"
		}
	}
	if !q.From.IsZero() {
		add("id >= ? AND at >= ?", auditIDBound(q.From), ms(q.From))
	}
	if !q.To.IsZero() {
		add("id < ? AND at < ?", auditIDBound(q.To), ms(q.To))
	}
	if q.Cursor != "" {
		add("id < ?", q.Cursor)
	}
	query := `SELECT id, at, actor, actor_ip, action, target, reason, result, affected, completed_at FROM audit ` + index
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	return query, append(args, limit+1)
}
