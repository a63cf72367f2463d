package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// bulkPreview posts the list's bulk form as b with b's CSRF token.
func bulkPreview(b *browser, form url.Values) *response {
	b.t.Helper()
	form.Set("csrf_token", b.csrf())
	return b.post("/admin/sessions/terminate", form)
}

// previewID returns the preview id of a preview page, failing unless it is one.
func previewID(t *testing.T, res *response) string {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview = %d, want 200\n%s", res.StatusCode, res.Body)
	}
	id, ok := sdParse(t, res.Body).Find(`[data-testid="preview-id"]`).Attr("value")
	if !ok || id == "" {
		t.Fatalf("preview page has no preview id:\n%s", res.Body)
	}
	return id
}

func bulkConfirm(b *browser, id, reason string) *response {
	b.t.Helper()
	return b.post("/admin/sessions/terminate/confirm", urlValues("preview", id, "reason", reason, "csrf_token", b.csrf()))
}

// withAdmin adds a second admin, alba, to the test accounts.
func withAdmin(t *testing.T) func(*sessionsvc.Config) {
	return func(c *sessionsvc.Config) {
		c.Accounts = append(c.Accounts, sessionsvc.Account{Username: "alba", Role: sessionsvc.RoleAdmin, PasswordHash: cheapHash(t, "alba-pw")})
	}
}

func TestBulkTerminateSelection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana1, sid1 := signedIn(t, a, "ana")
		_, sid2 := signedIn(t, a, "ana")
		_, olgaSID := signedIn(t, a, "olga")
		_, keep := signedIn(t, a, "ana")
		adam, own := signedIn(t, a, "adam")

		// The list offers the bulk form to admins.
		doc, _ := sdDoc(t, adam, "/admin/sessions")
		if doc.Find(`[data-testid="bulk-terminate-form"] input[name="sid"]`).Length() == 0 {
			t.Fatalf("the list has no bulk form around the row checkboxes")
		}

		// The admin's own session in the selection is left out.
		res := bulkPreview(adam, url.Values{"scope": {"selected"}, "sid": {sid1, sid2, olgaSID, own}})
		id := previewID(t, res)
		doc = sdParse(t, res.Body)
		if got := doc.Find(`[data-testid="preview-sessions"]`).Text(); got != "3" {
			t.Errorf("previewed sessions = %q, want 3", got)
		}
		var users []string
		doc.Find(`[data-testid="preview-user"]`).Each(func(_ int, s *goquery.Selection) { users = append(users, s.Text()) })
		if !slices.Equal(users, []string{"ana", "olga"}) {
			t.Errorf("previewed users = %v, want [ana olga]", users)
		}

		// Reason required: the preview is shown again, nothing ends.
		if res := bulkConfirm(adam, id, "  "); res.StatusCode != http.StatusBadRequest {
			t.Errorf("confirm without a reason = %d, want 400", res.StatusCode)
		}
		if !sdLive(t, a, sid1) {
			t.Fatal("a confirm without a reason ended a session")
		}

		res = bulkConfirm(adam, id, "Mantenimiento")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/sessions") {
			t.Fatalf("confirm = %d %q, want 303 to the list\n%s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		for _, sid := range []string{sid1, sid2, olgaSID} {
			if sdLive(t, a, sid) {
				t.Errorf("previewed session %s still live", sid)
			}
		}
		if !sdLive(t, a, keep) || !sdLive(t, a, own) {
			t.Errorf("a session outside the preview, or the admin's own, ended")
		}
		doc, _ = sdDoc(t, adam, res.Header.Get("Location"))
		if got := doc.Find(`[data-testid="sessions-notice"]`).Text(); !strings.Contains(got, "3 sessions were ended") {
			t.Errorf("notice = %q, want the count", got)
		}
		assertEnded(t, ana1, ana1.get("/workspace"), "Un administrador cerró tu sesión: Mantenimiento")
	})
}

func TestBulkTerminateFilterAndLateSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid1 := signedIn(t, a, "ana")
		_, sid2 := signedIn(t, a, "ana")
		_, olgaSID := signedIn(t, a, "olga")
		adam, own := signedIn(t, a, "adam")

		id := previewID(t, bulkPreview(adam, urlValues("scope", "filter", "user", "ana", "role", "any", "ip", "")))
		// A session that starts after the preview is not in it.
		_, late := signedIn(t, a, "ana")
		res := bulkConfirm(adam, id, "Cierre")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		if sdLive(t, a, sid1) || sdLive(t, a, sid2) {
			t.Errorf("previewed sessions still live")
		}
		if !sdLive(t, a, late) {
			t.Errorf("a session started after the preview was ended by its confirm")
		}
		if !sdLive(t, a, olgaSID) || !sdLive(t, a, own) {
			t.Errorf("a session outside the filter ended")
		}
		if !strings.Contains(res.Header.Get("Location"), "ended=2") {
			t.Errorf("redirect %q, want ended=2", res.Header.Get("Location"))
		}

		// The whole list, own session left out.
		res = bulkPreview(adam, urlValues("scope", "filter"))
		if got := sdParse(t, res.Body).Find(`[data-testid="preview-sessions"]`).Text(); got != "2" {
			t.Errorf("preview of everything = %q sessions, want 2 (late ana, olga; not the admin's own)", got)
		}
	})
}

func TestBulkTerminateRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be, withAdmin(t))
		_, sid := signedIn(t, a, "ana")
		adam, _ := signedIn(t, a, "adam")
		alba, _ := signedIn(t, a, "alba")
		olga, _ := signedIn(t, a, "olga")
		id := previewID(t, bulkPreview(adam, urlValues("scope", "selected", "sid", sid)))

		for _, tc := range []struct {
			name string
			b    *browser
			id   string
			want int
		}{
			{"another admin's preview", alba, id, http.StatusNotFound},
			{"made-up id", adam, "not-a-preview-id", http.StatusNotFound},
			{"no id", adam, "", http.StatusNotFound},
			{"operator", olga, id, http.StatusForbidden},
		} {
			if res := bulkConfirm(tc.b, tc.id, "x"); res.StatusCode != tc.want {
				t.Errorf("%s: confirm = %d, want %d", tc.name, res.StatusCode, tc.want)
			}
		}
		if res := bulkPreview(olga, urlValues("scope", "filter")); res.StatusCode != http.StatusForbidden {
			t.Errorf("operator preview = %d, want 403", res.StatusCode)
		}
		if doc, _ := sdDoc(t, olga, "/admin/sessions"); doc.Find(`[data-testid="bulk-terminate-form"]`).Length() != 0 {
			t.Errorf("an operator sees the bulk form")
		}
		if res := bulkPreview(adam, urlValues("scope", "selected")); res.StatusCode != http.StatusBadRequest {
			t.Errorf("empty selection = %d, want 400", res.StatusCode)
		}
		if !sdLive(t, a, sid) {
			t.Fatal("a refused confirm ended the session")
		}

		// CSRF: missing token and another session's token.
		other, _ := signedIn(t, a, "adam")
		for _, tok := range []string{"", other.csrf()} {
			form := urlValues("preview", id, "reason", "csrf")
			if tok != "" {
				form.Set("csrf_token", tok)
			}
			if res := adam.post("/admin/sessions/terminate/confirm", form); res.StatusCode != http.StatusForbidden {
				t.Errorf("confirm with token %q = %d, want 403", tok, res.StatusCode)
			}
			form = urlValues("scope", "filter")
			if tok != "" {
				form.Set("csrf_token", tok)
			}
			if res := adam.post("/admin/sessions/terminate", form); res.StatusCode != http.StatusForbidden {
				t.Errorf("preview with token %q = %d, want 403", tok, res.StatusCode)
			}
		}
		if !sdLive(t, a, sid) {
			t.Fatal("a forged request ended the session")
		}

		// Expired: 6 minutes on, the preview is gone (a fresh sign-in, so
		// only the preview's age is at stake).
		fresh, _ := signedIn(t, a, "alba")
		id = previewID(t, bulkPreview(fresh, urlValues("scope", "selected", "sid", sid)))
		a.Clock.Add(6 * time.Minute)
		if res := bulkConfirm(fresh, id, "tarde"); res.StatusCode != http.StatusNotFound {
			t.Errorf("expired preview = %d, want 404", res.StatusCode)
		}
		if !sdLive(t, a, sid) {
			t.Fatal("an expired preview ended the session")
		}

		// A stale sign-in may preview (nothing ends), but the confirm needs
		// the password: the preview page asks for it.
		a.Clock.Add(10 * time.Minute)
		res := bulkPreview(fresh, urlValues("scope", "selected", "sid", sid))
		id = previewID(t, res)
		if sdParse(t, res.Body).Find(`[data-testid="bulk-password"]`).Length() != 1 {
			t.Errorf("stale sign-in: the preview page does not ask for the password")
		}
		if res := bulkConfirm(fresh, id, "tarde"); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "recent sign-in") {
			t.Errorf("stale confirm without password = %d, want 403 asking for a recent sign-in", res.StatusCode)
		}
		wrong := urlValues("preview", id, "reason", "tarde", "password", "not-it", "csrf_token", fresh.csrf())
		if res := fresh.post("/admin/sessions/terminate/confirm", wrong); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "password is wrong") {
			t.Errorf("stale confirm with a wrong password = %d, want 403 saying so", res.StatusCode)
		}
		if !sdLive(t, a, sid) {
			t.Fatal("a refused confirm ended the session")
		}
		right := urlValues("preview", id, "reason", "tarde", "password", "alba-pw", "csrf_token", fresh.csrf())
		if res := fresh.post("/admin/sessions/terminate/confirm", right); res.StatusCode != http.StatusSeeOther {
			t.Errorf("stale confirm with the password = %d, want 303\n%s", res.StatusCode, res.Body)
		}
		if sdLive(t, a, sid) {
			t.Fatal("the confirmed preview did not end the session")
		}
		// The password counts as a new sign-in: the next confirm needs none.
		_, olgaSID := signedIn(t, a, "olga")
		id = previewID(t, bulkPreview(fresh, urlValues("scope", "selected", "sid", olgaSID)))
		if res := bulkConfirm(fresh, id, "otra vez"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("confirm right after giving the password = %d, want 303", res.StatusCode)
		}
	})
}
