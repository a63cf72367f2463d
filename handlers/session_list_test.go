package handlers_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
	"github.com/ppfiber/sessionconsole/sessionsvc/store/storetest"
)

// slSeed creates a live session directly in the app's store: the list
// shows what the registry holds, so tests choose users, roles, IPs and times
// without signing in through many browsers. created and active are offsets
// before the app's clock.
func slSeed(t *testing.T, a *app, sid, user, role, ip string, created, active time.Duration) store.Record {
	t.Helper()
	now := a.Clock.Now()
	rec := storetest.NewRecord(sid, user, role, now.Add(-created), 30*time.Minute, 20*time.Minute, 12*time.Hour)
	rec.LastActivity = now.Add(-active).Truncate(time.Millisecond)
	rec.ExpiresAt = now.Add(30 * time.Minute).Truncate(time.Millisecond)
	rec.IdleAt = rec.LastActivity.Add(20 * time.Minute)
	rec.FirstIP, rec.LastIP = ip, ip
	if _, err := a.Backend.store.Create(context.Background(), rec, 3, now, time.Hour); err != nil {
		t.Fatalf("seed %s: %v", sid, err)
	}
	return rec
}

// slDoc GETs a sessions list URL and parses it, failing unless it is 200.
func slDoc(t *testing.T, b *browser, path string, hdr ...string) (*goquery.Document, *response) {
	t.Helper()
	res := b.get(path, hdr...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200\n%s", path, res.StatusCode, res.Body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.Body))
	if err != nil {
		t.Fatal(err)
	}
	return doc, res
}

// slRows returns the sids of the listed rows, in order.
func slRows(doc *goquery.Document) []string {
	var sids []string
	doc.Find(`[data-testid="session-row"]`).Each(func(_ int, s *goquery.Selection) {
		sids = append(sids, s.AttrOr("data-sid", ""))
	})
	return sids
}

func slTotal(doc *goquery.Document) string {
	return strings.TrimSpace(doc.Find(`[data-testid="sessions-total"]`).Text())
}

func TestSessionListFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		admin, adminSID := signedIn(t, a, "adam")
		slSeed(t, a, "alice001", "alice", "analyst", "192.0.2.1", 10*time.Minute, time.Minute)
		slSeed(t, a, "bob00001", "bob", "analyst", "192.0.2.2", 10*time.Minute, 2*time.Minute)
		slSeed(t, a, "carol001", "carol", "operator", "192.0.2.1", 10*time.Minute, 3*time.Minute)
		slSeed(t, a, "v6user01", "dave", "analyst", "2001:db8::1", 10*time.Minute, 4*time.Minute)

		tests := []struct {
			name, query string
			want        []string
		}{
			{"no filter", "", []string{adminSID, "alice001", "bob00001", "carol001", "v6user01"}},
			{"role any", "?role=any", []string{adminSID, "alice001", "bob00001", "carol001", "v6user01"}},
			{"user", "?user=alice", []string{"alice001"}},
			{"unknown user", "?user=nobody", nil},
			{"role analyst", "?role=analyst", []string{"alice001", "bob00001", "v6user01"}},
			{"role operator", "?role=operator", []string{"carol001"}},
			{"role admin", "?role=admin", []string{adminSID}},
			{"ip", "?ip=192.0.2.1", []string{"alice001", "carol001"}},
			{"ipv6 in another spelling", "?ip=2001:DB8:0::1", []string{"v6user01"}},
			{"ipv4-mapped", "?ip=::ffff:192.0.2.2", []string{"bob00001"}},
			{"role and ip", "?role=operator&ip=192.0.2.1", []string{"carol001"}},
			{"user and role that do not match", "?user=alice&role=operator", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				doc, _ := slDoc(t, admin, "/admin/sessions"+tt.query)
				got := slRows(doc)
				if !slices.Equal(got, tt.want) {
					t.Errorf("rows = %v, want %v", got, tt.want)
				}
				wantTotal := slCount(len(tt.want))
				if got := slTotal(doc); got != wantTotal {
					t.Errorf("total = %q, want %q", got, wantTotal)
				}
				if len(tt.want) == 0 && doc.Find(`[data-testid="no-sessions"]`).Length() != 1 {
					t.Error("no empty-list message")
				}
			})
		}

		// The filter form shows the view it filtered.
		doc, _ := slDoc(t, admin, "/admin/sessions?user=alice&role=analyst&ip=192.0.2.1&sort=created")
		if got := doc.Find(`[data-testid="filter-user"]`).AttrOr("value", ""); got != "alice" {
			t.Errorf("user field = %q", got)
		}
		if got := doc.Find(`[data-testid="filter-role"] option[selected]`).AttrOr("value", ""); got != "analyst" {
			t.Errorf("role selected = %q", got)
		}
		if got := doc.Find(`[data-testid="filter-sort"] option[selected]`).AttrOr("value", ""); got != "created" {
			t.Errorf("sort selected = %q", got)
		}
		// Each row links to the session's detail page.
		if got := doc.Find(`[data-testid="session-link"]`).AttrOr("href", ""); got != "/admin/sessions/alice001" {
			t.Errorf("detail link = %q", got)
		}
	})
}

