// Package redis is the production implementation of the store contract
// (package store) on Redis, shared by every app instance.
//
// Session blobs are read with one GET per request (FindCtx: the key layout
// of scs/redisstore, but the store's own GET, on a connection borrowed like
// every other call's, since redisstore's Find takes no context) and written
// by a Lua script that stores the blob only while the session's registry
// record carries the same token hash; ending a session is one script
// that writes the tombstone, moves record and blob into the ended holding
// area, and deletes blob, record and index entries. So a blob exists exactly
// while its session lives, and a request in flight cannot bring an ended
// session back.
//
// Keys, all under Options.Prefix (P):
//
//	P b:{tokenhash}          session blob (string: GET, SET by a script)
//	P s:{sid}                registry record (hash, fields in recordFields,
//	                         and sx: its state keys' expiry, unix s)
//	P ix:{kind}:r:{role}     live sessions of a role by last activity,
//	                         creation and deadline (kind act, cre, dl:
//	                         sorted sets, unix ms scores); there are no
//	                         global ones: a query over every role merges
//	                         the roles' indexes
//	P u:{user}               the user's sessions by last activity (sorted set)
//	P roles                  every role ever indexed (set)
//	P t:{tokenhash}          tombstone (JSON string), TTL keep
//	P e:{sid}, P ended       ended holding area (the record hash renamed, plus
//	                         blob and tombstone fields; sorted set by end time)
//	P a:{sid}, P archived    archive (hash, TTL retention; sorted set by end time)
//	P x:end                  the ended lists of ListEnded: every session ended
//	                         and not yet purged or past its archive's retention,
//	                         held or archived (sorted set by end time)
//	P x:end:u:{user},        the same per user and per reason
//	P x:end:r:{reason}
//	P x:end:rp,              the same for the sessions that were made recovery
//	P x:end:rp:{reason}      points, overall and per reason
//	P x:end:ret              archived sessions of the lists by the end of their
//	                         retention (sorted set)
//	P x:end:who              sid -> "reason user" of every listed session (hash)
//	P st:{sid}:{category}    state of one category (hash key -> value bytes)
//	P sm:{sid}               state meta (hash: v:{category} versions, sv state
//	                         version, lm last modified, b total bytes)
//	P ss:{sid}:{category}    snapshots of one category (list, newest first)
//	P rp:{user}              the user's recovery points (sorted set by the end
//	                         of each window)
//	P rl:{tokenhash}         one-time recovery link (hash, TTL expiry + Grace)
//	P up:{user}              the user's saved preferences (string, no TTL)
//	P th:{key}               login throttle counter (hash)
//	P l:{name}               lease (hash)
//	P ev:{sid}, P ec:{sid}   analytics: timeline (list) and counters (hash)
//	P ad:{day}, P ah:{hour}  day and hour aggregates (hash)
//	P uu:{day}               the day's unique users (HyperLogLog)
//	P au:{id}, P audit,      audit entry (hash), index by id (sorted set by
//	P audit:x, P audit:seq   member), index by expiry, id sequence
//
// The ended index is scored by the time each session becomes ready for
// cleanup: its end for a logout, the end of its recovery window otherwise,
// and the claim time once ClaimRecovery took it. A session's state keys
// expire at its record's sx field, set by Create to the latest the record
// can expire (lifetime plus Grace) plus the ended entry's TTL (keep plus
// Grace), so that the state outlives the record and the ended entry
// without a PEXPIRE per state key on each touch or at the end; the end
// script moves their TTL to the entry's only when sx falls short (a
// longer recovery window than at Create, or a record of an older version,
// whose state follows its record's TTL as before). Archive and Purge
// delete them with the entry.
//
// The ended lists are written by the end scripts in the same atomic step as
// the end: one ZADD per list for a batch of sessions (one per user for the
// user lists), no reads. Archive keeps a session listed, adds it to ret and
// unlists the archives whose retention ended (by the now passed in), a
// batch a call, as ListEnded does before it lists; Purge unlists a session
// that has no archive. They carry no TTL: every way a session's data goes
// unlists it (cleanup's Ended unlists an ended entry its safety-net TTL
// removed), finding the user and reason lists through who, and an emptied
// list is gone.
//
// Every call borrows its connection through a fail-fast gate (a circuit
// breaker, breaker.go). After a network or timeout error, calls fail at
// once with ErrDown (the service answers 503) without taking a connection,
// except one probe at a time (the first call after the error, then one
// every 150-250 ms), whose answer closes the gate; Ping always probes.
// Waiting for a pooled connection, dialing one, and the first command on it
// are bounded together by the caller's ctx and by ReadTimeout (a dial within
// a call gets no more, whatever DialTimeout says); the pool keeps Wait, so a
// burst queues rather than fails. A request during an outage so costs at
// most about one read timeout, and none once the gate is open.
//
// It never uses KEYS or SCAN: every query is served from an index. Scripts
// compute key names from the prefix, so the store needs a single Redis server
// (or a primary), not Redis Cluster.
package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Options configures a Store.
type Options struct {
	// URL is redis://[[user]:password@]host:port/db, or rediss:// for TLS
	// (verified against CAFile, or the system roots). With Sentinel its host
	// is not used (it may be left out: redis://:password@/0); its scheme,
	// credentials and database apply to whichever server is the primary.
	URL string
	// Username and Password, when either is set, replace the URL's: AUTH
	// with an ACL user and its password, or with the requirepass password
	// alone when Username is "".
	Username, Password string
	// CAFile is a PEM file of the certificates that TLS servers (rediss://
	// and Sentinel.TLS) must chain to, in place of the system roots.
	CAFile string
	// Sentinel, when its MasterName is set, finds the primary through Redis
	// Sentinel (see sentinel.go).
	Sentinel SentinelOptions
	// ReplicaWait bounds the WAIT for one replica's acknowledgement after
	// ending sessions (End, EndMany, EndUser), issued only while the primary
	// has replicas. Default 100 ms; negative turns it off.
	ReplicaWait time.Duration
	// Logger gets the store's warnings (a replica that did not acknowledge,
	// a new primary). Default slog.Default().
	Logger *slog.Logger
	// PoolSize bounds the connections (MaxActive and MaxIdle). A caller that
	// finds the pool full waits for a connection (bounded by its ctx and by
	// ReadTimeout) rather than failing. Default 32.
	PoolSize int
	// Timeouts of each connection. Defaults 1 s, 500 ms, 500 ms.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// Prefix starts every key. Default "sc:". Stores with different
	// prefixes share one server without seeing each other.
	Prefix string
	// Grace is the safety-net margin of every TTL: records, blobs and state
	// expire at their deadline plus Grace, ended entries, the state of ended
	// sessions and recovery points at keep plus Grace, if cleanup has not
	// dealt with them first. It should exceed the cleanup
	// interval by a wide margin. Default 1 h.
	Grace time.Duration
}

