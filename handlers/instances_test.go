package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Several app instances on one Redis (issue 7, item 5): each test serves two
// instances, with their own Service (own instance id, analytics buffer,
// cleanup state) and HTTP server, on one redis-server and one clock.

func twoInstances(t *testing.T, mutate func(*sessionsvc.Config), optsA, optsB []func(*sessionsvc.Options)) (a, b *app) {
	t.Helper()
	cfg := testConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	be := newBackend(t, "redis", cfg)
	clk := newClock()
	return newAppOn(t, be, cfg, clk, optsA...), newAppOn(t, be, cfg, clk, optsB...)
}

// on is the same browser (same cookie jar) talking to another instance, as
// behind a load balancer without sticky sessions. Cookies do not depend on
// the port, so both instances see the session cookie.
func (b *browser) on(a *app) *browser {
	c := *b
	c.app = a
	return &c
}

func TestInstancesShareSessionsAndEnds(t *testing.T) {
	a, b := twoInstances(t, nil, nil, nil)
	ctx := context.Background()
	anaA, sid := signedIn(t, a, "ana")
	adamB, _ := signedIn(t, b, "adam")

	// A sign-in on A is listed by B, on the page and by the service.
	if res := adamB.get("/admin/sessions"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "/admin/sessions/"+sid) {
		t.Errorf("B's sessions list (%d) does not list the session signed in on A", res.StatusCode)
	}
	page, err := b.Svc.List(ctx, store.Query{Filter: store.Filter{User: "ana"}})
	if err != nil || page.Total != 1 || len(page.Records) != 1 || page.Records[0].SID != sid {
		t.Errorf("B's List of ana = %+v, %v; want the session signed in on A", page, err)
	}
	// And it works through B.
	if res := anaA.on(b).get("/workspace"); res.StatusCode != http.StatusOK {
		t.Errorf("session signed in on A, request through B = %d", res.StatusCode)
	}

	// A termination on B ends the session on A at the next request.
	const reason = "Cambio de turno"
	if res := sdTerminate(adamB, sid, reason); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("terminate on B = %d", res.StatusCode)
	}
	assertEnded(t, anaA, anaA.get("/workspace"), "Un administrador cerró tu sesión: "+reason)
	if _, err := a.Svc.Get(ctx, sid); !errors.Is(err, sessionsvc.ErrNotFound) {
		t.Errorf("A still finds the session ended on B: %v", err)
	}
}

func TestInstancesAgreeOnCounts(t *testing.T) {
	a, b := twoInstances(t, func(c *sessionsvc.Config) { c.Analytics.Timezone = middayZone(time.Now()) }, nil, nil)
	ctx := context.Background()
	_, anaSID := signedIn(t, a, "ana")
	ana2 := b.browser()
	ana2.login("ana")
	olga := b.browser()
	olga.login("olga")
	adam := a.browser()
	adam.login("adam")
	a.Svc.Record(anaSID, "ana", store.EventAnalysisRun, map[string]string{"comments": "10"})
	a.Clock.Add(10 * time.Minute)
	if res := ana2.post("/logout", urlValues("csrf_token", ana2.csrf())); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on B = %d", res.StatusCode)
	}
	flush(t, a)
	flush(t, b)

	todayA, errA := a.Svc.Today(ctx)
	todayB, errB := b.Svc.Today(ctx)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if !reflect.DeepEqual(todayA, todayB) {
		t.Errorf("Today differs:\nA %+v\nB %+v", todayA, todayB)
	}
	if todayA.ActiveNow != 3 || todayA.Created != 4 || todayA.UniqueUsers != 3 || todayA.Ended != 1 ||
		todayA.Analyses != 1 || todayA.AverageDuration != 10*time.Minute {
		t.Errorf("Today = active %d, created %d, unique %d, ended %d, analyses %d, average %v; want 3, 4, 3, 1, 1, 10m",
			todayA.ActiveNow, todayA.Created, todayA.UniqueUsers, todayA.Ended, todayA.Analyses, todayA.AverageDuration)
	}

	// The dashboard's counters, by an admin on A and an operator on B.
	counters := func(br *browser) map[string]string {
		t.Helper()
		res := br.get("/admin/counters", "HX-Request", "true", sessionsvc.BackgroundHeader, "1")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/counters = %d", res.StatusCode)
		}
		doc := dashboardDoc(t, res.Body)
		out := map[string]string{}
		for _, id := range []string{"counter-active", "counter-created", "counter-unique", "counter-duration", "counter-peak", "counter-analyses"} {
			out[id] = strings.TrimSpace(dashTestID(doc, id).Text())
		}
		return out
	}
	onA, onB := counters(adam), counters(olga)
	if !reflect.DeepEqual(onA, onB) {
		t.Errorf("dashboard counters differ:\nA %v\nB %v", onA, onB)
	}
	if onA["counter-active"] != "3" || onA["counter-created"] != "4" || onA["counter-analyses"] != "1" {
		t.Errorf("counters %v: want 3 active, 4 created, 1 analysis", onA)
	}
}

