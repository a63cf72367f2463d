package sessionsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	// The zone database compiled in (about 450 KB): analytics.timezone must
	// load on a machine or container image without /usr/share/zoneinfo, and
	// every instance must agree on where a day starts.
	_ "time/tzdata"

	"go.yaml.in/yaml/v3"

	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
)

// DefaultConfigPath is the file LoadConfig reads when it is given no path.
const DefaultConfigPath = "config.yaml"

// EnvPrefix starts every environment variable that overrides a config key:
// SESSIONCONSOLE_<SECTION>_<KEY>, for example SESSIONCONSOLE_STORAGE_BACKEND.
const EnvPrefix = "SESSIONCONSOLE_"

// Upper bounds that keep every duration far from time.Duration's overflow and
// catch values typed in the wrong unit (seconds where minutes are wanted).
const (
	maxMinutes    = 525600   // one year
	maxHours      = 8760     // one year
	maxSeconds    = 31536000 // one year
	maxMillis     = 600000   // ten minutes
	maxDays       = 3660     // ten years
	maxPoolSize   = 10000
	maxUsernameLn = 64
	maxSnapshots  = 100
	maxStateKB    = 65536   // 64 MiB: large results belong in files
	maxQuotaMB    = 1048576 // 1 TiB
	maxBuffer     = 10_000_000
	maxBatch      = 100_000
	maxPrice      = 1_000_000 // per unit of work: beyond it, a typo
	minTokenLen   = 16
)

var (
	errHostBits = errors.New("host bits set")
	errZone     = errors.New("zoned address")
)

// DefaultConfig returns the spec's SESSION_CONFIG values: what a key missing
// from config.yaml means. It has no accounts; the shipped config.yaml holds the
// demo ones.
func DefaultConfig() Config {
	return Config{
		Session: SessionConfig{
			TimeoutMinutes:        30,
			IdleTimeoutMinutes:    20,
			MaxLifetimeHours:      12,
			MaxSessionsPerUser:    3,
			EnableRecovery:        true,
			RecoveryWindowMinutes: 60,
			ActivityWriteSeconds:  60,
			Snapshots:             10,
			MaxStateKB:            1024,
		},
		Storage: StorageConfig{
			Backend:      "database",
			Path:         "data/sessions.db",
			FilesPath:    "data/files",
			RedisURL:     "redis://127.0.0.1:6379/0",
			Persistence:  true,
			PoolSize:     32,
			DialTimeout:  1000,
			ReadTimeout:  500,
			WriteTimeout: 500,
			QuotaMB:      50,
			MaxUploadMB:  20,

			RedisReplicaWaitMS: 100,
		},
		Security: SecurityConfig{
			SecureCookies:     false,
			SessionEncryption: true,
			CSRFProtection:    true,
			IPValidation:      false,
			RecentAuthMinutes: 15,
		},
		Cleanup: CleanupConfig{
			Enabled:         true,
			IntervalSeconds: 300,
			ArchiveExpired:  true,
			ArchiveDays:     7,
		},
		Analytics: AnalyticsConfig{
			TrackEvents:   true,
			TrackMetrics:  true,
			RetentionDays: 30,
			Timezone:      "America/Asuncion",
			Cost: CostConfig{
				Currency:        "USD",
				PerAnalysis:     0.05,
				Per1000Comments: 0.20,
				PerAPICall:      0.001,
			},
			BufferSize:         10000,
			FlushIntervalMS:    1000,
			FlushBatch:         500,
			AuditRetentionDays: 90,
		},
		Server: ServerConfig{
			Addr:        "127.0.0.1:8080",
			MetricsAddr: "127.0.0.1:9090",
			LogFormat:   LogFormatAuto,
		},
	}
}

// LoadConfig builds the configuration from DefaultConfig, then the YAML file,
// then SESSIONCONSOLE_* variables read through getenv (nil means none), and
// validates the result.
//
// path "" means DefaultConfigPath, read if it exists: `go run .` works with no
// file at all. A non-empty path was asked for explicitly and must exist. Use
// LoadConfigFile to decide that separately.
//
// Every problem found is reported at once, one per line, each naming the key
// path and where its value came from (file:line or the variable); start-up
// should stop on any error.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	if path == "" {
		return LoadConfigFile(DefaultConfigPath, false, getenv)
	}
	return LoadConfigFile(path, true, getenv)
}

