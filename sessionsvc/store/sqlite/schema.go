package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is the PRAGMA user_version this code writes and understands.
// Each entry of migrations takes the database from version i to i+1.
const schemaVersion = 6

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

	// 1 -> 2: session state, snapshots, recovery points and links, user
	// preferences (issue 3).
	`
-- One row per key of a category of a session's state. Values are opaque
-- (the service seals them) and may be large, so this is a rowid table: a
-- WITHOUT ROWID b-tree keeps whole rows in its interior pages and works
-- best for rows under a twentieth of a page.
CREATE TABLE state_values (
	sid      TEXT NOT NULL,
	category TEXT NOT NULL,
	k        TEXT NOT NULL,
	value    BLOB NOT NULL,
	PRIMARY KEY (sid, category, k)
);

-- The version of each category that was ever written.
CREATE TABLE state_categories (
	sid      TEXT    NOT NULL,
	category TEXT    NOT NULL,
	version  INTEGER NOT NULL,
	PRIMARY KEY (sid, category)
) WITHOUT ROWID;

-- Per session: state_version, last_modified (unix ms) and the exact byte
-- count (sum of len(key)+len(value)) that UpdateState's limit checks, kept
-- by each update from the sizes it replaces so no update sums the state.
CREATE TABLE state_meta (
	sid           TEXT    PRIMARY KEY,
	version       INTEGER NOT NULL,
	last_modified INTEGER NOT NULL,
	bytes         INTEGER NOT NULL
) WITHOUT ROWID;

-- A category as it was before an update, its values in one blob
-- (encodeValues): a snapshot is written and trimmed whole, never queried
-- by key.
CREATE TABLE snapshots (
	sid      TEXT    NOT NULL,
	category TEXT    NOT NULL,
	version  INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	vals     BLOB    NOT NULL,
	PRIMARY KEY (sid, category, version)
);

-- An ended session is a recovery point while recover_until (unix ms, 0 for
-- a logout) is after now and it was not claimed; cleanup takes it from
-- ready_at on: its end for a logout, the window's close otherwise, its end
-- again once claimed. Sessions ended before this version were all ready.
ALTER TABLE ended ADD COLUMN ready_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ended ADD COLUMN recover_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ended ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
UPDATE ended SET ready_at = t_at;
DROP INDEX ended_at;
CREATE INDEX ended_ready ON ended (ready_at, sid);
CREATE INDEX ended_recovery ON ended (t_user, recover_until);

-- The final state (archiveState, JSON) and file list (JSON) of an
-- archived session.
ALTER TABLE archived ADD COLUMN state BLOB;
ALTER TABLE archived ADD COLUMN files BLOB;

-- One-time recovery links by the hash of their token.
CREATE TABLE recovery_links (
	token_hash TEXT    PRIMARY KEY,
	sid        TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	used       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX recovery_links_expiry ON recovery_links (expires_at);

CREATE TABLE user_prefs (
	username TEXT PRIMARY KEY,
	value    BLOB NOT NULL
);
`,

	// 2 -> 3: analytics and the audit log (issue 4). Every table carries
	// expires_at (unix ms) with an index, so that the writes that know the
	// time remove a bounded batch of what has expired (pruneAnalytics).
	`
-- One session's running totals. events is also the seq of its newest
-- event: a session's events are numbered 1, 2, ... without gaps, so the
-- timeline is trimmed by one range delete and Dropped is
-- max(0, events - TimelineCap).
CREATE TABLE session_counters (
	sid        TEXT    PRIMARY KEY,
	page_views INTEGER NOT NULL,
	api_calls  INTEGER NOT NULL,
	uploads    INTEGER NOT NULL,
	analyses   INTEGER NOT NULL,
	comments   INTEGER NOT NULL,
	events     INTEGER NOT NULL,
	first_at   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_counters_expiry ON session_counters (expires_at, sid);

-- The newest TimelineCap events of each session; they expire with its
-- counters row. data is a JSON object, '' for none.
CREATE TABLE events (
	sid      TEXT    NOT NULL,
	seq      INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	type     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	data     TEXT    NOT NULL,
	day      TEXT    NOT NULL,
	hour     TEXT    NOT NULL,
	PRIMARY KEY (sid, seq)
) WITHOUT ROWID;

-- Daily aggregates. users is the count of day_users rows of the day, kept
-- by the insert that adds one, so reading a day costs one row.
-- duration_ns sums the durations of the sessions that ended that day.
CREATE TABLE day_stats (
	day         TEXT    PRIMARY KEY,
	created     INTEGER NOT NULL DEFAULT 0,
	users       INTEGER NOT NULL DEFAULT 0,
	peak        INTEGER NOT NULL DEFAULT 0,
	ended       INTEGER NOT NULL DEFAULT 0,
	duration_ns INTEGER NOT NULL DEFAULT 0,
	analyses    INTEGER NOT NULL DEFAULT 0,
	page_views  INTEGER NOT NULL DEFAULT 0,
	api_calls   INTEGER NOT NULL DEFAULT 0,
	expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX day_stats_expiry ON day_stats (expires_at, day);

-- The users who started a session on a day: an exact unique count.
CREATE TABLE day_users (
	day        TEXT    NOT NULL,
	username   TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (day, username)
) WITHOUT ROWID;
CREATE INDEX day_users_expiry ON day_users (expires_at);

CREATE TABLE hour_stats (
	hour       TEXT    PRIMARY KEY,
	created    INTEGER NOT NULL DEFAULT 0,
	peak       INTEGER NOT NULL DEFAULT 0,
	analyses   INTEGER NOT NULL DEFAULT 0,
	page_views INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX hour_stats_expiry ON hour_stats (expires_at, hour);

-- The audit log. id begins with at's unix milliseconds (13 digits), so the
-- primary key is also the time index: newest-first pages and time ranges
-- walk it (an index on at would duplicate it), and each filter has an
-- index ending in id for the same walk.
CREATE TABLE audit (
	id           TEXT    PRIMARY KEY,
	at           INTEGER NOT NULL,
	actor        TEXT    NOT NULL,
	actor_ip     TEXT    NOT NULL,
	action       TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	result       TEXT    NOT NULL,
	affected     INTEGER NOT NULL,
	completed_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_expiry ON audit (expires_at);
`,

	// 3 -> 4: bulk-termination previews (issue 5), kept until expires_at
	// (unix ms); SavePreview prunes a batch of expired ones.
	`
CREATE TABLE previews (
	id         TEXT    PRIMARY KEY,
	data       BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX previews_expiry ON previews (expires_at);
`,

	// 4 -> 5: accounts an administrator disabled (issue 5).
	`
CREATE TABLE disabled_accounts (
	username TEXT PRIMARY KEY
) WITHOUT ROWID;
`,

	// 5 -> 6: the console's list of ended sessions (ListEnded), newest end
	// first across the holding area and the archive.
	`
-- An archived session keeps what its ended row said of its recovery point:
-- the window's end (0 for none) and whether it was claimed. Sessions
-- archived before this version show neither.
ALTER TABLE archived ADD COLUMN recover_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE archived ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;

-- Both tables are walked in end order, overall and per user. The holding
-- area keeps about one recovery window of sessions and every bulk end
-- writes it, so it has only these two; the archive keeps a retention's
-- worth, written one session at a time by cleanup, so it also has one per
-- reason and one of the recovery points (partial). The archive's indexes
-- end in retain_until (and recover_until where a count may ask), so that
-- pages and counts skip the archives past their retention without reading
-- the table.
CREATE INDEX ended_at ON ended (t_at, sid);
CREATE INDEX ended_user_at ON ended (t_user, t_at, sid);
CREATE INDEX archived_at ON archived (t_at, sid, retain_until);
CREATE INDEX archived_user_at ON archived (t_user, t_at, sid, retain_until);
CREATE INDEX archived_reason_at ON archived (t_reason, t_at, sid, retain_until, recover_until);
CREATE INDEX archived_recovery_at ON archived (t_at, sid, retain_until, recover_until) WHERE recover_until > t_at;
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