func TestInstancesCountAnalyticsOnce(t *testing.T) {
	a, b := twoInstances(t, func(c *sessionsvc.Config) { c.Analytics.Timezone = middayZone(time.Now()) }, nil, nil)
	ctx := context.Background()
	anaA, sid := signedIn(t, a, "ana")
	anaB := anaA.on(b)
	for _, step := range []struct {
		br   *browser
		path string
	}{
		{anaA, "/workspace"}, {anaB, "/workspace"}, {anaA, "/account/sessions"},
		{anaB, "/workspace"}, {anaA, "/workspace"}, // 5 page views, 3 on A
		{anaA, "/api/session"}, {anaB, "/api/session"}, {anaB, "/api/session"}, // 3 API calls, 2 on B
	} {
		if res := step.br.get(step.path); res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s on %s = %d", step.path, step.br.app.URL, res.StatusCode)
		}
	}
	a.Svc.Record(sid, "ana", store.EventAnalysisRun, map[string]string{"comments": "100"})
	b.Svc.Record(sid, "ana", store.EventAnalysisRun, map[string]string{"comments": "200"})

	check := func(when string) {
		t.Helper()
		for name, in := range map[string]*app{"A": a, "B": b} {
			got, err := in.Svc.SessionAnalytics(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			if got.PageViews != 5 || got.APICalls != 3 || got.Analyses != 2 || got.Comments != 300 {
				t.Errorf("%s, read on %s: page views %d, API calls %d, analyses %d, comments %d; want 5, 3, 2, 300",
					when, name, got.PageViews, got.APICalls, got.Analyses, got.Comments)
			}
			today, err := in.Svc.Today(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if today.PageViews != 5 || today.Analyses != 2 || today.Created != 1 {
				t.Errorf("%s, Today on %s: page views %d, analyses %d, created %d; want 5, 2, 1",
					when, name, today.PageViews, today.Analyses, today.Created)
			}
		}
	}
	flush(t, a)
	flush(t, b)
	check("after both flushed")
	// Flushing again (and closing) writes nothing twice.
	flush(t, b)
	flush(t, a)
	check("after a second flush")
}

// leaseLog watches the cleanup lease through every instance's store: who
// holds it (by successful Acquire and Release), whether two ever held it at
// once, and, per round, when both instances have asked for it.
type leaseLog struct {
	mu       sync.Mutex
	holder   string
	overlaps []string
	tries    int
	bothAsk  chan struct{} // closed when both instances asked in this round
}

func (l *leaseLog) newRound() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries = 0
	l.bothAsk = make(chan struct{})
}

// leaseSpy is an instance's store as seen by its service.
type leaseSpy struct {
	store.Store
	log *leaseLog
}

func (s *leaseSpy) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	ok, err := s.Store.Acquire(ctx, name, holder, ttl, now)
	l := s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok && l.holder != "" && l.holder != holder {
		l.overlaps = append(l.overlaps, holder+" acquired while "+l.holder+" held the lease")
	}
	if ok {
		l.holder = holder
	}
	if l.tries++; l.tries == 2 {
		close(l.bothAsk)
	}
	return ok, err
}

func (s *leaseSpy) Release(ctx context.Context, name, holder string) error {
	s.log.mu.Lock()
	if s.log.holder == holder {
		s.log.holder = ""
	}
	s.log.mu.Unlock()
	return s.Store.Release(ctx, name, holder)
}

