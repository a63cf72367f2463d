package sessionsvc

import (
	"encoding/base64"
	"net"
	"net/netip"
	"strings"
	"time"
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
}

// StorageConfig selects and tunes the backend.
type StorageConfig struct {
	Backend      string `yaml:"backend"`    // "database" (SQLite file, default) | "memory" (SQLite in memory) | "redis"
	Path         string `yaml:"path"`       // SQLite file for "database": data/sessions.db
	FilesPath    string `yaml:"files_path"` // per-session file namespaces: data/files
	RedisURL     string `yaml:"redis_url"`  // redis://[:password@]host:port/db or rediss://
	Persistence  bool   `yaml:"persistence"`
	PoolSize     int    `yaml:"pool_size"`        // 32
	DialTimeout  int    `yaml:"dial_timeout_ms"`  // 1000
	ReadTimeout  int    `yaml:"read_timeout_ms"`  // 500
	WriteTimeout int    `yaml:"write_timeout_ms"` // 500
}

// SecurityConfig holds the cookie and request-validation switches.
type SecurityConfig struct {
	SecureCookies     bool     `yaml:"secure_cookies"`     // Secure + __Host- cookie name
	SessionEncryption bool     `yaml:"session_encryption"` // encrypt blobs and state at rest (issue 3)
	CSRFProtection    bool     `yaml:"csrf_protection"`
	IPValidation      bool     `yaml:"ip_validation"`   // a change of client IP ends the session
	TrustedProxies    []string `yaml:"trusted_proxies"` // CIDRs whose X-Forwarded-For is believed
	SecretKey         string   `yaml:"secret_key"`      // base64, >= 32 bytes: signs login-form CSRF tokens; shared by all instances
}

// CleanupConfig drives the cleanup scheduler.
type CleanupConfig struct {
	Enabled         bool `yaml:"enabled"`
	IntervalSeconds int  `yaml:"interval_seconds"` // 300
	ArchiveExpired  bool `yaml:"archive_expired"`
	ArchiveDays     int  `yaml:"archive_retention_days"` // 30
}

// AnalyticsConfig switches event and metric recording (issue 4).
type AnalyticsConfig struct {
	TrackEvents   bool `yaml:"track_events"`
	TrackMetrics  bool `yaml:"track_metrics"`
	RetentionDays int  `yaml:"retention_days"` // 30
}

// ServerConfig is the HTTP listener.
type ServerConfig struct {
	Addr string `yaml:"addr"` // 127.0.0.1:8080
}

// Account is one user who may sign in.
type Account struct {
	Username     string `yaml:"username"`
	Role         string `yaml:"role"` // admin | operator | analyst
	PasswordHash string `yaml:"password_hash"`
	Disabled     bool   `yaml:"disabled"`
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
func (c CleanupConfig) Interval() time.Duration {
	return time.Duration(c.IntervalSeconds) * time.Second
}

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
func (c ServerConfig) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
