package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is the PRAGMA user_version this code writes and understands.
// Each entry of migrations takes the database from version i to i+1.
const schemaVersion = 1

// recordCols are the columns of a store.Record, in the order scanRecord reads
// them. The sessions, ended and archived tables all carry them.
const recordCols = `sid, token_hash, username, role, created_at, authenticated_at,
	last_activity, expires_at, idle_at, lifetime_at, first_ip, last_ip, first_ua,
	last_ua, ip_changed, ua_changed, device, fingerprint, path, processing,
	progress, state_version, recovered_from`

// recordColDefs declares recordCols. Times are unix milliseconds.
const recordColDefs = `
	sid              TEXT    NOT NULL,
	token_hash       TEXT    NOT NULL,
	username         TEXT    NOT NULL,
	role             TEXT    NOT NULL,
	created_at       INTEGER NOT NULL,
	authenticated_at INTEGER NOT NULL,
	last_activity    INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	idle_at          INTEGER NOT NULL,
	lifetime_at      INTEGER NOT NULL,
	first_ip         TEXT    NOT NULL,
	last_ip          TEXT    NOT NULL,
	first_ua         TEXT    NOT NULL,
	last_ua          TEXT    NOT NULL,
	ip_changed       INTEGER NOT NULL,
	ua_changed       INTEGER NOT NULL,
	device           TEXT    NOT NULL,
	fingerprint      TEXT    NOT NULL,
	path             TEXT    NOT NULL,
	processing       TEXT    NOT NULL,
	progress         INTEGER NOT NULL,
	state_version    INTEGER NOT NULL,
	recovered_from   TEXT    NOT NULL`

// endedColDefs are what the ended and archived tables keep beside the
// record: the final blob and the tombstone.
const endedColDefs = `
	blob         BLOB,
	t_sid        TEXT    NOT NULL,
	t_token_hash TEXT    NOT NULL,
	t_user       TEXT    NOT NULL,
	t_reason     TEXT    NOT NULL,
	t_actor      TEXT    NOT NULL,
	t_note       TEXT    NOT NULL,
	t_at         INTEGER NOT NULL`

const endedCols = `blob, t_sid, t_token_hash, t_user, t_reason, t_actor, t_note, t_at`

var migrations = []string{
	// 0 -> 1: the first schema.
	`
-- Live sessions. deadline is min(expires_at, idle_at, lifetime_at), kept in
-- a column so that it can be indexed; every query bounds it by now.
CREATE TABLE sessions (` + recordColDefs + `,
	deadline INTEGER NOT NULL,
	PRIMARY KEY (sid)
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_activity ON sessions (last_activity, sid);
CREATE INDEX sessions_created ON sessions (created_at, sid);
CREATE INDEX sessions_deadline ON sessions (deadline, sid);
CREATE INDEX sessions_user ON sessions (username);
CREATE INDEX sessions_role_activity ON sessions (role, last_activity, sid);
CREATE INDEX sessions_role_created ON sessions (role, created_at, sid);
CREATE INDEX sessions_role_deadline ON sessions (role, deadline, sid);

-- Row counts of sessions, overall (k = '') and per role (k = 'r:' || role),
-- so that List's total costs O(log N + sessions past their deadline) instead
-- of a count over the whole index. Kept by the statements that insert,
-- delete or re-role sessions (addCounts), once per statement rather than by
-- a trigger per row, which doubled the cost of ending sessions in bulk.
CREATE TABLE counts (
	k TEXT PRIMARY KEY,
	n INTEGER NOT NULL
) WITHOUT ROWID;

-- scs blobs by token hash. A blob exists only while a session record carries
-- its hash: CommitCtx checks, End and Rekey delete.
CREATE TABLE blobs (
	token_hash TEXT    PRIMARY KEY,
	data       BLOB    NOT NULL,
	expiry     INTEGER NOT NULL
);

-- Tombstones by the ended token's hash, until expires_at (At + keep).
CREATE TABLE tombstones (
	token_hash TEXT    NOT NULL PRIMARY KEY,
	sid        TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	actor      TEXT    NOT NULL,
	note       TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tombstones_expiry ON tombstones (expires_at);

-- The holding area cleanup archives from.
CREATE TABLE ended (` + recordColDefs + `,` + endedColDefs + `,
	PRIMARY KEY (sid)
);
CREATE INDEX ended_at ON ended (t_at, sid);

CREATE TABLE archived (` + recordColDefs + `,` + endedColDefs + `,
	archived_at  INTEGER NOT NULL,
	retain_until INTEGER NOT NULL,
	PRIMARY KEY (sid)
);
CREATE INDEX archived_retention ON archived (retain_until);

CREATE TABLE throttle (
	k          TEXT    PRIMARY KEY,
	n          INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX throttle_expiry ON throttle (expires_at);

CREATE TABLE leases (
	name   TEXT    PRIMARY KEY,
	holder TEXT    NOT NULL,
	until  INTEGER NOT NULL
) WITHOUT ROWID;
`,
}

// migrate brings the schema to schemaVersion in one transaction. It refuses
// a database written by a newer version rather than guess at its layout.
func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return fmt.Errorf("sqlite: read schema version: %w", err)
		}
		if v > schemaVersion {
			return fmt.Errorf("sqlite: database schema version %d is newer than this program's %d", v, schemaVersion)
		}
		for ; v < schemaVersion; v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("sqlite: migrate schema to version %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return fmt.Errorf("sqlite: write schema version: %w", err)
		}
		return nil
	})
}
