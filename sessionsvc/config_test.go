package sessionsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
)

// testHash is a valid argon2id hash (of "password") for accounts in tests:
// validation only parses it.
const testHash = knownArgon2id

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeConfig writes a config.yaml into a temporary directory and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemLines returns the problem lines of a LoadConfig or Validate error,
// without the header line.
func problemLines(err error) []string {
	lines := strings.Split(err.Error(), "\n")
	return lines[1:]
}

func TestConfigDefaultsAreTheSpecValues(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	want := Config{
		Session: SessionConfig{TimeoutMinutes: 30, IdleTimeoutMinutes: 20, MaxLifetimeHours: 12, MaxSessionsPerUser: 3,
			EnableRecovery: true, RecoveryWindowMinutes: 60, ActivityWriteSeconds: 60, Snapshots: 10, MaxStateKB: 1024},
		Storage: StorageConfig{Backend: "database", Path: "data/sessions.db", FilesPath: "data/files",
			RedisURL: "redis://127.0.0.1:6379/0", RedisReplicaWaitMS: 100, Persistence: true, PoolSize: 32,
			DialTimeout: 1000, ReadTimeout: 500, WriteTimeout: 500, QuotaMB: 50, MaxUploadMB: 20},
		Security: SecurityConfig{SessionEncryption: true, CSRFProtection: true, RecentAuthMinutes: 15},
		Cleanup:  CleanupConfig{Enabled: true, IntervalSeconds: 300, ArchiveExpired: true, ArchiveDays: 7},
		Analytics: AnalyticsConfig{TrackEvents: true, TrackMetrics: true, RetentionDays: 30,
			Timezone:   "America/Asuncion",
			Cost:       CostConfig{Currency: "USD", PerAnalysis: 0.05, Per1000Comments: 0.20, PerAPICall: 0.001},
			BufferSize: 10000, FlushIntervalMS: 1000, FlushBatch: 500, AuditRetentionDays: 90},
		Server: ServerConfig{Addr: "127.0.0.1:8080", MetricsAddr: "127.0.0.1:9090", LogFormat: "auto"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("DefaultConfig() =\n%+v\nwant\n%+v", c, want)
	}
	if c.Security.Secret() != nil || len(c.TrustedProxyNets()) != 0 || len(c.Accounts) != 0 {
		t.Errorf("defaults have a secret, proxies or accounts")
	}
	if keys, err := c.Security.Keys(nil); keys != nil || err != nil {
		t.Errorf("defaults have encryption keys: %v, %v", keys, err)
	}
	if got, want := c.Session.MaxStateBytes(), int64(1<<20); got != want {
		t.Errorf("MaxStateBytes() = %d, want %d", got, want)
	}
	if got, want := c.Storage.QuotaBytes(), int64(50<<20); got != want {
		t.Errorf("QuotaBytes() = %d, want %d", got, want)
	}
	if got, want := c.Storage.MaxUploadBytes(), int64(20<<20); got != want {
		t.Errorf("MaxUploadBytes() = %d, want %d", got, want)
	}
	if got, want := c.Storage.KeyFilePath(), filepath.Join("data", "session.key"); got != want {
		t.Errorf("KeyFilePath() = %q, want %q", got, want)
	}
}

func TestConfigMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.yaml")

	got, err := LoadConfigFile(missing, false, nil)
	if err != nil {
		t.Fatalf("LoadConfigFile(missing, implicit) = %v, want defaults", err)
	}
	if !reflect.DeepEqual(got, DefaultConfig()) {
		t.Errorf("LoadConfigFile(missing, implicit) = %+v, want DefaultConfig()", got)
	}

	_, err = LoadConfigFile(missing, true, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfigFile(missing, explicit) = %v, want fs.ErrNotExist", err)
	}
	_, err = LoadConfig(missing, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfig(missing path) = %v, want fs.ErrNotExist", err)
	}

	// Environment still applies without a file, and its problems are named.
	_, err = LoadConfigFile(missing, false, env(map[string]string{"SESSIONCONSOLE_STORAGE_BACKEND": "postgres"}))
	if err == nil || !strings.Contains(err.Error(), `SESSIONCONSOLE_STORAGE_BACKEND: storage.backend: want one of database, memory, redis, got "postgres"`) {
		t.Errorf("missing file + bad env = %v", err)
	}
}

