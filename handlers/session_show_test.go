package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// sdDoc GETs a page and parses it.
func sdDoc(t *testing.T, b *browser, path string, hdr ...string) (*goquery.Document, *response) {
	t.Helper()
	res := b.get(path, hdr...)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.Body))
	if err != nil {
		t.Fatal(err)
	}
	return doc, res
}

func sdParse(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// sdTerminate posts the terminate form of sid as b, with b's CSRF token.
func sdTerminate(b *browser, sid, reason string) *response {
	b.t.Helper()
	return b.post("/admin/sessions/"+sid+"/terminate", urlValues("reason", reason, "csrf_token", b.csrf()))
}

func sdLive(t *testing.T, a *app, sid string) bool {
	t.Helper()
	_, err := a.Svc.Get(context.Background(), sid)
	return err == nil
}

func TestSessionDetailByRole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, sid := signedIn(t, a, "ana")
		path := "/admin/sessions/" + sid

		olga, _ := signedIn(t, a, "olga")
		doc, res := sdDoc(t, olga, path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("operator GET detail = %d, want 200\n%s", res.StatusCode, res.Body)
		}
		if got := doc.Find(`[data-testid="meta-user"]`).Text(); got != "ana" {
			t.Errorf("meta-user = %q, want ana", got)
		}
		if got := doc.Find(`[data-testid="meta-sid"]`).Text(); got != sid {
			t.Errorf("meta-sid = %q, want %q", got, sid)
		}
		if doc.Find(`[data-testid="detail-state"]`).Length() != 1 {
			t.Errorf("no state section")
		}
		for _, id := range []string{"detail-actions", "terminate-form", "terminate-user-form"} {
			if n := doc.Find(`[data-testid="` + id + `"]`).Length(); n != 0 {
				t.Errorf("operator sees %s", id)
			}
		}
		if doc.Find(`form[action*="/terminate"]`).Length() != 0 {
			t.Errorf("operator page has a terminate form")
		}

		adam, _ := signedIn(t, a, "adam")
		doc, _ = sdDoc(t, adam, path)
		for _, id := range []string{"terminate-form", "terminate-user-form"} {
			if n := doc.Find(`[data-testid="` + id + `"]`).Length(); n != 1 {
				t.Errorf("admin sees %d %s, want 1", n, id)
			}
		}

		// Analysts get 403 everywhere, also with their own valid token.
		tok := ana.csrf()
		for _, tc := range []struct {
			method, path string
		}{
			{"GET", path},
			{"POST", path + "/terminate"},
			{"POST", "/admin/users/olga/terminate"},
		} {
			var r *response
			if tc.method == "GET" {
				r = ana.get(tc.path)
			} else {
				r = ana.post(tc.path, urlValues("reason", "x", "csrf_token", tok))
			}
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("analyst %s %s = %d, want 403", tc.method, tc.path, r.StatusCode)
			}
		}
		if !sdLive(t, a, sid) {
			t.Errorf("analyst's POST ended a session")
		}

		// Unknown sessions are a 404 page.
		if r := olga.get("/admin/sessions/nosuchsession"); r.StatusCode != http.StatusNotFound {
			t.Errorf("unknown sid = %d, want 404", r.StatusCode)
		}
	})
}