// LoadConfigFile is LoadConfig with the file's presence made explicit: when
// explicit is false a missing file means defaults and environment only; when
// true it is an error that wraps fs.ErrNotExist. Unknown SESSIONCONSOLE_*
// variables are not noticed here (getenv cannot list them); see ConfigEnvNames.
func LoadConfigFile(path string, explicit bool, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	l := &loader{file: path, where: map[string]string{}, bad: map[string]bool{}}

	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		l.decode(data, &cfg)
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		l.file = "(no config file)"
	default:
		return Config{}, fmt.Errorf("sessionsvc: read config: %w", err)
	}
	if getenv != nil {
		l.applyEnv(&cfg, getenv)
	} else {
		getenv = noEnv
	}
	for _, p := range cfg.problems(getenv) {
		if !l.involvesBad(p) {
			l.errs = append(l.errs, errors.New(l.locate(p)))
		}
	}
	if len(l.errs) > 0 {
		return Config{}, fmt.Errorf("sessionsvc: invalid config %s, %s:\n%w",
			l.file, countProblems(len(l.errs)), errors.Join(l.errs...))
	}
	return cfg, nil
}

// Validate reports every impossible or inconsistent value in c, one per line,
// each starting with its key path. LoadConfig calls it; tests and tools that
// build a Config by hand call it too. Validate does not read the environment:
// the variables named by security.encryption_keys[].key_env are checked by
// LoadConfig and by SecurityConfig.Keys.
func (c Config) Validate() error {
	ps := c.problems(nil)
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = errors.New(p.msg)
	}
	return fmt.Errorf("sessionsvc: invalid config, %s:\n%w", countProblems(len(ps)), errors.Join(errs...))
}

func countProblems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return strconv.Itoa(n) + " problems"
}

// ConfigEnvNames returns every environment variable LoadConfig reads, so a
// caller that can list the environment (main, with os.Environ) can warn about
// SESSIONCONSOLE_* variables that are misspelled and therefore ignored.
func ConfigEnvNames() []string {
	keys := envKeys()
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

// demoPasswords are the passwords of the demo accounts in the shipped
// config.yaml. They are public (in the README and the config comments), which
// is why a server with them must not be reachable from other machines.
func demoPasswords() map[string]string {
	return map[string]string{
		"admin":    "admin-demo-pass",
		"operator": "operator-demo-pass",
		"analyst":  "analyst-demo-pass",
	}
}

// DemoAccounts returns the usernames of accounts that still sign in with their
// public demo password, so the server can refuse to listen beyond loopback
// while any remains. Disabled accounts count too: an admin can enable them
// again at run time. It runs argon2 once per account named like a demo
// account (about a tenth of a second each): call it once at start-up.
func (c Config) DemoAccounts() []string {
	demo := demoPasswords()
	var names []string
	for _, a := range c.Accounts {
		pw, ok := demo[a.Username]
		if !ok {
			continue
		}
		if ok, err := VerifyPassword(a.PasswordHash, pw); err == nil && ok {
			names = append(names, a.Username)
		}
	}
	return names
}

// loader decodes a config file and environment into a Config, remembering
// where each key's value came from so validation messages can point there.
type loader struct {
	file  string
	where map[string]string // key path -> "config.yaml:12" or the variable name
	bad   map[string]bool   // key paths whose value could not be decoded
	errs  []error
}

func (l *loader) at(line int) string { return l.file + ":" + strconv.Itoa(line) }

func (l *loader) errorf(line int, path, format string, args ...any) {
	if path == "" {
		path = "top level"
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %s: %s", l.at(line), path, fmt.Sprintf(format, args...)))
}

// decode walks the YAML node tree instead of using yaml.Decoder.KnownFields so
// that every error carries its key path and line and all of them are reported,
// not just the first.
func (l *loader) decode(data []byte, cfg *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file means defaults
			l.syntaxError(err)
		}
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errs = append(l.errs, fmt.Errorf("%s: more than one YAML document; the config is one", l.at(extra.Line)))
		return
	} else if !errors.Is(err, io.EOF) {
		l.syntaxError(err)
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	l.walk(root, reflect.ValueOf(cfg).Elem(), "")
}

func (l *loader) syntaxError(err error) {
	// yaml.v3 says "yaml: line 3: did not find expected key"; make it file:line.
	if rest, ok := strings.CutPrefix(err.Error(), "yaml: line "); ok {
		if line, msg, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(line); err == nil {
				l.errs = append(l.errs, fmt.Errorf("%s:%s: not valid YAML: %s", l.file, line, msg))
				return
			}
		}
	}
	l.errs = append(l.errs, fmt.Errorf("%s: not valid YAML: %w", l.file, err))
}