func TestConfigMissingKeysTakeDefaults(t *testing.T) {
	tests := []struct {
		name string
		body string
		edit func(*Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"comments only", "# nothing here\n", func(*Config) {}},
		{"empty sections", "session:\nstorage:\n", func(*Config) {}},
		{"fixture", "", nil}, // testdata/config/partial.yaml, below
		{"one key", "session:\n  timeout_minutes: 45\n", func(c *Config) { c.Session.TimeoutMinutes = 45 }},
		{"false is not missing", "cleanup:\n  enabled: false\n  interval_seconds: 0\n", func(c *Config) {
			c.Cleanup.Enabled = false
			c.Cleanup.IntervalSeconds = 0
		}},
		{"null keeps the default", "session:\n  timeout_minutes: ~\n", func(*Config) {}},
		{"aliases", "session:\n  timeout_minutes: &t 40\n  idle_timeout_minutes: *t\n", func(c *Config) {
			c.Session.TimeoutMinutes = 40
			c.Session.IdleTimeoutMinutes = 40
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "config", "partial.yaml")
			want := DefaultConfig()
			if tc.edit != nil {
				path = writeConfig(t, tc.body)
				tc.edit(&want)
			} else {
				want.Session.MaxSessionsPerUser = 5
				want.Storage.Backend = "memory"
				want.Security.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.7"}
				want.Accounts = []Account{{Username: "ana", Role: RoleAnalyst, PasswordHash: testHash, Disabled: true}}
			}
			got, err := LoadConfigFile(path, true, nil)
			if err != nil {
				t.Fatalf("LoadConfigFile = %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestConfigEnvOverrides(t *testing.T) {
	secret := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	vars := map[string]string{
		"SESSIONCONSOLE_KEY_A":                    newKey(t),
		"SESSIONCONSOLE_SESSION_SNAPSHOTS":        "0",
		"SESSIONCONSOLE_SESSION_MAX_STATE_KB":     "2048",
		"SESSIONCONSOLE_STORAGE_QUOTA_MB":         "500",
		"SESSIONCONSOLE_STORAGE_MAX_UPLOAD_MB":    "100",
		"SESSIONCONSOLE_STORAGE_BACKEND":          "redis",
		"SESSIONCONSOLE_STORAGE_REDIS_URL":        "rediss://:pw@cache.internal:6380/2",
		"SESSIONCONSOLE_SESSION_TIMEOUT_MINUTES":  "45",
		"SESSIONCONSOLE_SECURITY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16,",
		"SESSIONCONSOLE_SECURITY_IP_VALIDATION":   "true",
		"SESSIONCONSOLE_SECURITY_SECRET_KEY":      secret,
		"SESSIONCONSOLE_CLEANUP_ENABLED":          "0",
		"SESSIONCONSOLE_SERVER_ADDR":              "[::1]:9090",
		"SESSIONCONSOLE_NOT_A_KEY":                "ignored",
	}
	// The file says otherwise; the environment wins. Redis needs a key.
	path := writeConfig(t, "session:\n  timeout_minutes: 25\nstorage:\n  backend: database\n"+
		"security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n")
	got, err := LoadConfig(path, env(vars))
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	want := DefaultConfig()
	want.Storage.Backend = "redis"
	want.Storage.RedisURL = "rediss://:pw@cache.internal:6380/2"
	want.Session.TimeoutMinutes = 45
	want.Security.TrustedProxies = []string{"10.0.0.0/8", "192.168.0.0/16"}
	want.Security.IPValidation = true
	want.Security.SecretKey = secret
	want.Cleanup.Enabled = false
	want.Server.Addr = "[::1]:9090"
	want.Session.Snapshots = 0
	want.Session.MaxStateKB = 2048
	want.Storage.QuotaMB = 500
	want.Storage.MaxUploadMB = 100
	want.Security.EncryptionKeys = []EncryptionKey{{ID: "a", KeyEnv: "SESSIONCONSOLE_KEY_A"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if s := got.Security.Secret(); string(s) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("Secret() = %q", s)
	}
	wantNets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}
	if nets := got.TrustedProxyNets(); !slices.Equal(nets, wantNets) {
		t.Errorf("TrustedProxyNets() = %v, want %v", nets, wantNets)
	}
	if !got.Server.Loopback() {
		t.Errorf("Loopback(%q) = false", got.Server.Addr)
	}
}

func TestConfigEnvNamesCoverEveryScalarKey(t *testing.T) {
	names := ConfigEnvNames()
	for _, want := range []string{
		"SESSIONCONSOLE_SESSION_TIMEOUT_MINUTES", "SESSIONCONSOLE_SESSION_ACTIVITY_WRITE_SECONDS",
		"SESSIONCONSOLE_STORAGE_BACKEND", "SESSIONCONSOLE_STORAGE_DIAL_TIMEOUT_MS",
		"SESSIONCONSOLE_SECURITY_TRUSTED_PROXIES", "SESSIONCONSOLE_SECURITY_SECRET_KEY",
		"SESSIONCONSOLE_CLEANUP_ARCHIVE_RETENTION_DAYS", "SESSIONCONSOLE_ANALYTICS_RETENTION_DAYS",
		"SESSIONCONSOLE_SERVER_ADDR",
		"SESSIONCONSOLE_SESSION_SNAPSHOTS", "SESSIONCONSOLE_SESSION_MAX_STATE_KB",
		"SESSIONCONSOLE_STORAGE_QUOTA_MB", "SESSIONCONSOLE_STORAGE_MAX_UPLOAD_MB",
		"SESSIONCONSOLE_SERVER_METRICS_ADDR", "SESSIONCONSOLE_SERVER_METRICS_TOKEN", "SESSIONCONSOLE_SERVER_LOG_FORMAT",
		"SESSIONCONSOLE_ANALYTICS_TIMEZONE", "SESSIONCONSOLE_ANALYTICS_BUFFER_SIZE",
		"SESSIONCONSOLE_ANALYTICS_FLUSH_INTERVAL_MS", "SESSIONCONSOLE_ANALYTICS_FLUSH_BATCH",
		"SESSIONCONSOLE_ANALYTICS_AUDIT_RETENTION_DAYS",
		"SESSIONCONSOLE_ANALYTICS_COST_CURRENCY", "SESSIONCONSOLE_ANALYTICS_COST_PER_ANALYSIS",
		"SESSIONCONSOLE_ANALYTICS_COST_PER_1000_COMMENTS", "SESSIONCONSOLE_ANALYTICS_COST_PER_API_CALL",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("ConfigEnvNames() lacks %s", want)
		}
	}
	// Lists of mappings have no variable; each key names its own with key_env.
	if slices.Contains(names, "SESSIONCONSOLE_SECURITY_ENCRYPTION_KEYS") {
		t.Error("ConfigEnvNames() has SESSIONCONSOLE_SECURITY_ENCRYPTION_KEYS")
	}
	// A nested mapping (analytics.cost) has no variable of its own: its keys do.
	if slices.Contains(names, "SESSIONCONSOLE_ANALYTICS_COST") {
		t.Error("ConfigEnvNames() has SESSIONCONSOLE_ANALYTICS_COST")
	}
	var count func(reflect.Type) int
	count = func(t reflect.Type) int {
		n := 0
		for j := range t.NumField() {
			switch ft := t.Field(j).Type; {
			case ft.Kind() == reflect.Struct:
				n += count(ft)
			case ft.Kind() != reflect.Slice || ft.Elem().Kind() == reflect.String:
				n++
			}
		}
		return n
	}
	ct := reflect.TypeFor[Config]()
	n := 0
	for i := range ct.NumField() {
		if f := ct.Field(i); f.Type.Kind() == reflect.Struct {
			n += count(f.Type)
		}
	}
	if len(names) != n {
		t.Errorf("ConfigEnvNames() has %d names, want one per scalar section key (%d)", len(names), n)
	}
}

// TestConfigLoadErrors covers what goes wrong in a file or the environment:
// each message names the key, and the line or variable it came from.
func TestConfigLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		env  map[string]string
		want []string // one per expected problem line, in order
	}{
		{
			name: "unknown key with suggestion",
			body: "session:\n  timeout_minutes: 30\n  idle_timout_minutes: 10\n",
			want: []string{"config.yaml:3: session.idle_timout_minutes: unknown key (did you mean idle_timeout_minutes?)"},
		},
		{
			name: "unknown key prefix of a real one",
			body: "session:\n  timeout: 30\n",
			want: []string{"config.yaml:2: session.timeout: unknown key (did you mean timeout_minutes?)"},
		},
		{
			name: "key in the wrong section",
			body: "session:\n  backend: redis\n",
			want: []string{"config.yaml:2: session.backend: unknown key (did you mean storage.backend?)"},
		},
		{
			name: "unknown section",
			body: "sesion:\n  timeout_minutes: 30\n",
			want: []string{"config.yaml:1: sesion: unknown key (did you mean session?)"},
		},
		{
			name: "unknown key with no suggestion",
			body: "storage:\n  colour: blue\n",
			want: []string{"config.yaml:2: storage.colour: unknown key"},
		},
		{
			name: "unknown account key",
			body: "accounts:\n  - username: a\n    role: admin\n    pasword_hash: x\n",
			want: []string{
				"config.yaml:4: accounts[0].pasword_hash: unknown key (did you mean password_hash?)",
				"config.yaml:2: accounts[0].password_hash must not be empty (user \"a\"; make one",
			},
		},
		{
			name: "string for an integer",
			body: "session:\n  timeout_minutes: thirty\n",
			want: []string{`config.yaml:2: session.timeout_minutes: want an integer, got "thirty"`},
		},
		{
			name: "quoted number for an integer",
			body: "storage:\n  pool_size: \"32\"\n",
			want: []string{`config.yaml:2: storage.pool_size: want an integer, got "32"`},
		},
		{
			name: "float for an integer",
			body: "session:\n  max_lifetime_hours: 1.5\n",
			want: []string{`config.yaml:2: session.max_lifetime_hours: want an integer, got 1.5`},
		},
		{
			name: "yes for a bool",
			body: "security:\n  csrf_protection: yes\n",
			want: []string{`config.yaml:2: security.csrf_protection: want true or false, got "yes"`},
		},
		{
			name: "scalar for a section",
			body: "session: 5\n",
			want: []string{`config.yaml:1: session: want a mapping of keys, got 5`},
		},
		{
			name: "list for a string",
			body: "storage:\n  backend: [redis]\n",
			want: []string{`config.yaml:2: storage.backend: want a string, got a list`},
		},
		{
			name: "scalar for a list",
			body: "security:\n  trusted_proxies: 10.0.0.0/8\n",
			want: []string{`config.yaml:2: security.trusted_proxies: want a list, got "10.0.0.0/8"`},
		},
		{
			name: "duplicate key",
			body: "session:\n  timeout_minutes: 30\n  timeout_minutes: 40\n",
			want: []string{"config.yaml:3: session.timeout_minutes: duplicate key (first at line 2)"},
		},
		{
			name: "not YAML",
			body: "session:\n  timeout_minutes: 30\n idle: [\n",
			want: []string{"config.yaml:2: not valid YAML: did not find expected key"},
		},
		{
			name: "two documents",
			body: "session: {}\n---\nstorage: {}\n",
			want: []string{"config.yaml:2: more than one YAML document"},
		},
		{
			name: "validation problems point at their line",
			body: "session:\n  timeout_minutes: 30\n  idle_timeout_minutes: 40\n",
			want: []string{"config.yaml:3: session.idle_timeout_minutes (40) must not exceed session.timeout_minutes (30)"},
		},
		{
			name: "a missing account key is reported at the account",
			body: "accounts:\n  - username: a\n    role: admin\n    password_hash: " + testHash + "\n  - username: b\n    password_hash: " + testHash + "\n",
			want: []string{`config.yaml:5: accounts[1].role: want one of admin, operator, analyst, got "" (user "b")`},
		},
		{
			name: "a decode error does not also fail cross-checks",
			body: "session:\n  timeout_minutes: thirty\n  idle_timeout_minutes: 40\n",
			want: []string{`config.yaml:2: session.timeout_minutes: want an integer, got "thirty"`},
		},
		{
			name: "all problems at once",
			body: "session:\n  idle_timout_minutes: 10\n  max_sessions_per_user: 0\nstorage:\n  backend: postgres\n",
			want: []string{
				"config.yaml:2: session.idle_timout_minutes: unknown key (did you mean idle_timeout_minutes?)",
				"config.yaml:3: session.max_sessions_per_user must be at least 1, got 0",
				`config.yaml:5: storage.backend: want one of database, memory, redis, got "postgres"`,
			},
		},
		{
			name: "bad env integer names the variable",
			env:  map[string]string{"SESSIONCONSOLE_SESSION_TIMEOUT_MINUTES": "thirty"},
			want: []string{`SESSIONCONSOLE_SESSION_TIMEOUT_MINUTES (session.timeout_minutes): want an integer, got "thirty"`},
		},
		{
			name: "bad env bool names the variable",
			env:  map[string]string{"SESSIONCONSOLE_CLEANUP_ENABLED": "maybe"},
			want: []string{`SESSIONCONSOLE_CLEANUP_ENABLED (cleanup.enabled): want true or false, got "maybe"`},
		},
		{
			name: "impossible env value names the variable",
			body: "session:\n  timeout_minutes: 30\n",
			env:  map[string]string{"SESSIONCONSOLE_SESSION_IDLE_TIMEOUT_MINUTES": "40"},
			want: []string{"SESSIONCONSOLE_SESSION_IDLE_TIMEOUT_MINUTES: session.idle_timeout_minutes (40) must not exceed session.timeout_minutes (30)"},
		},
		{
			name: "a price in quotes is not a number",
			body: "analytics:\n  cost:\n    per_analysis: \"0.05\"\n",
			want: []string{`config.yaml:3: analytics.cost.per_analysis: want a number, got "0.05"`},
		},
		{
			name: "unknown nested key",
			body: "analytics:\n  cost:\n    per_analyses: 0.1\n",
			want: []string{"config.yaml:3: analytics.cost.per_analyses: unknown key (did you mean per_analysis?)"},
		},
		{
			name: "cost is a mapping",
			body: "analytics:\n  cost: 0.05\n",
			want: []string{"config.yaml:2: analytics.cost: want a mapping of keys, got 0.05"},
		},
		{
			name: "impossible nested value is located",
			body: "analytics:\n  cost:\n    currency: USD\n    per_api_call: -1\n",
			want: []string{"config.yaml:4: analytics.cost.per_api_call must not be negative, got -1"},
		},
		{
			name: "bad env number names the variable",
			env:  map[string]string{"SESSIONCONSOLE_ANALYTICS_COST_PER_ANALYSIS": "five cents"},
			want: []string{`SESSIONCONSOLE_ANALYTICS_COST_PER_ANALYSIS (analytics.cost.per_analysis): want a number, got "five cents"`},
		},
		{
			name: "bad env timezone names the variable",
			env:  map[string]string{"SESSIONCONSOLE_ANALYTICS_TIMEZONE": "Mars/Olympus"},
			want: []string{`SESSIONCONSOLE_ANALYTICS_TIMEZONE: analytics.timezone: unknown time zone "Mars/Olympus"`},
		},
		{
			name: "bad env list item names the variable",
			env:  map[string]string{"SESSIONCONSOLE_SECURITY_TRUSTED_PROXIES": "10.0.0.0/8,nope"},
			want: []string{`SESSIONCONSOLE_SECURITY_TRUSTED_PROXIES: security.trusted_proxies[1]: "nope" is not a CIDR prefix`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			_, err := LoadConfig(path, env(tc.env))
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "sessionsvc: invalid config ") {
				t.Errorf("error %q lacks the sessionsvc: invalid config header", err)
			}
			lines := problemLines(err)
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}

// TestConfigValidate covers every impossible value through Validate, on a
// Config built in code: each message names its key.
func TestConfigValidate(t *testing.T) {
	key := newKey(t)
	base := func() Config {
		c := DefaultConfig()
		c.Security.EncryptionKeys = []EncryptionKey{{ID: "k1", Key: key}}
		c.Accounts = []Account{
			{Username: "admin", Role: RoleAdmin, PasswordHash: testHash},
			{Username: "ana", Role: RoleAnalyst, PasswordHash: testHash},
		}
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" means valid
	}{
		{"base", func(*Config) {}, ""},
		{"idle exceeds timeout", func(c *Config) { c.Session.IdleTimeoutMinutes = 40 },
			"session.idle_timeout_minutes (40) must not exceed session.timeout_minutes (30)"},
		{"idle equals timeout", func(c *Config) { c.Session.IdleTimeoutMinutes = 30 }, ""},
		{"timeout exceeds lifetime", func(c *Config) { c.Session.MaxLifetimeHours = 0 },
			"session.timeout_minutes (30 min) must not exceed session.max_lifetime_hours (0 h)"},
		{"negative lifetime", func(c *Config) { c.Session.MaxLifetimeHours = -1 },
			"session.max_lifetime_hours must not be negative, got -1"},
		{"lifetime in the wrong unit", func(c *Config) { c.Session.MaxLifetimeHours = 43200 },
			"session.max_lifetime_hours must not exceed 8760"},
		{"zero timeout", func(c *Config) { c.Session.TimeoutMinutes = 0 },
			"session.timeout_minutes must be at least 1, got 0"},
		{"negative timeout", func(c *Config) { c.Session.TimeoutMinutes = -30 },
			"session.timeout_minutes must be at least 1, got -30"},
		{"negative idle", func(c *Config) { c.Session.IdleTimeoutMinutes = -1 },
			"session.idle_timeout_minutes must be at least 1, got -1"},
		{"no sessions per user", func(c *Config) { c.Session.MaxSessionsPerUser = 0 },
			"session.max_sessions_per_user must be at least 1"},
		{"zero recovery window", func(c *Config) { c.Session.RecoveryWindowMinutes = 0 },
			"session.recovery_window_minutes must be at least 1, got 0"},
		{"zero activity write", func(c *Config) { c.Session.ActivityWriteSeconds = 0 },
			"session.activity_write_seconds must be at least 1, got 0"},
		{"activity write as long as idle", func(c *Config) { c.Session.ActivityWriteSeconds = 1200 },
			"session.activity_write_seconds (1200 s) must be less than session.idle_timeout_minutes (20 min)"},
		{"unknown backend", func(c *Config) { c.Storage.Backend = "postgres" },
			`storage.backend: want one of database, memory, redis, got "postgres"`},
		{"backend is case-sensitive", func(c *Config) { c.Storage.Backend = "Redis" },
			`storage.backend: want one of database, memory, redis, got "Redis"`},
		{"database without path", func(c *Config) { c.Storage.Path = "" },
			"storage.path must not be empty when storage.backend is database"},
		{"memory needs no path", func(c *Config) { c.Storage.Backend = "memory"; c.Storage.Path = "" }, ""},
		{"no files path", func(c *Config) { c.Storage.FilesPath = "" }, "storage.files_path must not be empty"},
		{"redis url with http scheme", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "http://127.0.0.1:6379" },
			`storage.redis_url: want a redis:// or rediss:// URL when storage.backend is redis, got scheme "http"`},
		{"redis url without scheme", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "127.0.0.1:6379" },
			"storage.redis_url: "},
		{"empty redis url", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "" },
			"storage.redis_url must not be empty when storage.backend is redis"},
		{"redis url without host", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "redis:///0" },
			"storage.redis_url: missing host"},
		{"redis url with bad db", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "redis://h:6379/zero" },
			`storage.redis_url: database "zero" is not a number`},
		{"rediss with password", func(c *Config) { c.Storage.Backend = "redis"; c.Storage.RedisURL = "rediss://:secret@h:6380/1" }, ""},
		{"redis url ignored by database", func(c *Config) { c.Storage.RedisURL = "http://x" }, ""},
		{"negative pool", func(c *Config) { c.Storage.PoolSize = -1 }, "storage.pool_size must be at least 1, got -1"},
		{"negative dial timeout", func(c *Config) { c.Storage.DialTimeout = -5 }, "storage.dial_timeout_ms must be at least 1, got -5"},
		{"negative read timeout", func(c *Config) { c.Storage.ReadTimeout = -5 }, "storage.read_timeout_ms must be at least 1, got -5"},
		{"zero write timeout", func(c *Config) { c.Storage.WriteTimeout = 0 }, "storage.write_timeout_ms must be at least 1, got 0"},
		{"bad CIDR", func(c *Config) { c.Security.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.0/33"} },
			`security.trusted_proxies[1]: "10.0.0.0/33" is not a CIDR prefix`},
		{"not an address", func(c *Config) { c.Security.TrustedProxies = []string{"proxy.internal"} },
			`security.trusted_proxies[0]: "proxy.internal" is not a CIDR prefix`},
		{"host bits set", func(c *Config) { c.Security.TrustedProxies = []string{"10.1.2.3/8"} },
			`security.trusted_proxies[0]: "10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)`},
		{"zoned address", func(c *Config) { c.Security.TrustedProxies = []string{"fe80::1%eth0"} },
			`security.trusted_proxies[0]: "fe80::1%eth0": addresses with a zone are not allowed`},
		{"addresses and v6 prefixes", func(c *Config) { c.Security.TrustedProxies = []string{"127.0.0.1", "::1", "fd00::/8"} }, ""},
		{"secret not base64", func(c *Config) { c.Security.SecretKey = "not base64 at all!" },
			"security.secret_key: not valid base64"},
		{"short secret", func(c *Config) { c.Security.SecretKey = "c2hvcnQ=" },
			"security.secret_key: decodes to 5 bytes, want at least 32"},
		{"url-safe unpadded secret", func(c *Config) { c.Security.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" }, ""},
		{"snapshots off", func(c *Config) { c.Session.Snapshots = 0 }, ""},
		{"most snapshots", func(c *Config) { c.Session.Snapshots = 100 }, ""},
		{"too many snapshots", func(c *Config) { c.Session.Snapshots = 101 },
			"session.snapshots must not exceed 100 (snapshots per category), got 101"},
		{"negative snapshots", func(c *Config) { c.Session.Snapshots = -1 },
			"session.snapshots must not be negative, got -1"},
		{"zero state size", func(c *Config) { c.Session.MaxStateKB = 0 },
			"session.max_state_kb must be at least 1, got 0"},
		{"huge state size", func(c *Config) { c.Session.MaxStateKB = 1 << 20 },
			"session.max_state_kb must not exceed 65536 (64 MiB; large results belong in files), got 1048576"},
		{"zero quota", func(c *Config) { c.Storage.QuotaMB = 0 },
			"storage.quota_mb must be at least 1, got 0"},
		{"zero upload", func(c *Config) { c.Storage.MaxUploadMB = 0 },
			"storage.max_upload_mb must be at least 1, got 0"},
		{"upload equals quota", func(c *Config) { c.Storage.MaxUploadMB = 50 }, ""},
		{"upload exceeds quota", func(c *Config) { c.Storage.MaxUploadMB = 60 },
			"storage.max_upload_mb (60) must not exceed storage.quota_mb (50)"},
		{"upload fits a larger quota", func(c *Config) { c.Storage.QuotaMB = 1000; c.Storage.MaxUploadMB = 500 }, ""},
		{"redis with a key", func(c *Config) { c.Storage.Backend = "redis" }, ""},
		{"redis without keys", func(c *Config) { c.Storage.Backend = "redis"; c.Security.EncryptionKeys = nil },
			"security.encryption_keys must not be empty when storage.backend is redis and security.session_encryption is true: every instance must share the keys"},
		{"redis without keys or encryption", func(c *Config) {
			c.Storage.Backend = "redis"
			c.Security.EncryptionKeys = nil
			c.Security.SessionEncryption = false
		}, ""},
		{"database without keys", func(c *Config) { c.Security.EncryptionKeys = nil }, ""},
		{"memory without keys", func(c *Config) { c.Storage.Backend = "memory"; c.Security.EncryptionKeys = nil }, ""},
		{"two keys", func(c *Config) {
			c.Security.EncryptionKeys = append(c.Security.EncryptionKeys, EncryptionKey{ID: "k0", KeyEnv: "SESSIONCONSOLE_KEY_OLD"})
		}, ""},
		{"key id missing", func(c *Config) { c.Security.EncryptionKeys[0].ID = "" },
			"security.encryption_keys[0].id must not be empty"},
		{"key id with a colon", func(c *Config) { c.Security.EncryptionKeys[0].ID = "2025:06" },
			`security.encryption_keys[0].id: "2025:06": want 1 to 32 characters of A-Z a-z 0-9 _ -`},
		{"key id too long", func(c *Config) { c.Security.EncryptionKeys[0].ID = strings.Repeat("k", 33) },
			"security.encryption_keys[0].id: "},
		{"duplicate key ids", func(c *Config) {
			c.Security.EncryptionKeys = append(c.Security.EncryptionKeys, EncryptionKey{ID: "k1", Key: newKey(t)})
		}, `security.encryption_keys[1].id: "k1" duplicates security.encryption_keys[0].id`},
		{"key and key_env", func(c *Config) { c.Security.EncryptionKeys[0].KeyEnv = "SESSIONCONSOLE_KEY" },
			"security.encryption_keys[0]: set key or key_env, not both"},
		{"neither key nor key_env", func(c *Config) { c.Security.EncryptionKeys[0].Key = "" },
			"security.encryption_keys[0]: want key (base64) or key_env (a variable name), got neither"},
		{"key not base64", func(c *Config) { c.Security.EncryptionKeys[0].Key = "not a key!" },
			"security.encryption_keys[0].key: key is not valid base64 (make one with: sessionconsole gen-key)"},
		{"short key", func(c *Config) { c.Security.EncryptionKeys[0].Key = "c2hvcnQ=" },
			"security.encryption_keys[0].key: key decodes to 5 bytes, want 32"},
		{"long key", func(c *Config) { c.Security.EncryptionKeys[0].Key = key + key },
			"security.encryption_keys[0].key: key is not valid base64"},
		{"url-safe unpadded key", func(c *Config) {
			c.Security.EncryptionKeys[0].Key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
		}, ""},
		{"key_env not a name", func(c *Config) { c.Security.EncryptionKeys[0] = EncryptionKey{ID: "k1", KeyEnv: "MY-KEY"} },
			"security.encryption_keys[0].key_env: not an environment variable name (letters, digits and _"},
		{"key in key_env", func(c *Config) { c.Security.EncryptionKeys[0] = EncryptionKey{ID: "k1", KeyEnv: key} },
			"security.encryption_keys[0].key_env: not an environment variable name (it looks like a key"},
		{"cleanup interval zero", func(c *Config) { c.Cleanup.IntervalSeconds = 0 },
			"cleanup.interval_seconds must be at least 1 when cleanup.enabled is true, got 0"},
		{"cleanup interval zero when disabled", func(c *Config) { c.Cleanup.Enabled = false; c.Cleanup.IntervalSeconds = 0 }, ""},
		{"cleanup interval negative when disabled", func(c *Config) { c.Cleanup.Enabled = false; c.Cleanup.IntervalSeconds = -1 },
			"cleanup.interval_seconds must not be negative, got -1"},
		{"archive retention zero", func(c *Config) { c.Cleanup.ArchiveDays = 0 },
			"cleanup.archive_retention_days must be at least 1 when cleanup.archive_expired is true"},
		{"archive retention negative", func(c *Config) { c.Cleanup.ArchiveDays = -3 },
			"cleanup.archive_retention_days must not be negative, got -3"},
		{"analytics retention zero", func(c *Config) { c.Analytics.RetentionDays = 0 },
			"analytics.retention_days must be at least 1 when analytics.track_events or analytics.track_metrics is true"},
		{"analytics off", func(c *Config) {
			// The time zone and the audit log's retention serve more than
			// events: they stay required.
			c.Analytics = AnalyticsConfig{Timezone: "UTC", AuditRetentionDays: 90}
		}, ""},
		{"events off leaves the buffer zero", func(c *Config) {
			c.Analytics.TrackEvents = false
			c.Analytics.BufferSize, c.Analytics.FlushIntervalMS, c.Analytics.FlushBatch = 0, 0, 0
			c.Analytics.Cost = CostConfig{}
		}, ""},
		{"events off still refuses a bad currency", func(c *Config) {
			c.Analytics.TrackEvents = false
			c.Analytics.Cost.Currency = "usd"
		}, `analytics.cost.currency: want an ISO 4217 code of three capital letters (like USD or PYG), got "usd"`},
		{"timezone UTC", func(c *Config) { c.Analytics.Timezone = "UTC" }, ""},
		{"timezone Asia/Tokyo", func(c *Config) { c.Analytics.Timezone = "Asia/Tokyo" }, ""},
		{"timezone unknown", func(c *Config) { c.Analytics.Timezone = "America/Atlantis" },
			`analytics.timezone: unknown time zone "America/Atlantis" (want an IANA zone name like America/Asuncion, or UTC)`},
		{"timezone empty", func(c *Config) { c.Analytics.Timezone = "" }, "analytics.timezone: must not be empty"},
		{"timezone Local", func(c *Config) { c.Analytics.Timezone = "Local" },
			`analytics.timezone: "Local" differs from machine to machine`},
		{"currency empty", func(c *Config) { c.Analytics.Cost.Currency = "" },
			`analytics.cost.currency: want an ISO 4217 code of three capital letters (like USD or PYG), got ""`},
		{"currency name", func(c *Config) { c.Analytics.Cost.Currency = "Dollar" }, `analytics.cost.currency: want an ISO 4217 code`},
		{"currency PYG", func(c *Config) { c.Analytics.Cost.Currency = "PYG" }, ""},
		{"free analyses", func(c *Config) { c.Analytics.Cost.PerAnalysis = 0 }, ""},
		{"negative price", func(c *Config) { c.Analytics.Cost.PerAnalysis = -0.05 },
			"analytics.cost.per_analysis must not be negative, got -0.05"},
		{"NaN price", func(c *Config) { c.Analytics.Cost.Per1000Comments = math.NaN() },
			"analytics.cost.per_1000_comments must be a finite number, got NaN"},
		{"infinite price", func(c *Config) { c.Analytics.Cost.PerAPICall = math.Inf(1) },
			"analytics.cost.per_api_call must be a finite number, got +Inf"},
		{"absurd price", func(c *Config) { c.Analytics.Cost.PerAPICall = 2e6 },
			"analytics.cost.per_api_call must not exceed 1000000 (a price per unit of work), got 2e+06"},
		{"buffer zero", func(c *Config) { c.Analytics.BufferSize = 0 }, "analytics.buffer_size must be at least 1, got 0"},
		{"buffer huge", func(c *Config) { c.Analytics.BufferSize = 20_000_000 }, "analytics.buffer_size must not exceed 10000000"},
		{"flush interval zero", func(c *Config) { c.Analytics.FlushIntervalMS = 0 }, "analytics.flush_interval_ms must be at least 1, got 0"},
		{"flush interval in seconds", func(c *Config) { c.Analytics.FlushIntervalMS = 3_600_000 },
			"analytics.flush_interval_ms must not exceed 600000 (ten minutes)"},
		{"batch zero", func(c *Config) { c.Analytics.FlushBatch = 0 }, "analytics.flush_batch must be at least 1, got 0"},
		{"batch exceeds buffer", func(c *Config) { c.Analytics.BufferSize = 100 },
			"analytics.flush_batch (500) must not exceed analytics.buffer_size (100): a batch that large never fills"},
		{"batch equals buffer", func(c *Config) { c.Analytics.BufferSize = 500 }, ""},
		{"audit retention zero", func(c *Config) { c.Analytics.AuditRetentionDays = 0 },
			"analytics.audit_retention_days must be at least 1, got 0"},
		{"audit retention zero with analytics off", func(c *Config) {
			c.Analytics.TrackEvents, c.Analytics.TrackMetrics = false, false
			c.Analytics.AuditRetentionDays = 0
		}, "analytics.audit_retention_days must be at least 1, got 0"},
		{"metrics off", func(c *Config) { c.Server.MetricsAddr = "" }, ""},
		{"metrics addr without port", func(c *Config) { c.Server.MetricsAddr = "127.0.0.1" },
			`server.metrics_addr: want host:port (like 127.0.0.1:8080), got "127.0.0.1"`},
		{"metrics addr bad port", func(c *Config) { c.Server.MetricsAddr = "127.0.0.1:99999" }, `server.metrics_addr: port "99999"`},
		{"metrics on the app's listener", func(c *Config) { c.Server.MetricsAddr = "127.0.0.1:8080" },
			"server.metrics_addr (127.0.0.1:8080) must differ from server.addr (127.0.0.1:8080)"},
		{"metrics on all interfaces, app's port", func(c *Config) { c.Server.MetricsAddr = ":8080" },
			"server.metrics_addr (:8080) must differ from server.addr (127.0.0.1:8080)"},
		{"app on all interfaces, metrics on its port", func(c *Config) { c.Server.Addr = "[::]:9090" },
			"server.metrics_addr (127.0.0.1:9090) must differ from server.addr ([::]:9090)"},
		{"same port, other host", func(c *Config) { c.Server.MetricsAddr = "127.0.0.2:8080" }, ""},
		{"both on port 0", func(c *Config) { c.Server.Addr, c.Server.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"metrics token", func(c *Config) { c.Server.MetricsToken = "0123456789abcdef0123456789abcdef" }, ""},
		{"metrics token short", func(c *Config) { c.Server.MetricsToken = "short" },
			"server.metrics_token: too short, want at least 16 characters"},
		{"metrics token with a space", func(c *Config) { c.Server.MetricsToken = "0123456789 abcdef" },
			"server.metrics_token: want only letters, digits and - . _ ~ + / = (no spaces)"},
		{"log format json", func(c *Config) { c.Server.LogFormat = "json" }, ""},
		{"log format text", func(c *Config) { c.Server.LogFormat = "text" }, ""},
		{"log format bad", func(c *Config) { c.Server.LogFormat = "JSON" }, `server.log_format: want one of auto, json, text, got "JSON"`},
		{"addr without port", func(c *Config) { c.Server.Addr = "127.0.0.1" }, `server.addr: want host:port (like 127.0.0.1:8080), got "127.0.0.1"`},
		{"addr with bad port", func(c *Config) { c.Server.Addr = ":http" }, `server.addr: port "http" is not a number from 0 to 65535`},
		{"addr port too large", func(c *Config) { c.Server.Addr = "127.0.0.1:80800" }, `server.addr: port "80800"`},
		{"bad role", func(c *Config) { c.Accounts[1].Role = "root" },
			`accounts[1].role: want one of admin, operator, analyst, got "root" (user "ana")`},
		{"duplicate usernames", func(c *Config) { c.Accounts[1].Username = "Admin" },
			`accounts[1].username: "Admin" duplicates accounts[0]`},
		{"empty username", func(c *Config) { c.Accounts[0].Username = "" }, "accounts[0].username must not be empty"},
		{"username with spaces", func(c *Config) { c.Accounts[0].Username = "a b" },
			`accounts[0].username: "a b" may contain only letters, digits and . _ - @`},
		{"empty password hash", func(c *Config) { c.Accounts[1].PasswordHash = "" },
			`accounts[1].password_hash must not be empty (user "ana"; make one`},
		{"plain password as hash", func(c *Config) { c.Accounts[0].PasswordHash = "admin-demo-pass" },
			`accounts[0].password_hash: not an argon2id PHC string (user "admin"): not a PHC string`},
		{"bcrypt hash", func(c *Config) {
			c.Accounts[0].PasswordHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
		}, `accounts[0].password_hash: not an argon2id PHC string (user "admin"): algorithm "2a", want argon2id`},
		{"totp secret not base32", func(c *Config) { c.Accounts[0].TOTPSecret = "not-a-secret!" },
			`accounts[0].totp_secret: not a base32 secret (letters A-Z and digits 2-7)`},
		{"totp secret too short", func(c *Config) { c.Accounts[0].TOTPSecret = "JBSWY3DP" },
			`accounts[0].totp_secret: too short: 40 bits, want at least 80`},
		{"totp secret", func(c *Config) { c.Accounts[0].TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" }, ""},
		{"hash with absurd cost", func(c *Config) {
			c.Accounts[0].PasswordHash = strings.Replace(testHash, "m=65536", "m=4194304", 1)
		}, `accounts[0].password_hash: not an argon2id PHC string (user "admin"): m=4194304`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			lines := problemLines(err)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("Validate() =\n%v\nwant one problem starting with %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.Session.MaxSessionsPerUser = 0
	c.Storage.Backend = "postgres"
	c.Security.SecretKey = "short"
	c.Accounts = []Account{{Username: "x", Role: "root"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	want := []string{"session.max_sessions_per_user", "storage.backend", "security.secret_key", "accounts[0].role", "accounts[0].password_hash"}
	lines := problemLines(err)
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want it to start with %s", i, lines[i], w)
		}
	}
}

func TestConfigSecretsStayOutOfMessages(t *testing.T) {
	key := newKey(t)
	c := DefaultConfig()
	c.Security.SecretKey = "hunter2-hunter2-not-base64!"
	c.Storage.Backend = "redis"
	c.Storage.RedisURL = "http://:s3cretpw@host:6379"
	c.Security.EncryptionKeys = []EncryptionKey{
		{ID: "a", Key: "c2VjcmV0LWtleS1tYXRlcmlhbA=="},                     // too short
		{ID: "b", Key: "c2VjcmV0LWtleS1tYXRlcmlhbA==!"},                    // not base64
		{ID: "c", Key: key, KeyEnv: "SESSIONCONSOLE_KEY_C"},                // both
		{ID: "d", KeyEnv: key},                                             // a key where its variable's name belongs
		{ID: "e", KeyEnv: "c2VjcmV0LWtleS1tYXRlcmlhbA==" + "c2VjcmV0LWtl"}, // neither a name nor a key
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	if got := len(problemLines(err)); got != 7 {
		t.Errorf("got %d problems, want 7:\n%v", got, err)
	}
	_, kerr := c.Security.Keys(env(map[string]string{"SESSIONCONSOLE_KEY_C": "c2VjcmV0LWtleS1tYXRlcmlhbA=="}))
	if kerr == nil {
		t.Fatal("Keys() = nil error")
	}
	for _, e := range []error{err, kerr} {
		for _, secret := range []string{"hunter2", "s3cretpw", "c2VjcmV0", key[:12]} {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error repeats a secret %q: %v", secret, e)
			}
		}
	}
}

func TestConfigTrustedProxyNets(t *testing.T) {
	c := Config{Security: SecurityConfig{TrustedProxies: []string{"10.0.0.0/8", "192.168.1.7", "::ffff:172.16.0.1", "2001:db8::/32", "bad"}}}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("172.16.0.1/32"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if got := c.TrustedProxyNets(); !slices.Equal(got, want) {
		t.Errorf("TrustedProxyNets() = %v, want %v", got, want)
	}
}

func TestConfigLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080":         true,
		"127.0.0.2:8080":         true,
		"[::1]:8080":             true,
		"localhost:8080":         true,
		"[::ffff:127.0.0.1]:80":  true,
		":8080":                  false,
		"0.0.0.0:8080":           false,
		"192.168.1.10:8080":      false,
		"[::]:8080":              false,
		"example.com:8080":       false,
		"not an address at all":  false,
		"localhost.evil.com:443": false,
	} {
		if got := (ServerConfig{Addr: addr}).Loopback(); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestConfigShipped loads the config.yaml that ships with the program: it must
// validate, repeat the defaults (so the file documents what a missing key
// means), and carry the three demo accounts.
func TestConfigShipped(t *testing.T) {
	const shipped = "../config.yaml"
	c, err := LoadConfig(shipped, nil)
	if err != nil {
		t.Fatalf("LoadConfig(%s) = %v", shipped, err)
	}
	accounts := c.Accounts
	c.Accounts = nil
	if !reflect.DeepEqual(c, DefaultConfig()) {
		t.Errorf("shipped config differs from DefaultConfig():\n%+v\n%+v", c, DefaultConfig())
	}
	var names []string
	for _, a := range accounts {
		names = append(names, a.Username+"/"+a.Role)
	}
	if want := []string{"admin/admin", "operator/operator", "analyst/analyst"}; !slices.Equal(names, want) {
		t.Errorf("shipped accounts = %v, want %v", names, want)
	}
}

// TestConfigShippedDocumentsEveryKey checks that every key of Config appears in
// the shipped config.yaml with a comment above it.
func TestConfigShippedDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	lookup := func(m *yaml.Node, name string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				return m.Content[i+1]
			}
		}
		return nil
	}
	section := func(name string) *yaml.Node { return lookup(root, name) }
	// check checks the keys of struct type typ in mapping m, nested ones too.
	var check func(m *yaml.Node, typ reflect.Type, path string)
	check = func(m *yaml.Node, typ reflect.Type, path string) {
		documented := map[string]bool{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			documented[m.Content[j].Value] = strings.TrimSpace(m.Content[j].HeadComment) != ""
		}
		for j := range typ.NumField() {
			f := typ.Field(j)
			key := yamlName(f)
			doc, ok := documented[key]
			switch {
			case !ok:
				t.Errorf("config.yaml lacks %s.%s", path, key)
				continue
			case !doc:
				t.Errorf("config.yaml has no comment above %s.%s", path, key)
			}
			if f.Type.Kind() == reflect.Struct {
				if sub := lookup(m, key); sub != nil && sub.Kind == yaml.MappingNode {
					check(sub, f.Type, path+"."+key)
				} else {
					t.Errorf("config.yaml: %s.%s is not a mapping", path, key)
				}
			}
		}
	}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := yamlName(f)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		m := section(name)
		if m == nil {
			t.Errorf("config.yaml lacks section %s", name)
			continue
		}
		check(m, f.Type, name)
	}
	if section("accounts") == nil {
		t.Error("config.yaml lacks accounts")
	}
}

func TestConfigDemoAccounts(t *testing.T) {
	t.Parallel() // argon2 is slow under -race
	c, err := LoadConfig("../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.DemoAccounts(), []string{"admin", "operator", "analyst"}; !slices.Equal(got, want) {
		t.Errorf("DemoAccounts() of the shipped config = %v, want %v", got, want)
	}

	// A demo name with a changed password, or another name with a demo-like
	// hash, is not a demo account.
	c.Accounts = []Account{
		{Username: "admin", Role: RoleAdmin, PasswordHash: knownArgon2id}, // "password"
		{Username: "someone", Role: RoleAnalyst, PasswordHash: c.Accounts[2].PasswordHash},
	}
	if got := c.DemoAccounts(); len(got) != 0 {
		t.Errorf("DemoAccounts() = %v, want none", got)
	}
}

// newKey returns a fresh base64 encryption key. Tests make their keys: none
// is written into the repository.
func newKey(t *testing.T) string {
	t.Helper()
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConfigEncryptionKeysLoad covers security.encryption_keys read from a
// file with its variables from the environment: problems name the key path and
// line, and the variable, and are found at load time.
func TestConfigEncryptionKeysLoad(t *testing.T) {
	keyA, keyB := newKey(t), newKey(t)
	tests := []struct {
		name string
		body string
		env  map[string]string
		want []string // problem lines; nil means valid
	}{
		{
			name: "variables set",
			body: "security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n    - id: b\n      key_env: SESSIONCONSOLE_KEY_B\n",
			env:  map[string]string{"SESSIONCONSOLE_KEY_A": keyA, "SESSIONCONSOLE_KEY_B": keyB},
		},
		{
			name: "inline key",
			body: "security:\n  encryption_keys:\n    - id: a\n      key: " + keyA + "\n",
		},
		{
			name: "variable not set",
			body: "security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n    - id: b\n      key_env: SESSIONCONSOLE_KEY_B\n",
			env:  map[string]string{"SESSIONCONSOLE_KEY_A": keyA},
			want: []string{"config.yaml:6: security.encryption_keys[1].key_env: environment variable SESSIONCONSOLE_KEY_B is not set"},
		},
		{
			name: "variable holds a short key",
			body: "security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n",
			env:  map[string]string{"SESSIONCONSOLE_KEY_A": "c2hvcnQ="},
			want: []string{"config.yaml:4: security.encryption_keys[0].key_env: environment variable SESSIONCONSOLE_KEY_A: key decodes to 5 bytes, want 32 (make one with: sessionconsole gen-key)"},
		},
		{
			name: "variable holds no base64",
			body: "security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n",
			env:  map[string]string{"SESSIONCONSOLE_KEY_A": "password123!"},
			want: []string{"config.yaml:4: security.encryption_keys[0].key_env: environment variable SESSIONCONSOLE_KEY_A: key is not valid base64"},
		},
		{
			name: "neither is reported at the entry",
			body: "security:\n  encryption_keys:\n    - id: a\n",
			want: []string{"config.yaml:3: security.encryption_keys[0]: want key (base64) or key_env (a variable name), got neither"},
		},
		{
			name: "duplicate ids",
			body: "security:\n  encryption_keys:\n    - id: a\n      key: " + keyA + "\n    - id: a\n      key: " + keyB + "\n",
			want: []string{`config.yaml:5: security.encryption_keys[1].id: "a" duplicates security.encryption_keys[0].id`},
		},
		{
			name: "unknown key in an entry",
			body: "security:\n  encryption_keys:\n    - id: a\n      key_envv: SESSIONCONSOLE_KEY_A\n",
			want: []string{
				"config.yaml:4: security.encryption_keys[0].key_envv: unknown key (did you mean key_env?)",
				"config.yaml:3: security.encryption_keys[0]: want key (base64) or key_env (a variable name), got neither",
			},
		},
		{
			name: "a mapping, not a list",
			body: "security:\n  encryption_keys:\n    id: a\n",
			want: []string{"config.yaml:3: security.encryption_keys: want a list, got a mapping"},
		},
		{
			name: "redis needs a key",
			body: "storage:\n  backend: redis\n",
			want: []string{"config.yaml:2: security.encryption_keys must not be empty when storage.backend is redis and security.session_encryption is true"},
		},
		{
			name: "redis from the environment needs a key",
			env:  map[string]string{"SESSIONCONSOLE_STORAGE_BACKEND": "redis"},
			want: []string{"SESSIONCONSOLE_STORAGE_BACKEND: security.encryption_keys must not be empty"},
		},
		{
			name: "redis with encryption off needs none",
			body: "storage:\n  backend: redis\nsecurity:\n  session_encryption: false\n",
		},
		{
			name: "redis with a key from the environment",
			body: "storage:\n  backend: redis\nsecurity:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n",
			env:  map[string]string{"SESSIONCONSOLE_KEY_A": keyA},
		},
		{
			name: "upload larger than the quota from the environment",
			env:  map[string]string{"SESSIONCONSOLE_STORAGE_MAX_UPLOAD_MB": "80"},
			want: []string{"SESSIONCONSOLE_STORAGE_MAX_UPLOAD_MB: storage.max_upload_mb (80) must not exceed storage.quota_mb (50)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			c, err := LoadConfig(path, env(tc.env))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("LoadConfig = %v", err)
				}
				if _, err := c.Security.Keys(env(tc.env)); err != nil {
					t.Errorf("Keys() of a loaded config = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want %q", tc.want)
			}
			lines := problemLines(err)
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
			for _, k := range []string{keyA, keyB} {
				if strings.Contains(err.Error(), k[:12]) {
					t.Errorf("error repeats a key: %v", err)
				}
			}
		})
	}
}

// TestConfigLoadWithoutEnvironment: nil getenv means no variable is set, so a
// key_env key cannot be resolved and start-up says so.
func TestConfigLoadWithoutEnvironment(t *testing.T) {
	path := writeConfig(t, "security:\n  encryption_keys:\n    - id: a\n      key_env: SESSIONCONSOLE_KEY_A\n")
	_, err := LoadConfig(path, nil)
	if err == nil || !strings.Contains(err.Error(), "security.encryption_keys[0].key_env: environment variable SESSIONCONSOLE_KEY_A is not set") {
		t.Errorf("LoadConfig(nil getenv) = %v", err)
	}
}

func TestConfigKeys(t *testing.T) {
	keyA, keyB := newKey(t), newKey(t)
	rawA, _ := seal.ParseKey(keyA)
	rawB, _ := seal.ParseKey(keyB)
	s := SecurityConfig{EncryptionKeys: []EncryptionKey{
		{ID: "new", KeyEnv: "SESSIONCONSOLE_KEY_NEW"},
		{ID: "old", Key: keyB},
	}}
	keys, err := s.Keys(env(map[string]string{"SESSIONCONSOLE_KEY_NEW": " " + keyA + "\n"}))
	if err != nil {
		t.Fatalf("Keys() = %v", err)
	}
	if len(keys) != 2 || keys[0].ID != "new" || !bytes.Equal(keys[0].Secret, rawA) ||
		keys[1].ID != "old" || !bytes.Equal(keys[1].Secret, rawB) {
		t.Fatalf("Keys() = %d keys, want new (from the variable) then old", len(keys))
	}
	ring, err := seal.New(keys...)
	if err != nil || ring.PrimaryID() != "new" {
		t.Fatalf("seal.New(Keys()) = %v", err)
	}

	_, err = s.Keys(nil)
	if err == nil || !strings.Contains(err.Error(), "security.encryption_keys[0].key_env: environment variable SESSIONCONSOLE_KEY_NEW is not set") {
		t.Errorf("Keys(nil) = %v", err)
	}
	// A hand-built, unvalidated config with duplicate ids yields no ring.
	dup := SecurityConfig{EncryptionKeys: []EncryptionKey{{ID: "a", Key: keyA}, {ID: "a", Key: keyB}}}
	if _, err := dup.Keys(nil); err == nil {
		t.Error("Keys() with duplicate ids succeeded")
	}
	if keys, err := (SecurityConfig{}).Keys(nil); keys != nil || err != nil {
		t.Errorf("Keys() of no keys = %v, %v, want nil, nil", keys, err)
	}
}

// TestConfigIssue3Fixture loads testdata/config/issue3.yaml: the issue-3
// keys set in a file, keys given by variable.
func TestConfigIssue3Fixture(t *testing.T) {
	vars := map[string]string{"SESSIONCONSOLE_KEY_2025_06": newKey(t), "SESSIONCONSOLE_KEY_2025_01": newKey(t)}
	c, err := LoadConfig(filepath.Join("testdata", "config", "issue3.yaml"), env(vars))
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	want := DefaultConfig()
	want.Session.Snapshots = 5
	want.Session.MaxStateKB = 256
	want.Storage.Backend = "redis"
	want.Storage.QuotaMB = 200
	want.Storage.MaxUploadMB = 100
	want.Security.EncryptionKeys = []EncryptionKey{
		{ID: "2025-06", KeyEnv: "SESSIONCONSOLE_KEY_2025_06"},
		{ID: "2025-01", KeyEnv: "SESSIONCONSOLE_KEY_2025_01"},
	}
	want.Cleanup.ArchiveDays = 14
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
	if got := c.Session.MaxStateBytes(); got != 256<<10 {
		t.Errorf("MaxStateBytes() = %d", got)
	}
	if got := c.Storage.QuotaBytes(); got != 200<<20 {
		t.Errorf("QuotaBytes() = %d", got)
	}
	if got := c.Storage.MaxUploadBytes(); got != 100<<20 {
		t.Errorf("MaxUploadBytes() = %d", got)
	}
	keys, err := c.Security.Keys(env(vars))
	if err != nil || len(keys) != 2 || keys[0].ID != "2025-06" {
		t.Errorf("Keys() = %d keys, %v", len(keys), err)
	}
}

// TestConfigShippedHasNoKey: no encryption key ships with the program.
func TestConfigShippedHasNoKey(t *testing.T) {
	c, err := LoadConfig("../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Security.EncryptionKeys) != 0 {
		t.Errorf("shipped config.yaml has %d encryption keys, want none", len(c.Security.EncryptionKeys))
	}
}

// TestConfigIssue4Keys loads a file that sets every key issue 4 added.
func TestConfigIssue4Keys(t *testing.T) {
	got, err := LoadConfig(filepath.Join("testdata", "config", "issue4.yaml"), nil)
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	want := DefaultConfig()
	want.Analytics = AnalyticsConfig{
		TrackEvents: true, TrackMetrics: false, RetentionDays: 14,
		Timezone:   "UTC",
		Cost:       CostConfig{Currency: "PYG", PerAnalysis: 350, Per1000Comments: 1500, PerAPICall: 0},
		BufferSize: 2000, FlushIntervalMS: 250, FlushBatch: 100, AuditRetentionDays: 365,
	}
	want.Server = ServerConfig{Addr: "127.0.0.1:8080", MetricsAddr: "", LogFormat: "text"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if got, want := got.Analytics.FlushInterval(), 250*time.Millisecond; got != want {
		t.Errorf("FlushInterval() = %v, want %v", got, want)
	}
	if got, want := got.Analytics.Retention(), 14*24*time.Hour; got != want {
		t.Errorf("Retention() = %v, want %v", got, want)
	}
	if got, want := got.Analytics.AuditRetention(), 365*24*time.Hour; got != want {
		t.Errorf("AuditRetention() = %v, want %v", got, want)
	}
}

func TestConfigIssue4EnvOverrides(t *testing.T) {
	const token = "tok-0123456789abcdef"
	vars := map[string]string{
		"SESSIONCONSOLE_SERVER_METRICS_ADDR":              "127.0.0.1:9191",
		"SESSIONCONSOLE_SERVER_METRICS_TOKEN":             token,
		"SESSIONCONSOLE_SERVER_LOG_FORMAT":                "json",
		"SESSIONCONSOLE_ANALYTICS_TIMEZONE":               "Europe/Madrid",
		"SESSIONCONSOLE_ANALYTICS_COST_CURRENCY":          "EUR",
		"SESSIONCONSOLE_ANALYTICS_COST_PER_ANALYSIS":      "0.07",
		"SESSIONCONSOLE_ANALYTICS_COST_PER_1000_COMMENTS": " 1 ",
		"SESSIONCONSOLE_ANALYTICS_COST_PER_API_CALL":      "1e-4",
		"SESSIONCONSOLE_ANALYTICS_BUFFER_SIZE":            "50000",
		"SESSIONCONSOLE_ANALYTICS_FLUSH_INTERVAL_MS":      "2000",
		"SESSIONCONSOLE_ANALYTICS_FLUSH_BATCH":            "1000",
		"SESSIONCONSOLE_ANALYTICS_AUDIT_RETENTION_DAYS":   "30",
	}
	path := writeConfig(t, "server:\n  metrics_token: file-token-0123456789\n")
	got, err := LoadConfig(path, env(vars))
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	want := DefaultConfig()
	want.Server.MetricsAddr = "127.0.0.1:9191"
	want.Server.MetricsToken = token
	want.Server.LogFormat = "json"
	want.Analytics.Timezone = "Europe/Madrid"
	want.Analytics.Cost = CostConfig{Currency: "EUR", PerAnalysis: 0.07, Per1000Comments: 1, PerAPICall: 0.0001}
	want.Analytics.BufferSize = 50000
	want.Analytics.FlushIntervalMS = 2000
	want.Analytics.FlushBatch = 1000
	want.Analytics.AuditRetentionDays = 30
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// TestConfigMetricsTokenStaysOutOfMessages: the token is a secret wherever it
// comes from and whatever is wrong with it.
func TestConfigMetricsTokenStaysOutOfMessages(t *testing.T) {
	for _, tok := range []string{"hunter2", "hunter2 hunter2 hunter2", "hunter2\u00e9hunter2hunter2"} {
		c := DefaultConfig()
		c.Server.MetricsToken = tok
		err := c.Validate()
		if err == nil {
			t.Fatalf("Validate() with token %q = nil", tok)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate() repeats the token: %v", err)
		}
		_, err = LoadConfig(writeConfig(t, ""), env(map[string]string{"SESSIONCONSOLE_SERVER_METRICS_TOKEN": tok}))
		if err == nil {
			t.Fatalf("LoadConfig with token %q = nil", tok)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("LoadConfig repeats the token: %v", err)
		}
	}
	// A mapping where the token belongs is a type error that shows no value.
	_, err := LoadConfig(writeConfig(t, "server:\n  metrics_token:\n    hunter2: x\n"), nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("LoadConfig = %v, want an error without the value", err)
	}
}

func TestConfigCostMicros(t *testing.T) {
	tests := []struct {
		cost                      CostConfig
		analysis, per1000, perAPI int64
	}{
		{DefaultConfig().Analytics.Cost, 50_000, 200_000, 1_000},
		{CostConfig{PerAnalysis: 0.1, Per1000Comments: 0.3, PerAPICall: 0.0000005}, 100_000, 300_000, 1},
		{CostConfig{PerAnalysis: 0.0000004}, 0, 0, 0},
		{CostConfig{PerAnalysis: 350, Per1000Comments: 1500}, 350_000_000, 1_500_000_000, 0},
		{CostConfig{PerAnalysis: maxPrice}, maxPrice * 1_000_000, 0, 0},
		{CostConfig{PerAnalysis: math.NaN(), PerAPICall: -1}, 0, 0, 0},
	}
	for _, tt := range tests {
		a, c, p := tt.cost.Micros()
		if a != tt.analysis || c != tt.per1000 || p != tt.perAPI {
			t.Errorf("%+v.Micros() = %d, %d, %d, want %d, %d, %d", tt.cost, a, c, p, tt.analysis, tt.per1000, tt.perAPI)
		}
	}
	// The reason for micros: ten analyses at 0.1 cost exactly 1.
	a, _, _ := CostConfig{PerAnalysis: 0.1}.Micros()
	if got := 10 * a; got != 1_000_000 {
		t.Errorf("10 analyses at 0.1 = %d micros, want 1000000", got)
	}
}

func TestConfigLocation(t *testing.T) {
	loc, err := DefaultConfig().Analytics.Location()
	if err != nil {
		t.Fatalf("Location() = %v", err)
	}
	if loc.String() != "America/Asuncion" {
		t.Errorf("Location() = %v", loc)
	}
	// Summer time of 2020: UTC-3 in every version of the zone database
	// (Paraguay's rules changed since, which a test must not depend on).
	if _, off := time.Date(2020, 1, 15, 12, 0, 0, 0, loc).Zone(); off != -3*3600 {
		t.Errorf("offset in January 2020 = %d s, want -10800", off)
	}
	for _, tz := range []string{"", "Local", "Nowhere/Special"} {
		loc, err := (AnalyticsConfig{Timezone: tz}).Location()
		if err == nil || loc != time.UTC || !strings.HasPrefix(err.Error(), "sessionsvc: analytics.timezone: ") {
			t.Errorf("Location(%q) = %v, %v; want UTC and an error", tz, loc, err)
		}
	}
}

func TestConfigMetricsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true,
		"[::1]:9090":     true,
		":9090":          false,
		"10.0.0.5:9090":  false,
		"":               false,
	} {
		if got := (ServerConfig{MetricsAddr: addr}).MetricsLoopback(); got != want {
			t.Errorf("MetricsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestConfigRedisHA covers the keys of Redis AUTH, TLS, the replica wait and
// Sentinel (issue 7 item 6): from the file and the environment, and each
// mistake named with its key and line, passwords never repeated.
func TestConfigRedisHA(t *testing.T) {
	key := newKey(t)
	const head = "security:\n  encryption_keys:\n    - id: k1\n      key: %s\nstorage:\n  backend: redis\n"
	file := func(storage string) string { return fmt.Sprintf(head, key) + storage }

	t.Run("file", func(t *testing.T) {
		path := writeConfig(t, file(`  redis_url: rediss://:@/2
  redis_username: app
  redis_password: app-secret-pw
  redis_ca_file: /etc/ssl/redis-ca.pem
  redis_replica_wait_ms: 250
  redis_sentinel:
    master_name: sessions
    addresses: [10.0.0.5:26379, "sentinel-b.internal:26379", "[fd00::7]:26379"]
    password: sentinel-secret-pw
    tls: true
`))
		c, err := LoadConfig(path, nil)
		if err == nil {
			t.Fatalf("LoadConfig accepted user info in redis_url and redis_username: %+v", c.Storage)
		}
		if lines := problemLines(err); len(lines) != 1 || !strings.Contains(lines[0],
			"config.yaml:9: storage.redis_password: storage.redis_url carries credentials too; give them in one place") {
			t.Errorf("problems = %q", lines)
		}
		path = writeConfig(t, file(`  redis_url: rediss:///2
  redis_username: app
  redis_password: app-secret-pw
  redis_ca_file: /etc/ssl/redis-ca.pem
  redis_replica_wait_ms: 250
  redis_sentinel:
    master_name: sessions
    addresses: [10.0.0.5:26379, "sentinel-b.internal:26379", "[fd00::7]:26379"]
    password: sentinel-secret-pw
    tls: true
`))
		c, err = LoadConfig(path, nil)
		if err != nil {
			t.Fatalf("LoadConfig = %v", err)
		}
		want := DefaultConfig().Storage
		want.Backend = "redis"
		want.RedisURL = "rediss:///2"
		want.RedisUsername, want.RedisPassword = "app", "app-secret-pw"
		want.RedisCAFile = "/etc/ssl/redis-ca.pem"
		want.RedisReplicaWaitMS = 250
		want.RedisSentinel = RedisSentinelConfig{MasterName: "sessions",
			Addresses: []string{"10.0.0.5:26379", "sentinel-b.internal:26379", "[fd00::7]:26379"},
			Password:  "sentinel-secret-pw", TLS: true}
		if !reflect.DeepEqual(c.Storage, want) {
			t.Errorf("storage =\n%+v\nwant\n%+v", c.Storage, want)
		}
		if got := c.Storage.RedisReplicaWait(); got != 250*time.Millisecond {
			t.Errorf("RedisReplicaWait() = %v", got)
		}
	})

	t.Run("environment", func(t *testing.T) {
		vars := map[string]string{
			"SESSIONCONSOLE_STORAGE_REDIS_URL":                  "redis:///0",
			"SESSIONCONSOLE_STORAGE_REDIS_PASSWORD":             "env-secret-pw",
			"SESSIONCONSOLE_STORAGE_REDIS_REPLICA_WAIT_MS":      "0",
			"SESSIONCONSOLE_STORAGE_REDIS_SENTINEL_MASTER_NAME": "m",
			"SESSIONCONSOLE_STORAGE_REDIS_SENTINEL_ADDRESSES":   "10.0.0.5:26379, 10.0.0.6:26379,",
			"SESSIONCONSOLE_STORAGE_REDIS_SENTINEL_USERNAME":    "watcher",
			"SESSIONCONSOLE_STORAGE_REDIS_SENTINEL_PASSWORD":    "env-sentinel-pw",
			"SESSIONCONSOLE_STORAGE_REDIS_SENTINEL_TLS":         "false",
			"SESSIONCONSOLE_STORAGE_REDIS_CA_FILE":              "",
			"SESSIONCONSOLE_STORAGE_REDIS_USERNAME":             "",
		}
		c, err := LoadConfig(writeConfig(t, file("")), env(vars))
		if err != nil {
			t.Fatalf("LoadConfig = %v", err)
		}
		sn := c.Storage.RedisSentinel
		if c.Storage.RedisPassword != "env-secret-pw" || c.Storage.RedisReplicaWaitMS != 0 || sn.MasterName != "m" ||
			!slices.Equal(sn.Addresses, []string{"10.0.0.5:26379", "10.0.0.6:26379"}) ||
			sn.Username != "watcher" || sn.Password != "env-sentinel-pw" || sn.TLS {
			t.Errorf("storage from the environment = %+v", c.Storage)
		}
		names := ConfigEnvNames()
		for k := range vars {
			if !slices.Contains(names, k) {
				t.Errorf("ConfigEnvNames() lacks %s", k)
			}
		}
	})

	tests := []struct {
		name    string
		storage string
		env     map[string]string
		want    []string
	}{
		{
			name:    "typo in a sentinel key",
			storage: "  redis_sentinel:\n    master_nme: m\n",
			want:    []string{"config.yaml:8: storage.redis_sentinel.master_nme: unknown key (did you mean master_name?)"},
		},
		{
			name:    "typo in the addresses key",
			storage: "  redis_sentinel:\n    master_name: m\n    adresses: [10.0.0.5:26379]\n",
			want: []string{
				"config.yaml:9: storage.redis_sentinel.adresses: unknown key (did you mean addresses?)",
				"config.yaml:8: storage.redis_sentinel.addresses must list at least one sentinel (host:port) when storage.redis_sentinel.master_name is set",
			},
		},
		{
			name:    "typo in the section name",
			storage: "  redis_sentinal:\n    master_name: m\n",
			want:    []string{"config.yaml:7: storage.redis_sentinal: unknown key (did you mean redis_sentinel?)"},
		},
		{
			name:    "typo in a storage key",
			storage: "  redis_pasword: x\n",
			want:    []string{"config.yaml:7: storage.redis_pasword: unknown key (did you mean redis_password?)"},
		},
		{
			name:    "addresses without a master name",
			storage: "  redis_sentinel:\n    addresses: [10.0.0.5:26379]\n",
			want:    []string{"config.yaml:8: storage.redis_sentinel.addresses is set but storage.redis_sentinel.master_name is empty"},
		},
		{
			name:    "an address that is not host:port",
			storage: "  redis_sentinel:\n    master_name: m\n    addresses:\n      - 10.0.0.5:26379\n      - 10.0.0.6\n      - \":26379\"\n      - host:99999\n",
			want: []string{
				`config.yaml:11: storage.redis_sentinel.addresses[1]: "10.0.0.6" is not host:port (like 10.0.0.5:26379)`,
				`config.yaml:12: storage.redis_sentinel.addresses[2]: ":26379" is not host:port`,
				`config.yaml:13: storage.redis_sentinel.addresses[3]: "host:99999" is not host:port`,
			},
		},
		{
			name:    "a master name with a space",
			storage: "  redis_sentinel:\n    master_name: my master\n    addresses: [10.0.0.5:26379]\n",
			want:    []string{`config.yaml:8: storage.redis_sentinel.master_name "my master" must not contain spaces`},
		},
		{
			name:    "a sentinel user without its password",
			storage: "  redis_sentinel:\n    master_name: m\n    addresses: [10.0.0.5:26379]\n    username: watcher\n",
			want:    []string{"config.yaml:10: storage.redis_sentinel.username needs storage.redis_sentinel.password"},
		},
		{
			name:    "a Redis user without a password",
			storage: "  redis_username: app\n",
			want:    []string{"config.yaml:7: storage.redis_username needs storage.redis_password"},
		},
		{
			name:    "a password in the URL and in its key",
			storage: "  redis_url: redis://:url-secret-pw@10.0.0.9:6379/0\n",
			env:     map[string]string{"SESSIONCONSOLE_STORAGE_REDIS_PASSWORD": "env-secret-pw"},
			want:    []string{"SESSIONCONSOLE_STORAGE_REDIS_PASSWORD: storage.redis_password: storage.redis_url carries credentials too"},
		},
		{
			name:    "a CA file nothing uses",
			storage: "  redis_ca_file: /etc/ssl/ca.pem\n",
			want:    []string{"config.yaml:7: storage.redis_ca_file is set, but storage.redis_url is not rediss:// and storage.redis_sentinel.tls is false"},
		},
		{
			name:    "a replica wait out of range",
			storage: "  redis_replica_wait_ms: 60000\n",
			want:    []string{"config.yaml:7: storage.redis_replica_wait_ms must not exceed 10000 (ten seconds"},
		},
		{
			name:    "no host without Sentinel",
			storage: "  redis_url: redis:///0\n",
			want:    []string{"config.yaml:7: storage.redis_url: missing host"},
		},
		{
			name:    "tls wants a bool",
			storage: "  redis_sentinel:\n    tls: on\n",
			want:    []string{`config.yaml:8: storage.redis_sentinel.tls: want true or false, got "on"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, file(tc.storage)), env(tc.env))
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want %q", tc.want)
			}
			lines := problemLines(err)
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
			for _, secret := range []string{"url-secret-pw", "env-secret-pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error repeats a password: %v", err)
				}
			}
		})
	}

	// The other backends ignore the Redis keys.
	c := DefaultConfig()
	c.Storage.RedisSentinel.Addresses = []string{"nonsense"}
	c.Storage.RedisReplicaWaitMS = -1
	if err := c.Validate(); err != nil {
		t.Errorf("database backend with odd Redis keys: %v", err)
	}
}
