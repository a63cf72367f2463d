package sessionsvc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
)

// Config mirrors config.yaml. LoadConfig reads it (defaults, then the file, then
// SESSIONCONSOLE_* environment variables) and Validate checks it; every key is
// documented in the shipped config.yaml. Durations are kept in the units the
// spec's SESSION_CONFIG uses (minutes, hours, seconds); the methods below turn
// them into time.Duration. A Config that passed Validate is safe to use as is:
// consumers do not re-check ranges.
type Config struct {
	Session   SessionConfig   `yaml:"session"`
	Storage   StorageConfig   `yaml:"storage"`
	Security  SecurityConfig  `yaml:"security"`
	Cleanup   CleanupConfig   `yaml:"cleanup"`
	Analytics AnalyticsConfig `yaml:"analytics"`
	Server    ServerConfig    `yaml:"server"`
	Accounts  []Account       `yaml:"accounts"`
}

// SessionConfig is the spec's session lifecycle.
type SessionConfig struct {
	TimeoutMinutes        int  `yaml:"timeout_minutes"`         // 30: expiry after creation or last refresh
	IdleTimeoutMinutes    int  `yaml:"idle_timeout_minutes"`    // 20: without user activity
	MaxLifetimeHours      int  `yaml:"max_lifetime_hours"`      // 12: never extended
	MaxSessionsPerUser    int  `yaml:"max_sessions_per_user"`   // 3: least recently active evicted
	EnableRecovery        bool `yaml:"enable_recovery"`         // true
	RecoveryWindowMinutes int  `yaml:"recovery_window_minutes"` // 60: tombstones and recovery points kept this long
	ActivityWriteSeconds  int  `yaml:"activity_write_seconds"`  // 60: at most one activity write per session this often
	Snapshots             int  `yaml:"snapshots"`               // 10: snapshots kept per category; 0 takes none
	MaxStateKB            int  `yaml:"max_state_kb"`            // 1024: size limit of one session's state
}

// StorageConfig selects and tunes the backend.
type StorageConfig struct {
	Backend      string `yaml:"backend"`    // "database" (SQLite file, default) | "memory" (SQLite in memory) | "redis"
	Path         string `yaml:"path"`       // SQLite file for "database": data/sessions.db
	FilesPath    string `yaml:"files_path"` // per-session file namespaces: data/files
	RedisURL     string `yaml:"redis_url"`  // redis://[[user]:password@]host:port/db or rediss://
	Persistence  bool   `yaml:"persistence"`
	PoolSize     int    `yaml:"pool_size"`        // 32
	DialTimeout  int    `yaml:"dial_timeout_ms"`  // 1000
	ReadTimeout  int    `yaml:"read_timeout_ms"`  // 500
	WriteTimeout int    `yaml:"write_timeout_ms"` // 500
	QuotaMB      int    `yaml:"quota_mb"`         // 50: disk quota of one session's files
	MaxUploadMB  int    `yaml:"max_upload_mb"`    // 20: largest single upload, <= QuotaMB

	// RedisUsername and RedisPassword authenticate to Redis (AUTH) instead
	// of credentials in RedisURL: an ACL user and its password, or the
	// requirepass password alone. Secrets: no message repeats them.
	RedisUsername string `yaml:"redis_username"`
	RedisPassword string `yaml:"redis_password"`
	// RedisCAFile is a PEM file of the certificate authorities that Redis's
	// and the sentinels' TLS certificates must chain to; "" trusts the
	// system roots.
	RedisCAFile string `yaml:"redis_ca_file"`
	// RedisReplicaWaitMS bounds the WAIT for one replica after ending
	// sessions, issued only while the primary has replicas; 0 never waits.
	RedisReplicaWaitMS int                 `yaml:"redis_replica_wait_ms"` // 100
	RedisSentinel      RedisSentinelConfig `yaml:"redis_sentinel"`
}

// RedisSentinelConfig finds the Redis primary through Redis Sentinel
// (storage.redis_sentinel). With a MasterName the host of storage.redis_url
// is not used; its scheme, credentials and database still are.
type RedisSentinelConfig struct {
	MasterName string   `yaml:"master_name"` // "" (default): no Sentinel
	Addresses  []string `yaml:"addresses"`   // host:port of each sentinel
	// Username and Password are the sentinels' own (their requirepass or an
	// ACL user), not Redis's. Secrets.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	TLS      bool   `yaml:"tls"` // talk TLS to the sentinels, verified as redis_ca_file says
}

// RedisReplicaWait is storage.redis_replica_wait_ms as a duration.
func (c StorageConfig) RedisReplicaWait() time.Duration {
	return time.Duration(c.RedisReplicaWaitMS) * time.Millisecond
}

