package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// dashboardDoc parses a response body for data-testid queries.
func dashboardDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return doc
}

func dashTestID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

// middayZone is a fixed-offset zone in which the real clock reads between
// 11:00 and 12:59, so that "today" cannot roll over while a test moves its
// clock by minutes.
func middayZone(now time.Time) string {
	off := 12 - now.UTC().Hour() // -11..12
	switch {
	case off == 0:
		return "Etc/GMT"
	case off > 0:
		return "Etc/GMT-" + strconv.Itoa(off) // POSIX sign: GMT-3 is UTC+3
	default:
		return "Etc/GMT+" + strconv.Itoa(-off)
	}
}

func TestDashboardCounters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be, func(c *sessionsvc.Config) { c.Analytics.Timezone = middayZone(time.Now()) })
		_, anaSID := signedIn(t, a, "ana")
		ana2 := a.browser()
		ana2.login("ana")
		olga := a.browser()
		olga.login("olga")
		adam := a.browser()
		adam.login("adam")
		// One analysis, and one session (ana's second) that lasts 10 minutes.
		a.Svc.Record(anaSID, "ana", store.EventAnalysisRun, map[string]string{"comments": "10"})
		flush(t, a)
		a.Clock.Add(10 * time.Minute)
		if res := ana2.post("/logout", urlValues("csrf_token", ana2.csrf())); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout = %d", res.StatusCode)
		}

		want := map[string]string{
			"counter-active":   "3", // ana, olga, adam
			"counter-created":  "4",
			"counter-unique":   "3",
			"counter-duration": "10 min",
			"counter-peak":     "4",
			"counter-analyses": "1",
		}
		for _, tc := range []struct {
			name string
			b    *browser
		}{{"operator", olga}, {"admin", adam}} {
			t.Run(tc.name, func(t *testing.T) {
				res := tc.b.get("/admin")
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET /admin = %d", res.StatusCode)
				}
				doc := dashboardDoc(t, res.Body)
				for id, w := range want {
					if got := strings.TrimSpace(dashTestID(doc, id).Text()); got != w {
						t.Errorf("%s = %q, want %q", id, got, w)
					}
				}
				for _, id := range []string{"dashboard-counters", "chart-chart-day", "chart-chart-week", "dashboard-audit", "site-header"} {
					if n := dashTestID(doc, id).Length(); n != 1 {
						t.Errorf("%s: %d nodes, want 1", id, n)
					}
				}
				if n := dashTestID(doc, "chart-bar").Length(); n != 24+7 {
					t.Errorf("%d chart bars, want 24 hours + 7 days", n)
				}
				poll := dashTestID(doc, "dashboard-counters")
				if _, ok := poll.Attr("data-background"); !ok || poll.AttrOr("hx-get", "") != "/admin/counters" {
					t.Errorf("counters poll attributes: background %v, hx-get %q", ok, poll.AttrOr("hx-get", ""))
				}

				// The poll gets the fragment alone, with the same figures.
				frag := tc.b.get("/admin/counters", "HX-Request", "true", sessionsvc.BackgroundHeader, "1")
				if frag.StatusCode != http.StatusOK {
					t.Fatalf("GET /admin/counters = %d", frag.StatusCode)
				}
				fdoc := dashboardDoc(t, frag.Body)
				if strings.Contains(frag.Body, "<html") || dashTestID(fdoc, "site-header").Length() != 0 || dashTestID(fdoc, "dashboard-audit").Length() != 0 {
					t.Errorf("fragment carries more than the counters:\n%s", frag.Body)
				}
				if !strings.HasPrefix(strings.TrimSpace(frag.Body), `<div id="dashboard-counters"`) {
					t.Errorf("fragment does not start with the counters element:\n%s", frag.Body)
				}
				for id, w := range want {
					if got := strings.TrimSpace(dashTestID(fdoc, id).Text()); got != w {
						t.Errorf("fragment %s = %q, want %q", id, got, w)
					}
				}
			})
		}
	})
}

func TestDashboardAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana := a.browser()
		ana.login("ana")
		anon := a.browser()
		for _, path := range []string{"/admin", "/admin/counters"} {
			if res := ana.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("analyst GET %s = %d, want 403", path, res.StatusCode)
			}
			res := anon.get(path)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("anonymous GET %s = %d to %q, want 303 to /login", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})
}

func TestDashboardPollIsNoPageView(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		adam, sid := signedIn(t, a, "adam")
		if res := adam.get("/admin"); res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin = %d", res.StatusCode)
		}
		views := func() int64 {
			t.Helper()
			flush(t, a)
			got, err := a.Svc.SessionAnalytics(context.Background(), sid)
			if err != nil {
				t.Fatal(err)
			}
			return got.PageViews
		}
		before := views()
		if before < 1 {
			t.Fatalf("the dashboard itself counted %d page views, want at least 1", before)
		}
		for range 3 {
			if res := adam.get("/admin/counters", "HX-Request", "true", sessionsvc.BackgroundHeader, "1"); res.StatusCode != http.StatusOK {
				t.Fatalf("poll = %d", res.StatusCode)
			}
			// Marked background even without htmx: still not a page view.
			if res := adam.get("/admin/counters", sessionsvc.BackgroundHeader, "1"); res.StatusCode != http.StatusOK {
				t.Fatalf("background GET = %d", res.StatusCode)
			}
		}
		if after := views(); after != before {
			t.Errorf("page views after 6 background polls = %d, want %d", after, before)
		}
	})
}

func TestDashboardAuditEscaped(t *testing.T) {
	const hostile = `<script>alert(1)</script>`
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		if res := a.browser().tryLogin(hostile, "nope"); res.StatusCode == http.StatusSeeOther {
			t.Fatalf("hostile sign-in succeeded")
		}
		adam := a.browser()
		adam.login("adam")
		res := adam.get("/admin")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin = %d", res.StatusCode)
		}
		if strings.Contains(res.Body, "<script>alert") {
			t.Fatalf("hostile user name rendered as markup")
		}
		doc := dashboardDoc(t, res.Body)
		rows := dashTestID(doc, "audit-row")
		if rows.Length() < 2 || rows.Length() > 10 {
			t.Fatalf("%d audit rows, want the failed and the good sign-in (at most 10)", rows.Length())
		}
		found := false
		rows.Each(func(_ int, r *goquery.Selection) {
			if strings.TrimSpace(r.Find(`[data-testid="audit-action"]`).Text()) == "login_failed" {
				found = true
				if got := strings.TrimSpace(r.Find(`[data-testid="audit-actor"]`).Text()); got != hostile {
					t.Errorf("failed sign-in actor = %q, want %q as text", got, hostile)
				}
				if got := strings.TrimSpace(r.Find(`[data-testid="audit-result"]`).Text()); !strings.HasPrefix(got, "refused") {
					t.Errorf("failed sign-in result = %q", got)
				}
			}
		})
		if !found {
			t.Errorf("no login_failed row in the latest audit entries:\n%s", res.Body)
		}
		// Newest first: adam's own sign-in tops the list.
		if got := strings.TrimSpace(rows.First().Find(`[data-testid="audit-action"]`).Text()); got != "login" {
			t.Errorf("newest audit action = %q, want login", got)
		}
		doc.Find("script").Each(func(_ int, s *goquery.Selection) {
			if _, ok := s.Attr("src"); !ok || strings.TrimSpace(s.Text()) != "" {
				t.Errorf("inline script on the dashboard: %q", s.Text())
			}
		})
	})
}
