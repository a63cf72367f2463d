// Package store is the storage contract of the session service: the scs session
// blobs, the registry of live sessions with the indexes the console lists by,
// tombstones of ended sessions, the holding area that cleanup archives from,
// login throttling counters and cleanup leases.
//
// Two implementations exist (store/redis for production, store/sqlite for the
// embedded database) and both must pass storetest.Run. The package never knows
// of HTTP, cookies or raw session tokens: sessions are named by their public id
// (sid) and, where the browser's token is involved, by the token's hash, which is
// what scs hands to the store when HashTokenInStore is on.
//
// Rules every implementation keeps:
//
//   - Every method is safe for concurrent use, also by many app instances
//     sharing one backend (Redis).
//   - Time is an argument (now), never read from the system clock, so that tests
//     move time instead of sleeping. TTLs a backend applies by itself are only a
//     safety net and are always longer than the deadlines they back up.
//   - A session whose deadline has passed is never returned by Get or List and
//     never counted, even before cleanup has ended it.
//   - Not-found is (zero, false, nil). Errors mean the store could not answer.
//   - A blob exists exactly while its session lives: ending a session deletes the
//     blob in the same atomic step, and CommitCtx refuses to write a blob whose
//     session has no live registry record carrying that token hash.
//   - No KEYS, no SCAN over sessions, no scs All/Iterate: every query is served
//     from an index.
package store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrSessionGone is returned by CommitCtx and Rekey when the session has no
	// live registry record with the given token hash: it was ended (or renewed)
	// while the request was in flight. The caller must not retry.
	ErrSessionGone = errors.New("store: session gone")
	// ErrNoCommitInfo is returned by CommitCtx when the context carries no
	// CommitInfo: anonymous sessions are never stored.
	ErrNoCommitInfo = errors.New("store: commit without session info")
	// ErrLocked is returned by an embedded store whose database file is in use
	// by another process.
	ErrLocked = errors.New("store: database is in use by another process")
	// ErrBadCursor is returned by List and ListEnded for a cursor they did
	// not produce.
	ErrBadCursor = errors.New("store: malformed cursor")
)

// Reason says why a session ended.
type Reason string

// The reasons a session ends. Each is written into the session's tombstone.
const (
	ReasonLogout          Reason = "logout"
	ReasonExpired         Reason = "expired"  // timeout_minutes passed since creation or the last refresh
	ReasonIdle            Reason = "idle"     // idle_timeout_minutes without user activity
	ReasonLifetime        Reason = "lifetime" // max_lifetime_hours passed since creation
	ReasonEvicted         Reason = "evicted"  // the user signed in elsewhere beyond max_sessions_per_user
	ReasonTerminated      Reason = "terminated"
	ReasonSecurity        Reason = "security"
	ReasonAccountRemoved  Reason = "account_removed"
	ReasonAccountDisabled Reason = "account_disabled"
)

// Valid reports whether r is one of the known reasons.
func (r Reason) Valid() bool {
	switch r {
	case ReasonLogout, ReasonExpired, ReasonIdle, ReasonLifetime, ReasonEvicted,
		ReasonTerminated, ReasonSecurity, ReasonAccountRemoved, ReasonAccountDisabled:
		return true
	}
	return false
}

// Record is the registry's view of one live session: everything the console lists
// and the request path needs to re-check. Times are kept with millisecond
// precision by every store.
type Record struct {
	SID             string // stable public id; never the token
	TokenHash       string // hash of the current token, as scs stores it
	User            string
	Role            string
	CreatedAt       time.Time
	AuthenticatedAt time.Time
	LastActivity    time.Time // last user-initiated request that was written (throttled)
	ExpiresAt       time.Time // CreatedAt or last refresh + timeout_minutes, capped at LifetimeAt
	IdleAt          time.Time // LastActivity + idle_timeout_minutes
	LifetimeAt      time.Time // CreatedAt + max_lifetime_hours; never extended
	FirstIP         string
	LastIP          string
	FirstUserAgent  string
	LastUserAgent   string
	IPChanged       bool   // LastIP differed from FirstIP at some point; stays true
	UAChanged       bool   // LastUserAgent differed from FirstUserAgent at some point; stays true
	Device          string // browser and OS summary parsed once at creation
	Fingerprint     string // hash of user agent and Accept-Language
	Path            string // current page
	Processing      string // processing status ("idle", "queued", "running", "done", "failed")
	Progress        int    // percent of a running analysis
	StateVersion    int64
	RecoveredFrom   string // sid this session was recovered from, if any
}

