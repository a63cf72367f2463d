package handlers_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// access is the least privileged class of visitor a route admits.
type access int

const (
	public         access = iota // anyone, signed in or not
	anySignedIn                  // any signed-in role; anonymous visitors go to /login
	analystOrAdmin               // the workspace
	console                      // operators and admins: the console's read-only pages
	adminOnly                    // the console's actions
)

func (a access) String() string {
	return [...]string{"public", "signed-in", "analyst-or-admin", "console", "admin"}[a]
}

// admits reports whether role ("" for anonymous) may use a route of class a.
func (a access) admits(role string) bool {
	switch a {
	case public:
		return true
	case anySignedIn:
		return role != ""
	case analystOrAdmin:
		return role == "analyst" || role == "admin"
	case console:
		return role == "operator" || role == "admin"
	case adminOnly:
		return role == "admin"
	}
	return false
}

// accessRules is the access every route must have, by "METHOD path" as Echo
// registered it. Adding a route means adding its rule here: the test fails
// for a route without one, so no page ships with the access it happened to
// inherit from its group.
var accessRules = map[string]access{
	// Health and static files: no session at all.
	"GET /healthz":  public,
	"GET /readyz":   public,
	"GET /static/*": public,

	// Sign-in and sign-out. "/" only sends visitors on: anonymous ones to the
	// login page, the others to their role's home.
	"GET /":        anySignedIn,
	"GET /login":   public,
	"POST /login":  public,
	"POST /logout": anySignedIn,

	// The signed-in user's own sessions and recovery.
	"POST /session/refresh":             anySignedIn,
	"GET /api/session":                  anySignedIn,
	"GET /account/sessions":             anySignedIn,
	"POST /account/sessions/end-others": anySignedIn,
	"POST /account/sessions/:sid/end":   anySignedIn,
	"POST /account/theme":               anySignedIn,
	"POST /account/locale":              anySignedIn,
	"GET /account/two-factor":           anySignedIn,
	"POST /account/two-factor":          anySignedIn,
	"GET /recover":                      anySignedIn,
	"POST /recover":                     anySignedIn,
	"GET /recover/:token":               anySignedIn,
	"POST /recover/:token":              anySignedIn,

	"GET /workspace":                       analystOrAdmin,
	"POST /workspace/uploads":              analystOrAdmin,
	"POST /workspace/demo":                 analystOrAdmin,
	"POST /workspace/datasets/:id/delete":  analystOrAdmin,
	"POST /workspace/analyses":             analystOrAdmin,
	"GET /workspace/analyses/current":      analystOrAdmin,
	"GET /workspace/analyses/:id/download": analystOrAdmin,
	"POST /workspace/preferences":          analystOrAdmin,
	"POST /workspace/sections":             analystOrAdmin,
	"GET /api/v1/analyses/:id":             analystOrAdmin,
	"GET /api/v1/session":                  anySignedIn,

	// Console pages: operators read.
	"GET /admin":                console,
	"GET /admin/counters":       console,
	"GET /admin/sessions":       console,
	"GET /admin/sessions/:sid":  console,
	"GET /admin/audit":          console,
	"GET /admin/audit.csv":      console,
	"GET /admin/system":         console,
	"GET /admin/recovery":       console,
	"POST /admin/recovery/:sid": adminOnly,
	"GET /admin/users/:user":    console,

	// Console actions: admins only.
	"POST /admin/sessions/:sid/terminate":      adminOnly,
	"POST /admin/sessions/:sid/recovery-point": adminOnly,
	"POST /admin/users/:user/terminate":        adminOnly,
	"POST /admin/users/:user/disable":          adminOnly,
	"POST /admin/users/:user/enable":           adminOnly,
	"POST /admin/sessions/terminate":           adminOnly,
	"POST /admin/sessions/terminate/confirm":   adminOnly,
}

// endsSession lists routes whose success ends the caller's own session (and
// redirects to /login): each check runs on a fresh sign-in. Anonymous
// callers get 403 there, as they have no session whose CSRF token they could
// send.
var endsSession = map[string]bool{"POST /logout": true}

var paramRe = regexp.MustCompile(`:[A-Za-z_]+`)

// concretePath fills a route's parameters with plausible values that name
// nothing: the handler may answer 404 or 400, which still shows that the
// request got past the access checks.
func concretePath(route string) string {
	p := paramRe.ReplaceAllStringFunc(route, func(param string) string {
		switch param {
		case ":sid":
			return "AAAAAAAAAAAAAAAAAAAAAA" // a well-formed sid no session has
		case ":user":
			return "nobody"
		case ":token":
			b := make([]byte, 32)
			rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b) // 43 characters, like a real one
		default:
			return "unknown"
		}
	})
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "app.css"
	}
	return p
}