func slCount(n int) string {
	if n == 1 {
		return "1 session"
	}
	return strconv.Itoa(n) + " sessions"
}

func TestSessionListSortAndColumns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		admin, _ := signedIn(t, a, "adam")
		// Deadlines are the idle clocks: r1 +19m, r2 +15m, r3 +18m.
		slSeed(t, a, "r1aaaaaa", "u1", "analyst", "192.0.2.1", 30*time.Minute, time.Minute)
		slSeed(t, a, "r2aaaaaa", "u2", "analyst", "192.0.2.1", 10*time.Minute, 5*time.Minute)
		slSeed(t, a, "r3aaaaaa", "u3", "analyst", "192.0.2.1", 20*time.Minute, 2*time.Minute)

		tests := []struct {
			sort string
			want []string
		}{
			{"", []string{"r1aaaaaa", "r3aaaaaa", "r2aaaaaa"}},
			{"activity", []string{"r1aaaaaa", "r3aaaaaa", "r2aaaaaa"}},
			{"created", []string{"r2aaaaaa", "r3aaaaaa", "r1aaaaaa"}},
			{"deadline", []string{"r2aaaaaa", "r3aaaaaa", "r1aaaaaa"}},
		}
		for _, tt := range tests {
			t.Run("sort="+tt.sort, func(t *testing.T) {
				doc, _ := slDoc(t, admin, "/admin/sessions?role=analyst&sort="+tt.sort)
				if got := slRows(doc); !slices.Equal(got, tt.want) {
					t.Errorf("rows = %v, want %v", got, tt.want)
				}
			})
		}

		// Columns: expiry, processing, flags, times with exact hover text.
		ctx := context.Background()
		if err := a.Backend.store.SetProcessing(ctx, "r2aaaaaa", "running", 42); err != nil {
			t.Fatal(err)
		}
		doc, _ := slDoc(t, admin, "/admin/sessions?user=u2")
		row := doc.Find(`#s-r2aaaaaa`)
		if row.Length() != 1 {
			t.Fatalf("no row with id s-r2aaaaaa")
		}
		if got := strings.TrimSpace(row.Find(`[data-testid="session-expires"]`).Text()); got != "in 15 min" {
			t.Errorf("expires = %q, want %q", got, "in 15 min")
		}
		if got := row.Find(`[data-testid="session-processing"]`).Text(); !strings.Contains(got, "running 42%") {
			t.Errorf("processing = %q, want running 42%%", got)
		}
		if got := row.Find(`time`).First().AttrOr("title", ""); !strings.HasSuffix(got, "UTC") {
			t.Errorf("created title = %q, want an exact UTC time", got)
		}
		if got := row.Find(`[data-testid="session-ip"]`).Text(); got != "192.0.2.1" {
			t.Errorf("ip = %q", got)
		}
		if row.Find(`[data-testid^="flag-"]`).Length() != 0 {
			t.Errorf("unexpected flags: %s", row.Find(`[data-testid="session-flags"]`).Text())
		}

		// Flags: recovered, IP changed, user agent changed.
		now := a.Clock.Now()
		rec := storetest.NewRecord("flagged1", "fay", "analyst", now, 30*time.Minute, 20*time.Minute, 12*time.Hour)
		rec.FirstIP, rec.LastIP, rec.IPChanged = "192.0.2.1", "198.51.100.7", true
		rec.UAChanged, rec.RecoveredFrom = true, "oldsid01"
		if _, err := a.Backend.store.Create(ctx, rec, 3, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		doc, _ = slDoc(t, admin, "/admin/sessions?user=fay")
		row = doc.Find(`#s-flagged1`)
		for _, f := range []string{"flag-recovered", "flag-ip-changed", "flag-ua-changed"} {
			if row.Find(`[data-testid="`+f+`"]`).Length() != 1 {
				t.Errorf("no %s flag", f)
			}
		}
		ip := row.Find(`[data-testid="session-ip"]`)
		if ip.Text() != "198.51.100.7" || !strings.Contains(ip.AttrOr("title", ""), "192.0.2.1") {
			t.Errorf("ip cell = %q title %q, want the latest IP with the first one on hover", ip.Text(), ip.AttrOr("title", ""))
		}
	})
}

func TestSessionListPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		admin, _ := signedIn(t, a, "adam")
		var want []string
		for i, sid := range []string{"p0aaaaaa", "p1aaaaaa", "p2aaaaaa", "p3aaaaaa", "p4aaaaaa"} {
			slSeed(t, a, sid, "user-"+sid, "analyst", "192.0.2.9", time.Hour, time.Duration(i+1)*time.Minute)
			want = append(want, sid)
		}
		var got []string
		path := "/admin/sessions?role=analyst&n=2"
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("paging does not end")
			}
			doc, _ := slDoc(t, admin, path)
			rows := slRows(doc)
			if len(rows) > 2 {
				t.Fatalf("page %d has %d rows, want at most 2", page, len(rows))
			}
			got = append(got, rows...)
			if total := slTotal(doc); total != "5 sessions" {
				t.Errorf("page %d total = %q, want 5 sessions", page, total)
			}
			first := doc.Find(`[data-testid="page-first"]`)
			if (page == 0) != (first.Length() == 0) {
				t.Errorf("page %d: first-page link present = %v", page, first.Length() > 0)
			}
			if page > 0 && first.AttrOr("href", "") != "/admin/sessions?n=2&role=analyst" {
				t.Errorf("first-page link = %q", first.AttrOr("href", ""))
			}
			next, ok := doc.Find(`[data-testid="page-next"]`).Attr("href")
			if !ok {
				break
			}
			if !strings.Contains(next, "role=analyst") || !strings.Contains(next, "n=2") {
				t.Errorf("next link %q lost the view", next)
			}
			path = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
	})
}

func TestSessionListBadParams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		admin, _ := signedIn(t, a, "adam")
		tests := []struct {
			name, query, want string
		}{
			{"sort", "sort=name", "Unknown sort"},
			{"role", "role=root", "Unknown role"},
			{"cursor not base64", "cursor=!!!", "cursor is not valid"},
			{"cursor without sid", "cursor=AA", "cursor is not valid"},
			{"n zero", "n=0", "Rows per page"},
			{"n too big", "n=201", "Rows per page"},
			{"n not a number", "n=ten", "Rows per page"},
			{"user too long", "user=" + strings.Repeat("u", 65), "user filter"},
			{"ip not an address", "ip=192.0.2", "whole IP address"},
			{"ip too long", "ip=" + strings.Repeat("1", 65), "IP filter"},
			{"bad sid", "sid=a/b", "session id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := admin.get("/admin/sessions?" + tt.query)
				if res.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", res.StatusCode)
				}
				if !strings.Contains(res.Body, tt.want) {
					t.Errorf("body does not say %q:\n%s", tt.want, res.Body)
				}
			})
		}
	})
}

func TestSessionListAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		slSeed(t, a, "seen0001", "zoe", "analyst", "192.0.2.1", time.Minute, time.Minute)

		op, _ := signedIn(t, a, "olga")
		doc, _ := slDoc(t, op, "/admin/sessions")
		if doc.Find(`#s-seen0001`).Length() != 1 {
			t.Error("operator does not see the session")
		}
		if n := doc.Find(`input[name="sid"]`).Length(); n != 0 {
			t.Errorf("operator sees %d selection checkboxes, want none (read-only)", n)
		}

		an, _ := signedIn(t, a, "ana")
		if res := an.get("/admin/sessions"); res.StatusCode != http.StatusForbidden {
			t.Errorf("analyst: status %d, want 403", res.StatusCode)
		}

		res := a.browser().get("/admin/sessions")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("anonymous: status %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestSessionListEscapesUserAgent(t *testing.T) {
	const ua = `<script>alert(1)</script>`
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		victim := a.browser()
		victim.UA = ua
		victim.login("ana")
		admin, _ := signedIn(t, a, "adam")

		doc, res := slDoc(t, admin, "/admin/sessions?user=ana")
		if strings.Contains(res.Body, ua) {
			t.Fatal("the user agent reached the page unescaped")
		}
		if n := doc.Find(`main script`).Length(); n != 0 {
			t.Errorf("%d script elements in the page body", n)
		}
		device := doc.Find(`[data-testid="session-device"]`)
		if device.Length() != 1 {
			t.Fatalf("want 1 row of ana, got %d", device.Length())
		}
		if got := device.AttrOr("title", ""); got != ua {
			t.Errorf("device title = %q, want the user agent as text %q", got, ua)
		}
	})
}

func TestSessionListLive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		admin, _ := signedIn(t, a, "adam")
		slSeed(t, a, "keep0001", "kim", "analyst", "192.0.2.1", time.Minute, time.Minute)
		slSeed(t, a, "keep0002", "kai", "analyst", "192.0.2.1", time.Minute, 2*time.Minute)

		// The whole page polls its own URL in the background, sending the checked boxes.
		doc, _ := slDoc(t, admin, "/admin/sessions?role=analyst&sort=created")
		live := doc.Find(`[data-testid="sessions-live"]`)
		if got := live.AttrOr("hx-get", ""); got != "/admin/sessions?role=analyst&sort=created" {
			t.Errorf("hx-get = %q", got)
		}
		if _, ok := live.Attr("data-background"); !ok {
			t.Error("the live block has no data-background")
		}
		if !strings.Contains(live.AttrOr("hx-include", ""), `input[name='sid']:checked`) {
			t.Errorf("hx-include = %q", live.AttrOr("hx-include", ""))
		}
		if doc.Find(`#s-keep0001 input[name="sid"][value="keep0001"]`).Length() != 1 {
			t.Error("no selection checkbox on the row")
		}

		// The poll gets the fragment only, with the selection kept.
		poll := "/admin/sessions?role=analyst&sort=created&sid=keep0002"
		frag, res := slDoc(t, admin, poll, "HX-Request", "true", "X-Background", "1")
		if strings.Contains(res.Body, "<html") || strings.Contains(res.Body, "site-header") {
			t.Error("the fragment has the layout")
		}
		if frag.Find(`[data-testid="sessions-table"]`).Length() != 1 {
			t.Error("the fragment has no table")
		}
		if _, ok := frag.Find(`#s-keep0002 input[name="sid"]`).Attr("checked"); !ok {
			t.Error("the checked session is not checked after the poll")
		}
		if _, ok := frag.Find(`#s-keep0001 input[name="sid"]`).Attr("checked"); ok {
			t.Error("an unchecked session came back checked")
		}

		// A boosted request is a navigation: the whole page.
		if _, res := slDoc(t, admin, "/admin/sessions", "HX-Request", "true", "HX-Boosted", "true"); !strings.Contains(res.Body, "<html") {
			t.Error("a boosted request got the fragment")
		}

		// New sessions appear, ended ones leave.
		slSeed(t, a, "new00001", "nia", "analyst", "192.0.2.1", 0, 0)
		if err := a.Svc.Terminate(context.Background(), "keep0001", "adam", "test"); err != nil {
			t.Fatal(err)
		}
		frag, _ = slDoc(t, admin, poll, "HX-Request", "true", "X-Background", "1")
		if got, want := slRows(frag), []string{"new00001", "keep0002"}; !slices.Equal(got, want) {
			t.Errorf("rows after changes = %v, want %v", got, want)
		}
		if _, ok := frag.Find(`#s-keep0002 input[name="sid"]`).Attr("checked"); !ok {
			t.Error("the selection was lost when rows changed")
		}
	})
}