// walk decodes n into v, whose type is part of Config: structs from mappings
// (by yaml tag), slices from lists, and int, float, bool and string scalars by
// their resolved YAML tag, so that "thirty" or "yes" is an error, not a zero.
// A null keeps the default.
func (l *loader) walk(n *yaml.Node, v reflect.Value, path string) {
	for depth := 0; n.Kind == yaml.AliasNode && n.Alias != nil && depth < 16; depth++ {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.typeError(n, path, "a mapping of keys")
			return
		}
		fields := yamlFields(v.Type())
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				l.errorf(k.Line, path, "keys must be plain names")
				continue
			}
			key := k.Value
			kp := joinPath(path, key)
			if key == "<<" {
				l.errorf(k.Line, path, "merge keys (<<) are not supported; write the keys out")
				continue
			}
			if first, dup := seen[key]; dup {
				l.errorf(k.Line, kp, "duplicate key (first at line %d)", first)
				l.bad[kp] = true
				continue
			}
			seen[key] = k.Line
			idx, ok := fields[key]
			if !ok {
				l.errorf(k.Line, kp, "unknown key%s", suggest(key, path, v.Type()))
				continue
			}
			l.where[kp] = l.at(k.Line)
			l.walk(val, v.Field(idx), kp)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.typeError(n, path, "a list")
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			l.where[ip] = l.at(item.Line)
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				l.typeError(item, ip, "a value")
				continue
			}
			l.walk(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Int:
		var x int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
			l.typeError(n, path, "an integer")
			return
		}
		v.SetInt(int64(x))
	case reflect.Float64:
		// An integer is a price too ("per_analysis: 1"); "0.05" in quotes is not.
		var x float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(&x) != nil {
			l.typeError(n, path, "a number")
			return
		}
		v.SetFloat(x)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			l.typeError(n, path, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.typeError(n, path, "a string")
			return
		}
		v.SetString(n.Value)
	default:
		panic("sessionsvc: config field of unsupported kind " + v.Kind().String())
	}
}

func (l *loader) typeError(n *yaml.Node, path, want string) {
	l.errorf(n.Line, path, "want %s, got %s", want, describe(n))
	l.bad[path] = true
}

// describe names what a node holds for a type error. A string field accepts
// every scalar, so scalar values are only ever shown for int and bool fields,
// never for strings that may hold secrets.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return strconv.Quote(truncate(n.Value, 40))
		case "!!null":
			return "nothing"
		}
		return truncate(n.Value, 40)
	}
	return "an unsupported YAML node"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last ".key" or "[i]" from a key path.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// yamlFields maps the yaml tag names of a struct type's fields to their index.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// suggest proposes the key meant by an unknown one: a sibling within two
// edits (or one it is a prefix of), else the same key in another section.
func suggest(key, path string, t reflect.Type) string {
	best, bestD := "", 3
	for name := range yamlFields(t) {
		d := levenshtein(key, name)
		if strings.HasPrefix(name, key+"_") {
			d = min(d, 2)
		}
		if d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		section := yamlName(f)
		if f.Type.Kind() != reflect.Struct || section == path {
			continue
		}
		if _, ok := yamlFields(f.Type)[key]; ok {
			return fmt.Sprintf(" (did you mean %s.%s?)", section, key)
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// envKey is one overridable scalar key.
type envKey struct {
	name  string // SESSIONCONSOLE_SESSION_TIMEOUT_MINUTES
	path  string // session.timeout_minutes
	index []int  // field index in Config
}

// envKeys lists every scalar key (and list of strings) of every section of
// Config, nested mappings included (analytics.cost.currency is
// SESSIONCONSOLE_ANALYTICS_COST_CURRENCY). Accounts and
// security.encryption_keys are lists of mappings and have no variables; a
// key's own variable is named by its key_env.
func envKeys() []envKey {
	var keys []envKey
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sf := ct.Field(i)
		if sf.Type.Kind() != reflect.Struct {
			continue
		}
		keys = appendEnvKeys(keys, sf.Type, yamlName(sf), []int{i})
	}
	return keys
}

func appendEnvKeys(keys []envKey, t reflect.Type, path string, index []int) []envKey {
	for j := range t.NumField() {
		f := t.Field(j)
		kp := path + "." + yamlName(f)
		idx := append(slices.Clone(index), j)
		switch {
		case f.Type.Kind() == reflect.Struct:
			keys = appendEnvKeys(keys, f.Type, kp, idx)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String:
		default:
			keys = append(keys, envKey{
				name:  EnvPrefix + strings.ToUpper(strings.ReplaceAll(kp, ".", "_")),
				path:  kp,
				index: idx,
			})
		}
	}
	return keys
}

// applyEnv overrides keys from the environment. An empty variable counts as
// unset, since getenv cannot tell the two apart. Lists are comma-separated.
func (l *loader) applyEnv(cfg *Config, getenv func(string) string) {
	rv := reflect.ValueOf(cfg).Elem()
	for _, k := range envKeys() {
		s := getenv(k.name)
		if s == "" {
			continue
		}
		l.where[k.path] = k.name
		f := rv.FieldByIndex(k.index)
		bad := func(want string) {
			l.errs = append(l.errs, fmt.Errorf("%s (%s): want %s, got %q", k.name, k.path, want, truncate(s, 40)))
			l.bad[k.path] = true
		}
		switch f.Kind() {
		case reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				bad("an integer")
				continue
			}
			f.SetInt(int64(n))
		case reflect.Float64:
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				bad("a number")
				continue
			}
			f.SetFloat(x)
		case reflect.Bool:
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				bad("true or false")
				continue
			}
			f.SetBool(b)
		case reflect.String:
			f.SetString(s)
		case reflect.Slice:
			var items []string
			for item := range strings.SplitSeq(s, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
			f.Set(reflect.ValueOf(items))
		default:
			panic("sessionsvc: config field of unsupported kind " + f.Kind().String())
		}
	}
}