// Due holds the lease holder's pass until the other instance has asked for
// the lease too, so that every round really has the two passes overlap.
func (s *leaseSpy) Due(ctx context.Context, now time.Time, limit int) ([]store.Record, error) {
	s.log.mu.Lock()
	ch := s.log.bothAsk
	s.log.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		return nil, errors.New("leaseSpy: the other instance never asked for the lease")
	}
	return s.Store.Due(ctx, now, limit)
}

// TestInstancesCleanupOnePassAtATime runs ten cleanup intervals on two
// instances that start their passes together: in each, exactly one runs the
// pass (the other finds the lease held), the session that fell due ends
// exactly once, the lease is free afterwards, and System shows the pass on
// the instance that ran it.
func TestInstancesCleanupOnePassAtATime(t *testing.T) {
	log := &leaseLog{}
	spy := func(id string) []func(*sessionsvc.Options) {
		return []func(*sessionsvc.Options){func(o *sessionsvc.Options) {
			o.Instance = id
			o.Store = &leaseSpy{Store: o.Store, log: log}
		}}
	}
	a, b := twoInstances(t, nil, spy("instance-a"), spy("instance-b"))
	ctx := context.Background()
	idle := a.Cfg.Session.Idle()

	var ended, gone int
	ranBy := map[string]int{}
	for round := range 10 {
		// One session signs in (on A or B) and falls idle.
		in, user := a, "ana"
		if round%2 == 1 {
			in, user = b, "olga"
		}
		_, sid := signedIn(t, in, user)
		a.Clock.Add(idle + time.Minute)
		at := a.Clock.Now()

		log.newRound()
		var sa, sb sessionsvc.CleanupStats
		var ea, eb error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; sa, ea = a.Svc.Cleanup(ctx) })
		wg.Go(func() { <-start; sb, eb = b.Svc.Cleanup(ctx) })
		close(start)
		wg.Wait()
		if ea != nil || eb != nil {
			t.Fatalf("round %d: cleanup errors %v, %v", round, ea, eb)
		}
		if sa.Ran == sb.Ran {
			t.Errorf("round %d: A ran %v, B ran %v; want exactly one", round, sa.Ran, sb.Ran)
		}
		ran, name, stats, other := a, "A", sa, b
		if sb.Ran {
			ran, name, stats, other = b, "B", sb, a
		}
		ranBy[name]++
		if stats.Ended != 1 || sa.Ended+sb.Ended != 1 {
			t.Errorf("round %d: ended A %d + B %d, want the one due session once", round, sa.Ended, sb.Ended)
		}
		ended += sa.Ended + sb.Ended
		gone += sa.Archived + sa.Purged + sb.Archived + sb.Purged
		if _, err := a.Svc.Get(ctx, sid); !errors.Is(err, sessionsvc.ErrNotFound) {
			t.Errorf("round %d: the idle session is still live: %v", round, err)
		}

		info, err := other.Svc.System(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.CleanupLease.Held {
			t.Errorf("round %d: lease still held by %s after the passes", round, info.CleanupLease.Holder)
		}
		if info.LastPass != nil && !info.LastPass.At.Before(at) {
			t.Errorf("round %d: the instance that did not run shows a pass of this round", round)
		}
		mine, err := ran.Svc.System(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if mine.LastPass == nil || !mine.LastPass.At.Equal(at) || mine.LastPass.Ended != 1 || mine.LastPass.Err != "" {
			t.Errorf("round %d: System of the instance that ran: last pass %+v, want this round's with 1 ended", round, mine.LastPass)
		}
	}
	// Past every recovery window: the ended sessions go, each once.
	a.Clock.Add(a.Cfg.Session.RecoveryWindow() + time.Hour)
	log.newRound()
	var wg sync.WaitGroup
	var sa, sb sessionsvc.CleanupStats
	wg.Go(func() { sa, _ = a.Svc.Cleanup(ctx) })
	wg.Go(func() { sb, _ = b.Svc.Cleanup(ctx) })
	wg.Wait()
	gone += sa.Archived + sa.Purged + sb.Archived + sb.Purged

	if ended != 10 || gone != 10 {
		t.Errorf("over ten intervals: %d ended, %d archived or purged; want 10 and 10", ended, gone)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, o := range log.overlaps {
		t.Error(o)
	}
	t.Logf("passes run by instance: %v", ranBy)
}