// Deadline is the earliest of the session's three clocks: the time it ends
// unless refreshed. It is the score of the deadline index.
func (r Record) Deadline() time.Time {
	d := r.ExpiresAt
	if r.IdleAt.Before(d) {
		d = r.IdleAt
	}
	if r.LifetimeAt.Before(d) {
		d = r.LifetimeAt
	}
	return d
}

// DueReason names the clock that ends a session whose deadline is at or before now.
// It returns "" if the session is still live at now. When clocks fall due
// together, lifetime wins over expiry and expiry over idle.
func (r Record) DueReason(now time.Time) Reason {
	switch {
	case !now.Before(r.LifetimeAt):
		return ReasonLifetime
	case !now.Before(r.ExpiresAt):
		return ReasonExpired
	case !now.Before(r.IdleAt):
		return ReasonIdle
	}
	return ""
}

// Tombstone records how a session ended. It is kept for the recovery window,
// looked up by the ended token's hash so the browser that still carries the
// cookie can be told why.
type Tombstone struct {
	SID       string
	TokenHash string // filled by the store from the record it ended
	User      string // filled by the store from the record it ended
	Reason    Reason
	Actor     string // who ended it: the user, an admin's name, or "system"
	Note      string // free text, e.g. an administrator's reason
	At        time.Time
}

// Touch is the activity update applied together with a blob write.
type Touch struct {
	LastActivity time.Time
	ExpiresAt    time.Time
	IdleAt       time.Time
	IP           string
	UserAgent    string
	Path         string
}

// CommitInfo tells CommitCtx which session a blob belongs to and what else to
// update in the same atomic step. scs only passes the token hash and the bytes, so
// the session middleware attaches this to the request context.
type CommitInfo struct {
	SID   string
	Touch *Touch // nil: write the blob only
}

type commitKey struct{}

// WithCommit returns a context that carries info for CommitCtx.
func WithCommit(ctx context.Context, info CommitInfo) context.Context {
	return context.WithValue(ctx, commitKey{}, info)
}

// CommitFrom returns the CommitInfo attached by WithCommit.
func CommitFrom(ctx context.Context) (CommitInfo, bool) {
	info, ok := ctx.Value(commitKey{}).(CommitInfo)
	return info, ok && info.SID != ""
}

// Blobs is the scs store side: it holds the session blob that scs encodes, keyed
// by the token hash. It satisfies scs.Store and scs.CtxStore; scs calls the Ctx
// variants, the others exist only to satisfy scs.Store and use a background
// context.
type Blobs interface {
	// FindCtx returns the blob for a token hash: one read, nothing else (on
	// Redis one GET). Missing or expired is found=false, err=nil.
	FindCtx(ctx context.Context, tokenHash string) (b []byte, found bool, err error)
	// CommitCtx writes the blob, and the CommitInfo's Touch if any, atomically,
	// but only while the session named by CommitFrom(ctx) has a live registry
	// record whose TokenHash equals tokenHash; otherwise it writes nothing and
	// returns ErrSessionGone. Without CommitInfo it returns ErrNoCommitInfo.
	// A Touch sets LastActivity, ExpiresAt, IdleAt, Path and LastIP/
	// LastUserAgent (raising IPChanged/UAChanged when they differ from the
	// first ones) and moves the session in the activity and deadline indexes.
	// expiry is the scs deadline; the store keeps the blob at least until then
	// plus its safety margin.
	CommitCtx(ctx context.Context, tokenHash string, b []byte, expiry time.Time) error
	// DeleteCtx removes the blob only (scs calls it when renewing a token).
	// It is idempotent. Ending a session is Registry.End, not DeleteCtx.
	DeleteCtx(ctx context.Context, tokenHash string) error

	Find(tokenHash string) ([]byte, bool, error)
	Commit(tokenHash string, b []byte, expiry time.Time) error
	Delete(tokenHash string) error
}

// Sort is the order of a List.
type Sort string