func TestSessionTerminate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, sid := signedIn(t, a, "ana")
		adam, adamSID := signedIn(t, a, "adam")

		// A reason is required.
		res := sdTerminate(adam, sid, "   ")
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("empty reason = %d, want 400", res.StatusCode)
		}
		if doc := sdParse(t, res.Body); !strings.Contains(doc.Find(`[data-testid="detail-error"]`).Text(), "reason is required") {
			t.Errorf("empty reason: no error message on the page:\n%s", res.Body)
		}
		if res := sdTerminate(adam, sid, strings.Repeat("x", 501)); res.StatusCode != http.StatusBadRequest {
			t.Errorf("501-character reason = %d, want 400", res.StatusCode)
		}
		if !sdLive(t, a, sid) {
			t.Fatal("refused terminate ended the session")
		}

		// The admin's own session is refused.
		res = sdTerminate(adam, adamSID, "oops")
		if res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "use Sign out") {
			t.Errorf("own session = %d, want 409 with 'use Sign out'\n%s", res.StatusCode, res.Body)
		}
		if !sdLive(t, a, adamSID) {
			t.Fatal("admin's own session ended")
		}

		// Terminate with a reason: the analyst's next request shows it.
		reason := "Mantenimiento del servidor"
		res = sdTerminate(adam, sid, reason)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("terminate = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, "/admin/sessions/"+sid) {
			t.Errorf("redirect to %q, want the detail page", loc)
		}
		doc, res := sdDoc(t, adam, loc)
		if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="detail-notice"]`).Length() != 1 {
			t.Errorf("after terminate: %d, notice %d\n%s", res.StatusCode, doc.Find(`[data-testid="detail-notice"]`).Length(), res.Body)
		}
		if got := doc.Find(`[data-testid="detail-status"]`).Text(); got != "ended" {
			t.Errorf("status after terminate = %q, want ended", got)
		}
		assertEnded(t, ana, ana.get("/workspace"), "Un administrador cerró tu sesión: "+reason)

		// Ending it again is a 404.
		if res := sdTerminate(adam, sid, "again"); res.StatusCode != http.StatusNotFound {
			t.Errorf("terminate twice = %d, want 404", res.StatusCode)
		}

		// With htmx, the result is an HX-Redirect.
		_, sid2 := signedIn(t, a, "ana")
		res = adam.post("/admin/sessions/"+sid2+"/terminate", urlValues("reason", "bye", "csrf_token", adam.csrf()), "HX-Request", "true")
		if res.Header.Get("HX-Redirect") == "" {
			t.Errorf("htmx terminate: no HX-Redirect (status %d)", res.StatusCode)
		}

		// Archived later, the page shows the archive with reason and actor.
		a.Clock.Add(a.Cfg.Session.RecoveryWindow() + time.Minute)
		if _, err := a.Svc.Cleanup(context.Background()); err != nil {
			t.Fatal(err)
		}
		admin2, _ := signedIn(t, a, "adam")
		doc, res = sdDoc(t, admin2, "/admin/sessions/"+sid)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("archived detail = %d\n%s", res.StatusCode, res.Body)
		}
		for id, want := range map[string]string{"archive-reason": "terminated", "archive-actor": "adam", "archive-note": reason, "detail-status": "archived"} {
			if got := doc.Find(`[data-testid="` + id + `"]`).Text(); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
		if doc.Find(`[data-testid="terminate-form"]`).Length() != 0 {
			t.Errorf("archived session offers a terminate form")
		}
	})
}

func TestUserTerminate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana1, sid1 := signedIn(t, a, "ana")
		ana2, _ := signedIn(t, a, "ana")
		olga, olgaSID := signedIn(t, a, "olga")
		adam, _ := signedIn(t, a, "adam")
		form := func(b *browser) url.Values {
			return urlValues("reason", "Cuenta comprometida", "sid", sid1, "csrf_token", b.csrf())
		}

		// The admin signed in 16 minutes ago: refused.
		a.Clock.Add(16 * time.Minute)
		res := adam.post("/admin/users/ana/terminate", form(adam))
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "sign in again") {
			t.Fatalf("stale sign-in = %d, want 403 asking to sign in again\n%s", res.StatusCode, res.Body)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 2 {
			t.Fatalf("ana has %d sessions after refusal, want 2", n)
		}

		// Freshly signed in, within 15 minutes: every session of ana ends.
		fresh, _ := signedIn(t, a, "adam")
		a.Clock.Add(time.Minute)
		if res := fresh.post("/admin/users/ana/terminate", urlValues("sid", sid1, "csrf_token", fresh.csrf())); res.StatusCode != http.StatusBadRequest {
			t.Errorf("no reason = %d, want 400", res.StatusCode)
		}
		if res := fresh.post("/admin/users/adam/terminate", form(fresh)); res.StatusCode != http.StatusConflict {
			t.Errorf("own account = %d, want 409", res.StatusCode)
		}
		res = fresh.post("/admin/users/ana/terminate", form(fresh))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("terminate user = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 0 {
			t.Errorf("ana has %d sessions, want 0", n)
		}
		if !sdLive(t, a, olgaSID) {
			t.Errorf("another user's session ended")
		}
		doc, _ := sdDoc(t, fresh, res.Header.Get("Location"))
		if got := doc.Find(`[data-testid="detail-notice"]`).Text(); !strings.Contains(got, "2 sessions of this user") {
			t.Errorf("notice = %q, want the count", got)
		}
		for _, b := range []*browser{ana1, ana2} {
			assertEnded(t, b, b.get("/workspace"), "Un administrador cerró tu sesión: Cuenta comprometida")
		}
		_ = olga
	})
}

func TestSessionDetailMasking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid := signedIn(t, a, "ana")
		ctx := context.Background()
		set := func(cat, key string, v any) {
			if _, err := a.Svc.SetStateValue(ctx, sid, cat, key, v); err != nil {
				t.Fatal(err)
			}
		}
		set(store.CatUserData, "api_token", "tok-SECRET-1")
		set(store.CatAnalysisData, "settings", map[string]any{"mode": "fast-VISIBLE", "nested": map[string]any{"password": "x-SECRET-2"}})
		set(store.CatUIState, "DB_Password", "x-SECRET-3")
		set(store.CatUIState, "note", "visible-VALUE")
		set(store.CatTemporaryData, "long", strings.Repeat("a", 300)+"TAIL-HIDDEN")

		olga, _ := signedIn(t, a, "olga")
		doc, res := sdDoc(t, olga, "/admin/sessions/"+sid)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("detail = %d", res.StatusCode)
		}
		for _, secret := range []string{"SECRET-1", "SECRET-2", "SECRET-3", "TAIL-HIDDEN"} {
			if strings.Contains(res.Body, secret) {
				t.Errorf("page shows %s", secret)
			}
		}
		for _, visible := range []string{"visible-VALUE", "fast-VISIBLE"} {
			if !strings.Contains(res.Body, visible) {
				t.Errorf("page does not show %s", visible)
			}
		}
		if got := doc.Find(`[data-testid="state-value"][data-key="api_token"]`).Text(); !strings.Contains(got, "••••••") {
			t.Errorf("api_token shown as %q, want masked", got)
		}
		if got := doc.Find(`[data-testid="state-value"][data-key="settings"]`).Text(); !strings.Contains(got, `"password":"••••••"`) {
			t.Errorf("nested password shown as %q, want masked", got)
		}
	})
}

func TestSessionDetailEscaping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		const ua = `<script>alert(1)</script>`
		ana := a.browser()
		ana.UA = ua
		ana.login("ana")
		recs := sessionsOf(t, a, "ana")
		if len(recs) != 1 {
			t.Fatalf("ana has %d sessions", len(recs))
		}
		sid := recs[0].SID
		const val = `say "hi" <b>bold</b> 'there'`
		if _, err := a.Svc.SetStateValue(context.Background(), sid, store.CatUIState, "greeting", val); err != nil {
			t.Fatal(err)
		}

		adam, _ := signedIn(t, a, "adam")
		doc, res := sdDoc(t, adam, "/admin/sessions/"+sid)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("detail = %d", res.StatusCode)
		}
		if strings.Contains(res.Body, ua) || strings.Contains(res.Body, "<b>bold</b>") {
			t.Errorf("page carries the markup unescaped")
		}
		if got := doc.Find(`[data-testid="first-ua"]`).Text(); got != ua {
			t.Errorf("first-ua text = %q, want %q", got, ua)
		}
		doc.Find("script").Each(func(_ int, s *goquery.Selection) {
			if strings.Contains(s.Text(), "alert") {
				t.Errorf("a script element runs the user agent")
			}
		})
		if doc.Find("main b").Length() != 0 {
			t.Errorf("a <b> element came from state")
		}
		if got := doc.Find(`[data-testid="state-value"][data-key="greeting"]`).Text(); !strings.Contains(got, `say \"hi\" <b>bold</b> 'there'`) {
			t.Errorf("greeting shown as %q", got)
		}
	})
}

func TestSessionTerminateCSRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid := signedIn(t, a, "ana")
		adam, _ := signedIn(t, a, "adam")
		other, _ := signedIn(t, a, "adam")
		for _, tc := range []struct {
			name string
			tok  string
		}{
			{"missing token", ""},
			{"another session's token", other.csrf()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := urlValues("reason", "csrf", "sid", sid)
				if tc.tok != "" {
					form.Set("csrf_token", tc.tok)
				}
				for _, path := range []string{"/admin/sessions/" + sid + "/terminate", "/admin/users/ana/terminate"} {
					if res := adam.post(path, form); res.StatusCode != http.StatusForbidden {
						t.Errorf("POST %s = %d, want 403", path, res.StatusCode)
					}
				}
				if !sdLive(t, a, sid) {
					t.Fatal("a forged request ended the session")
				}
			})
		}
	})
}

func TestSessionDetailAnalytics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, sid := signedIn(t, a, "ana")
		for i := 0; i < 60; i++ {
			if i == 30 {
				a.Clock.Add(25 * time.Minute / 2)
			}
			ana.get("/workspace")
		}
		flush(t, a)
		olga, _ := signedIn(t, a, "olga")
		path := "/admin/sessions/" + sid
		doc, _ := sdDoc(t, olga, path)
		if got := doc.Find(`[data-testid="event-row"]`).Length(); got != 50 {
			t.Errorf("first page has %d events, want 50", got)
		}
		if got := doc.Find(`[data-testid="an-page-views"]`).Text(); got == "" || got == "0" {
			t.Errorf("page views = %q", got)
		}
		if doc.Find(`[data-testid="an-cost"]`).Text() == "" {
			t.Errorf("no cost")
		}
		if got := doc.Find(`[data-testid="timeline-bar"]`).Length(); got < 2 {
			t.Errorf("timeline has %d bars, want at least 2", got)
		}
		older, ok := doc.Find(`[data-testid="events-older"]`).Attr("href")
		if !ok {
			t.Fatal("no link to older events")
		}
		doc, _ = sdDoc(t, olga, older)
		if got := doc.Find(`[data-testid="event-row"]`).Length(); got == 0 || got > 50 {
			t.Errorf("second page has %d events", got)
		}
		if doc.Find(`[data-testid="events-newer"]`).Length() != 1 {
			t.Errorf("second page has no link back")
		}

		// htmx paging gets the event list alone.
		res := olga.get(older, "HX-Request", "true")
		if strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `id="session-events"`) {
			t.Errorf("htmx paging did not return the fragment:\n%s", res.Body)
		}
	})
}

