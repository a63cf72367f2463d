package handlers

// Fuzz targets for the console's hand-written parsers of request input: the
// sessions list's and the audit log's query binders, and the redirect
// targets taken from ?next= and the Referer. They live in package handlers
// (the rest of the tests are handlers_test) because the binders are
// unexported. Seed corpora: testdata/fuzz/<name>/.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// sidShape is what sessionsvc.ValidSID accepts.
var sidShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzSessionListQuery binds an arbitrary query string as the sessions list
// does (Echo parses it with url.ParseQuery and ignores its errors); the sids
// it selects are checked against ValidSID's definition. A refusal is a
// *paramError with a short message in valid UTF-8; an accepted view has
// every field in bounds, and its link (sessionListURL of values) binds to the
// same view, but for the selection, which the link leaves out.
func FuzzSessionListQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		for _, sid := range q["sid"] {
			if got, want := sessionsvc.ValidSID(sid), sidShape.MatchString(sid); got != want {
				t.Fatalf("ValidSID(%q) = %v, want %v", sid, got, want)
			}
		}
		v, err := bindSessionListQuery(q)
		if err != nil {
			var pe *paramError
			// The page escapes it; bounded, it never echoes a whole parameter.
			if !errors.As(err, &pe) || pe.msg == "" || !utf8.ValidString(pe.msg) || len(pe.msg) > 512 {
				t.Fatalf("refusal %q (%T) is not a message to show", err, err)
			}
			return
		}
		switch {
		case !utf8.ValidString(v.User) || utf8.RuneCountInString(v.User) > maxListUser:
			t.Fatalf("user filter %q", v.User)
		case v.Role != "" && !sessionsvc.ValidRole(v.Role):
			t.Fatalf("role %q", v.Role)
		case !v.Sort.Valid():
			t.Fatalf("sort %q", v.Sort)
		case v.Reason != "" && !v.Reason.Valid():
			t.Fatalf("reason %q", v.Reason)
		case v.N < 1 || v.N > maxListRows:
			t.Fatalf("n = %d", v.N)
		case len(v.Selected) > maxListSelected:
			t.Fatalf("%d selected", len(v.Selected))
		}
		if v.IP != "" {
			a, err := netip.ParseAddr(v.IP)
			if err != nil || a.Unmap().String() != v.IP {
				t.Fatalf("IP filter %q is not an address in the form ClientIP records (%v)", v.IP, err)
			}
		}
		if v.Cursor != "" {
			if _, _, err := store.DecodeCursor(v.Cursor); err != nil {
				t.Fatalf("accepted cursor %q: %v", v.Cursor, err)
			}
		}
		for _, sid := range v.Selected {
			if !sidShape.MatchString(sid) {
				t.Fatalf("selected sid %q", sid)
			}
		}

		link := sessionListURL(v.values(v.Cursor))
		u, err := url.Parse(link)
		if err != nil || u.Path != "/admin/sessions" {
			t.Fatalf("link %q: %v", link, err)
		}
		again, err := bindSessionListQuery(u.Query())
		if err != nil {
			t.Fatalf("link %q of an accepted view is refused: %v", link, err)
		}
		want := v
		want.Selected = nil
		if !reflect.DeepEqual(again, want) {
			t.Fatalf("link %q binds to %+v, want %+v", link, again, want)
		}
	})
}

// auditContext is an Echo context for GET /admin/audit with the raw query
// as sent (httptest.NewRequest would refuse some of them).
func auditContext(raw string) echo.Context {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/admin/audit", RawQuery: raw},
		Header: http.Header{}, Host: "example.test"}
	return echo.New().NewContext(r, httptest.NewRecorder())
}

