package views

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

// Placeholder markers: private-use characters no catalog text contains.
const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

// richText renders the message id with each {{.Name}} placeholder replaced by
// the component parts[Name] (a link, <code>, the expiry countdown), so that
// translators keep whole sentences and markup stays in the views. The text
// around the parts is escaped like any templ text.
func richText(id string, parts map[string]templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		s := richMessage(ctx, id, parts)
		for s != "" {
			i := strings.Index(s, markOpen)
			j := strings.Index(s, markClose)
			if i < 0 || j < i {
				break
			}
			if _, err := io.WriteString(w, templ.EscapeString(s[:i])); err != nil {
				return err
			}
			if c := parts[s[i+len(markOpen):j]]; c != nil {
				if err := c.Render(ctx, w); err != nil {
					return err
				}
			}
			s = s[j+len(markClose):]
		}
		_, err := io.WriteString(w, templ.EscapeString(s))
		return err
	})
}

// StatusTitle is the error page heading for an HTTP status in the request's
// language; statuses without a translation keep net/http's English text.
func StatusTitle(ctx context.Context, status int) string {
	switch status {
	case http.StatusBadRequest:
		return i18n.T(ctx, "status.bad_request")
	case http.StatusUnauthorized:
		return i18n.T(ctx, "status.unauthorized")
	case http.StatusForbidden:
		return i18n.T(ctx, "status.forbidden")
	case http.StatusNotFound:
		return i18n.T(ctx, "status.not_found")
	case http.StatusMethodNotAllowed:
		return i18n.T(ctx, "status.method_not_allowed")
	case http.StatusConflict:
		return i18n.T(ctx, "status.conflict")
	case http.StatusGone:
		return i18n.T(ctx, "status.gone")
	case http.StatusRequestEntityTooLarge:
		return i18n.T(ctx, "status.too_large")
	case http.StatusUnprocessableEntity:
		return i18n.T(ctx, "status.unprocessable")
	case http.StatusTooManyRequests:
		return i18n.T(ctx, "status.too_many_requests")
	case http.StatusInternalServerError:
		return i18n.T(ctx, "status.internal")
	case http.StatusServiceUnavailable:
		return i18n.T(ctx, "status.unavailable")
	}
	return http.StatusText(status)
}

// StatusMessage explains an HTTP status that came without a message of its
// own (Echo's 404 and 405), or returns "" when the title says it all.
func StatusMessage(ctx context.Context, status int) string {
	switch status {
	case http.StatusNotFound:
		return i18n.T(ctx, "status.not_found_message")
	case http.StatusMethodNotAllowed:
		return i18n.T(ctx, "status.method_not_allowed_message")
	case http.StatusRequestEntityTooLarge:
		return i18n.T(ctx, "status.too_large_message")
	}
	return ""
}

// loginLangURL is the login page in locale l, keeping where it returns to.
func loginLangURL(l i18n.Locale, next string) templ.SafeURL {
	q := url.Values{"lang": {l.String()}}
	if next != "" {
		q.Set("next", next)
	}
	return templ.SafeURL("/login?" + q.Encode())
}

func isLocale(ctx context.Context, l i18n.Locale) bool { return i18n.FromContext(ctx) == l }

// richMessage is the message id with each placeholder named in parts
// replaced by its marked name. It depends only on the locale, the id and the
// names, all from the code, so it is rendered once for each and kept.
func richMessage(ctx context.Context, id string, parts map[string]templ.Component) string {
	names := make([]string, 0, len(parts))
	for name := range parts {
		names = append(names, name)
	}
	slices.Sort(names)
	key := richKey{i18n.FromContext(ctx), id, strings.Join(names, ",")}
	if s, ok := richMessages.Load(key); ok {
		return s.(string)
	}
	data := make(map[string]any, len(parts))
	for _, name := range names {
		data[name] = markOpen + name + markClose
	}
	s := i18n.T(ctx, id, data)
	richMessages.Store(key, s)
	return s
}

type richKey struct {
	locale    i18n.Locale
	id, names string
}

// richMessages holds richMessage's results by richKey.
var richMessages sync.Map