// locate prefixes a problem with where the value of its first key came from,
// looking at the key's parents when the key itself was not written (a missing
// account field is reported at the account).
func (l *loader) locate(p problem) string {
	for q := p.paths[0]; q != ""; q = parentPath(q) {
		if w, ok := l.where[q]; ok {
			return w + ": " + p.msg
		}
	}
	return p.msg
}

// involvesBad reports whether a problem concerns a key that already failed to
// decode: its value is the default, and a second message would only confuse.
func (l *loader) involvesBad(p problem) bool {
	for _, path := range p.paths {
		for q := path; q != ""; q = parentPath(q) {
			if l.bad[q] {
				return true
			}
		}
	}
	return false
}

// problem is one validation failure: the keys involved (the first locates it)
// and a message that starts with the key path.
type problem struct {
	paths []string
	msg   string
}

type problems []problem

func (ps *problems) add(paths []string, format string, args ...any) {
	*ps = append(*ps, problem{paths: paths, msg: fmt.Sprintf(format, args...)})
}

// bounds checks lo <= v <= hi for one key; hi's description says why.
func (ps *problems) bounds(key string, v, lo, hi int, hiWhy string) bool {
	switch {
	case v < lo && lo == 0:
		ps.add([]string{key}, "%s must not be negative, got %d", key, v)
	case v < lo:
		ps.add([]string{key}, "%s must be at least %d, got %d", key, lo, v)
	case v > hi:
		ps.add([]string{key}, "%s must not exceed %d (%s), got %d", key, hi, hiWhy, v)
	default:
		return true
	}
	return false
}

// problems lists everything wrong with c, section by section. Cross-key checks
// run only when each key is valid on its own, so one mistake gives one message.
// getenv resolves security.encryption_keys[].key_env; nil skips that check.
func (c Config) problems(getenv func(string) string) []problem {
	var ps problems
	c.Session.problems(&ps)
	c.Storage.problems(&ps)
	c.Security.problems(&ps, getenv)
	if c.Storage.Backend == BackendRedis && c.Security.SessionEncryption && len(c.Security.EncryptionKeys) == 0 {
		// A generated key file would differ per instance: each could read
		// only what it wrote itself.
		ps.add([]string{"storage.backend", "security.encryption_keys", "security.session_encryption"},
			"security.encryption_keys must not be empty when storage.backend is redis and security.session_encryption is true: every instance must share the keys (make one with: sessionconsole gen-key)")
	}
	c.Cleanup.problems(&ps)
	c.Analytics.problems(&ps)
	c.Server.problems(&ps)
	accountProblems(c.Accounts, &ps)
	return ps
}