func TestSaveRecoveryPoint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid := signedIn(t, a, "ana")
		adam, _ := signedIn(t, a, "adam")
		ctx := t.Context()
		if _, err := a.Svc.SetStateValue(ctx, sid, "user_data", "notes", "primera versión"); err != nil {
			t.Fatal(err)
		}
		before, err := a.Svc.Snapshots(ctx, sid, "user_data")
		if err != nil {
			t.Fatal(err)
		}
		res := adam.post("/admin/sessions/"+sid+"/recovery-point", urlValues("csrf_token", adam.csrf()))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save recovery point = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		page := adam.get(res.Header.Get("Location"))
		if got := sdParse(t, page.Body).Find(`[data-testid="detail-notice"]`).Text(); !strings.Contains(got, "recovery point was saved") {
			t.Errorf("notice = %q", got)
		}
		after, err := a.Svc.Snapshots(ctx, sid, "user_data")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 {
			t.Fatalf("user_data has %d snapshots, want %d", len(after), len(before)+1)
		}
		var notes string
		json.Unmarshal(after[0].Values["notes"], &notes)
		if notes != "primera versión" {
			t.Errorf("the new snapshot holds notes %q, want the current value", notes)
		}
		// The session's data is unchanged.
		if v, _, _ := a.Svc.StateValue(ctx, sid, "user_data", "notes"); string(v) != `"primera versión"` {
			t.Errorf("notes after saving = %s", v)
		}
		// Audited, and refused without CSRF or for an ended session.
		page2, err := a.Svc.AuditLog(ctx, store.AuditQuery{Action: "recovery_point"})
		if err != nil || len(page2.Entries) != 1 || page2.Entries[0].Target != sid || page2.Entries[0].Affected == 0 {
			t.Errorf("audit = %+v, %v; want one recovery_point entry for %s", page2.Entries, err, sid)
		}
		if r := adam.post("/admin/sessions/"+sid+"/recovery-point", nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("no CSRF token = %d, want 403", r.StatusCode)
		}
		if err := a.Svc.Terminate(ctx, sid, "adam", "fin"); err != nil {
			t.Fatal(err)
		}
		if r := adam.post("/admin/sessions/"+sid+"/recovery-point", urlValues("csrf_token", adam.csrf())); r.StatusCode != http.StatusNotFound {
			t.Errorf("ended session = %d, want 404", r.StatusCode)
		}
	})
}