// toLogin reports whether res sends the browser to the login page.
func toLogin(res *response) bool {
	if res.StatusCode != http.StatusSeeOther && res.Header.Get("HX-Redirect") == "" {
		return false
	}
	loc := res.Header.Get("Location")
	if loc == "" {
		loc = res.Header.Get("HX-Redirect")
	}
	return loc == "/login" || strings.HasPrefix(loc, "/login?")
}

func TestRouteAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)

		type visitor struct {
			role string // "" for anonymous
			user string
			b    *browser
		}
		visitors := []*visitor{{role: ""}, {role: "analyst", user: "ana"}, {role: "operator", user: "olga"}, {role: "admin", user: "adam"}}
		for _, v := range visitors {
			v.b = a.browser()
			if v.user != "" {
				v.b.login(v.user)
			}
		}
		// A POST carries the token its page would: the session's for a
		// signed-in browser, the login form's for the login form.
		loginFormToken := func() string { return csrfFrom(t, a.browser().get("/login").Body) }
		formFor := func(b *browser, method, route string, signed bool) url.Values {
			if method != http.MethodPost {
				return nil
			}
			switch {
			case route == "/login":
				return urlValues("csrf_token", loginFormToken())
			case signed:
				return urlValues("csrf_token", b.csrf())
			}
			return url.Values{}
		}

		// No subtests: the browsers report to the test that made them. In
		// a fixed order, so that a failure replays.
		routes := a.Echo.Routes()
		slices.SortFunc(routes, func(x, y *echo.Route) int { return strings.Compare(x.Path+" "+x.Method, y.Path+" "+y.Method) })
		var seen []string
		for _, r := range routes {
			if r.Method == echo.RouteNotFound {
				continue // the 404 handlers Echo adds for groups
			}
			key := r.Method + " " + r.Path
			if slices.Contains(seen, key) {
				continue
			}
			seen = append(seen, key)
			class, ok := accessRules[key]
			if !ok {
				t.Errorf("new route without an access rule: add %q to accessRules in routes_test.go", key)
				continue
			}
			path := concretePath(r.Path)
			for _, v := range visitors {
				b := v.b
				if endsSession[key] && v.user != "" {
					b = a.browser()
					b.login(v.user)
				}
				res := b.do(r.Method, path, formFor(b, r.Method, r.Path, v.user != ""))
				who := v.role
				if who == "" {
					who = "anonymous"
				}
				switch {
				case v.role == "" && !class.admits("") && strings.HasPrefix(r.Path, "/api/v1/"):
					// The JSON API answers 401 with its error shape, never a redirect.
					if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, `"code":"unauthenticated"`) {
						t.Errorf("%s %s as anonymous (%s API route): %d %s, want 401 unauthenticated", r.Method, path, class, res.StatusCode, res.Body)
					}
				case v.role == "" && !class.admits(""):
					if !toLogin(res) && !(endsSession[key] && res.StatusCode == http.StatusForbidden) {
						t.Errorf("%s %s as %s (%s route): %d to %q, want 303 to /login", r.Method, path, who, class, res.StatusCode, res.Header.Get("Location"))
					}
				case !class.admits(v.role):
					if res.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s as %s (%s route): %d, want 403", r.Method, path, who, class, res.StatusCode)
					}
				default:
					refused := res.StatusCode == http.StatusForbidden || (toLogin(res) && !endsSession[key])
					if refused || res.StatusCode >= 500 {
						t.Errorf("%s %s as %s (%s route): %d to %q, want it let through (a 2xx, 3xx, or the handler's own 400/404/409/422)",
							r.Method, path, who, class, res.StatusCode, res.Header.Get("Location"))
					}
					if endsSession[key] && v.user != "" {
						if after := b.get("/account/sessions"); !toLogin(after) {
							t.Errorf("%s as %s left the session signed in", key, who)
						}
					}
				}
			}
			// The shared browsers must still be signed in, or the next
			// route's checks would test the wrong thing.
			for _, v := range visitors {
				if v.user != "" {
					if res := v.b.get("/api/session"); res.StatusCode != http.StatusOK {
						t.Fatalf("after %s, %s is no longer signed in (%d)", key, v.user, res.StatusCode)
					}
				}
			}
		}
		for key := range accessRules {
			if !slices.Contains(seen, key) {
				t.Logf("access rule for %s: no such route (yet)", key)
			}
		}
	})
}

// TestUnknownPathIsNotFound: a path no route has is a 404 for every
// signed-in role, never a role check's 403.
func TestUnknownPathIsNotFound(t *testing.T) {
	a := newApp(t, "sqlite")
	for _, user := range []string{"ana", "olga", "adam"} {
		b := a.browser()
		b.login(user)
		if res := b.get("/no/such/page"); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: GET /no/such/page = %d, want 404", user, res.StatusCode)
		}
	}
}
