package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/redis/redistest"
)

// TestOpenStoreThroughSentinel: the storage.redis_sentinel and password keys
// reach the redis store, which finds the primary through the sentinel.
func TestOpenStoreThroughSentinel(t *testing.T) {
	primary := redistest.StartNode(t, redistest.Args("--requirepass", "data-pw"))
	sentinel := redistest.StartSentinels(t, 1, "m", primary.Addr(), 1, []string{"sentinel auth-pass m data-pw"})[0]

	cfg := sessionsvc.DefaultConfig()
	cfg.Storage.Backend = sessionsvc.BackendRedis
	cfg.Storage.RedisURL = "redis:///0"
	cfg.Storage.RedisPassword = "data-pw"
	cfg.Storage.RedisReplicaWaitMS = 0
	cfg.Storage.RedisSentinel = sessionsvc.RedisSentinelConfig{MasterName: "m", Addresses: []string{sentinel.Addr()}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer st.Close()
	if _, found, err := st.Get(ctx, "nobody", time.Now()); err != nil || found {
		t.Errorf("Get through the sentinel's primary = %v, %v", found, err)
	}

	cfg.Storage.RedisPassword = ""
	if st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler)); err == nil {
		st.Close()
		t.Error("openStore without the password succeeded")
	}
}
