// Package files gives each session its own file namespace: a data directory for
// uploads and results, a temp directory for work in progress, and a cache prefix,
// under <files_path>/sessions/<sid>/, with a per-session disk quota.
//
// Every file access goes through os.Root, so a name is resolved by the kernel
// relative to an open directory and no symlink can lead outside it: there is no
// check-then-open window. Names are additionally restricted to one path component
// (ValidName). A session can never reach another session's files, whatever name
// or planted symlink it uses.
//
// The package knows nothing of HTTP, sessions' lifecycle or the store: the service
// decides when a namespace is created, moved to a recovered session or removed.
// It must never take a path from a caller other than a sid and a single name.
//
// The quota is exact within one process. With several app instances sharing
// files_path, each instance counts what is on disk when it opens a namespace plus
// its own writes, so concurrent uploads to one session through different
// instances can overshoot by what those instances have in flight.
package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// dirPerm is the mode of every directory the package creates: the files of a
// session are the service's alone.
const dirPerm = 0o700

// filePerm is the mode of every file the package creates.
const filePerm = 0o600

// Manager hands out namespaces under one root. It is safe for concurrent use.
type Manager struct {
	quota    int64
	sessions *os.Root // <root>/sessions

	mu       sync.Mutex // guards accounts; serializes creating, moving and removing namespaces
	accounts map[string]*account
}

// account is the quota bookkeeping shared by every open Namespace of one sid in
// this process, so two requests of one session cannot each use the full quota.
type account struct {
	refs int // open Namespaces; guarded by Manager.mu

	mu   sync.Mutex
	used int64              // bytes on disk in data/ and tmp/, plus bytes reserved by writers
	open map[string]*Writer // "data/<name>" or "tmp/<name>" of files being written
}

// NewManager opens the namespace root under root (storage.files_path), creating
// root and root/sessions with mode 0700 if missing. quota is the per-session
// limit in bytes for data/ and tmp/ together and must be positive.
func NewManager(root string, quota int64) (*Manager, error) {
	if quota <= 0 {
		return nil, fmt.Errorf("files: quota must be positive, got %d", quota)
	}
	if root == "" {
		return nil, errors.New("files: empty root")
	}
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("files: create root: %w", err)
	}
	dir := filepath.Join(root, "sessions")
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("files: create sessions directory: %w", err)
	}
	sessions, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("files: open sessions directory: %w", err)
	}
	return &Manager{quota: quota, sessions: sessions, accounts: make(map[string]*account)}, nil
}

// Close releases the root directory. Namespaces already open keep working.
func (m *Manager) Close() error {
	if err := m.sessions.Close(); err != nil {
		return fmt.Errorf("files: close: %w", err)
	}
	return nil
}

// Quota is the per-session limit in bytes.
func (m *Manager) Quota() int64 { return m.quota }

// Namespace opens the namespace of sid, creating <root>/sessions/<sid>/{data,tmp}
// with mode 0700 if missing. The caller must Close it. Opening the same sid
// twice is fine: both share one quota account.
//
// A sid, data or tmp entry that is not a real directory (a planted symlink, even
// one pointing at another session inside the root) is refused.
func (m *Manager) Namespace(sid string) (*Namespace, error) {
	if err := validSID(sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	root, err := mkdirOpen(m.sessions, sid)
	if err != nil {
		return nil, fmt.Errorf("files: namespace %s: %w", sid, err)
	}
	data, err := mkdirOpen(root, "data")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("files: namespace %s: %w", sid, err)
	}
	tmp, err := mkdirOpen(root, "tmp")
	if err != nil {
		data.Close()
		root.Close()
		return nil, fmt.Errorf("files: namespace %s: %w", sid, err)
	}
	acct := m.accounts[sid]
	if acct == nil {
		// First holder in this process: start from what is on disk, which also
		// picks up writes other instances made since.
		used, err := diskUsage(root)
		if err != nil {
			tmp.Close()
			data.Close()
			root.Close()
			return nil, fmt.Errorf("files: namespace %s: %w", sid, err)
		}
		acct = &account{used: used, open: make(map[string]*Writer)}
		m.accounts[sid] = acct
	}
	acct.refs++
	return &Namespace{m: m, sid: sid, acct: acct, root: root, data: data, tmp: tmp}, nil
}

