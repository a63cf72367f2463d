package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func TestSessionListEnded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		anaB, ana1 := signedIn(t, a, "ana")
		_, ana2 := signedIn(t, a, "ana")
		_, olga1 := signedIn(t, a, "olga")
		adam, _ := signedIn(t, a, "adam")
		if r := anaB.post("/logout", urlValues("csrf_token", anaB.csrf())); r.StatusCode != http.StatusSeeOther {
			t.Fatal("logout")
		}
		a.Clock.Add(time.Minute) // distinct end times: the view is newest end first
		a.Svc.Terminate(t.Context(), ana2, "adam", "Prueba <i>x</i>")
		a.Clock.Add(time.Minute)
		a.Svc.Terminate(t.Context(), olga1, "adam", "otra")

		page := adam.get("/admin/sessions?status=ended")
		if page.StatusCode != 200 {
			t.Fatalf("ended view = %d\n%s", page.StatusCode, page.Body)
		}
		d := doc(t, page.Body)
		var sids []string
		d.Find(`[data-testid="ended-row"]`).Each(func(_ int, s *goquery.Selection) { sids = append(sids, s.AttrOr("data-sid", "")) })
		if strings.Join(sids, ",") != strings.Join([]string{olga1, ana2, ana1}, ",") {
			t.Errorf("ended rows %v, want newest end first %v", sids, []string{olga1, ana2, ana1})
		}
		if got := d.Find(`[data-testid="ended-total"]`).Text(); !strings.HasPrefix(got, "3 ") {
			t.Errorf("total %q", got)
		}
		if strings.Contains(page.Body, "<i>x</i>") {
			t.Error("an admin's note reached the page unescaped")
		}
		// Filters: reason, user, both; paging keeps them.
		cases := []struct {
			query string
			want  []string
		}{
			{"&reason=terminated", []string{olga1, ana2}},
			{"&reason=logout", []string{ana1}},
			{"&user=ana", []string{ana2, ana1}},
			{"&user=ana&reason=terminated", []string{ana2}},
		}
		for _, tc := range cases {
			var got []string
			doc(t, adam.get("/admin/sessions?status=ended"+tc.query).Body).Find(`[data-testid="ended-row"]`).Each(func(_ int, s *goquery.Selection) {
				got = append(got, s.AttrOr("data-sid", ""))
			})
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
			}
		}
		first := doc(t, adam.get("/admin/sessions?status=ended&n=2").Body)
		next, ok := first.Find(`[data-testid="ended-next"]`).Attr("href")
		if !ok || !strings.Contains(next, "status=ended") {
			t.Fatalf("next page link %q", next)
		}
		if got := doc(t, adam.get(next).Body).Find(`[data-testid="ended-row"]`).AttrOr("data-sid", ""); got != ana1 {
			t.Errorf("second page starts with %q, want %q", got, ana1)
		}
		// Bad input is a 400 that says which parameter.
		if r := adam.get("/admin/sessions?status=ended&reason=bogus"); r.StatusCode != 400 || !strings.Contains(r.Body, "Unknown reason") {
			t.Errorf("bad reason = %d", r.StatusCode)
		}
		if r := adam.get("/admin/sessions?status=gone"); r.StatusCode != 400 {
			t.Errorf("bad status = %d", r.StatusCode)
		}
	})
}
