// Package views holds the templ components of Session Console: full pages that
// take a Layout, and the fragments htmx swaps.
//
// Views only present what handlers hand them in one props struct per
// component; they load nothing and decide nothing. All text reaches the page
// through templ's escaping: user-controlled strings (user names, user agents,
// notices) are never passed to templ.Raw. Every node a test or a browser test
// needs carries a data-testid.
package views

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

// ProductName is shown in the header and page titles.
const ProductName = "Session Console"

// Assets resolves a static file name to its content-hashed URL
// (static.Assets implements it).
type Assets interface {
	Path(name string) string
}

// User is the signed-in user as the header shows them.
type User struct {
	Name string
	Role string
}

// assetPath resolves name through a, falling back to the plain URL when a is
// nil so that an error page rendered on a half-configured server still renders.
func assetPath(a Assets, name string) string {
	if a == nil {
		return "/static/" + name
	}
	return a.Path(name)
}

// Roles, as in sessionsvc. Duplicated here because views must not import the
// service layer.
const (
	roleAdmin    = "admin"
	roleOperator = "operator"
	roleAnalyst  = "analyst"
)

// canConsole reports whether the user may open the console at /admin.
func (u *User) canConsole() bool {
	return u != nil && (u.Role == roleAdmin || u.Role == roleOperator)
}

// canWorkspace reports whether the user may open the workspace at /workspace.
func (u *User) canWorkspace() bool {
	return u != nil && (u.Role == roleAnalyst || u.Role == roleAdmin)
}

// Ago describes t relative to now in English, as the console shows it: "just
// now", "3 min ago", "2 h ago", "4 d ago", and for future times "in under a
// minute", "in 5 min", "in 2 h", "in 3 d". Amounts are truncated, never
// rounded up, so a deadline is never shown later than it is. The zero time is
// "—". Pages in the reader's language use i18n.Ago.
func Ago(now, t time.Time) string {
	return i18n.Ago(i18n.WithLocale(context.Background(), i18n.EN), now, t)
}

// exactTime is the unambiguous form shown on hover: the server cannot know
// the reader's zone, so it states UTC.
func exactTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// machineTime is the datetime attribute of <time>.
func machineTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// unixMilli renders t for data attributes that app.js reads.
func unixMilli(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// serverNow is the server's clock when the page is rendered; app.js compares
// it with the browser's clock so that a skewed browser clock does not move the
// session-expiry warning.
func serverNow(now time.Time) string {
	if now.IsZero() {
		now = time.Now()
	}
	return unixMilli(now)
}

// themeAttr returns the data-theme value to render, or "" to follow the
// system. Anything but the two known themes is ignored rather than echoed.
func themeAttr(theme string) string {
	switch theme {
	case "light", "dark":
		return theme
	default:
		return ""
	}
}

// pageTitle is the <title>: "<page> · Session Console".
func pageTitle(title string) string {
	if title == "" {
		return ProductName
	}
	return title + " · " + ProductName
}

// htmxConfig keeps htmx within the CSP (no eval, no injected <style>) and out
// of localStorage: its history cache would otherwise keep copies of session
// pages in the browser after sign-out.
const htmxConfig = `{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,"historyCacheSize":0,"refreshOnHistoryMiss":true,"selfRequestsOnly":true}`

// endSessionURL is the form action that ends one of the user's own sessions.
func endSessionURL(sid string) string {
	return "/account/sessions/" + url.PathEscape(sid) + "/end"
}

// countOthers counts the sessions that are not the one making the request.
func countOthers(ss []AccountSession) int {
	n := 0
	for _, s := range ss {
		if !s.Current {
			n++
		}
	}
	return n
}

// statusText is the page heading's number, e.g. "503".
func statusText(status int) string {
	if status == 0 {
		return ""
	}
	return fmt.Sprint(status)
}
