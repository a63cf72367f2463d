// Package analysis analyzes the customer comments analysts upload: the
// sentiment of each comment, its themes (speed, outages, installation, billing,
// customer service, coverage, price), the most used words, and breakdowns by
// rating, city and month, with example comments per theme.
//
// Analyzer is the whole contract, so a separate analysis service can stand in
// for the built-in one. Builtin is rule-based: a Spanish lexicon with
// Paraguayan usage and Guaraní (jopara) words, negation and intensifiers,
// keyword themes and a stop-word list, all in data files embedded in the
// binary (see the data directory; NewFrom loads edited copies).
package analysis

import (
	"context"
	"unicode/utf8"

	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

// An Analyzer analyzes a set of comments. Implementations check ctx as they
// go and, once it is done, return an error wrapping ctx.Err() (the caller
// marks the analysis interrupted). They call progress, when it is not nil,
// with how many of the comments are done, never fewer than the call before,
// the last call with done == total.
type Analyzer interface {
	Analyze(ctx context.Context, in []comments.Comment, progress func(done, total int)) (*Result, error)
}

// Sentiment is a comment's polarity.
type Sentiment string

// The sentiments.
const (
	Positive Sentiment = "positive"
	Neutral  Sentiment = "neutral"
	Negative Sentiment = "negative"
)

// The keys of the built-in themes, stable across releases.
const (
	ThemeSpeed           = "speed"
	ThemeOutages         = "outages"
	ThemeInstallation    = "installation"
	ThemeBilling         = "billing"
	ThemeCustomerService = "customer_service"
	ThemeCoverage        = "coverage"
	ThemePrice           = "price"
)

// Keys of the breakdown groups that are not a rating, city or month.
const (
	KeyNone    = "none"    // no rating, city or date
	KeyOther   = "other"   // the cities after the first MaxCities
	KeyEarlier = "earlier" // the months before the last MaxMonths
)

// Limits that keep a Result's summary to a few kilobytes whatever the input.
const (
	MaxTopTerms     = 20  // words in TopTerms
	MaxCities       = 20  // cities in ByCity before "other"
	MaxMonths       = 24  // months in ByMonth after "earlier"
	MaxExamples     = 3   // examples per theme
	MaxExampleRunes = 120 // longer example texts are cut, with "…"
)

// maxKeyRunes is where a longer city name is cut.
const maxKeyRunes = 60

// Result is the outcome of an analysis. Slices are never nil, so the JSON has
// [] rather than null.
type Result struct {
	Engine    string       `json:"engine"`   // which analyzer and rules version made it
	Comments  int          `json:"comments"` // how many comments were analyzed
	Sentiment Distribution `json:"sentiment"`
	// Every theme of the analyzer, even those no comment has: most comments
	// first, ties by key.
	Themes  []ThemeStat `json:"themes"`
	NoTheme int         `json:"no_theme"` // comments with no theme
	// The MaxTopTerms words in the most comments, stop words, numbers and
	// words of 1 or 2 letters left out: most comments first, ties by term.
	TopTerms []TermCount `json:"top_terms"`
	// Ratings "1" to "5" then "none", always all six.
	ByRating []Breakdown `json:"by_rating"`
	// The MaxCities cities with most comments (ties by name), then "other"
	// and "none" when they have comments. Names that fold alike (case,
	// accents, spacing) are one city, shown in its most used spelling.
	ByCity []Breakdown `json:"by_city"`
	// Months "YYYY-MM" in order, the last MaxMonths of them with comments;
	// "earlier" first when there are older ones, "none" last when some
	// comments have no date.
	ByMonth []Breakdown `json:"by_month"`
	// One row per comment, in input order. Summary leaves them out.
	Rows []Row `json:"rows,omitempty"`
}

// Distribution counts comments by sentiment.
type Distribution struct {
	Positive int `json:"positive"`
	Neutral  int `json:"neutral"`
	Negative int `json:"negative"`
}

func (d *Distribution) add(s Sentiment) {
	switch s {
	case Positive:
		d.Positive++
	case Negative:
		d.Negative++
	default:
		d.Neutral++
	}
}

// ThemeStat is one theme's share of the comments.
type ThemeStat struct {
	Theme string `json:"theme"` // the stable key, such as "customer_service"
	Label string `json:"label"` // for people: "Atención al cliente"
	Count int    `json:"count"`
	Distribution
	// Up to MaxExamples comments of the theme, of different sentiments when
	// it has them: negative, neutral, positive.
	Examples []Example `json:"examples"`
}

// Example is a comment shown for a theme.
type Example struct {
	Line      int       `json:"line"`
	Text      string    `json:"text"` // cut to MaxExampleRunes
	Sentiment Sentiment `json:"sentiment"`
}

// TermCount is a frequent word.
type TermCount struct {
	Term  string `json:"term"`  // its most used spelling, lower case
	Count int    `json:"count"` // comments that have it
}

// Breakdown is the comments of one rating, city or month.
type Breakdown struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
	Distribution
	// The mean of the group's ratings, 0 when none has one (by city and
	// month only).
	MeanRating float64 `json:"mean_rating,omitempty"`
}

// Row is the analysis of one comment.
type Row struct {
	Line      int       `json:"line"`
	Text      string    `json:"text"`
	Rating    int       `json:"rating,omitempty"`
	Date      string    `json:"date,omitempty"` // YYYY-MM-DD
	City      string    `json:"city,omitempty"`
	Sentiment Sentiment `json:"sentiment"`
	Score     float64   `json:"score"`  // from -1 to 1
	Themes    []string  `json:"themes"` // theme keys, in the analyzer's order
}

// Summary returns the result without its rows: what the caller keeps in the
// session, a few kilobytes whatever the number of comments. Its slices are
// the result's own.
func (r *Result) Summary() *Result {
	if r == nil {
		return nil
	}
	s := *r
	s.Rows = nil
	return &s
}

// truncate cuts s to n runes, the last one "…" when it was longer.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return s[:i] + "…"
}
