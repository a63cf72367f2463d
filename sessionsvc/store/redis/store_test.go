package redis

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// shared is the redis-server every test of this package uses, each store under
// its own prefix. Tests that kill or pause Redis start their own.
var shared *redistest.Server

var prefixes atomic.Int64

func TestMain(m *testing.M) {
	s, stop, err := redistest.Shared()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	stop()
	os.Exit(code)
}

// newStore returns an empty store on srv (the shared server if nil), closed
// when the test ends.
func newStore(t testing.TB, srv *redistest.Server) *Store {
	t.Helper()
	if srv == nil {
		srv = shared
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := New(ctx, Options{
		URL:         srv.URL(),
		Prefix:      fmt.Sprintf("t%d:", prefixes.Add(1)),
		ReadTimeout: 10 * time.Second, // benchmarks run long scripts
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, nil) })
}