func (s SessionConfig) problems(ps *problems) {
	timeoutOK := ps.bounds("session.timeout_minutes", s.TimeoutMinutes, 1, maxMinutes, "one year")
	idleOK := ps.bounds("session.idle_timeout_minutes", s.IdleTimeoutMinutes, 1, maxMinutes, "one year")
	// Zero hours is left to the cross-check below, whose message says why.
	lifetimeOK := ps.bounds("session.max_lifetime_hours", s.MaxLifetimeHours, 0, maxHours, "one year")
	ps.bounds("session.max_sessions_per_user", s.MaxSessionsPerUser, 1, 1000, "a limit that no longer limits")
	ps.bounds("session.recovery_window_minutes", s.RecoveryWindowMinutes, 1, maxMinutes, "one year")
	ps.bounds("session.snapshots", s.Snapshots, 0, maxSnapshots, "snapshots per category")
	ps.bounds("session.max_state_kb", s.MaxStateKB, 1, maxStateKB, "64 MiB; large results belong in files")
	activityOK := ps.bounds("session.activity_write_seconds", s.ActivityWriteSeconds, 1, maxSeconds, "one year")

	if idleOK && timeoutOK && s.IdleTimeoutMinutes > s.TimeoutMinutes {
		ps.add([]string{"session.idle_timeout_minutes", "session.timeout_minutes"},
			"session.idle_timeout_minutes (%d) must not exceed session.timeout_minutes (%d)",
			s.IdleTimeoutMinutes, s.TimeoutMinutes)
	}
	if timeoutOK && lifetimeOK && s.TimeoutMinutes > s.MaxLifetimeHours*60 {
		ps.add([]string{"session.timeout_minutes", "session.max_lifetime_hours"},
			"session.timeout_minutes (%d min) must not exceed session.max_lifetime_hours (%d h)",
			s.TimeoutMinutes, s.MaxLifetimeHours)
	}
	if activityOK && idleOK && s.ActivityWriteSeconds >= s.IdleTimeoutMinutes*60 {
		ps.add([]string{"session.activity_write_seconds", "session.idle_timeout_minutes"},
			"session.activity_write_seconds (%d s) must be less than session.idle_timeout_minutes (%d min), or busy sessions go idle between two activity writes",
			s.ActivityWriteSeconds, s.IdleTimeoutMinutes)
	}
}

func (s StorageConfig) problems(ps *problems) {
	switch s.Backend {
	case BackendDatabase:
		if s.Path == "" {
			ps.add([]string{"storage.path"}, "storage.path must not be empty when storage.backend is database")
		}
	case BackendMemory:
	case BackendRedis:
		redisURLProblems(s.RedisURL, s.RedisSentinel.MasterName != "", ps)
		s.redisProblems(ps)
	default:
		ps.add([]string{"storage.backend"}, "storage.backend: want one of database, memory, redis, got %q", s.Backend)
	}
	if s.FilesPath == "" {
		ps.add([]string{"storage.files_path"}, "storage.files_path must not be empty")
	}
	ps.bounds("storage.pool_size", s.PoolSize, 1, maxPoolSize, "connections per instance")
	ps.bounds("storage.dial_timeout_ms", s.DialTimeout, 1, maxMillis, "ten minutes")
	ps.bounds("storage.read_timeout_ms", s.ReadTimeout, 1, maxMillis, "ten minutes")
	ps.bounds("storage.write_timeout_ms", s.WriteTimeout, 1, maxMillis, "ten minutes")
	quotaOK := ps.bounds("storage.quota_mb", s.QuotaMB, 1, maxQuotaMB, "1 TiB")
	uploadOK := ps.bounds("storage.max_upload_mb", s.MaxUploadMB, 1, maxQuotaMB, "1 TiB")
	if quotaOK && uploadOK && s.MaxUploadMB > s.QuotaMB {
		ps.add([]string{"storage.max_upload_mb", "storage.quota_mb"},
			"storage.max_upload_mb (%d) must not exceed storage.quota_mb (%d): no upload that large would fit",
			s.MaxUploadMB, s.QuotaMB)
	}
}

// redisURLProblems checks what the redis store will need. The URL is never
// repeated in a message: it may carry a password. With Sentinel the host
// may be left out.
func redisURLProblems(raw string, sentinel bool, ps *problems) {
	const key = "storage.redis_url"
	at := []string{key}
	if raw == "" {
		ps.add(at, "%s must not be empty when storage.backend is redis", key)
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		ps.add(at, "%s: not a valid URL (want redis://[:password@]host:port/db)", key)
		return
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		ps.add(at, "%s: want a redis:// or rediss:// URL when storage.backend is redis, got scheme %q", key, truncate(u.Scheme, 16))
		return
	}
	if u.Hostname() == "" && !sentinel {
		ps.add(at, "%s: missing host (want redis://[:password@]host:port/db)", key)
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			ps.add(at, "%s: database %q is not a number", key, truncate(db, 16))
		}
	}
}