// FuzzAuditFilter binds an arbitrary query string as the audit page and its
// CSV export do. Accepted filters are trimmed, bounded, valid UTF-8 and an
// ordered time range; the store query holds what the view filter shows. The
// page's own links (auditURL) bind to the same filter and the same verdict,
// and keep the cursor.
func FuzzAuditFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		c := auditContext(raw)
		q, vf, problem := auditFilterFrom(c)
		for _, s := range []string{vf.From, vf.To, vf.Actor, vf.Action, vf.Target} {
			if s != strings.TrimSpace(s) {
				t.Fatalf("filter %q not trimmed", s)
			}
		}
		if problem == "" {
			for _, s := range []string{q.Actor, q.Action, q.Target} {
				if len(s) > auditFieldMax || !utf8.ValidString(s) {
					t.Fatalf("accepted text filter %q", s)
				}
			}
			if q.Actor != vf.Actor || q.Action != vf.Action || q.Target != vf.Target {
				t.Fatalf("store query %+v differs from view filter %+v", q, vf)
			}
			if (vf.From == "") != q.From.IsZero() || (vf.To == "") != q.To.IsZero() {
				t.Fatalf("time range %q..%q read as %v..%v", vf.From, vf.To, q.From, q.To)
			}
			if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
				t.Fatalf("accepted range %v..%v", q.From, q.To)
			}
		} else if !utf8.ValidString(problem) {
			t.Fatalf("problem %q", problem)
		}

		cursor := c.QueryParam("cursor")
		link := auditURL("/admin/audit", vf, cursor)
		u, err := url.Parse(link)
		if err != nil || u.Path != "/admin/audit" {
			t.Fatalf("link %q: %v", link, err)
		}
		c2 := auditContext(u.RawQuery)
		q2, vf2, problem2 := auditFilterFrom(c2)
		if vf2 != vf || problem2 != problem || !reflect.DeepEqual(q2, q) {
			t.Fatalf("link %q binds to %+v %+v %q, want %+v %+v %q", link, q2, vf2, problem2, q, vf, problem)
		}
		if got := c2.QueryParam("cursor"); got != cursor {
			t.Fatalf("link %q carries cursor %q, want %q", link, got, cursor)
		}
	})
}

// sameSite checks a redirect target: "" or a path on this site, whatever a
// browser makes of it.
func sameSite(t *testing.T, what, in, p string) {
	t.Helper()
	if p == "" {
		return
	}
	fail := func(why string) { t.Helper(); t.Fatalf("%s(%q) = %q: %s", what, in, p, why) }
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		fail("not a path that starts with a single /")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			fail("control character or backslash")
		}
	}
	u, err := url.Parse(p)
	if err != nil {
		fail(err.Error())
	}
	if u.IsAbs() || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		fail("has a scheme, host or user")
	}
	base, _ := url.Parse("https://example.test/admin/sessions?user=ana")
	res := base.ResolveReference(u)
	if res.Scheme != "https" || res.Host != "example.test" || res.User != nil {
		fail("resolves to " + res.String())
	}
	// What the browser gets in Location is read again the same way.
	if again, err := url.Parse(res.String()); err != nil || again.Host != "example.test" {
		fail("resolved URL reads back as another host: " + res.String())
	}
	if next := safeNext(p); next != p {
		fail("not a fixed point of safeNext: " + next)
	}
}

// FuzzRedirectTarget checks the two sources of redirect targets with one
// input: safeNext (?next=, a recovery point's page) and refererPath (the
// Referer of theme and language changes, and of refresh). Each gives "" or a
// same-site path: starting with one /, no control character or backslash,
// no scheme or host once parsed, staying on example.test when resolved
// against a page of it; refererPath only for a Referer on the request's host.
func FuzzRedirectTarget(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sameSite(t, "safeNext", s, safeNext(s))
		p := refererPath(s, "example.test")
		sameSite(t, "refererPath", s, p)
		if p != "" {
			if u, err := url.Parse(s); err != nil || u.Host != "example.test" {
				t.Fatalf("refererPath(%q) = %q for a Referer on another host", s, p)
			}
		}
	})
}