// The orders List supports. Each has a fixed direction, the most useful one to
// an operator. Ties on the score are broken by sid in the same direction
// (activity and created: score then sid descending; deadline: score then sid
// ascending), which is Redis's sorted-set order, so paging is stable: a cursor
// names the (score, sid) of the last row and the next page starts strictly after
// it.
const (
	SortActivity Sort = "activity" // most recently active first
	SortCreated  Sort = "created"  // newest first
	SortDeadline Sort = "deadline" // soonest to end first
)

// Valid reports whether s is a known sort.
func (s Sort) Valid() bool { return s == SortActivity || s == SortCreated || s == SortDeadline }

// Filter narrows a List. Empty fields do not filter.
type Filter struct {
	User string
	Role string
	IP   string // matches LastIP or FirstIP exactly
}

// Query is one page request.
type Query struct {
	Filter Filter
	Sort   Sort   // default SortActivity
	Cursor string // "" for the first page; else Page.Next of the previous page
	Limit  int    // 1..500, default 50
}

// Page is one page of a List.
type Page struct {
	Records []Record
	Total   int    // exact number of live sessions matching the filter
	Next    string // cursor of the next page; "" on the last page
}

// EndedSession is what End keeps for cleanup and recovery: the final record,
// the final blob and the tombstone, while the session's state stays where it
// was. It stays until Archive or Purge removes it.
type EndedSession struct {
	Record    Record
	Blob      []byte
	Tombstone Tombstone
	// State is the session's final state. Ended fills it; Archive stores what
	// the caller passes (the service drops temporary_data first).
	State StateDoc
	// Files lists the session's files at archive time; the caller fills it.
	Files []string
}

// Archived is an ended session kept after cleanup when archive_expired is on,
// with its final state and file list.
type Archived struct {
	EndedSession
	ArchivedAt time.Time
}

// EndedQuery asks for one page of ended sessions, most recently ended first.
// Empty fields do not filter; set fields combine (all must match).
type EndedQuery struct {
	User   string // only this user's
	Reason Reason // only those that ended for this reason; "" for any
	// Recoverable keeps only the sessions that were made recovery points:
	// ended for a reason other than logout with a recovery window (keep > 0),
	// whether the window is still open, closed or claimed.
	Recoverable bool
	Cursor      string // "" for the first page; else EndedPage.Next of the previous page
	Limit       int    // 1..500, default 50
}

// EndedEntry is one ended session as the console lists it.
type EndedEntry struct {
	Record    Record    // the final record
	Tombstone Tombstone // how and when it ended, and by whom
	// Archived is true once cleanup archived it; false while it is held in
	// the ended holding area (its recovery window open, or cleanup not yet
	// run).
	Archived   bool
	ArchivedAt time.Time // zero while held
	// RecoverUntil is the end of its recovery window (Tombstone.At plus the
	// keep it ended with), open or not; zero if it never was a recovery
	// point (a logout, or an end with keep 0).
	RecoverUntil time.Time
	// Claimed is true once ClaimRecovery took its recovery point (the user
	// resumed it); it stays true after the session is archived.
	Claimed bool
}

// EndedPage is one page of ListEnded.
type EndedPage struct {
	Entries []EndedEntry
	Total   int    // exact number of listed ended sessions matching the query
	Next    string // cursor of the next page; "" on the last page
}