// SecurityConfig holds the cookie, request-validation and encryption settings.
type SecurityConfig struct {
	SecureCookies     bool `yaml:"secure_cookies"`     // Secure + __Host- cookie name
	SessionEncryption bool `yaml:"session_encryption"` // encrypt blobs and state at rest (issue 3)
	CSRFProtection    bool `yaml:"csrf_protection"`
	IPValidation      bool `yaml:"ip_validation"` // a change of client IP ends the session
	// RecentAuthMinutes is how recently an admin must have given their
	// password (signing in, or confirming it) for the actions that end many
	// sessions or lock an account: terminate-user, bulk terminate, disable.
	RecentAuthMinutes int      `yaml:"recent_auth_minutes"` // 15
	TrustedProxies    []string `yaml:"trusted_proxies"`     // CIDRs whose X-Forwarded-For is believed
	SecretKey         string   `yaml:"secret_key"`          // base64, >= 32 bytes: signs login-form CSRF tokens; shared by all instances
	// EncryptionKeys seal session blobs and state: the first encrypts, all
	// decrypt. Read them through Keys, which resolves KeyEnv.
	EncryptionKeys []EncryptionKey `yaml:"encryption_keys"`
}

// RecentAuth is security.recent_auth_minutes as a duration.
func (c SecurityConfig) RecentAuth() time.Duration {
	return time.Duration(c.RecentAuthMinutes) * time.Minute
}

// EncryptionKey is one entry of security.encryption_keys: an id stored with
// every value it seals, and the key itself, given inline (Key) or through an
// environment variable (KeyEnv), exactly one of the two.
type EncryptionKey struct {
	ID     string `yaml:"id"`      // 1..32 of [A-Za-z0-9_-]
	Key    string `yaml:"key"`     // base64 of 32 bytes (sessionconsole gen-key)
	KeyEnv string `yaml:"key_env"` // name of the variable that holds the base64 key
}

// CleanupConfig drives the cleanup scheduler.
type CleanupConfig struct {
	Enabled         bool `yaml:"enabled"`
	IntervalSeconds int  `yaml:"interval_seconds"` // 300
	ArchiveExpired  bool `yaml:"archive_expired"`
	ArchiveDays     int  `yaml:"archive_retention_days"` // 7
}

// AnalyticsConfig switches event and metric recording and tunes the event
// buffer, the cost estimate and the retention of analytics and audit records.
type AnalyticsConfig struct {
	TrackEvents        bool       `yaml:"track_events"`
	TrackMetrics       bool       `yaml:"track_metrics"`        // false: no metrics listener
	RetentionDays      int        `yaml:"retention_days"`       // 30: events and daily aggregates
	Timezone           string     `yaml:"timezone"`             // America/Asuncion: where a day starts
	Cost               CostConfig `yaml:"cost"`                 // estimated cost per session
	BufferSize         int        `yaml:"buffer_size"`          // 10000: events waiting for a flush; more are dropped
	FlushIntervalMS    int        `yaml:"flush_interval_ms"`    // 1000: flush at least this often
	FlushBatch         int        `yaml:"flush_batch"`          // 500: or as soon as this many wait; <= BufferSize
	AuditRetentionDays int        `yaml:"audit_retention_days"` // 90: audit log entries kept
}

// CostConfig prices what a session does, for its estimated cost. Prices are
// in units of Currency; read them through Micros, whose integers add up
// without float drift.
type CostConfig struct {
	Currency        string  `yaml:"currency"`          // ISO 4217 code: USD
	PerAnalysis     float64 `yaml:"per_analysis"`      // 0.05 per analysis run
	Per1000Comments float64 `yaml:"per_1000_comments"` // 0.20 per 1,000 comments analysed
	PerAPICall      float64 `yaml:"per_api_call"`      // 0.001 per API call
}

// ServerConfig is the HTTP listeners and the log format.
type ServerConfig struct {
	Addr string `yaml:"addr"` // 127.0.0.1:8080
	// MetricsAddr is the metrics listener's address, apart from Addr so a
	// reverse proxy in front of the app never exposes it; "" turns it off.
	MetricsAddr string `yaml:"metrics_addr"` // 127.0.0.1:9090
	// MetricsToken, when set, is the bearer token every scrape must carry.
	// A secret: no message repeats it.
	MetricsToken string `yaml:"metrics_token"`
	LogFormat    string `yaml:"log_format"` // auto (JSON unless stderr is a terminal) | json | text
}

// Account is one user who may sign in.
type Account struct {
	Username     string `yaml:"username"`
	Role         string `yaml:"role"` // admin | operator | analyst
	PasswordHash string `yaml:"password_hash"`
	Disabled     bool   `yaml:"disabled"`
	// TOTPSecret, when set, makes the account give a time-based one-time
	// code (RFC 6238: SHA-1, 6 digits, 30 s) after its password: the base32
	// secret that the /account/two-factor page generates.
	TOTPSecret string `yaml:"totp_secret"`
}

