package views

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

// hostile is what an attacker might put into a user name, a user agent, a
// notice or anything else that ends up on a page.
const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>&amp;`

var now = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// fakeAssets mimics static.Assets' hashed names.
type fakeAssets struct{}

func (fakeAssets) Path(name string) string { return "/static/h/" + name }

func TestAgo(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"same instant", now, "just now"},
		{"59s ago", now.Add(-59 * time.Second), "just now"},
		{"1 min ago", now.Add(-time.Minute), "1 min ago"},
		{"3 min ago", now.Add(-3*time.Minute - 30*time.Second), "3 min ago"},
		{"59 min ago", now.Add(-59 * time.Minute), "59 min ago"},
		{"1 h ago", now.Add(-time.Hour), "1 h ago"},
		{"2 h ago", now.Add(-2*time.Hour - 59*time.Minute), "2 h ago"},
		{"47 h ago", now.Add(-47 * time.Hour), "47 h ago"},
		{"2 d ago", now.Add(-48 * time.Hour), "2 d ago"},
		{"30 d ago", now.Add(-30 * 24 * time.Hour), "30 d ago"},
		{"in 30s", now.Add(30 * time.Second), "in under a minute"},
		{"in 5 min", now.Add(5*time.Minute + 59*time.Second), "in 5 min"},
		{"in 2 h", now.Add(2 * time.Hour), "in 2 h"},
		{"in 3 d", now.Add(72 * time.Hour), "in 3 d"},
		{"zero", time.Time{}, "—"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ago(now, tt.t); got != tt.want {
				t.Errorf("Ago(now, now%+v) = %q, want %q", tt.t.Sub(now), got, tt.want)
			}
		})
	}
}

// page is a rendered component, kept both as text and as a parsed tree.
type page struct {
	raw  string
	root *html.Node
}

// render renders c in English, the language these structural tests read;
// i18n_test.go renders in Spanish.
func render(t *testing.T, c templ.Component) page {
	t.Helper()
	return renderIn(t, i18n.EN, c)
}

func renderIn(t *testing.T, l i18n.Locale, c templ.Component) page {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(i18n.WithLocale(context.Background(), l), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	root, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("parse rendered HTML: %v", err)
	}
	return page{raw: buf.String(), root: root}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// all returns the elements for which match is true, in document order.
func (p page) all(match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(p.root, func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
	})
	return out
}

func byTestID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, _ := attr(n, "data-testid"); return v == id }
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func (p page) testIDs(id string) []*html.Node { return p.all(byTestID(id)) }

// one returns the single element with the data-testid, failing otherwise.
func (p page) one(t *testing.T, id string) *html.Node {
	t.Helper()
	ns := p.testIDs(id)
	if len(ns) != 1 {
		t.Fatalf("data-testid=%q: found %d nodes, want 1", id, len(ns))
	}
	return ns[0]
}

func (p page) none(t *testing.T, id string) {
	t.Helper()
	if ns := p.testIDs(id); len(ns) != 0 {
		t.Errorf("data-testid=%q: found %d nodes, want none", id, len(ns))
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func ancestor(n *html.Node, tag string) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return p
		}
	}
	return nil
}

// hiddenField returns the value of the form's hidden input with that name.
func hiddenField(t *testing.T, form *html.Node, name string) string {
	t.Helper()
	var val string
	found := 0
	walk(form, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			if v, _ := attr(n, "name"); v == name {
				if typ, _ := attr(n, "type"); typ == "hidden" {
					val, _ = attr(n, "value")
					found++
				}
			}
		}
	})
	if found != 1 {
		t.Fatalf("form has %d hidden %q fields, want 1", found, name)
	}
	return val
}

// assertSafe checks that no hostile markup became markup: the only scripts
// are the three asset scripts, no element has an event-handler attribute, no
// <img> was injected, and the raw script text never appears unescaped.
func assertSafe(t *testing.T, p page) {
	t.Helper()
	if strings.Contains(p.raw, "<script>alert") || strings.Contains(p.raw, "<img src=x") {
		t.Errorf("hostile markup rendered unescaped")
	}
	scripts := p.all(byTag("script"))
	if len(scripts) != 3 {
		t.Errorf("found %d <script> elements, want 3 (htmx, sse, app)", len(scripts))
	}
	for _, s := range scripts {
		if src, _ := attr(s, "src"); !strings.HasPrefix(src, "/static/h/") {
			t.Errorf("<script src=%q> does not come from Assets.Path", src)
		}
		if s.FirstChild != nil {
			t.Errorf("inline script content %q", text(s))
		}
	}
	if imgs := p.all(byTag("img")); len(imgs) != 0 {
		t.Errorf("found %d injected <img> elements", len(imgs))
	}
	for _, n := range p.all(func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has event handler attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "style" {
			t.Errorf("inline <style> element")
		}
		if _, ok := attr(n, "style"); ok {
			t.Errorf("<%s> has an inline style attribute", n.Data)
		}
	}
}

func signedIn(role string) LayoutProps {
	return LayoutProps{
		Title:     hostile,
		Assets:    fakeAssets{},
		User:      &User{Name: hostile, Role: role},
		CSRFToken: "csrf-" + hostile,
		Deadline:  now.Add(30 * time.Minute),
		Banner:    hostile,
	}
}

func anonymous() LayoutProps {
	return LayoutProps{Title: "Sign in", Assets: fakeAssets{}}
}

func TestLayoutSignedIn(t *testing.T) {
	lp := signedIn("admin")
	p := render(t, ErrorPage(ErrorProps{Layout: lp, Status: 404}))
	assertSafe(t, p)

	if got := text(p.one(t, "user-name")); got != hostile {
		t.Errorf("user name = %q, want %q", got, hostile)
	}
	if got := text(p.one(t, "user-role")); got != "admin" {
		t.Errorf("user role = %q, want admin", got)
	}
	if got := text(p.one(t, "site-banner")); got != hostile {
		t.Errorf("banner = %q, want %q", got, hostile)
	}
	titles := p.all(byTag("title"))
	if len(titles) != 1 || text(titles[0]) != hostile+" · Session Console" {
		t.Errorf("title = %v, want the escaped page title", titles)
	}

	// The CSRF token round-trips through the meta tag and every hidden field.
	metas := p.all(func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "meta" && v == "csrf-token" })
	if len(metas) != 1 {
		t.Fatalf("found %d csrf-token metas, want 1", len(metas))
	}
	if got, _ := attr(metas[0], "content"); got != lp.CSRFToken {
		t.Errorf("csrf-token meta = %q, want %q", got, lp.CSRFToken)
	}

	signOut := p.one(t, "sign-out")
	form := ancestor(signOut, "form")
	if form == nil {
		t.Fatal("sign-out button is not in a form")
	}
	if m, _ := attr(form, "method"); m != "post" {
		t.Errorf("sign-out form method = %q, want post", m)
	}
	if a, _ := attr(form, "action"); a != "/logout" {
		t.Errorf("sign-out form action = %q, want /logout", a)
	}
	if got := hiddenField(t, form, "csrf_token"); got != lp.CSRFToken {
		t.Errorf("sign-out csrf_token = %q, want %q", got, lp.CSRFToken)
	}

	// Session deadline and the hidden warning with its no-JS refresh form.
	bodies := p.all(byTag("body"))
	if got, _ := attr(bodies[0], "data-session-deadline"); got != strconv.FormatInt(lp.Deadline.UnixMilli(), 10) {
		t.Errorf("data-session-deadline = %q, want %d", got, lp.Deadline.UnixMilli())
	}
	if _, ok := attr(bodies[0], "data-server-now"); !ok {
		t.Errorf("body has no data-server-now for clock-skew correction")
	}
	warn := p.one(t, "session-warning")
	if id, _ := attr(warn, "id"); id != "session-warning" {
		t.Errorf("warning id = %q, want session-warning", id)
	}
	if _, ok := attr(warn, "hidden"); !ok {
		t.Errorf("session warning is not hidden initially")
	}
	countdowns := p.all(func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "session-warning-countdown" })
	if len(countdowns) != 1 || ancestor(countdowns[0], "div") != warn {
		t.Errorf("#session-warning-countdown missing or outside the warning")
	}
	refresh := ancestor(p.one(t, "stay-signed-in"), "form")
	if refresh == nil {
		t.Fatal("stay-signed-in button is not in a form")
	}
	for key, want := range map[string]string{"method": "post", "action": "/session/refresh", "hx-post": "/session/refresh", "hx-swap": "none"} {
		if got, _ := attr(refresh, key); got != want {
			t.Errorf("refresh form %s = %q, want %q", key, got, want)
		}
	}
	if got := hiddenField(t, refresh, "csrf_token"); got != lp.CSRFToken {
		t.Errorf("refresh csrf_token = %q, want %q", got, lp.CSRFToken)
	}

	// Assets come from Assets.Path.
	links := p.all(func(n *html.Node) bool { v, _ := attr(n, "rel"); return n.Data == "link" && v == "stylesheet" })
	if len(links) != 1 {
		t.Fatalf("found %d stylesheets, want 1", len(links))
	}
	if href, _ := attr(links[0], "href"); href != "/static/h/app.css" {
		t.Errorf("stylesheet href = %q, want /static/h/app.css", href)
	}
}

func TestLayoutNavByRole(t *testing.T) {
	tests := []struct {
		role string
		want []string // nav test ids present
	}{
		{"admin", []string{"nav-console", "nav-sessions", "nav-recovery", "nav-audit", "nav-system", "nav-workspace", "nav-my-sessions"}},
		{"operator", []string{"nav-console", "nav-sessions", "nav-recovery", "nav-audit", "nav-system", "nav-my-sessions"}},
		{"analyst", []string{"nav-workspace", "nav-my-sessions"}},
		{"unknown", []string{"nav-my-sessions"}},
	}
	hrefs := map[string]string{"nav-console": "/admin", "nav-sessions": "/admin/sessions", "nav-recovery": "/admin/recovery", "nav-audit": "/admin/audit", "nav-system": "/admin/system",
		"nav-workspace": "/workspace", "nav-my-sessions": "/account/sessions"}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			p := render(t, ErrorPage(ErrorProps{Layout: signedIn(tt.role), Status: 404}))
			var got []string
			for _, a := range p.all(func(n *html.Node) bool { return n.Data == "a" && ancestor(n, "nav") != nil }) {
				id, _ := attr(a, "data-testid")
				got = append(got, id)
				if href, _ := attr(a, "href"); href != hrefs[id] {
					t.Errorf("%s href = %q, want %q", id, href, hrefs[id])
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("nav links = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLayoutAnonymous(t *testing.T) {
	p := render(t, ErrorPage(ErrorProps{Layout: anonymous(), Status: 404}))
	assertSafe(t, p)
	for _, id := range []string{"nav", "sign-out", "user-name", "session-warning", "stay-signed-in", "site-banner"} {
		p.none(t, id)
	}
	if _, ok := attr(p.all(byTag("body"))[0], "data-session-deadline"); ok {
		t.Errorf("anonymous page carries a session deadline")
	}
	if strings.Contains(p.raw, `name="csrf-token"`) {
		t.Errorf("anonymous page without token renders a csrf-token meta")
	}
	if got := text(p.one(t, "brand")); got != "Session Console" {
		t.Errorf("brand = %q, want Session Console", got)
	}
}

func TestLayoutTheme(t *testing.T) {
	tests := []struct {
		theme string
		want  string // "" = no attribute
	}{
		{"light", "light"},
		{"dark", "dark"},
		{"", ""},
		{`dark" onload="alert(1)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.theme, func(t *testing.T) {
			lp := anonymous()
			lp.Theme = tt.theme
			p := render(t, ErrorPage(ErrorProps{Layout: lp, Status: 500}))
			got, ok := attr(p.all(byTag("html"))[0], "data-theme")
			if tt.want == "" && ok {
				t.Errorf("data-theme = %q, want no attribute", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("data-theme = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLayoutThemeSwitcher(t *testing.T) {
	for _, theme := range []string{"light", "dark", "system", ""} {
		t.Run(theme, func(t *testing.T) {
			lp := signedIn("analyst")
			lp.Theme = theme
			p := render(t, ErrorPage(ErrorProps{Layout: lp, Status: 404}))
			form := p.one(t, "theme-switcher")
			if m, _ := attr(form, "method"); m != "post" {
				t.Errorf("switcher method = %q, want post", m)
			}
			if a, _ := attr(form, "action"); a != "/account/theme" {
				t.Errorf("switcher action = %q, want /account/theme", a)
			}
			if tok := hiddenField(t, form, "csrf_token"); tok != lp.CSRFToken {
				t.Errorf("switcher csrf_token = %q, want the session's", tok)
			}
			for _, v := range []string{"light", "dark", "system"} {
				b := p.one(t, "theme-"+v)
				if got, _ := attr(b, "value"); got != v {
					t.Errorf("theme-%s value = %q", v, got)
				}
				want := "false"
				if v == theme {
					want = "true"
				}
				if got, _ := attr(b, "aria-pressed"); got != want {
					t.Errorf("theme-%s aria-pressed = %q, want %q", v, got, want)
				}
			}
		})
	}
	p := render(t, ErrorPage(ErrorProps{Layout: anonymous(), Status: 404}))
	p.none(t, "theme-switcher")
}

func TestCSRFField(t *testing.T) {
	p := render(t, CSRFField(hostile))
	inputs := p.all(byTag("input"))
	if len(inputs) != 1 {
		t.Fatalf("found %d inputs, want 1", len(inputs))
	}
	for key, want := range map[string]string{"type": "hidden", "name": "csrf_token", "value": hostile} {
		if got, _ := attr(inputs[0], key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestLoginPage(t *testing.T) {
	props := LoginProps{
		Layout:    anonymous(),
		Username:  hostile,
		Error:     "Invalid username or password. " + hostile,
		Notice:    "You were signed out: " + hostile,
		FormToken: "signed." + hostile,
		Next:      "/admin?q=" + hostile,
	}
	p := render(t, LoginPage(props))
	assertSafe(t, p)

	form := p.one(t, "login-form")
	if m, _ := attr(form, "method"); m != "post" {
		t.Errorf("method = %q, want post", m)
	}
	if a, _ := attr(form, "action"); a != "/login" {
		t.Errorf("action = %q, want /login", a)
	}
	if got := hiddenField(t, form, "csrf_token"); got != props.FormToken {
		t.Errorf("csrf_token = %q, want %q", got, props.FormToken)
	}
	if got := hiddenField(t, form, "next"); got != props.Next {
		t.Errorf("next = %q, want %q", got, props.Next)
	}

	user := p.one(t, "login-username")
	for key, want := range map[string]string{"name": "username", "autocomplete": "username", "value": hostile, "aria-invalid": "true"} {
		if got, _ := attr(user, key); got != want {
			t.Errorf("username %s = %q, want %q", key, got, want)
		}
	}
	pass := p.one(t, "login-password")
	for key, want := range map[string]string{"name": "password", "type": "password", "autocomplete": "current-password"} {
		if got, _ := attr(pass, key); got != want {
			t.Errorf("password %s = %q, want %q", key, got, want)
		}
	}
	if v, ok := attr(pass, "value"); ok {
		t.Errorf("password is re-filled with %q", v)
	}

	errNode := p.one(t, "login-error")
	if role, _ := attr(errNode, "role"); role != "alert" {
		t.Errorf("login error role = %q, want alert", role)
	}
	if got := text(errNode); got != props.Error {
		t.Errorf("login error = %q, want %q", got, props.Error)
	}
	if got := text(p.one(t, "login-notice")); got != props.Notice {
		t.Errorf("login notice = %q, want %q", got, props.Notice)
	}
}

func TestLoginPageClean(t *testing.T) {
	p := render(t, LoginPage(LoginProps{Layout: anonymous(), FormToken: "t"}))
	assertSafe(t, p)
	p.none(t, "login-error")
	p.none(t, "login-notice")
	form := p.one(t, "login-form")
	walk(form, func(n *html.Node) {
		if v, _ := attr(n, "name"); v == "next" {
			t.Errorf("empty Next renders a next field")
		}
	})
	if _, ok := attr(p.one(t, "login-username"), "autofocus"); !ok {
		t.Errorf("empty username field is not focused")
	}
}

func TestAccountSessionsPage(t *testing.T) {
	lp := signedIn("analyst")
	props := AccountSessionsProps{
		Layout: lp,
		Now:    now,
		Notice: "2 other sessions were signed out. " + hostile,
		Sessions: []AccountSession{
			{SID: "sid-current", ShortSID: "cur", Current: true, Device: hostile, IP: "127.0.0.1", CreatedAt: now.Add(-2 * time.Hour), LastActive: now},
			{SID: "sid/../other", ShortSID: hostile, Device: "Firefox on Linux", IP: hostile, CreatedAt: now.Add(-3 * time.Minute), LastActive: now.Add(-time.Minute)},
			{SID: "sid-third", ShortSID: "third", Device: "Safari on iPhone", IP: "::1", CreatedAt: now.Add(-72 * time.Hour)},
		},
	}
	p := render(t, AccountSessionsPage(props))
	assertSafe(t, p)

	rows := p.testIDs("account-session-row")
	if len(rows) != 3 {
		t.Fatalf("found %d rows, want 3", len(rows))
	}
	current := p.one(t, "current-session")
	if ancestor(current, "tr") != rows[0] {
		t.Errorf("current-session badge is not in the current session's row")
	}
	if !strings.Contains(text(rows[0]), hostile) {
		t.Errorf("row 0 text %q does not show the device verbatim", text(rows[0]))
	}

	ends := p.testIDs("end-session")
	if len(ends) != 2 {
		t.Fatalf("found %d end-session buttons, want 2 (not on the current session)", len(ends))
	}
	wantActions := []string{"/account/sessions/sid%2F..%2Fother/end", "/account/sessions/sid-third/end"}
	for i, b := range ends {
		form := ancestor(b, "form")
		if a, _ := attr(form, "action"); a != wantActions[i] {
			t.Errorf("end form %d action = %q, want %q", i, a, wantActions[i])
		}
		if m, _ := attr(form, "method"); m != "post" {
			t.Errorf("end form %d method = %q, want post", i, m)
		}
		if got := hiddenField(t, form, "csrf_token"); got != lp.CSRFToken {
			t.Errorf("end form %d csrf_token = %q, want %q", i, got, lp.CSRFToken)
		}
		if ancestor(b, "tr") != rows[i+1] {
			t.Errorf("end-session button %d is not in row %d", i, i+1)
		}
	}

	others := ancestor(p.one(t, "end-others"), "form")
	if a, _ := attr(others, "action"); a != "/account/sessions/end-others" {
		t.Errorf("end-others action = %q", a)
	}
	if m, _ := attr(others, "method"); m != "post" {
		t.Errorf("end-others method = %q, want post", m)
	}
	if _, ok := attr(others, "data-confirm"); !ok {
		t.Errorf("end-others form asks for no confirmation")
	}
	if got := hiddenField(t, others, "csrf_token"); got != lp.CSRFToken {
		t.Errorf("end-others csrf_token = %q", got)
	}
	if got := text(p.one(t, "account-notice")); got != props.Notice {
		t.Errorf("notice = %q, want %q", got, props.Notice)
	}

	// Relative times with the exact time for machines and on hover.
	times := p.all(byTag("time"))
	if len(times) != 5 { // 3 started + 2 last active (the third has none)
		t.Fatalf("found %d <time> elements, want 5", len(times))
	}
	if dt, _ := attr(times[0], "datetime"); dt != "2025-03-04T08:00:00Z" {
		t.Errorf("datetime = %q, want 2025-03-04T08:00:00Z", dt)
	}
	if title, _ := attr(times[0], "title"); title != "2025-03-04 08:00:00 UTC" {
		t.Errorf("title = %q, want the exact time", title)
	}
	if got := text(times[0]); got != "2 h ago" {
		t.Errorf("started = %q, want 2 h ago", got)
	}
}

func TestAccountSessionsOnlyCurrent(t *testing.T) {
	p := render(t, AccountSessionsPage(AccountSessionsProps{
		Layout:   signedIn("admin"),
		Now:      now,
		Sessions: []AccountSession{{SID: "a", ShortSID: "a", Current: true, CreatedAt: now}},
	}))
	p.one(t, "current-session")
	p.none(t, "end-session")
	p.none(t, "end-others")
	p.none(t, "account-notice")
}

func TestErrorPage(t *testing.T) {
	tests := []struct {
		name      string
		props     ErrorProps
		wantTitle string
		wantRetry bool
	}{
		{"unavailable", ErrorProps{Status: 503, Title: hostile, Message: hostile}, hostile, true},
		{"not found fallback title", ErrorProps{Status: 404}, "Not Found", false},
		{"forbidden", ErrorProps{Status: 403, Title: "Not allowed", Message: hostile}, "Not allowed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.props.Layout = signedIn("admin")
			p := render(t, ErrorPage(tt.props))
			assertSafe(t, p)
			page := p.one(t, "error-page")
			if got, _ := attr(page, "data-status"); got != strconv.Itoa(tt.props.Status) {
				t.Errorf("data-status = %q, want %d", got, tt.props.Status)
			}
			if got := text(p.one(t, "error-title")); got != tt.wantTitle {
				t.Errorf("title = %q, want %q", got, tt.wantTitle)
			}
			if tt.props.Message != "" {
				if got := text(p.one(t, "error-message")); got != tt.props.Message {
					t.Errorf("message = %q, want %q", got, tt.props.Message)
				}
			}
			retry := p.testIDs("retry")
			if !tt.wantRetry {
				if len(retry) != 0 {
					t.Errorf("status %d offers a retry link", tt.props.Status)
				}
				return
			}
			if len(retry) != 1 {
				t.Fatalf("found %d retry links, want 1", len(retry))
			}
			if retry[0].Data != "a" {
				t.Errorf("retry is a <%s>, want a plain link", retry[0].Data)
			}
			if href, ok := attr(retry[0], "href"); !ok || href != "" {
				t.Errorf("retry href = %q (present %v), want the current page (empty href)", href, ok)
			}
			if !strings.Contains(text(p.one(t, "error-unavailable")), "session store is unreachable") {
				t.Errorf("503 page does not say the store is unreachable")
			}
		})
	}
}

// TestSessionCard checks the workspace's card about the current session in
// both languages; the session id and an unknown role are shown as text.
func TestSessionCard(t *testing.T) {
	props := HomeProps{
		Layout:    signedIn("admin"),
		ShortSID:  hostile,
		Role:      hostile,
		CreatedAt: now.Add(-90 * time.Minute),
		ExpiresAt: now.Add(25 * time.Minute),
		Now:       now,
	}
	tests := []struct {
		l                          i18n.Locale
		role, title, started, ends string
		mySessions                 string
	}{
		{i18n.EN, "analyst", "Your session", "1 h ago", "in 25 min unless you stay active", "My sessions"},
		{i18n.ES, "analista", "Tu sesión", "hace 1 h", "en 25 min salvo que la sigas usando", "Mis sesiones"},
	}
	for _, tt := range tests {
		t.Run(tt.l.String(), func(t *testing.T) {
			p := renderIn(t, tt.l, sessionCard(props))
			if strings.Contains(p.raw, "<script>alert") || strings.Contains(p.raw, "<img src=x") {
				t.Fatal("hostile text rendered unescaped")
			}
			card := p.one(t, "session-card")
			if h2 := p.all(byTag("h2")); len(h2) != 1 || text(h2[0]) != tt.title || ancestor(h2[0], "section") != card {
				t.Errorf("card title = %v, want %q", h2, tt.title)
			}
			if got := text(p.one(t, "session-sid")); got != hostile {
				t.Errorf("sid = %q, want %q", got, hostile)
			}
			if got := text(p.one(t, "session-role")); got != hostile {
				t.Errorf("unknown role = %q, want it as it is", got)
			}
			if got := text(p.one(t, "session-started")); got != tt.started {
				t.Errorf("started = %q, want %q", got, tt.started)
			}
			if got := strings.Join(strings.Fields(text(p.one(t, "session-ends"))), " "); got != tt.ends {
				t.Errorf("ends = %q, want %q", got, tt.ends)
			}
			link := p.one(t, "my-sessions-link")
			if href, _ := attr(link, "href"); href != "/account/sessions" || text(link) != tt.mySessions {
				t.Errorf("my sessions link = %q %q", href, text(link))
			}
			known := props
			known.Role = "analyst"
			if got := text(renderIn(t, tt.l, sessionCard(known)).one(t, "session-role")); got != tt.role {
				t.Errorf("role analyst = %q, want %q", got, tt.role)
			}
		})
	}
}

func TestLayoutNilAssets(t *testing.T) {
	p := render(t, ErrorPage(ErrorProps{Layout: LayoutProps{}, Status: 500}))
	p.one(t, "error-page")
	if !strings.Contains(p.raw, `href="/static/app.css"`) {
		t.Errorf("nil Assets: stylesheet is not the plain URL")
	}
}