// Registry keeps one record per live session and the indexes the console lists by.
type Registry interface {
	// Create inserts a new session's record and indexes, atomically with the
	// per-user limit: the user's sessions whose deadline has passed are ended
	// with their due reason, and while the user still has max or more live
	// sessions the least recently active one (ties: the oldest created) is ended
	// with ReasonEvicted (Actor "system"). Concurrent Creates for one user never
	// leave more than max live sessions. It returns the tombstones of the
	// sessions it ended; those go to the ended holding area with tombstones
	// findable by their token hash and kept for keep, as End does (every
	// session Create ends has At == now). The record must carry SID, TokenHash,
	// User, Role and all times.
	Create(ctx context.Context, rec Record, max int, now time.Time, keep time.Duration) (ended []Tombstone, err error)

	// Get returns a live session's record; ended or past its deadline at now
	// is found=false.
	Get(ctx context.Context, sid string, now time.Time) (Record, bool, error)

	// List returns one page of live sessions (deadline after now) and the exact
	// total. Cost: O(log N + page) for every sort with no filter, with a User
	// filter (a user has at most max sessions) or with a Role filter (each role
	// has its own indexes). Filters combined with User stay cheap for the same
	// reason; Role+IP and IP alone walk the chosen index and cost O(N) in the
	// worst case, since IPs are not indexed.
	List(ctx context.Context, q Query, now time.Time) (Page, error)

	// Rekey moves a live session to a new token hash (token renewal) and sets
	// its role (role change; pass the current role to keep it), updating the
	// role indexes. It deletes the old blob. It returns ErrSessionGone unless
	// the session is live at now with oldHash.
	Rekey(ctx context.Context, sid, oldHash, newHash, role string, now time.Time) error

	// End ends one session atomically: it writes the tombstone (kept for
	// keep), moves the record and blob into the ended holding area for cleanup,
	// and removes the blob, record and every index entry. The session's state
	// stays; unless the reason is logout, the session becomes a recovery
	// point of its user for keep (the recovery window). It reports whether
	// this call ended it; ending an ended or unknown session is (false, nil).
	End(ctx context.Context, sid string, t Tombstone, keep time.Duration) (bool, error)

	// EndMany ends each of sids as End does and returns how many this call
	// ended. It is atomic per session, not across the list. Each tombstone gets
	// its session's SID, User and TokenHash filled in from t.
	EndMany(ctx context.Context, sids []string, t Tombstone, keep time.Duration) (int, error)

	// EndUser ends every live session of user as End does, except the sids in
	// except, and returns how many it ended.
	EndUser(ctx context.Context, user string, except []string, t Tombstone, keep time.Duration) (int, error)

	// Tombstone returns the tombstone of the session that the token hash
	// belonged to, while it is kept.
	Tombstone(ctx context.Context, tokenHash string) (Tombstone, bool, error)

	// Due returns up to limit records of sessions whose deadline is at or
	// before now and that have not been ended yet, earliest deadline first.
	Due(ctx context.Context, now time.Time, limit int) ([]Record, error)

	// Ended returns up to limit sessions of the ended holding area that are
	// ready for cleanup at now, earliest ready first, with their final State. A
	// session is ready when it ended by logout, or when its recovery window
	// (the keep passed to End or Create) has closed, or once it was recovered
	// (ClaimRecovery): until then its state, snapshots and recovery point
	// must stay.
	Ended(ctx context.Context, now time.Time, limit int) ([]EndedSession, error)

	// Archive stores e as archived (kept for retention) and removes, in one
	// atomic step, the ended entry, the session's state, snapshots and
	// recovery point. Archiving twice is not an error.
	Archive(ctx context.Context, e EndedSession, now time.Time, retention time.Duration) error

	// Purge removes what Archive removes, without archiving. Purging twice is
	// not an error.
	Purge(ctx context.Context, sid string) error

	// Archived returns an archived session.
	Archived(ctx context.Context, sid string) (Archived, bool, error)

	// ListEnded returns one page of ended sessions, held or archived, and
	// the exact total matching q. A session is listed from the call that
	// ended it (End, EndMany, EndUser, or Create for the sessions it ends),
	// with its final record, while it is held and once Archive archived it,
	// until Purge removes it or its archive's retention (the now and
	// retention passed to Archive) has passed at now. Order: Tombstone.At
	// descending, ties by sid descending (bytes), which is Redis's
	// sorted-set order; the cursor names the (At, sid) of the last row
	// (EncodeCursor, At in unix ms) and the next page starts strictly after
	// it, so sessions ending meanwhile never shift later pages. A cursor it
	// did not make is ErrBadCursor, an unknown Reason an error.
	// Cost: the page is O(log N + page) from an index with no filter or
	// with one filter, and on Redis also with Reason and Recoverable
	// together; User combined with another filter walks the user's ended
	// sessions. SQLite walks its holding area (sessions ended within about
	// one recovery window) in end order for Reason and Recoverable. Total
	// is a ZCARD on Redis (the walk's count when User combines with another
	// filter) and a count of the matching index entries on SQLite.
	ListEnded(ctx context.Context, q EndedQuery, now time.Time) (EndedPage, error)

	// SetProcessing sets a live session's processing status and progress
	// (percent), the fast-changing figures that are not versioned state. It
	// returns ErrSessionGone for a session without a live record.
	SetProcessing(ctx context.Context, sid, status string, progress int) error
}