// Roles.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleAnalyst  = "analyst"
)

// ValidRole reports whether r is one of the roles above.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleOperator || r == RoleAnalyst }

// The values of storage.backend.
const (
	BackendDatabase = "database" // SQLite file at storage.path
	BackendMemory   = "memory"   // SQLite in memory: lost on exit
	BackendRedis    = "redis"    // storage.redis_url, shared by many instances
)

func (c SessionConfig) Timeout() time.Duration { return time.Duration(c.TimeoutMinutes) * time.Minute }
func (c SessionConfig) Idle() time.Duration    { return time.Duration(c.IdleTimeoutMinutes) * time.Minute }
func (c SessionConfig) Lifetime() time.Duration {
	return time.Duration(c.MaxLifetimeHours) * time.Hour
}
func (c SessionConfig) RecoveryWindow() time.Duration {
	return time.Duration(c.RecoveryWindowMinutes) * time.Minute
}
func (c SessionConfig) ActivityWrite() time.Duration {
	return time.Duration(c.ActivityWriteSeconds) * time.Second
}

// MaxStateBytes is session.max_state_kb in bytes.
func (c SessionConfig) MaxStateBytes() int64 { return int64(c.MaxStateKB) << 10 }

// QuotaBytes is storage.quota_mb in bytes.
func (c StorageConfig) QuotaBytes() int64 { return int64(c.QuotaMB) << 20 }

// MaxUploadBytes is storage.max_upload_mb in bytes.
func (c StorageConfig) MaxUploadBytes() int64 { return int64(c.MaxUploadMB) << 20 }

// KeyFileName is the key file made for the database and memory backends when
// security.encryption_keys is empty.
const KeyFileName = "session.key"

// KeyFilePath is where the database and memory backends keep their generated
// key when security.encryption_keys is empty: KeyFileName in storage.path's
// directory (the working directory when storage.path is empty).
func (c StorageConfig) KeyFilePath() string {
	return filepath.Join(filepath.Dir(c.Path), KeyFileName)
}

// Keys returns security.encryption_keys decoded, in order (the first
// encrypts), reading KeyEnv variables through getenv (nil means none are
// set). No configured keys is (nil, nil): the caller falls back to a key file
// (database, memory) or refuses to start (redis; Validate already does). The
// errors name the key path and variable and never contain key material.
// LoadConfig has already resolved every key once with the same getenv, so a
// loaded Config fails here only if the environment changed since.
func (c SecurityConfig) Keys(getenv func(string) string) ([]seal.Key, error) {
	if getenv == nil {
		getenv = noEnv
	}
	keys := make([]seal.Key, 0, len(c.EncryptionKeys))
	var errs []error
	for i, k := range c.EncryptionKeys {
		secret, msg := k.resolve(i, getenv)
		if msg != "" {
			errs = append(errs, errors.New(msg))
			continue
		}
		keys = append(keys, seal.Key{ID: k.ID, Secret: secret})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sessionsvc: encryption keys: %w", errors.Join(errs...))
	}
	if len(keys) == 0 {
		return nil, nil
	}
	// seal.New checks ids and lengths again; it is cheap and keeps a
	// hand-built, unvalidated Config from yielding a ring that cannot open.
	if _, err := seal.New(keys...); err != nil {
		return nil, fmt.Errorf("sessionsvc: encryption keys: %w", err)
	}
	return keys, nil
}

// resolve decodes entry i, from Key or from the variable KeyEnv names. On
// failure it returns a message starting with the key path; the message names
// the variable but never repeats a key.
func (k EncryptionKey) resolve(i int, getenv func(string) string) ([]byte, string) {
	base := fmt.Sprintf("security.encryption_keys[%d]", i)
	switch {
	case k.Key != "" && k.KeyEnv != "":
		return nil, base + ": set key or key_env, not both"
	case k.Key != "":
		b, err := seal.ParseKey(k.Key)
		if err != nil {
			return nil, fmt.Sprintf("%s.key: %s (make one with: sessionconsole gen-key)", base, keyErr(err))
		}
		return b, ""
	case k.KeyEnv != "":
		if !validEnvName(k.KeyEnv) {
			// Never repeat it: a key pasted here by mistake is still a key.
			hint := "letters, digits and _, not starting with a digit"
			if _, err := seal.ParseKey(k.KeyEnv); err == nil {
				hint = "it looks like a key: never put one here; set the variable to it and name the variable"
			}
			return nil, fmt.Sprintf("%s.key_env: not an environment variable name (%s)", base, hint)
		}
		v := getenv(k.KeyEnv)
		if v == "" {
			return nil, fmt.Sprintf("%s.key_env: environment variable %s is not set", base, k.KeyEnv)
		}
		b, err := seal.ParseKey(v)
		if err != nil {
			return nil, fmt.Sprintf("%s.key_env: environment variable %s: %s (make one with: sessionconsole gen-key)", base, k.KeyEnv, keyErr(err))
		}
		return b, ""
	default:
		return nil, base + ": want key (base64) or key_env (a variable name), got neither"
	}
}

