package store

import (
	"context"
	"time"
)

// Event types. The expired family (idle, lifetime) is recorded as expired with
// the reason in Data["reason"].
const (
	EventPageView    = "page_view"
	EventAPICall     = "api_call"
	EventFileUpload  = "file_upload"
	EventAnalysisRun = "analysis_run"
	EventStateChange = "state_change"
	EventLogin       = "login"
	EventLogout      = "logout"
	EventRefresh     = "refresh"
	EventEvicted     = "evicted"
	EventExpired     = "expired"
	EventTerminated  = "terminated"
	EventRecovered   = "recovered"
	EventSecurity    = "security"
)

// TimelineCap is how many events a session's timeline keeps: the newest; older
// ones are counted in SessionCounters.Dropped.
const TimelineCap = 500

// Event is one thing a session did. Day and Hour name the aggregate buckets the
// event counts in ("2026-11-26", "2026-11-26T14"), computed by the service in
// the configured time zone; the store only uses them as keys.
type Event struct {
	SID  string
	User string
	Type string
	At   time.Time
	Data map[string]string // small: path, bytes, comments, ...
	Day  string
	Hour string
}

// SessionCounters are one session's running totals.
type SessionCounters struct {
	PageViews int64
	APICalls  int64
	Uploads   int64
	Analyses  int64
	Comments  int64 // sum of Data["comments"] of analysis_run events
	Events    int64 // every event recorded
	Dropped   int64 // events no longer in the timeline (older than the newest TimelineCap)
	First     time.Time
	Last      time.Time
}

// DayStats are one day's aggregates.
type DayStats struct {
	Day            string
	Created        int64 // sessions started
	UniqueUsers    int64 // distinct users who started a session (HyperLogLog on Redis: approximate)
	PeakConcurrent int64 // the most live sessions seen when one started
	Ended          int64
	DurationSum    time.Duration // of the sessions that ended that day
	Analyses       int64
	PageViews      int64
	APICalls       int64
}

// HourStats are one hour's aggregates, for charts.
type HourStats struct {
	Hour       string
	Created    int64
	PeakActive int64
	Analyses   int64
	PageViews  int64
}

// AuditEntry is one admin action or security event. An action's intent is
// written before it runs (Result "pending") and its outcome after.
type AuditEntry struct {
	ID          string // assigned by AppendAudit: sortable by time
	At          time.Time
	Actor       string
	ActorIP     string
	Action      string // login, login_failed, logout, terminate, terminate_user, terminate_bulk, recover, recovery_link, config_reload, ...
	Target      string // sid, user or filter
	Reason      string
	Result      string // "pending", "ok", or "failed: ..."
	Affected    int
	CompletedAt time.Time
}

// AuditQuery selects audit entries, newest first. Zero fields do not filter.
type AuditQuery struct {
	From, To time.Time // At in [From, To)
	Actor    string
	Action   string
	Target   string
	Cursor   string // Next of the previous page
	Limit    int    // 1..500, default 50
}

// AuditPage is one page of entries. A store that bounds the work of one
// query may return fewer than Limit entries with Next set: keep paging.
type AuditPage struct {
	Entries []AuditEntry
	Next    string
}

// Analytics keeps events, per-session counters, daily and hourly aggregates and
// the audit log. Everything expires after the retention it is written with.
type Analytics interface {
	// AppendEvents records a batch in one round trip (Redis) or one
	// transaction (SQLite), in order: each event goes to the front of its
	// session's timeline (trimmed to TimelineCap), bumps its session's
	// counters, and bumps its day's and hour's PageViews/Analyses/APICalls by
	// type. Session data expires retention after its last event; day and hour
	// buckets retention after the day. Appending the same batch twice counts
	// it twice: callers retry only batches that failed. Events without a SID
	// are skipped (a batch never fails for its content), and Data["comments"]
	// counts only when it is a non-negative integer on an analysis_run.
	AppendEvents(ctx context.Context, events []Event, retention time.Duration) error
	// Timeline returns a session's events, newest first, from offset; limit
	// <= 0 returns none.
	Timeline(ctx context.Context, sid string, offset, limit int) ([]Event, error)
	// Counters returns a session's totals; found=false when it has no events.
	Counters(ctx context.Context, sid string) (SessionCounters, bool, error)

	// NoteStart counts a session start in day and hour, adds user to the
	// day's unique users, and raises the day's and hour's peak to the number
	// of live sessions at now (deadline after now), in one atomic step.
	NoteStart(ctx context.Context, user, day, hour string, now time.Time, retention time.Duration) error
	// NoteEnd counts a session end and its duration in day.
	NoteEnd(ctx context.Context, day string, duration time.Duration, retention time.Duration) error
	// Days and Hours return the buckets asked for, in the order asked, zero
	// where nothing was recorded.
	Days(ctx context.Context, days []string) ([]DayStats, error)
	Hours(ctx context.Context, hours []string) ([]HourStats, error)

	// AppendAudit writes e (Result "pending" unless set) and returns its id.
	AppendAudit(ctx context.Context, e AuditEntry, retention time.Duration) (string, error)
	// CompleteAudit records an entry's outcome. Completing an unknown or
	// expired entry is not an error.
	CompleteAudit(ctx context.Context, id, result string, affected int, at time.Time) error
	// QueryAudit returns a page of entries, newest first. A cursor it did not
	// produce is an error wrapping ErrBadCursor.
	QueryAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
}
