package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// seedAudit writes entries straight into the store, as the service would.
func seedAudit(t *testing.T, a *app, entries ...store.AuditEntry) {
	t.Helper()
	for _, e := range entries {
		if e.Result == "" {
			e.Result = "ok"
		}
		if _, err := a.Backend.store.AppendAudit(context.Background(), e, 24*time.Hour); err != nil {
			t.Fatalf("append audit: %v", err)
		}
	}
}

// doc parses a page for data-testid queries.
func doc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testids collects the text of every [data-testid=id] node.
func testids(d *goquery.Document, id string) []string {
	var out []string
	d.Find(`[data-testid="` + id + `"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Text()))
	})
	return out
}

// auditNext returns the href of the page's "Older entries" link, "" if none.
func auditNext(t *testing.T, d *goquery.Document) string {
	t.Helper()
	href, ok := d.Find(`[data-testid="audit-next"]`).Attr("href")
	if !ok {
		return ""
	}
	return href
}

func TestAuditPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		base := a.Clock.Now().Truncate(time.Minute)
		seedAudit(t, a,
			store.AuditEntry{At: base.Add(-3 * time.Hour), Actor: "root", ActorIP: "10.0.0.1", Action: "terminate", Target: "s-1", Reason: "old"},
			store.AuditEntry{At: base.Add(-2 * time.Hour), Actor: "root", ActorIP: "10.0.0.1", Action: "terminate_user", Target: "bob", Reason: "middle", Affected: 2, CompletedAt: base.Add(-2 * time.Hour)},
			store.AuditEntry{At: base.Add(-1 * time.Hour), Actor: "eve", ActorIP: "10.0.0.2", Action: "terminate", Target: "s-2", Reason: "new", Result: "pending"},
		)
		olga, _ := signedIn(t, a, "olga")

		t.Run("operator reads, newest first", func(t *testing.T) {
			res := olga.get("/admin/audit")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/audit as operator: %d, want 200\n%s", res.StatusCode, res.Body)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			d := doc(t, res.Body)
			reasons := testids(d, "audit-reason")
			// olga's own sign-in is the newest entry.
			if want := []string{"", "new", "middle", "old"}; !slices.Equal(reasons, want) {
				t.Errorf("reasons %q, want %q", reasons, want)
			}
			if got := testids(d, "audit-action")[0]; got != "login" {
				t.Errorf("newest action %q, want login", got)
			}
			row := d.Find(`[data-testid="audit-row"]`).Eq(2)
			for id, want := range map[string]string{"audit-actor": "root", "audit-ip": "10.0.0.1", "audit-target": "bob",
				"audit-result": "ok", "audit-affected": "2", "audit-at": base.Add(-2 * time.Hour).UTC().Format("2006-01-02 15:04:05 UTC")} {
				if got := strings.TrimSpace(row.Find(`[data-testid="` + id + `"]`).Text()); got != want {
					t.Errorf("row 2 %s = %q, want %q", id, got, want)
				}
			}
			if got := strings.TrimSpace(d.Find(`[data-testid="audit-row"]`).Eq(1).Find(`[data-testid="audit-completed"]`).Text()); got != "—" {
				t.Errorf("pending entry's completed = %q, want —", got)
			}
			if n := d.Find(`[data-testid="audit-next"]`).Length(); n != 0 {
				t.Errorf("a single page has %d Next links", n)
			}
		})

		t.Run("filters", func(t *testing.T) {
			local := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }
			tests := []struct {
				name  string
				query url.Values
				want  []string // reasons, newest first
			}{
				{"actor", urlValues("actor", "root"), []string{"middle", "old"}},
				{"action", urlValues("action", "terminate"), []string{"new", "old"}},
				{"target", urlValues("target", "bob"), []string{"middle"}},
				{"actor and action", urlValues("actor", "root", "action", "terminate"), []string{"old"}},
				{"from", urlValues("from", local(base.Add(-150*time.Minute)), "action", "terminate"), []string{"new"}},
				{"from and before", urlValues("from", local(base.Add(-4*time.Hour)), "to", local(base.Add(-90*time.Minute))), []string{"middle", "old"}},
				{"before with seconds", urlValues("to", base.Add(-150*time.Minute).UTC().Format("2006-01-02T15:04:05")), []string{"old"}},
				{"unknown action", urlValues("action", "no_such_action"), nil},
				{"padded actor", urlValues("actor", "  eve "), []string{"new"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					res := olga.get("/admin/audit?" + tc.query.Encode())
					if res.StatusCode != http.StatusOK {
						t.Fatalf("status %d, want 200\n%s", res.StatusCode, res.Body)
					}
					d := doc(t, res.Body)
					if got := testids(d, "audit-reason"); !slices.Equal(got, tc.want) {
						t.Errorf("reasons %q, want %q", got, tc.want)
					}
					// The form shows the filter back; the export link carries it.
					if act := tc.query.Get("action"); act != "" {
						if got, _ := d.Find(`select[name="action"] option[selected]`).Attr("value"); got != act {
							t.Errorf("selected action %q, want %q", got, act)
						}
					}
					href, _ := d.Find(`[data-testid="audit-csv"]`).Attr("href")
					u, err := url.Parse(href)
					if err != nil || u.Path != "/admin/audit.csv" {
						t.Fatalf("export link %q", href)
					}
					for k := range tc.query {
						if got, want := u.Query().Get(k), strings.TrimSpace(tc.query.Get(k)); got != want {
							t.Errorf("export link %s=%q, want %q", k, got, want)
						}
					}
				})
			}
		})

		t.Run("bad filters", func(t *testing.T) {
			for _, q := range []url.Values{
				urlValues("from", "yesterday"),
				urlValues("to", "2026-13-01T00:00"),
				urlValues("from", "2026-01-02T00:00", "to", "2026-01-01T00:00"),
				urlValues("actor", strings.Repeat("x", 300)),
			} {
				res := olga.get("/admin/audit?" + q.Encode())
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: status %d, want 400", q.Encode(), res.StatusCode)
					continue
				}
				d := doc(t, res.Body)
				if d.Find(`[data-testid="audit-error"]`).Length() != 1 || d.Find(`[data-testid="audit-row"]`).Length() != 0 {
					t.Errorf("%s: want an error and no rows", q.Encode())
				}
				if csv := olga.get("/admin/audit.csv?" + q.Encode()); csv.StatusCode != http.StatusBadRequest {
					t.Errorf("export %s: status %d, want 400", q.Encode(), csv.StatusCode)
				}
			}
		})

		t.Run("htmx gets the results fragment", func(t *testing.T) {
			res := olga.get("/admin/audit?actor=root", "HX-Request", "true")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `id="audit-results"`) {
				t.Errorf("want only the results fragment, got:\n%s", res.Body)
			}
			d := doc(t, res.Body)
			if got := testids(d, "audit-reason"); !slices.Equal(got, []string{"middle", "old"}) {
				t.Errorf("reasons %q", got)
			}
			// The swapped fragment carries the export link of the new filter.
			if href, _ := d.Find(`[data-testid="audit-csv"]`).Attr("href"); href != "/admin/audit.csv?actor=root" {
				t.Errorf("fragment's export link %q, want /admin/audit.csv?actor=root", href)
			}
			// htmx swaps no 4xx: a refused filter's message comes as 200.
			bad := olga.get("/admin/audit?from=soon", "HX-Request", "true")
			if bad.StatusCode != http.StatusOK || doc(t, bad.Body).Find(`[data-testid="audit-error"]`).Length() != 1 {
				t.Errorf("htmx bad filter: %d, want 200 with the error\n%s", bad.StatusCode, bad.Body)
			}
			boosted := olga.get("/admin/audit", "HX-Request", "true", "HX-Boosted", "true")
			if !strings.Contains(boosted.Body, "<html") {
				t.Errorf("a boosted request wants the whole page")
			}
		})
	})
}

func TestAuditPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		const n = 520 // more than one export page (500) and ten list pages (50)
		base := a.Clock.Now().Add(-time.Hour)
		var es []store.AuditEntry
		for i := range n {
			es = append(es, store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), Actor: "pager", Action: "terminate",
				Target: fmt.Sprintf("s-%03d", i), Reason: "paging"})
			if i%10 == 0 { // noise the filter must skip
				es = append(es, store.AuditEntry{At: base.Add(time.Duration(i)*time.Second + time.Millisecond), Actor: "other", Action: "terminate", Target: "x"})
			}
		}
		seedAudit(t, a, es...)
		adam, _ := signedIn(t, a, "adam")

		t.Run("page", func(t *testing.T) {
			var targets []string
			next := "/admin/audit?actor=pager"
			pages := 0
			for next != "" {
				pages++
				if pages > n {
					t.Fatal("paging does not end")
				}
				res := adam.get(next)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d", next, res.StatusCode)
				}
				d := doc(t, res.Body)
				rows := testids(d, "audit-target")
				if len(rows) > 50 {
					t.Fatalf("page %d has %d rows, want at most 50", pages, len(rows))
				}
				for _, actor := range testids(d, "audit-actor") {
					if actor != "pager" {
						t.Fatalf("page %d shows actor %q", pages, actor)
					}
				}
				targets = append(targets, rows...)
				if pages > 1 && d.Find(`[data-testid="audit-first"]`).Length() != 1 {
					t.Errorf("page %d has no link back to the newest entries", pages)
				}
				next = auditNext(t, d)
				if next != "" {
					u, err := url.Parse(next)
					if err != nil || u.Path != "/admin/audit" || u.Query().Get("actor") != "pager" || u.Query().Get("cursor") == "" {
						t.Fatalf("Next link %q does not carry the filter and a cursor", next)
					}
				}
			}
			if len(targets) != n {
				t.Fatalf("walked %d entries in %d pages, want %d", len(targets), pages, n)
			}
			for i, got := range targets {
				if want := fmt.Sprintf("s-%03d", n-1-i); got != want {
					t.Fatalf("entry %d is %s, want %s (newest first, none twice)", i, got, want)
				}
			}
		})

		t.Run("export walks every page", func(t *testing.T) {
			res := adam.get("/admin/audit.csv?actor=pager")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", res.StatusCode, res.Body)
			}
			recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != n+1 {
				t.Fatalf("%d records, want header + %d", len(recs), n)
			}
			seen := map[string]bool{}
			for i, r := range recs[1:] {
				if want := fmt.Sprintf("s-%03d", n-1-i); r[5] != want || r[2] != "pager" {
					t.Fatalf("row %d = %q, want target %s of pager", i, r, want)
				}
				if seen[r[0]] {
					t.Fatalf("id %s twice", r[0])
				}
				seen[r[0]] = true
			}
		})

		t.Run("bad cursor", func(t *testing.T) {
			res := adam.get("/admin/audit?actor=pager&cursor=" + url.QueryEscape("not a cursor"))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			if strings.Contains(res.Body, `data-testid="audit-row"`) {
				t.Errorf("a bad cursor shows entries")
			}
		})
	})
}

func TestAuditCSV(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		at := a.Clock.Now().Add(-time.Minute).Truncate(time.Millisecond)
		hostile := []store.AuditEntry{
			{At: at, Actor: "=HYPERLINK(\"http://evil.example\",\"x\")", ActorIP: "10.0.0.9", Action: "terminate", Target: "+1+1", Reason: "-2+3", Result: "ok", Affected: 1, CompletedAt: at.Add(time.Second)},
			{At: at.Add(time.Second), Actor: "@SUM(A1)", Action: "terminate", Target: "\tcmd", Reason: "\r=1", Result: "pending"},
			{At: at.Add(2 * time.Second), Actor: "plain, \"quoted\"\nname", Action: "terminate", Target: "s-1", Reason: "ok = fine", Result: "failed: store down"},
		}
		seedAudit(t, a, hostile...)
		adam, _ := signedIn(t, a, "adam")

		res := adam.get("/admin/audit.csv?action=terminate")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d\n%s", res.StatusCode, res.Body)
		}
		if got := res.Header.Get("Content-Type"); got != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", got)
		}
		if got := res.Header.Get("Content-Disposition"); !strings.HasPrefix(got, `attachment; filename="audit-`) || !strings.HasSuffix(got, `.csv"`) {
			t.Errorf("Content-Disposition %q, want an attachment named audit-….csv", got)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
		recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v\n%s", err, res.Body)
		}
		want := [][]string{
			{"id", "time", "actor", "actor_ip", "action", "target", "reason", "result", "affected", "completed"},
			{"", at.Add(2 * time.Second).UTC().Format(time.RFC3339Nano), "plain, \"quoted\"\nname", "", "terminate", "s-1", "ok = fine", "failed: store down", "0", ""},
			{"", at.Add(time.Second).UTC().Format(time.RFC3339Nano), "'@SUM(A1)", "", "terminate", "'\tcmd", "'\r=1", "pending", "0", ""},
			{"", at.UTC().Format(time.RFC3339Nano), "'=HYPERLINK(\"http://evil.example\",\"x\")", "10.0.0.9", "terminate", "'+1+1", "'-2+3", "ok", "1", at.Add(time.Second).UTC().Format(time.RFC3339Nano)},
		}
		if len(recs) != len(want) {
			t.Fatalf("%d records, want %d:\n%s", len(recs), len(want), res.Body)
		}
		for i := range want {
			if i > 0 {
				if recs[i][0] == "" {
					t.Errorf("row %d has no id", i)
				}
				recs[i][0] = ""
			}
			if !slices.Equal(recs[i], want[i]) {
				t.Errorf("record %d:\n got %q\nwant %q", i, recs[i], want[i])
			}
		}

		// Filters apply to the export as to the page.
		res = adam.get("/admin/audit.csv?action=terminate&target=s-1")
		recs, err = csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil || len(recs) != 2 || recs[1][5] != "s-1" {
			t.Errorf("filtered export: %q (%v), want the header and the s-1 entry", recs, err)
		}
		// An empty result is still a CSV with its header.
		res = adam.get("/admin/audit.csv?actor=nobody")
		if res.StatusCode != http.StatusOK || strings.TrimSpace(res.Body) != "id,time,actor,actor_ip,action,target,reason,result,affected,completed" {
			t.Errorf("empty export: %d %q", res.StatusCode, res.Body)
		}
	})
}

func TestAuditEscaping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		const (
			actor  = `<script>alert(1)</script>`
			reason = `"><img src=x onerror=alert(2)>`
			target = `s-1' onmouseover='alert(3)`
		)
		seedAudit(t, a, store.AuditEntry{At: a.Clock.Now().Add(-time.Minute), Actor: actor, ActorIP: "<b>ip</b>", Action: "<i>act</i>", Target: target, Reason: reason, Result: "<u>ok</u>"})
		olga, _ := signedIn(t, a, "olga")

		for _, path := range []string{
			"/admin/audit",
			"/admin/audit?" + urlValues("actor", actor, "action", "<i>act</i>", "target", target).Encode(),
		} {
			res := olga.get(path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", path, res.StatusCode)
			}
			for _, raw := range []string{"<script>alert", "<img", "<b>ip", "<i>act", "<u>ok", "' onmouseover='"} {
				if strings.Contains(res.Body, raw) {
					t.Errorf("GET %s: page contains raw %q", path, raw)
				}
			}
			d := doc(t, res.Body)
			if d.Find("main script, main img, main b, main u").Length() != 0 {
				t.Errorf("GET %s: data became markup", path)
			}
			if got := testids(d, "audit-actor"); !slices.Contains(got, actor) {
				t.Errorf("GET %s: actors %q, want the hostile name shown as text", path, got)
			}
			if got := testids(d, "audit-reason"); !slices.Contains(got, reason) {
				t.Errorf("GET %s: reasons %q, want the hostile reason shown as text", path, got)
			}
		}
		// The filter echoed back into the form stays an attribute value.
		res := olga.get("/admin/audit?" + urlValues("actor", `"><script>alert(4)</script>`).Encode())
		if got, _ := doc(t, res.Body).Find(`input[name="actor"]`).Attr("value"); got != `"><script>alert(4)</script>` {
			t.Errorf("actor field value %q", got)
		}
		if strings.Contains(res.Body, "<script>alert(4)") {
			t.Errorf("echoed filter became markup")
		}
	})
}

func TestAuditAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, _ := signedIn(t, a, "ana")
		olga, _ := signedIn(t, a, "olga")
		anon := a.browser()
		for _, path := range []string{"/admin/audit", "/admin/audit.csv"} {
			if res := ana.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("analyst GET %s: %d, want 403", path, res.StatusCode)
			}
			if res := olga.get(path); res.StatusCode != http.StatusOK {
				t.Errorf("operator GET %s: %d, want 200", path, res.StatusCode)
			}
			res := anon.get(path)
			if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("anonymous GET %s: %d to %q, want 303 to /login", path, res.StatusCode, loc)
			}
		}
	})
}
