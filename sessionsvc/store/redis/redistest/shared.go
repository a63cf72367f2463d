package redistest

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
)

// Shared starts a server for a whole test binary, from TestMain, where there
// is no testing.TB: the tests of a package share it (each under its own key
// prefix) instead of paying a start per test. stop ends the server and removes
// its directory; call it after m.Run. A missing redis-server is an error, which
// TestMain must turn into a failing exit, never a skip.
//
// Tests that Pause, Kill or Restart should Start their own server instead.
func Shared(opts ...Option) (s *Server, stop func(), err error) {
	tb := &mainTB{}
	done := make(chan struct{})
	go func() {
		// Start ends this goroutine through Fatalf on failure.
		defer close(done)
		s = Start(tb, opts...)
	}()
	<-done
	stop = tb.cleanup
	if tb.err != nil {
		stop()
		return nil, func() {}, tb.err
	}
	return s, stop, nil
}

// mainTB is the part of testing.TB that Start and Server use, for Shared.
// Calling any other method panics on the nil embedded interface.
type mainTB struct {
	testing.TB

	mu       sync.Mutex
	err      error
	dirs     []string
	cleanups []func()
}

func (m *mainTB) Helper() {}

func (m *mainTB) Errorf(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = fmt.Errorf(format, args...)
	}
	fmt.Fprintf(os.Stderr, "redistest: "+format+"\n", args...)
}

func (m *mainTB) Fatalf(format string, args ...any) {
	m.Errorf(format, args...)
	runtime.Goexit()
}

func (m *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		m.Fatalf("temp dir: %v", err)
	}
	m.mu.Lock()
	m.dirs = append(m.dirs, dir)
	m.mu.Unlock()
	return dir
}

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	m.cleanups = append(m.cleanups, f)
	m.mu.Unlock()
}

func (m *mainTB) cleanup() {
	m.mu.Lock()
	fs, dirs := m.cleanups, m.dirs
	m.cleanups, m.dirs = nil, nil
	m.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}
