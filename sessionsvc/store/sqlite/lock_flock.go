//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// fileLock is an exclusive flock(2) on a sidecar file. flock locks belong to
// the open file description, so the kernel drops it when the process dies,
// and a second open of the same file conflicts even within one process.
type fileLock struct {
	f *os.File
}

// lockFile takes the exclusive lock on the sidecar file of the database at
// dbPath (dbPath + ".lock") without waiting. A lock held elsewhere is an
// error wrapping store.ErrLocked.
func lockFile(dbPath string) (*fileLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: open %s: in use by another process (lock %s held): %w", dbPath, path, store.ErrLocked)
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock. The lock file stays: removing it would let a
// process that opened it before the removal lock an orphaned inode.
func (l *fileLock) unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, l.f.Close())
}
