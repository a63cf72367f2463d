package sessionsvc

import "time"

// Config mirrors config.yaml. Load reads it; every key is documented in the
// shipped config.yaml. Durations are kept in the units the spec's SESSION_CONFIG
// uses (minutes, hours, seconds); the methods below turn them into time.Duration.
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
