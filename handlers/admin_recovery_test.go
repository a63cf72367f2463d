package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func TestAdminRecoveryPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, sid := signedIn(t, a, "ana")
		byeB, bye := signedIn(t, a, "ana")
		adam, _ := signedIn(t, a, "adam")
		olga, _ := signedIn(t, a, "olga")
		if err := a.Svc.Terminate(t.Context(), sid, "adam", "Mantenimiento <b>urgente</b>"); err != nil {
			t.Fatal(err)
		}
		// A logout is no recovery point: not listed.
		if r := byeB.post("/logout", urlValues("csrf_token", byeB.csrf())); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout = %d", r.StatusCode)
		}

		page := adam.get("/admin/recovery")
		if page.StatusCode != 200 {
			t.Fatalf("GET /admin/recovery = %d", page.StatusCode)
		}
		d := doc(t, page.Body)
		row := d.Find(`[data-testid="recovery-row"][data-sid="` + sid + `"]`)
		if row.Length() != 1 {
			t.Fatalf("the terminated session is not listed:\n%s", page.Body)
		}
		if got := row.Find(`[data-testid="recovery-status"]`).Text(); !strings.Contains(got, "open until") {
			t.Errorf("status %q, want open", got)
		}
		if strings.Contains(page.Body, "<b>urgente</b>") {
			t.Error("the admin's note reached the page unescaped")
		}
		if d.Find(`[data-testid="recovery-row"][data-sid="`+bye+`"]`).Length() != 0 {
			t.Error("a logout is listed as a recovery point")
		}
		if d.Find(`[data-testid="recovery-link-create"]`).Length() == 0 {
			t.Error("an admin gets no form to create a resume link")
		}
		if doc(t, olga.get("/admin/recovery").Body).Find(`[data-testid="recovery-link-create"]`).Length() != 0 {
			t.Error("an operator gets the admin's form")
		}

		// The admin mints a link; it is shown once, and works once, for ana only.
		res := adam.post("/admin/recovery/"+sid, urlValues("user", "ana", "csrf_token", adam.csrf()))
		if res.StatusCode != 200 {
			t.Fatalf("create link = %d\n%s", res.StatusCode, res.Body)
		}
		link := doc(t, res.Body).Find(`[data-testid="recovery-link"]`).AttrOr("value", "")
		u, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(u.Path, "/recover/") {
			t.Fatalf("link %q", link)
		}
		if r := adam.post("/admin/recovery/"+sid, urlValues("user", "olga", "csrf_token", adam.csrf())); r.StatusCode != http.StatusConflict {
			t.Errorf("a link for another user's point = %d, want 409", r.StatusCode)
		}
		if strings.Contains(adam.get("/admin/recovery").Body, u.Path) {
			t.Error("the link is shown again on the next visit")
		}
		ana := a.browser()
		ana.login("ana")
		if r := ana.post(u.Path, urlValues("csrf_token", ana.csrf())); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("using the link = %d\n%s", r.StatusCode, r.Body)
		}
		got := doc(t, adam.get("/admin/recovery").Body).Find(`[data-testid="recovery-row"][data-sid="` + sid + `"] [data-testid="recovery-status"]`).Text()
		if !strings.Contains(got, "resumed") {
			t.Errorf("after resuming the status is %q", got)
		}
		entries, err := a.Svc.AuditLog(t.Context(), store.AuditQuery{Action: "recovery_link"})
		if err != nil || len(entries.Entries) == 0 {
			t.Errorf("minting the link was not audited: %v", err)
		}

		// Another point whose window closes is listed greyed as expired.
		_, late := signedIn(t, a, "ana")
		a.Svc.Terminate(t.Context(), late, "adam", "fin")
		a.Clock.Add(61 * time.Minute)
		adam2, _ := signedIn(t, a, "adam")
		row = doc(t, adam2.get("/admin/recovery").Body).Find(`[data-testid="recovery-row"][data-sid="` + late + `"]`)
		if !row.HasClass("greyed") || !strings.Contains(row.Find(`[data-testid="recovery-status"]`).Text(), "expired") {
			t.Errorf("a closed window shows %q (greyed %v)", row.Find(`[data-testid="recovery-status"]`).Text(), row.HasClass("greyed"))
		}
	})
}