// keyErr is a seal.ParseKey error without its package prefix. ParseKey never
// puts its input in an error.
func keyErr(err error) string { return strings.TrimPrefix(err.Error(), "seal: ") }

func noEnv(string) string { return "" }

func (c CleanupConfig) Interval() time.Duration {
	return time.Duration(c.IntervalSeconds) * time.Second
}

// Retention is analytics.retention_days as a duration.
func (a AnalyticsConfig) Retention() time.Duration {
	return time.Duration(a.RetentionDays) * 24 * time.Hour
}

// AuditRetention is analytics.audit_retention_days as a duration.
func (a AnalyticsConfig) AuditRetention() time.Duration {
	return time.Duration(a.AuditRetentionDays) * 24 * time.Hour
}

// FlushInterval is analytics.flush_interval_ms as a duration.
func (a AnalyticsConfig) FlushInterval() time.Duration {
	return time.Duration(a.FlushIntervalMS) * time.Millisecond
}

// Location returns analytics.timezone loaded: the zone whose midnights bound
// the daily aggregates. Validate has loaded it once already (the zone data is
// compiled in, see config_load.go), so a validated Config gets no error here;
// one that was not validated and names no zone gets UTC with the error.
func (a AnalyticsConfig) Location() (*time.Location, error) {
	loc, err := loadZone(a.Timezone)
	if err != nil {
		return time.UTC, fmt.Errorf("sessionsvc: analytics.timezone: %w", err)
	}
	return loc, nil
}

// microsPerUnit turns a price in currency units into millionths.
const microsPerUnit = 1_000_000

// Micros returns the prices in millionths of the currency unit, rounded to
// the nearest: sums of these integers are exact, where summing 0.1 ten times
// in float64 is not 1. Cost of c comments is c*per1000/1000.
func (c CostConfig) Micros() (perAnalysis, per1000, perAPICall int64) {
	return toMicros(c.PerAnalysis), toMicros(c.Per1000Comments), toMicros(c.PerAPICall)
}

// toMicros rounds v*1e6; Validate keeps v between 0 and maxPrice, far inside
// int64, and NaN (which Validate refuses) reads as 0.
func toMicros(v float64) int64 {
	if !(v > 0) {
		return 0
	}
	return int64(math.Round(v * microsPerUnit))
}

// MetricsLoopback reports whether MetricsAddr listens on loopback only, like
// Loopback for Addr: main warns when metrics are reachable without a token.
func (c ServerConfig) MetricsLoopback() bool { return loopback(c.MetricsAddr) }

// TrustedProxyNets returns security.trusted_proxies parsed. A bare address is a
// single-host prefix. Entries that do not parse are skipped: Validate refuses
// them, so a validated Config loses nothing.
func (c Config) TrustedProxyNets() []netip.Prefix {
	nets := make([]netip.Prefix, 0, len(c.Security.TrustedProxies))
	for _, s := range c.Security.TrustedProxies {
		if p, err := parseProxy(s); err == nil {
			nets = append(nets, p)
		}
	}
	return nets
}

// parseProxy parses one trusted_proxies entry: a CIDR prefix without host bits
// set, or a bare IP address. IPv4-mapped IPv6 addresses are unmapped so that
// they match the IPv4 addresses net/http reports.
func parseProxy(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errZone
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p != p.Masked() {
		return p, errHostBits
	}
	return p, nil
}

// Secret returns security.secret_key decoded, or nil when it is empty (or, in a
// Config that did not pass Validate, not base64). Callers that get nil make a
// random per-process key, which works for a single instance only.
func (c SecurityConfig) Secret() []byte {
	if c.SecretKey == "" {
		return nil
	}
	b, err := decodeSecret(c.SecretKey)
	if err != nil {
		return nil
	}
	return b
}

// decodeSecret accepts standard or URL-safe base64, padded or not, since
// `openssl rand -base64 32` and most key tools differ only in that.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// Loopback reports whether Addr listens on loopback only: its host is a
// loopback IP or "localhost". An empty host (all interfaces) is not loopback.
// The server uses it to refuse demo accounts on a reachable listener.
func (c ServerConfig) Loopback() bool { return loopback(c.Addr) }

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