// release drops one Namespace's hold on acct.
func (m *Manager) release(sid string, acct *account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	acct.refs--
	if acct.refs == 0 && m.accounts[sid] == acct {
		delete(m.accounts, sid)
	}
}

// detach makes the next Namespace(sid) start a fresh account from disk, after
// the directory behind sid was moved or removed. Holders of the old account keep
// it. Call with m.mu held.
func (m *Manager) detach(sid string) {
	delete(m.accounts, sid)
}

// Exists reports whether sid has a namespace directory. An invalid sid has none.
func (m *Manager) Exists(sid string) bool {
	if validSID(sid) != nil {
		return false
	}
	fi, err := m.sessions.Lstat(sid)
	return err == nil && fi.IsDir()
}

// Move hands the namespace of fromSID to toSID: a recovered session takes over
// the files of the one it replaces. It is one rename, so the files are never in
// two places or in none. fromSID must exist (the error wraps fs.ErrNotExist if
// not) and toSID must not (fs.ErrExist).
//
// A Namespace of fromSID still open keeps its directory handles, which now
// point at toSID's directory: a write in flight when the session ended lands in
// the recovered session, which belongs to the same user.
func (m *Manager) Move(fromSID, toSID string) error {
	if err := validSID(fromSID); err != nil {
		return err
	}
	if err := validSID(toSID); err != nil {
		return err
	}
	if fromSID == toSID {
		return fmt.Errorf("files: move %s: %w", fromSID, fs.ErrExist)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fi, err := m.sessions.Lstat(fromSID)
	switch {
	case err != nil:
		return fmt.Errorf("files: move %s: %w", fromSID, err)
	case !fi.IsDir():
		return fmt.Errorf("files: move %s: not a directory", fromSID)
	}
	// Namespace creation holds m.mu too, so within this process nothing creates
	// toSID between this check and the rename. Another instance could; rename
	// then fails on its non-empty directory rather than merging.
	if _, err := m.sessions.Lstat(toSID); err == nil {
		return fmt.Errorf("files: move %s to %s: %w", fromSID, toSID, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("files: move %s to %s: %w", fromSID, toSID, err)
	}
	if err := m.sessions.Rename(fromSID, toSID); err != nil {
		return fmt.Errorf("files: move %s to %s: %w", fromSID, toSID, err)
	}
	m.detach(fromSID)
	m.detach(toSID)
	return nil
}

// Remove deletes the whole namespace of sid. Removing a namespace that does not
// exist is not an error. Namespaces of sid still open fail from then on.
func (m *Manager) Remove(sid string) error {
	if err := validSID(sid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// RemoveAll through the root removes a planted symlink itself, never what
	// it points at.
	if err := m.sessions.RemoveAll(sid); err != nil {
		return fmt.Errorf("files: remove %s: %w", sid, err)
	}
	m.detach(sid)
	return nil
}

// CachePrefix is the key prefix of sid's cache entries: "cache:<sid>:". The sid
// alphabet has no ":", so no session's prefix is a prefix of another's. An
// invalid sid gets a prefix no valid sid can produce, never a shared or empty one.
func (m *Manager) CachePrefix(sid string) string {
	if validSID(sid) != nil {
		return fmt.Sprintf("cache:!%x:", sid)
	}
	return "cache:" + sid + ":"
}

// mkdirOpen creates parent/name as a directory if missing and opens it as a
// Root. An existing entry must be a real directory: os.Root would follow a
// symlink that stays inside parent, such as sessions/<a> -> <b>, which would
// share b's files with a. The Lstat and the opened directory are compared, so
// swapping the entry between the two is caught as well.
func mkdirOpen(parent *os.Root, name string) (*os.Root, error) {
	if err := parent.Mkdir(name, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return openDir(parent, name)
}

func openDir(parent *os.Root, name string) (*os.Root, error) {
	fi, err := parent.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open %s: not a directory (%s)", name, fi.Mode().Type())
	}
	r, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	got, err := r.Stat(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	if !os.SameFile(fi, got) {
		r.Close()
		return nil, fmt.Errorf("open %s: directory changed while opening", name)
	}
	return r, nil
}

// diskUsage sums the sizes of the regular files under r. Symlinks are not
// followed or counted.
func diskUsage(r *os.Root) (int64, error) {
	var total int64
	err := fs.WalkDir(r.FS(), ".", func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking
		}
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	return total, nil
}