// The state categories of the spec.
const (
	CatUserData      = "user_data"
	CatAnalysisData  = "analysis_data"
	CatUIState       = "ui_state"
	CatPreferences   = "preferences"
	CatTemporaryData = "temporary_data"
)

// Categories lists the state categories in display order.
var Categories = []string{CatUserData, CatAnalysisData, CatUIState, CatPreferences, CatTemporaryData}

// ValidCategory reports whether c is one of Categories.
func ValidCategory(c string) bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// More sentinel errors of the state contract.
var (
	// ErrVersionConflict is returned by UpdateState when Expect does not match
	// the category's current version.
	ErrVersionConflict = errors.New("store: state version conflict")
	// ErrStateTooLarge is returned by UpdateState when the write would take
	// the session's state past Limit bytes.
	ErrStateTooLarge = errors.New("store: session state too large")
)

// CategoryDoc is one category of a session's state. Values are opaque bytes
// (the service stores them encrypted); the store never looks inside.
type CategoryDoc struct {
	Values  map[string][]byte
	Version int64 // 0 until the first write
}

// StateDoc is a session's whole state.
type StateDoc struct {
	Categories   map[string]CategoryDoc // only categories that were ever written
	Version      int64                  // state_version: bumped by every update
	LastModified time.Time
	Bytes        int64 // sum of len(key)+len(value) over every category
}

// StateUpdate is one atomic write to one category of a live session.
type StateUpdate struct {
	// Category is one of Categories; the service checks it, a store may
	// refuse others.
	Category string
	Set      map[string][]byte // keys to write
	Delete   []string          // keys to remove
	Replace  bool              // drop every key of the category not in Set
	// Expect is the category version the caller read; the update fails with
	// ErrVersionConflict unless it matches. -1 writes unconditionally.
	Expect int64
	// Snapshots > 0 keeps a snapshot of the category as it was before this
	// update (when it had been written before), trimming to the newest
	// Snapshots; 0 takes none.
	Snapshots int
	// Limit bounds the session's total state bytes after the update; 0 means
	// no limit.
	Limit int64
	Now   time.Time
}

// StateVersions are the versions after an update.
type StateVersions struct {
	Category     int64
	State        int64
	LastModified time.Time
}

// Snapshot is a category as it was before an update.
type Snapshot struct {
	Version int64     // the category version it captured
	At      time.Time // u.Now of the update that took it
	Values  map[string][]byte
}

// RecoveryPoint is an ended session its user may resume. It is the ended
// session itself: its final state and files stay until the window closes.
type RecoveryPoint struct {
	SID       string
	User      string
	Reason    Reason
	EndedAt   time.Time
	ExpiresAt time.Time // end of the recovery window
	Record    Record    // final record: last activity, path, processing status
}

// State keeps each session's versioned state, snapshots, recovery points and
// recovery links, and each user's saved preferences.
type State interface {
	// GetState returns a session's state while it is live or ended but not
	// yet archived or purged. A session with no state yet is found with an
	// empty doc if its record is live; an unknown sid is found=false.
	GetState(ctx context.Context, sid string) (StateDoc, bool, error)

	// UpdateState applies u atomically, only while the session's registry
	// record is live (else ErrSessionGone): it snapshots if asked, checks
	// Expect, writes and deletes the keys, bumps the category version and
	// the session's state version (also in the registry record's
	// StateVersion), sets LastModified to u.Now and keeps Bytes exact.
	// Concurrent updates never lose each other's keys.
	UpdateState(ctx context.Context, sid string, u StateUpdate) (StateVersions, error)

	// Snapshots returns a category's snapshots, newest first.
	Snapshots(ctx context.Context, sid, category string) ([]Snapshot, error)

	// RecoveryPoints returns the user's recovery points whose window is open
	// at now, newest end first. End and Create make one for every session they
	// end with a reason other than logout, expiring keep after the end.
	RecoveryPoints(ctx context.Context, user string, now time.Time) ([]RecoveryPoint, error)

	// ClaimRecovery takes sid's recovery point for user, once (a claimed point
	// is no longer listed by RecoveryPoints): it reports
	// false when there is none, it is another user's, its window closed at
	// now, or it was claimed before. A claimed session becomes ready for
	// cleanup (see Ended) once the caller has copied its state.
	ClaimRecovery(ctx context.Context, sid, user string, now time.Time) (RecoveryPoint, bool, error)

	// SaveRecoveryLink stores a one-time link, by the hash of its token, to
	// sid's recovery point for user, until expires.
	SaveRecoveryLink(ctx context.Context, tokenHash, sid, user string, expires time.Time) error
	// RecoveryLink returns the link without using it (false when unknown,
	// used or expired at now).
	RecoveryLink(ctx context.Context, tokenHash string, now time.Time) (sid, user string, ok bool, err error)
	// UseRecoveryLink marks the link used, once: false if it was unknown,
	// used or expired at now.
	UseRecoveryLink(ctx context.Context, tokenHash string, now time.Time) (sid, user string, ok bool, err error)

	// SaveUserPrefs stores a user's preferences (opaque bytes) for their next
	// sessions; UserPrefs reads them.
	SaveUserPrefs(ctx context.Context, user string, b []byte) error
	UserPrefs(ctx context.Context, user string) ([]byte, bool, error)
}