// redisProblems checks the redis backend's credentials, TLS, replica wait and
// Sentinel keys. Passwords are never repeated in a message.
func (s StorageConfig) redisProblems(ps *problems) {
	u, err := url.Parse(s.RedisURL)
	if err != nil {
		return // reported by redisURLProblems
	}
	switch {
	case u.User != nil && (s.RedisUsername != "" || s.RedisPassword != ""):
		k := "storage.redis_password"
		if s.RedisPassword == "" {
			k = "storage.redis_username"
		}
		ps.add([]string{k, "storage.redis_url"},
			"%s: storage.redis_url carries credentials too; give them in one place", k)
	case s.RedisUsername != "" && s.RedisPassword == "":
		ps.add([]string{"storage.redis_username", "storage.redis_password"},
			"storage.redis_username needs storage.redis_password (an ACL user signs in with both)")
	}
	if s.RedisCAFile != "" && u.Scheme != "rediss" && !s.RedisSentinel.TLS {
		ps.add([]string{"storage.redis_ca_file", "storage.redis_url"},
			"storage.redis_ca_file is set, but storage.redis_url is not rediss:// and storage.redis_sentinel.tls is false: nothing would use it")
	}
	ps.bounds("storage.redis_replica_wait_ms", s.RedisReplicaWaitMS, 0, 10000,
		"ten seconds: every end would wait that long for a replica that is gone")

	const pre = "storage.redis_sentinel."
	sn := s.RedisSentinel
	switch {
	case sn.MasterName == "" && len(sn.Addresses) > 0:
		ps.add([]string{pre + "addresses", pre + "master_name"},
			"%saddresses is set but %smaster_name is empty: name the master the sentinels monitor", pre, pre)
	case sn.MasterName != "" && len(sn.Addresses) == 0:
		ps.add([]string{pre + "master_name", pre + "addresses"},
			"%saddresses must list at least one sentinel (host:port) when %smaster_name is set", pre, pre)
	}
	if strings.IndexFunc(sn.MasterName, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		ps.add([]string{pre + "master_name"}, "%smaster_name %q must not contain spaces or control characters", pre, truncate(sn.MasterName, 40))
	}
	for i, a := range sn.Addresses {
		key := fmt.Sprintf("%saddresses[%d]", pre, i)
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			ps.add([]string{key}, "%s: %q is not host:port (like 10.0.0.5:26379)", key, truncate(a, 60))
		}
	}
	if sn.Username != "" && sn.Password == "" {
		ps.add([]string{pre + "username", pre + "password"},
			"%susername needs %spassword (an ACL user signs in with both)", pre, pre)
	}
}

func (s SecurityConfig) problems(ps *problems, getenv func(string) string) {
	for i, raw := range s.TrustedProxies {
		key := fmt.Sprintf("security.trusted_proxies[%d]", i)
		p, err := parseProxy(raw)
		switch {
		case err == nil:
		case errors.Is(err, errHostBits):
			ps.add([]string{key}, "%s: %q has host bits set (did you mean %s?)", key, raw, p.Masked())
		case errors.Is(err, errZone):
			ps.add([]string{key}, "%s: %q: addresses with a zone are not allowed", key, raw)
		default:
			ps.add([]string{key}, "%s: %q is not a CIDR prefix (like 10.0.0.0/8) or an IP address", key, truncate(raw, 60))
		}
	}
	ps.bounds("security.recent_auth_minutes", s.RecentAuthMinutes, 1, 24*60, "a day: hardly recent")
	if s.SecretKey != "" {
		const key = "security.secret_key"
		// The value is a secret: messages never repeat it.
		b, err := decodeSecret(s.SecretKey)
		switch {
		case err != nil:
			ps.add([]string{key}, "%s: not valid base64 (make one with: openssl rand -base64 32)", key)
		case len(b) < 32:
			ps.add([]string{key}, "%s: decodes to %d bytes, want at least 32 (make one with: openssl rand -base64 32)", key, len(b))
		}
	}
	encryptionKeyProblems(s.EncryptionKeys, ps, getenv)
}

