// Package sqlite is the embedded implementation of the storage contract in
// package store, on modernc.org/sqlite (pure Go, no cgo). It backs the spec's
// "database" backend (a file) and its "memory" backend (gone at exit), for one
// app instance: a second process opening the same file is refused with
// store.ErrLocked rather than allowed to share it, because cleanup leases,
// throttling counters and the per-user limit are only as good as the one
// writer behind them.
//
// Every query is served from an index; the package never scans the sessions
// table on a path whose cost the contract bounds, and it never reads the
// system clock for a decision: time is always an argument. Times are stored
// as unix milliseconds.
//
// Where Redis lets keys expire on its own clock, this store keeps the expiry
// in a column and removes what has expired from the writes that are given a
// time: End and Create drop tombstones past At+keep, Archive drops archived
// sessions past their retention, Fail drops forgotten counters,
// AppendEvents and NoteStart drop expired session analytics and day and
// hour buckets (the newest event's time standing for now in a flush), and
// AppendAudit and CompleteAudit drop expired audit entries, each a bounded
// batch per call. Lookups that get no time (Tombstone, Archived, Failures,
// Counters, Timeline, Days, Hours, QueryAudit) return what is stored until
// then. Blobs need no expiry: one only exists while its session's record
// does.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configures Open.
type Options struct {
	// Path is the database file. "" or ":memory:" keeps the database in
	// memory for the life of the Store. Missing parent directories are
	// created with mode 0700; the file holds session blobs.
	Path string
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection of this Store before failing. Zero means 5 seconds.
	BusyTimeout time.Duration
}

// Store is the SQLite store. It is safe for concurrent use. All writes go
// through one connection (SQLite has one writer anyway; queueing in
// database/sql is cheaper than spinning on SQLITE_BUSY), and reads of a file
// database use a pool of read-only connections that WAL lets run beside it.
type Store struct {
	write *sql.DB   // one connection; transactions BEGIN IMMEDIATE
	read  *sql.DB   // == write for an in-memory database
	lock  *fileLock // nil in memory

	endBatch int             // sids per transaction of EndMany: endTxBatch, smaller in tests
	upd      *updateStmts    // UpdateState's statements, prepared on write
	an       *analyticsStmts // the analytics writes' statements, prepared on write

	// seen is the newest time (unix ms) a write was given: NoteEnd, which
	// gets none, dates a day bucket that its key does not date from it.
	seen      atomic.Int64
	auditMu   sync.Mutex
	auditLast auditClock // the last audit id assigned

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database described by opts, takes the
// file's process lock and creates or migrates the schema. A database file in
// use by another process fails with an error wrapping store.ErrLocked.
func Open(ctx context.Context, opts Options) (*Store, error) {
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	s := &Store{endBatch: endTxBatch}
	if opts.Path == "" || opts.Path == ":memory:" {
		// One connection is the whole database: a second connection to
		// ":memory:" would be another, empty database, and a shared cache
		// brings table-level locking errors (SQLITE_LOCKED) that busy_timeout
		// does not cover. Reads and writes queue on that one connection.
		db, err := openDB("file::memory:", busy, false)
		if err != nil {
			return nil, err
		}
		s.write, s.read = db, db
		if err := s.migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
		if s.upd, err = prepareUpdate(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
		if s.an, err = prepareAnalytics(ctx, db); err != nil {
			s.upd.close()
			db.Close()
			return nil, err
		}
		return s, nil
	}

	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", opts.Path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path}).String()
	if s.write, err = openDB(dsn, busy, false); err != nil {
		return fail(err)
	}
	// The schema and WAL mode come first, so that read connections open on a
	// database that already has them.
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	if s.upd, err = prepareUpdate(ctx, s.write); err != nil {
		return fail(err)
	}
	if s.an, err = prepareAnalytics(ctx, s.write); err != nil {
		return fail(err)
	}
	if s.read, err = openDB(dsn, busy, true); err != nil {
		return fail(err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", path, err))
	}
	return s, nil
}

// openDB opens one side of the store. The write side has one connection
// whose transactions BEGIN IMMEDIATE, so a read-then-write transaction (the
// per-user limit) never fails to upgrade its lock; the read side is a
// query_only pool.
func openDB(dsn string, busy time.Duration, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	// Statement journals (every multi-row statement, and every statement
	// that fires the counter triggers, writes one) stay in memory: on disk
	// they cost a pwrite per page and made bulk ends many times slower.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-16384)") // KiB per connection
	} else {
		q.Add("_pragma", "cache_size(-65536)")
		// WAL lets the read pool run beside the writer. synchronous=NORMAL
		// is safe from corruption in WAL mode; a power cut may lose the last
		// transactions, which for sessions means a few users sign in again.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", dsn+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if readOnly {
		n := max(4, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	} else {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	}
	// Connections are never recycled: for ":memory:" closing the connection
	// would drop the database.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database and then releases the file's process lock. It
// is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.upd != nil {
			errs = append(errs, s.upd.close())
		}
		if s.an != nil {
			errs = append(errs, s.an.close())
		}
		if s.read != nil && s.read != s.write {
			errs = append(errs, s.read.Close())
		}
		if s.write != nil {
			errs = append(errs, s.write.Close())
		}
		if s.lock != nil {
			errs = append(errs, s.lock.unlock())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if fn
// returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read transaction, so that its queries see one snapshot
// (a page and its total agree).
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