// Store is the Redis store. It is safe for concurrent use.
type Store struct {
	pool   *redigo.Pool
	prefix string
	grace  time.Duration
	host   string
	gate   *breaker      // fail fast while Redis is down (breaker.go)
	wait   time.Duration // bound on waiting for a pooled connection
	ha     *ha
}

var _ store.Store = (*Store)(nil)

// New connects to the Redis at opts.URL and pings it once. The error names the
// server's host, never the password.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.PoolSize <= 0 {
		opts.PoolSize = 32
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 500 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 500 * time.Millisecond
	}
	if opts.Prefix == "" {
		opts.Prefix = "sc:"
	}
	if opts.Grace <= 0 {
		opts.Grace = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReplicaWait == 0 {
		opts.ReplicaWait = defaultReplicaWait
	}
	d, host, err := newDialer(opts, opts.Logger)
	if err != nil {
		return nil, err
	}
	pool := &redigo.Pool{
		MaxIdle:     opts.PoolSize,
		MaxActive:   opts.PoolSize,
		Wait:        true,
		IdleTimeout: 5 * time.Minute,
		DialContext: d.dial,
		TestOnBorrow: func(c redigo.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
	if d.sentinel != nil {
		pool.TestOnBorrow = d.testOnBorrow
	}
	gate := newBreaker(probeInterval)
	log := opts.Logger
	gate.onChange = func(open bool, cause error, down time.Duration) {
		if open {
			log.Warn("redis unreachable: failing fast until a probe answers", slog.String("host", host), slog.String("cause", errString(cause)))
		} else {
			log.Warn("redis reachable again", slog.String("host", host), slog.Duration("down", down))
		}
	}
	pool.TestOnBorrowContext = gate.testOnBorrow
	s := &Store{
		pool:   pool,
		gate:   gate,
		wait:   opts.ReadTimeout,
		prefix: opts.Prefix,
		grace:  opts.Grace,
		host:   host,
		ha: &ha{d: d, wait: replicaWait{timeout: opts.ReplicaWait,
			readTimeout: opts.ReadTimeout, log: opts.Logger}},
	}
	d.onSwitch = s.ha.wait.forget
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := s.do(ctx, "UNLINK", legacyIndexes(s.prefix)...); err != nil {
		log.Warn("redis: could not delete the global indexes of an older version (cleanup retries)", slog.String("error", err.Error()))
	}
	return s, nil
}

// legacyIndexes are the global indexes of live sessions (by activity,
// creation and deadline) that versions before the per-role-only layout
// kept. Nothing reads or writes them now: New deletes them (UNLINK, freed
// in the background), and so does every cleanup pass (scriptDue), for the
// entries an older instance may still add during a rolling upgrade.
func legacyIndexes(prefix string) []any {
	return []any{prefix + "ix:act", prefix + "ix:cre", prefix + "ix:dl"}
}

// Pool is the connection pool, for callers that share it (and for tests).
func (s *Store) Pool() *redigo.Pool { return s.pool }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	c, err := s.borrow(ctx, true) // a health check asks Redis, even while the gate is open
	if err == nil {
		defer c.Close()
		_, err = redigo.DoContext(c, ctx, "PING")
	}
	if err != nil {
		return fmt.Errorf("redis: ping %s: %w", s.host, err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error { return s.pool.Close() }

// Persistence reports whether the server writes an append-only file and RDB
// snapshots, so that start-up can warn when sessions would not survive a
// Redis restart. Servers that forbid CONFIG fall back to INFO persistence,
// which tells only the AOF.
func (s *Store) Persistence(ctx context.Context) (aof, rdb bool, err error) {
	c, err := s.conn(ctx)
	if err != nil {
		return false, false, err
	}
	defer c.Close()
	a, aerr := redigo.StringMap(redigo.DoContext(c, ctx, "CONFIG", "GET", "appendonly"))
	r, rerr := redigo.StringMap(redigo.DoContext(c, ctx, "CONFIG", "GET", "save"))
	if aerr == nil && rerr == nil {
		return a["appendonly"] == "yes", strings.TrimSpace(r["save"]) != "", nil
	}
	info, err := redigo.String(redigo.DoContext(c, ctx, "INFO", "persistence"))
	if err != nil {
		return false, false, fmt.Errorf("redis: read persistence settings: %w", err)
	}
	return strings.Contains(info, "aof_enabled:1"), false, nil
}

// conn takes a connection from the pool through the gate (breaker.go),
// waiting at most as long as ctx and s.wait.
func (s *Store) conn(ctx context.Context) (redigo.Conn, error) {
	c, err := s.borrow(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("redis: connect %s: %w", s.host, err)
	}
	return c, nil
}

// do runs one command on a pooled connection.
func (s *Store) do(ctx context.Context, cmd string, args ...any) (any, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return redigo.DoContext(c, ctx, cmd, args...)
}

// run evaluates a script (EVALSHA, falling back to EVAL once after a restart
// flushed the script cache) with the prefix as ARGV[1].
func (s *Store) run(ctx context.Context, sc *redigo.Script, args ...any) (any, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return sc.DoContext(ctx, c, append([]any{s.prefix}, args...)...)
}

// ttlAt is the absolute expiry (unix ms) of a safety-net TTL for something
// that must live until at least deadline: deadline plus Grace, but never
// less than Grace from the real now, since tests (and clock skew between
// instances) may pass a now far from the server's clock.
func (s *Store) ttlAt(deadline time.Time) int64 {
	at := deadline.Add(s.grace)
	if floor := time.Now().Add(s.grace); at.Before(floor) {
		at = floor
	}
	return at.UnixMilli()
}

// endedTTL is how long (ms) an ended entry stays if cleanup never takes it.
func (s *Store) endedTTL(keep time.Duration) int64 {
	if keep < 0 {
		keep = 0
	}
	return (keep + s.grace).Milliseconds()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
