// Package lang decides between the two languages the analysts' pages speak,
// Paraguayan Spanish and English, from what a browser says. The session
// service (a new session's locale) and the views (the page's language) both
// use it, so they never disagree.
package lang

import (
	"strconv"
	"strings"
)

// The two languages, as BCP 47 tags.
const (
	ES = "es-PY" // the default: most analysts read Spanish
	EN = "en"
)

// Primary returns the lower-cased primary subtag of a language tag
// ("en-US" → "en").
func Primary(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// FromAcceptLanguage returns EN when an Accept-Language header prefers
// English to Spanish (by order and q-value), else ES, also when it names
// neither. It reads at most 32 entries: a longer header is not a browser's.
func FromAcceptLanguage(h string) string {
	best, bestQ := ES, 0.0
	for i, part := range strings.Split(h, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		switch p := Primary(tag); {
		case q <= 0 || q <= bestQ:
		case p == "en":
			best, bestQ = EN, q
		case p == "es":
			best, bestQ = ES, q
		}
	}
	return best
}
