//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

// fileLock is a no-op where flock(2) is not available: there the store relies
// on SQLite's own locking alone and a second process is not refused up front.
type fileLock struct{}

func lockFile(dbPath string) (*fileLock, error) { return &fileLock{}, nil }

func (l *fileLock) unlock() error { return nil }
