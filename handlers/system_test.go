package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func TestSystemPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ctx := context.Background()

		// One session past its deadline for cleanup to end.
		a.browser().login("ana")
		a.Clock.Add(a.Cfg.Session.Timeout() + time.Minute)
		admin := a.browser()
		admin.login("adam")
		stats, err := a.Svc.Cleanup(ctx)
		if err != nil || !stats.Ran || stats.Ended != 1 {
			t.Fatalf("Cleanup = %+v, %v; want one session ended", stats, err)
		}
		// Another instance holds the lease now.
		if ok, err := a.Backend.store.Acquire(ctx, "cleanup", "instance-b", time.Minute, a.Clock.Now()); err != nil || !ok {
			t.Fatalf("Acquire by instance-b = %v, %v", ok, err)
		}

		for _, user := range []string{"adam", "olga"} {
			b := admin
			if user != "adam" {
				b = a.browser()
				b.login(user)
			}
			res := b.get("/admin/system")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/system as %s: %d", user, res.StatusCode)
			}
			d := doc(t, res.Body)
			want := map[string]string{
				"system-store-status":  "up",
				"system-backend":       a.Cfg.Storage.Backend,
				"system-lease-holder":  "instance-b",
				"system-pass-ended":    "1",
				"system-pass-archived": strconv.Itoa(stats.Archived),
				"system-pass-purged":   strconv.Itoa(stats.Purged),
			}
			for id, w := range want {
				if got := testids(d, id); len(got) != 1 || got[0] != w {
					t.Errorf("%s: %s = %q, want %q", user, id, got, w)
				}
			}
			if got := testids(d, "system-key"); len(got) != 1 || !strings.HasPrefix(got[0], "a") || !strings.Contains(got[0], "primary") {
				t.Errorf("%s: keys = %q, want a (primary)", user, got)
			}
			if got := testids(d, "system-instance"); len(got) != 1 || got[0] == "" || got[0] == "instance-b" {
				t.Errorf("%s: instance = %q, want this instance's id", user, got)
			}
			if d.Find(`main form`).Length() != 0 {
				t.Errorf("%s: the System page has a form; it is read-only", user)
			}
			if d.Find(`[data-testid="nav-system"][href="/admin/system"]`).Length() != 1 {
				t.Errorf("%s: no System link in the nav", user)
			}
			if d.Find(`[data-testid="site-banner"]`).Length() != 0 {
				t.Errorf("%s: store banner shown while the store is up", user)
			}
		}

		// The lease released, the page says it is free.
		if err := a.Backend.store.Release(ctx, "cleanup", "instance-b"); err != nil {
			t.Fatal(err)
		}
		d := doc(t, admin.get("/admin/system").Body)
		if d.Find(`[data-testid="system-lease-free"]`).Length() != 1 {
			t.Errorf("released lease not shown free")
		}
	})
}

// pingFails is a store whose Ping fails while every other call works: the
// admin's session loads, the System page must still render.
type pingFails struct{ store.Store }

func (pingFails) Ping(context.Context) error {
	return errors.New("dial tcp 127.0.0.1:1: connect: connection refused <b>")
}

func TestSystemPageStoreDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		real := newBackend(t, be, cfg)
		down := &backend{name: real.name, store: pingFails{real.store}}
		a := newAppOn(t, down, cfg, newClock())
		b := a.browser()
		b.login("olga")
		res := b.get("/admin/system")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/system with the store down: %d, want 200", res.StatusCode)
		}
		d := doc(t, res.Body)
		if got := testids(d, "system-store-status"); len(got) != 1 || got[0] != "down" {
			t.Errorf("status = %q, want down", got)
		}
		if got := testids(d, "system-store-error"); len(got) != 1 || !strings.Contains(got[0], "connection refused <b>") {
			t.Errorf("error = %q, want the ping's error", got)
		}
		if strings.Contains(res.Body, "refused <b>") {
			t.Errorf("store error rendered unescaped")
		}
		if d.Find(`[data-testid="system-lease-error"]`).Length() != 1 {
			t.Errorf("lease not shown unknown while the store is down")
		}
		if d.Find(`[data-testid="site-banner"]`).Length() != 1 {
			t.Errorf("no store-unreachable banner")
		}
	})
}
