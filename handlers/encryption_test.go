package handlers_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// redisContains reports whether any value in the test's Redis contains marker.
func redisContains(t *testing.T, a *app, marker string) bool {
	t.Helper()
	srv := a.Backend.redis
	cursor := "0"
	for {
		reply, err := srv.Do("SCAN", cursor, "COUNT", 1000)
		if err != nil {
			t.Fatal(err)
		}
		parts := reply.([]any)
		cursor = string(parts[0].([]byte))
		for _, k := range parts[1].([]any) {
			key := string(k.([]byte))
			typ, _ := srv.Do("TYPE", key)
			var vals any
			switch typ.(string) {
			case "string":
				vals, _ = srv.Do("GET", key)
			case "hash":
				vals, _ = srv.Do("HGETALL", key)
			case "list":
				vals, _ = srv.Do("LRANGE", key, 0, -1)
			case "zset":
				vals, _ = srv.Do("ZRANGE", key, 0, -1)
			case "set":
				vals, _ = srv.Do("SMEMBERS", key)
			}
			if strings.Contains(flatten(vals), marker) {
				return true
			}
		}
		if cursor == "0" {
			return false
		}
	}
}

func flatten(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case []any:
		var b strings.Builder
		for _, x := range v {
			b.WriteString(flatten(x))
			b.WriteByte('\n')
		}
		return b.String()
	}
	return ""
}

func TestNoPlaintextStateInRedis(t *testing.T) {
	const marker = "MARKER-7d1e-comentario-secreto"
	for _, encrypted := range []bool{true, false} {
		a := newApp(t, "redis", func(c *sessionsvc.Config) { c.Security.SessionEncryption = encrypted })
		b, sid := signedIn(t, a, "ana")
		ctx := context.Background()
		for _, cat := range []string{store.CatUserData, store.CatAnalysisData, store.CatPreferences} {
			if _, err := a.Svc.SetStateValue(ctx, sid, cat, "marker", marker); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.Svc.SetStateValue(ctx, sid, store.CatUserData, "marker", marker+"-2"); err != nil {
			t.Fatal(err) // leaves a snapshot holding the first marker
		}
		b.get("/workspace")
		if got := redisContains(t, a, marker); got == encrypted {
			t.Errorf("session_encryption=%v: marker visible in Redis = %v", encrypted, got)
		}
		if encrypted && redisContains(t, a, `"sid"`) {
			t.Errorf("the session blob is readable in Redis")
		}
		v, _, err := a.Svc.StateValue(ctx, sid, store.CatUserData, "marker")
		if err != nil || string(v) != `"`+marker+`-2"` {
			t.Errorf("round trip = %s %v", v, err)
		}
	}
}

// tamperStore flips one byte of stored state values on the way out.
type tamperStore struct {
	store.Store
	mu   sync.Mutex
	flip bool
}

func (s *tamperStore) GetState(ctx context.Context, sid string) (store.StateDoc, bool, error) {
	doc, ok, err := s.Store.GetState(ctx, sid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flip {
		for _, c := range doc.Categories {
			for k, v := range c.Values {
				v = append([]byte(nil), v...)
				v[len(v)/2] ^= 0x01
				c.Values[k] = v
				return doc, ok, err
			}
		}
	}
	return doc, ok, err
}

func TestTamperedStateEndsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		bk := newBackend(t, be, cfg)
		ts := &tamperStore{Store: bk.store}
		a := newAppOn(t, &backend{name: be, store: ts, redis: bk.redis}, cfg, newClock())
		b, sid := signedIn(t, a, "ana")
		ctx := context.Background()
		if _, err := a.Svc.SetStateValue(ctx, sid, store.CatUserData, "note", "hola"); err != nil {
			t.Fatal(err)
		}
		ts.mu.Lock()
		ts.flip = true
		ts.mu.Unlock()
		if _, err := a.Svc.State(ctx, sid); !errors.Is(err, sessionsvc.ErrTampered) {
			t.Fatalf("tampered state: %v, want ErrTampered", err)
		}
		if n := a.Svc.SecurityEvents(); n != 1 {
			t.Errorf("security events = %d, want 1", n)
		}
		assertEnded(t, b, b.get("/workspace"), "por tu seguridad")
	})
}

func TestFlippedBlobEndsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a, g := newGatedApp(t, be)
		b, _ := signedIn(t, a, "ana")
		g.mu.Lock()
		g.flipBlob = true
		g.mu.Unlock()
		res := b.get("/workspace")
		g.mu.Lock()
		g.flipBlob = false
		g.mu.Unlock()
		assertEnded(t, b, res, "por tu seguridad")
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("session with a tampered blob still live")
		}
		if a.Svc.SecurityEvents() != 1 {
			t.Errorf("security events = %d, want 1", a.Svc.SecurityEvents())
		}
	})
}

func TestKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		bk := newBackend(t, be, cfg)
		clk := newClock()
		ctx := context.Background()
		instance := func(keys ...any) *app {
			b := *bk
			switch len(keys) {
			case 1:
				b.ring = testRing(t, testKeyB)
			case 2:
				b.ring = testRing(t, testKeyB, testKeyA)
			}
			return newAppOn(t, &b, cfg, clk)
		}
		old := instance()          // key A only
		both := instance(nil, nil) // B encrypts, A still decrypts
		newOnly := instance(nil)   // B only: A is gone
		br, sid := signedIn(t, old, "ana")
		if _, err := old.Svc.SetStateValue(ctx, sid, store.CatUserData, "a", "written under A"); err != nil {
			t.Fatal(err)
		}
		// The rotated instance reads data and sessions written under the old key.
		v, _, err := both.Svc.StateValue(ctx, sid, store.CatUserData, "a")
		if err != nil || string(v) != `"written under A"` {
			t.Fatalf("rotated read = %s %v", v, err)
		}
		// Rewritten under the new key on its next write.
		if _, err := both.Svc.SetStateValue(ctx, sid, store.CatUserData, "a", "rewritten"); err != nil {
			t.Fatal(err)
		}
		// Values still under A (the context record) cannot be read without A:
		// treated as absent, the session ends with reason security.
		if _, err := newOnly.Svc.State(ctx, sid); !errors.Is(err, sessionsvc.ErrTampered) {
			t.Fatalf("read with the old key gone: %v, want ErrTampered", err)
		}
		_ = br
		if n := len(sessionsOf(t, old, "ana")); n != 0 {
			t.Errorf("session readable only with a missing key still live")
		}
	})
}
