package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func flush(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Svc.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSessionAnalyticsCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be, func(c *sessionsvc.Config) {
			c.Analytics.Cost.Currency = "USD"
			c.Analytics.Cost.PerAnalysis = 0.05
			c.Analytics.Cost.Per1000Comments = 0.20
			c.Analytics.Cost.PerAPICall = 0.001
		})
		b, sid := signedIn(t, a, "ana")
		// A scripted sequence: 3 pages, 2 background polls, 4 API calls, 1 htmx
		// partial, and (driven through the service until the workspace has
		// them) 2 uploads and 3 analyses of 1,500 comments each.
		for _, p := range []string{"/workspace", "/account/sessions", "/workspace"} {
			if res := b.get(p); res.StatusCode != 200 {
				t.Fatalf("GET %s = %d", p, res.StatusCode)
			}
		}
		for range 2 {
			b.get("/workspace", sessionsvc.BackgroundHeader, "1")
		}
		b.get("/workspace", "HX-Request", "true")
		for range 4 {
			if res := b.get("/api/session"); res.StatusCode != 200 {
				t.Fatalf("GET /api/session = %d", res.StatusCode)
			}
		}
		for i := range 2 {
			a.Svc.Record(sid, "ana", store.EventFileUpload, map[string]string{"name": fmt.Sprintf("f%d.csv", i), "bytes": "1024"})
		}
		for range 3 {
			a.Svc.Record(sid, "ana", store.EventAnalysisRun, map[string]string{"comments": "1500"})
		}
		flush(t, a)
		got, err := a.Svc.SessionAnalytics(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if got.PageViews != 3 || got.APICalls != 4 || got.Uploads != 2 || got.Analyses != 3 || got.Comments != 4500 {
			t.Errorf("counts = page views %d, api %d, uploads %d, analyses %d, comments %d; want 3, 4, 2, 3, 4500",
				got.PageViews, got.APICalls, got.Uploads, got.Analyses, got.Comments)
		}
		// 3 × 0.05 + 4.5 × 0.20 + 4 × 0.001 = 1.054 → USD 1.05
		if got.Cost.String() != "USD 1.05" || got.Cost.Micros != 1054000 {
			t.Errorf("cost = %s (%d micros), want USD 1.05 (1054000)", got.Cost, got.Cost.Micros)
		}
		if !got.Live || got.User != "ana" {
			t.Errorf("live %v user %q", got.Live, got.User)
		}
		// Timeline: newest first, the login oldest.
		tl := got.Timeline
		if len(tl) == 0 || tl[len(tl)-1].Type != store.EventLogin || tl[0].Type != store.EventAnalysisRun {
			t.Fatalf("timeline order wrong: first %v last %v", tl[0].Type, tl[len(tl)-1].Type)
		}
		for i := 1; i < len(tl); i++ {
			if tl[i].At.After(tl[i-1].At) {
				t.Fatalf("timeline not newest first at %d", i)
			}
		}
		// Analytics outlive the session.
		b.post("/logout", urlValues("csrf_token", b.csrf()))
		flush(t, a)
		after, err := a.Svc.SessionAnalytics(context.Background(), sid)
		if err != nil || after.Live || after.PageViews != 4 || after.Timeline[0].Type != store.EventLogout {
			t.Errorf("ended session analytics = live %v views %d first %v err %v", after.Live, after.PageViews, after.Timeline[0].Type, err)
		}
	})
}

// blockedStore holds AppendEvents until released.
type blockedStore struct {
	store.Store
	release chan struct{}
}

func (s *blockedStore) AppendEvents(ctx context.Context, evs []store.Event, retention time.Duration) error {
	<-s.release
	return s.Store.AppendEvents(ctx, evs, retention)
}

func TestBlockedAnalyticsDoesNotBlockRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		cfg.Analytics.BufferSize = 5
		cfg.Analytics.FlushBatch = 2
		bk := newBackend(t, be, cfg)
		bs := &blockedStore{Store: bk.store, release: make(chan struct{})}
		a := newAppOn(t, &backend{name: be, store: bs, redis: bk.redis}, cfg, newClock())
		b, _ := signedIn(t, a, "ana")
		for i := range 30 {
			if res := b.get("/workspace"); res.StatusCode != 200 {
				t.Fatalf("request %d with analytics blocked = %d", i, res.StatusCode)
			}
		}
		if a.Svc.EventsDropped() == 0 {
			t.Fatalf("no drops counted with a blocked store and a buffer of 5")
		}
		close(bs.release)
	})
}

func TestShutdownFlushesEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		cfg.Analytics.FlushIntervalMS = 60_000 // nothing leaves before Close
		cfg.Analytics.FlushBatch = 10_000
		bk := newBackend(t, be, cfg)
		a := newAppOn(t, bk, cfg, newClock())
		_, sid := signedIn(t, a, "ana")
		for range 1000 {
			a.Svc.Record(sid, "ana", store.EventPageView, map[string]string{"path": "/workspace"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Svc.Close(ctx); err != nil {
			t.Fatal(err)
		}
		c, ok, err := bk.store.Counters(ctx, sid)
		if err != nil || !ok || c.PageViews != 1000 {
			t.Fatalf("after Close page views = %d (found %v, err %v), want 1000", c.PageViews, ok, err)
		}
	})
}