// encryptionKeyProblems checks security.encryption_keys. Key values are
// secrets: no message repeats one, nor anything typed where a variable name
// belongs. getenv nil skips reading the variables.
func encryptionKeyProblems(keys []EncryptionKey, ps *problems, getenv func(string) string) {
	seen := map[string]int{}
	for i, k := range keys {
		base := fmt.Sprintf("security.encryption_keys[%d]", i)
		switch key := base + ".id"; {
		case k.ID == "":
			ps.add([]string{key}, "%s must not be empty (it is stored with every value the key encrypts)", key)
		case !seal.ValidID(k.ID):
			ps.add([]string{key}, "%s: %q: want 1 to %d characters of A-Z a-z 0-9 _ -", key, truncate(k.ID, 40), seal.MaxIDLen)
		default:
			if j, dup := seen[k.ID]; dup {
				ps.add([]string{key}, "%s: %q duplicates security.encryption_keys[%d].id", key, k.ID, j)
			} else {
				seen[k.ID] = i
			}
		}
		if getenv == nil && k.Key == "" && validEnvName(k.KeyEnv) {
			continue // the variable is read at load time, not here
		}
		if _, msg := k.resolve(i, getenv); msg != "" {
			path := base
			if p, _, ok := strings.Cut(msg, ":"); ok && strings.HasPrefix(p, base) {
				path = p
			}
			ps.add([]string{path}, "%s", msg)
		}
	}
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (c CleanupConfig) problems(ps *problems) {
	if c.Enabled && c.IntervalSeconds == 0 {
		ps.add([]string{"cleanup.interval_seconds"},
			"cleanup.interval_seconds must be at least 1 when cleanup.enabled is true, got 0")
	} else {
		ps.bounds("cleanup.interval_seconds", c.IntervalSeconds, 0, maxSeconds, "one year")
	}
	if c.Enabled && c.ArchiveExpired && c.ArchiveDays == 0 {
		ps.add([]string{"cleanup.archive_retention_days"},
			"cleanup.archive_retention_days must be at least 1 when cleanup.archive_expired is true, got %d", c.ArchiveDays)
	} else {
		ps.bounds("cleanup.archive_retention_days", c.ArchiveDays, 0, maxDays, "ten years")
	}
}

func (a AnalyticsConfig) problems(ps *problems) {
	if (a.TrackEvents || a.TrackMetrics) && a.RetentionDays == 0 {
		ps.add([]string{"analytics.retention_days"},
			"analytics.retention_days must be at least 1 when analytics.track_events or analytics.track_metrics is true, got %d", a.RetentionDays)
	} else {
		ps.bounds("analytics.retention_days", a.RetentionDays, 0, maxDays, "ten years")
	}
	if _, err := loadZone(a.Timezone); err != nil {
		ps.add([]string{"analytics.timezone"}, "analytics.timezone: %v", err)
	}
	// The buffer, its flushes and the prices serve recorded events only:
	// with track_events off they may be left zero, not wrong.
	lo := 0
	if a.TrackEvents {
		lo = 1
	}
	a.Cost.problems(ps, a.TrackEvents)
	bufOK := ps.bounds("analytics.buffer_size", a.BufferSize, lo, maxBuffer, "events held in memory")
	ps.bounds("analytics.flush_interval_ms", a.FlushIntervalMS, lo, maxMillis, "ten minutes")
	batchOK := ps.bounds("analytics.flush_batch", a.FlushBatch, lo, maxBatch, "events in one store round trip")
	if a.TrackEvents && bufOK && batchOK && a.FlushBatch > a.BufferSize {
		ps.add([]string{"analytics.flush_batch", "analytics.buffer_size"},
			"analytics.flush_batch (%d) must not exceed analytics.buffer_size (%d): a batch that large never fills",
			a.FlushBatch, a.BufferSize)
	}
	// The audit log is always written, whatever track_events says.
	ps.bounds("analytics.audit_retention_days", a.AuditRetentionDays, 1, maxDays, "ten years")
}

// loadZone loads an IANA zone name. "" and "Local" load but are refused: ""
// silently means UTC, and Local differs between machines, so instances would
// disagree about where a day starts.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, errors.New("must not be empty (want an IANA zone name like America/Asuncion, or UTC)")
	case "Local":
		return nil, errors.New(`"Local" differs from machine to machine; name the zone (like America/Asuncion, or UTC)`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA zone name like America/Asuncion, or UTC)", truncate(name, 60))
	}
	return loc, nil
}

func (c CostConfig) problems(ps *problems, needed bool) {
	const key = "analytics.cost.currency"
	if (needed || c.Currency != "") && !validCurrency(c.Currency) {
		ps.add([]string{key}, "%s: want an ISO 4217 code of three capital letters (like USD or PYG), got %q", key, truncate(c.Currency, 16))
	}
	for _, p := range []struct {
		key string
		v   float64
	}{
		{"analytics.cost.per_analysis", c.PerAnalysis},
		{"analytics.cost.per_1000_comments", c.Per1000Comments},
		{"analytics.cost.per_api_call", c.PerAPICall},
	} {
		switch {
		case math.IsNaN(p.v) || math.IsInf(p.v, 0):
			ps.add([]string{p.key}, "%s must be a finite number, got %v", p.key, p.v)
		case p.v < 0:
			ps.add([]string{p.key}, "%s must not be negative, got %v", p.key, p.v)
		case p.v > maxPrice:
			ps.add([]string{p.key}, "%s must not exceed %d (a price per unit of work), got %v", p.key, maxPrice, p.v)
		}
	}
}