// Throttle keeps login failure counters shared by every app instance.
type Throttle interface {
	// Fail records one failure for key at now and returns the number of
	// failures within window (the counter is forgotten window after the last
	// failure, measured against the now passed in).
	Fail(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	// Failures returns the current count for key and the time of the last failure.
	Failures(ctx context.Context, key string) (n int, last time.Time, err error)
	// Reset forgets key.
	Reset(ctx context.Context, key string) error
}

// Leases lets one app instance at a time run a job (cleanup).
type Leases interface {
	// Acquire takes the named lease for holder until now+ttl if it is free,
	// expired, or already held by holder (which renews it). It reports whether
	// holder holds the lease.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// Release gives the lease up if holder holds it.
	Release(ctx context.Context, name, holder string) error
	// Holder reports who holds the named lease and until when, for the
	// console's System page. ok is false (with zero holder and until) when
	// the lease is free, released, or expired at now. It only reads: it never
	// takes, renews or clears the lease.
	Holder(ctx context.Context, name string, now time.Time) (holder string, until time.Time, ok bool, err error)
}

// Accounts keeps the accounts an administrator disabled. It lives in the
// store, not in one instance's memory or config, so that every app instance
// sharing the backend refuses a disabled account's sign-in at once.
type Accounts interface {
	// SetAccountDisabled marks user disabled or enabled again. Setting the
	// state the account already has is not an error.
	SetAccountDisabled(ctx context.Context, user string, disabled bool) error
	// AccountDisabled reports whether user was disabled; an unknown user is
	// (false, nil).
	AccountDisabled(ctx context.Context, user string) (bool, error)
}

// Store is everything the session service needs from a backend.
type Store interface {
	Accounts
	Blobs
	Registry
	State
	Analytics
	Throttle
	Leases
	Previews
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// EncodeCursor makes the opaque cursor both stores use: the sort score (unix
// milliseconds) and the sid of the last row of a page.
func EncodeCursor(score int64, sid string) string {
	b := binary.AppendVarint(nil, score)
	b = append(b, sid...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by EncodeCursor.
func DecodeCursor(c string) (score int64, sid string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	score, n := binary.Varint(b)
	if n <= 0 || len(b)-n == 0 || len(b)-n > 64 {
		return 0, "", ErrBadCursor
	}
	return score, string(b[n:]), nil
}

// NormalizeQuery applies the defaults and bounds of Query.
func NormalizeQuery(q Query) (Query, error) {
	if q.Sort == "" {
		q.Sort = SortActivity
	}
	if !q.Sort.Valid() {
		return q, fmt.Errorf("store: unknown sort %q", q.Sort)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		q.Limit = 500
	}
	return q, nil
}

// NormalizeEndedQuery applies the defaults and bounds of EndedQuery. An
// unknown Reason is an error; the cursor is checked by the store.
func NormalizeEndedQuery(q EndedQuery) (EndedQuery, error) {
	if q.Reason != "" && !q.Reason.Valid() {
		return q, fmt.Errorf("store: unknown reason %q", q.Reason)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		q.Limit = 500
	}
	return q, nil
}

// Score returns the index score of r for sort s, in unix milliseconds.
func Score(r Record, s Sort) int64 {
	switch s {
	case SortCreated:
		return r.CreatedAt.UnixMilli()
	case SortDeadline:
		return r.Deadline().UnixMilli()
	}
	return r.LastActivity.UnixMilli()
}