func TestAggregatesAcrossDays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		users := make([]string, 50)
		a := newApp(t, be, func(c *sessionsvc.Config) {
			for i := range users {
				users[i] = fmt.Sprintf("user%02d", i)
				c.Accounts = append(c.Accounts, sessionsvc.Account{Username: users[i], Role: sessionsvc.RoleAnalyst, PasswordHash: cheapHash(t, users[i]+"-pw")})
			}
		})
		ctx := context.Background()
		// Day one: 50 users sign in at once, then ana three times more than
		// her limit allows.
		day1 := a.Clock.Now()
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Go(func() {
				b := a.browser()
				page := b.get("/login")
				b.post("/login", url.Values{"username": {u}, "password": {u + "-pw"}, "csrf_token": {csrfFrom(t, page.Body)}})
			})
		}
		wg.Wait()
		for range 6 {
			a.browser().login("ana")
		}
		agg, err := a.Svc.Aggregates(ctx, day1, day1)
		if err != nil {
			t.Fatal(err)
		}
		if agg.Created != 56 || agg.UniqueUsers != 51 || agg.ActiveNow != 53 || agg.PeakConcurrent != 53 {
			t.Errorf("day one: created %d unique %d active %d peak %d; want 56, 51, 53, 53", agg.Created, agg.UniqueUsers, agg.ActiveNow, agg.PeakConcurrent)
		}
		if agg.Ended != 3 {
			t.Errorf("ended %d, want 3 evictions", agg.Ended)
		}
		// 20 minutes later cleanup ends the idle ones: durations are known.
		a.Clock.Add(20 * time.Minute)
		if _, err := a.Svc.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		agg, _ = a.Svc.Aggregates(ctx, day1, day1)
		if agg.Ended != 56 || agg.AverageDuration <= 0 || agg.AverageDuration > 20*time.Minute {
			t.Errorf("after cleanup ended %d average %v", agg.Ended, agg.AverageDuration)
		}
		// Day two: ana again; unique users counted per day.
		a.Clock.Add(24 * time.Hour)
		a.browser().login("ana")
		day2 := a.Clock.Now()
		two, err := a.Svc.Aggregates(ctx, day2, day2)
		if err != nil {
			t.Fatal(err)
		}
		if two.Created != 1 || two.UniqueUsers != 1 || two.PeakConcurrent != 1 || two.ActiveNow != 1 {
			t.Errorf("day two: created %d unique %d peak %d active %d; want 1, 1, 1, 1", two.Created, two.UniqueUsers, two.PeakConcurrent, two.ActiveNow)
		}
		both, err := a.Svc.Aggregates(ctx, day1, day2)
		if err != nil || both.Created != 57 || both.UniqueUsers != 52 || len(both.Days) != 2 || both.PeakConcurrent != 53 {
			t.Errorf("both days: created %d unique(per day, summed) %d days %d peak %d err %v", both.Created, both.UniqueUsers, len(both.Days), both.PeakConcurrent, err)
		}
		hours, err := a.Svc.Hourly(ctx, 48)
		if err != nil || len(hours) != 48 {
			t.Fatalf("hourly: %d %v", len(hours), err)
		}
		var created int64
		for _, h := range hours {
			created += h.Created
		}
		if created != 57 {
			t.Errorf("hourly buckets hold %d sessions created, want 57", created)
		}
	})
}

func TestAuditEntries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ctx := context.Background()
		b := a.browser()
		if res := b.tryLogin("ana", "nope"); res.StatusCode != http.StatusUnauthorized {
			t.Fatal(res.StatusCode)
		}
		_, sid := signedIn(t, a, "ana")
		if err := a.Svc.Terminate(ctx, sid, "adam", "policy"); err != nil {
			t.Fatal(err)
		}
		signedIn(t, a, "olga")
		if _, err := a.Svc.TerminateUser(ctx, "olga", "adam", "left the company"); err != nil {
			t.Fatal(err)
		}
		x, _ := signedIn(t, a, "adam")
		_, s2 := signedIn(t, a, "adam")
		if _, err := a.Svc.TerminateMany(ctx, []string{s2, "unknown-sid"}, "adam", "bulk"); err != nil {
			t.Fatal(err)
		}
		x.post("/logout", urlValues("csrf_token", x.csrf()))
		page, err := a.Svc.AuditLog(ctx, store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"login_failed": "refused", "login": "ok", "terminate": "ok", "terminate_user": "ok", "terminate_bulk": "ok", "logout": "ok"}
		seen := map[string]store.AuditEntry{}
		for _, e := range page.Entries {
			seen[e.Action] = e
		}
		for action, result := range want {
			e, ok := seen[action]
			if !ok {
				t.Errorf("no audit entry for %s", action)
				continue
			}
			if e.Result != result {
				t.Errorf("%s result %q, want %q", action, e.Result, result)
			}
		}
		if e := seen["login_failed"]; e.ActorIP != "127.0.0.1" || e.Actor != "ana" {
			t.Errorf("login_failed entry = %+v, want actor ana from 127.0.0.1", e)
		}
		if e := seen["terminate"]; e.Actor != "adam" || e.Target != sid || e.Reason != "policy" || e.Affected != 1 {
			t.Errorf("terminate entry = %+v", e)
		}
		if e := seen["terminate_bulk"]; e.Affected != 1 {
			t.Errorf("bulk affected %d, want 1", e.Affected)
		}
		filtered, err := a.Svc.AuditLog(ctx, store.AuditQuery{Action: "login_failed"})
		if err != nil || len(filtered.Entries) != 1 || filtered.Entries[0].Actor != "ana" {
			t.Errorf("filtered audit = %+v %v", filtered.Entries, err)
		}
	})
}