// validCurrency checks the shape of an ISO 4217 alphabetic code; the list of
// codes changes and is not ours to keep.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (s ServerConfig) problems(ps *problems) {
	addrOK := addrProblems("server.addr", s.Addr, ps)
	metricsOK := s.MetricsAddr == "" || addrProblems("server.metrics_addr", s.MetricsAddr, ps)
	if addrOK && metricsOK && s.MetricsAddr != "" && sameListener(s.Addr, s.MetricsAddr) {
		ps.add([]string{"server.metrics_addr", "server.addr"},
			"server.metrics_addr (%s) must differ from server.addr (%s): metrics get a listener of their own",
			s.MetricsAddr, s.Addr)
	}
	if s.MetricsToken != "" {
		// A secret: messages say what is wrong, never what it is.
		const key = "server.metrics_token"
		switch {
		case len(s.MetricsToken) < minTokenLen:
			ps.add([]string{key}, "%s: too short, want at least %d characters (make one with: openssl rand -hex 32)", key, minTokenLen)
		case !validBearerToken(s.MetricsToken):
			ps.add([]string{key}, "%s: want only letters, digits and - . _ ~ + / = (no spaces), as an Authorization header carries it (make one with: openssl rand -hex 32)", key)
		}
	}
	switch s.LogFormat {
	case LogFormatAuto, LogFormatJSON, LogFormatText:
	default:
		ps.add([]string{"server.log_format"}, "server.log_format: want one of auto, json, text, got %q", truncate(s.LogFormat, 16))
	}
}

// addrProblems checks a host:port listen address.
func addrProblems(key, addr string, ps *problems) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.add([]string{key}, "%s: want host:port (like 127.0.0.1:8080), got %q", key, truncate(addr, 60))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add([]string{key}, "%s: port %q is not a number from 0 to 65535", key, truncate(port, 16))
		return false
	}
	return true
}

// sameListener reports whether two valid listen addresses would collide: the
// same non-zero port on the same host, or on any host when either listens on
// all interfaces. Port 0 picks a free port and never collides.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if na == 0 || na != nb {
		return false
	}
	return ha == hb || unspecified(ha) || unspecified(hb)
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// validBearerToken reports whether s fits RFC 6750's b64token, what a Bearer
// Authorization header can carry.
func validBearerToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
		if !ok {
			return false
		}
	}
	return true
}

// validUsername keeps usernames to what is safe in store keys, logs and URLs.
func validUsername(s string) bool {
	if len(s) == 0 || len(s) > maxUsernameLn {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || r == '@'
		if !ok {
			return false
		}
	}
	return true
}

func accountProblems(accounts []Account, ps *problems) {
	seen := map[string]int{} // lower-cased username -> index
	for i, a := range accounts {
		base := fmt.Sprintf("accounts[%d]", i)
		who, whoHint := "", " (make one with the hash-password subcommand)"
		if a.Username != "" {
			who = fmt.Sprintf(" (user %q)", truncate(a.Username, maxUsernameLn))
			whoHint = fmt.Sprintf(" (user %q; make one with the hash-password subcommand)", truncate(a.Username, maxUsernameLn))
		}
		switch key := base + ".username"; {
		case a.Username == "":
			ps.add([]string{key}, "%s must not be empty", key)
		case !validUsername(a.Username):
			ps.add([]string{key}, "%s: %q may contain only letters, digits and . _ - @, at most %d characters",
				key, truncate(a.Username, maxUsernameLn), maxUsernameLn)
		default:
			// Names differing only in case would be told apart by login but
			// not by the people reading the console.
			lower := strings.ToLower(a.Username)
			if j, dup := seen[lower]; dup {
				ps.add([]string{key}, "%s: %q duplicates accounts[%d] (usernames are compared ignoring case)",
					key, a.Username, j)
			} else {
				seen[lower] = i
			}
		}
		if key := base + ".role"; !ValidRole(a.Role) {
			ps.add([]string{key}, "%s: want one of admin, operator, analyst, got %q%s", key, truncate(a.Role, 32), who)
		}
		key := base + ".password_hash"
		if a.PasswordHash == "" {
			ps.add([]string{key}, "%s must not be empty%s", key, whoHint)
		} else if _, err := parseArgonHash(a.PasswordHash); err != nil {
			ps.add([]string{key}, "%s: not an argon2id PHC string%s: %v", key, who, err)
		}
		if key := base + ".totp_secret"; a.TOTPSecret != "" {
			if err := checkTOTPSecret(a.TOTPSecret); err != nil {
				ps.add([]string{key}, "%s: %v (copy the line the /account/two-factor page prints)", key, err)
			}
		}
	}
}
