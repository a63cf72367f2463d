package analysis

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

// Engine names the built-in analyzer and its rules in Result.Engine; the
// number goes up when the rules change what they find.
const Engine = "builtin/1"

//go:embed data/lexicon.tsv data/modifiers.tsv data/themes.yaml data/stopwords.txt
var dataFS embed.FS

// Data returns the built-in analyzer's data files, to start an edited copy for
// NewFrom from.
func Data() fs.FS {
	sub, err := fs.Sub(dataFS, "data")
	if err != nil {
		panic(err) // "data" is a valid path: cannot happen
	}
	return sub
}

// Builtin is the built-in Analyzer. It is safe for concurrent use.
//
// A comment's sentiment is the sum of its words' scores in the lexicon, after
// folding (case, accents, the Guaraní tilde, ñ -> n, letters repeated for
// emphasis). Expressions of several words win over single words. A negator
// ("no", "nunca", "sin", "ni", "nada"...) flips the next 3 words up to the end
// of the clause: positive words become as negative ("no funciona bien"),
// negative ones half as positive ("nada lento", "sin cortes", "no es caro").
// Intensifiers and diminishers ("muy", "re", "súper", "un poco") multiply the
// next sentiment word; after "pero" the words count three times as much as
// before it; exclamation marks add up to 30%. The sum s becomes the score
// s/√(s²+4), in (-1, 1): positive from 0.2, negative from -0.2, neutral in
// between.
//
// The rating, when the comment has one, nudges the sum by 0.3 per star away
// from 3 (±0.6 at most) but never overrides the text: a comment the text
// makes positive or negative keeps that sentiment, only its score moves
// (within that sentiment's range). A neutral text takes the nudged score's
// sentiment, so only a 1 or a 5 makes a text with no opinion words negative or
// positive.
//
// A comment has a theme when it contains one of the theme's terms (see
// themes.yaml); top terms count each word once per comment.
type Builtin struct {
	r *rules
}

var builtin = sync.OnceValues(func() (*Builtin, error) { return NewFrom(Data()) })

// New returns the analyzer of the embedded data files. It panics only if they
// are broken, which the package's tests rule out.
func New() *Builtin {
	b, err := builtin()
	if err != nil {
		panic(err)
	}
	return b
}

// NewFrom returns an analyzer of the data files at the root of fsys (named by
// LexiconFile, ModifiersFile, ThemesFile and StopWordsFile; their formats are
// described at the top of the built-in ones), or the first problem found in
// them, with the file and line.
func NewFrom(fsys fs.FS) (*Builtin, error) {
	r, err := loadRules(fsys)
	if err != nil {
		return nil, err
	}
	return &Builtin{r: r}, nil
}

// Classify returns the sentiment and score (from -1 to 1) of a comment's text
// and rating (0 for none).
func (b *Builtin) Classify(text string, rating int) (Sentiment, float64) {
	var z tokenizer
	toks := z.tokenize(text)
	return classify(b.r.textScore(toks, z.excl), rating)
}

// Themes returns the keys of the themes of a comment's text, in the theme
// file's order.
func (b *Builtin) Themes(text string) []string {
	var z tokenizer
	return b.themeKeys(b.r.themeSet(z.tokenize(text)))
}

// ThemeKeys returns the keys of the analyzer's themes, in the theme file's
// order.
func (b *Builtin) ThemeKeys() []string {
	keys := make([]string, len(b.r.themes))
	for i, t := range b.r.themes {
		keys[i] = t.key
	}
	return keys
}

func (b *Builtin) themeKeys(set uint64) []string {
	keys := []string{}
	for i, t := range b.r.themes {
		if set&(1<<i) != 0 {
			keys = append(keys, t.key)
		}
	}
	return keys
}

// checkEvery is how many comments go by between two looks at the context.
const checkEvery = 64

// maxProgressStep is the most comments between two progress calls, however
// many there are (otherwise about 1% of them).
const maxProgressStep = 500

// Analyze analyzes in, in order. Its error, when ctx is done before the end,
// wraps ctx.Err(); there is no other.
func (b *Builtin) Analyze(ctx context.Context, in []comments.Comment, progress func(done, total int)) (*Result, error) {
	total := len(in)
	step := min(max(total/100, 1), maxProgressStep)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("analysis: interrupted before the first comment: %w", err)
	}
	if progress != nil {
		progress(0, total)
	}
	a := newAggregate(b, total)
	var z tokenizer
	for i := range in {
		if i%checkEvery == 0 && i > 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("analysis: interrupted after %d of %d comments: %w", i, total, err)
			}
		}
		a.add(&in[i], &z)
		if progress != nil && ((i+1)%step == 0 || i+1 == total) {
			progress(i+1, total)
		}
	}
	return a.result(), nil
}

// aggregate accumulates a Result comment by comment.
type aggregate struct {
	b       *Builtin
	res     *Result
	themes  []ThemeStat
	cands   [][3][]candidate // per theme and sentiment, the best few, best first
	terms   map[string]*spelled
	seen    map[string]bool // the terms of the comment at hand
	ratings [6]Breakdown    // 1..5, then none
	cities  map[string]*group
	months  map[string]*group
}

// spelled counts something whose spellings fold alike, and each spelling.
type spelled struct {
	n     int
	spell map[string]int
}

func (s *spelled) add(spelling string) {
	s.n++
	if s.spell == nil {
		s.spell = make(map[string]int, 1)
	}
	s.spell[spelling]++
}

// best returns the most used spelling; ties go to one with accents (the
// correct one, more often than not), then to the first in byte order.
func (s *spelled) best() string {
	var best string
	n := -1
	for sp, c := range s.spell {
		if c > n || c == n && spellingBefore(sp, best) {
			best, n = sp, c
		}
	}
	return best
}

func spellingBefore(x, y string) bool {
	ax, ay := !isASCII(x), !isASCII(y)
	if ax != ay {
		return ax
	}
	return x < y
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

type group struct {
	spelled
	dist      Distribution
	ratingSum int
	rated     int
}

func (g *group) add(spelling string, s Sentiment, rating int) {
	g.spelled.add(spelling)
	g.dist.add(s)
	if rating >= 1 && rating <= 5 {
		g.ratingSum += rating
		g.rated++
	}
}

func (g *group) breakdown(key string) Breakdown {
	b := Breakdown{Key: key, Count: g.n, Distribution: g.dist}
	if g.rated > 0 {
		b.MeanRating = math.Round(float64(g.ratingSum)/float64(g.rated)*100) / 100
	}
	return b
}

func (g *group) merge(o *group) {
	g.n += o.n
	g.dist.Positive += o.dist.Positive
	g.dist.Neutral += o.dist.Neutral
	g.dist.Negative += o.dist.Negative
	g.ratingSum += o.ratingSum
	g.rated += o.rated
}

// minExampleRunes is the length from which a comment says enough to be an
// example.
const minExampleRunes = 30

// candidate is a comment that may be shown as an example of a theme.
type candidate struct {
	line   int
	text   string
	s      Sentiment
	fit    bool    // of a length that reads well as an example
	themes int     // how many themes it has: the fewer, the more to the point
	score  float64 // |score|: the clearer the better
}

func (c candidate) better(d candidate) bool {
	if c.fit != d.fit {
		return c.fit
	}
	if c.themes != d.themes {
		return c.themes < d.themes
	}
	if c.score != d.score {
		return c.score > d.score
	}
	return c.line < d.line
}

var sentimentOrder = [...]Sentiment{Negative, Neutral, Positive}

func sentimentIndex(s Sentiment) int {
	switch s {
	case Negative:
		return 0
	case Neutral:
		return 1
	}
	return 2
}

func newAggregate(b *Builtin, total int) *aggregate {
	a := &aggregate{
		b:      b,
		res:    &Result{Engine: Engine, Rows: make([]Row, 0, total)},
		themes: make([]ThemeStat, len(b.r.themes)),
		cands:  make([][3][]candidate, len(b.r.themes)),
		terms:  make(map[string]*spelled),
		seen:   make(map[string]bool),
		cities: make(map[string]*group),
		months: make(map[string]*group),
	}
	for i, t := range b.r.themes {
		a.themes[i] = ThemeStat{Theme: t.key, Label: t.label, Examples: []Example{}}
	}
	return a
}

// Top terms are words of 3 to maxTermRunes letters; longer ones are not words.
const maxTermRunes = 30

func (a *aggregate) add(c *comments.Comment, z *tokenizer) {
	r := a.b.r
	toks := z.tokenize(c.Text)
	s, score := classify(r.textScore(toks, z.excl), c.Rating)
	set := r.themeSet(toks)

	a.res.Comments++
	a.res.Sentiment.add(s)
	row := Row{Line: c.Line, Text: c.Text, Rating: c.Rating, City: c.City, Sentiment: s, Score: score, Themes: a.b.themeKeys(set)}
	if c.Rating < 1 || c.Rating > 5 {
		row.Rating = 0
	}
	if !c.Date.IsZero() {
		row.Date = c.Date.Format("2006-01-02")
	}
	a.res.Rows = append(a.res.Rows, row)

	if set == 0 {
		a.res.NoTheme++
	}
	for i := range a.themes {
		if set&(1<<i) == 0 {
			continue
		}
		a.themes[i].Count++
		a.themes[i].Distribution.add(s)
		a.offer(i, c, s, score, bits.OnesCount64(set))
	}

	clear(a.seen)
	for _, t := range toks {
		if t.kind != word || t.flag || a.seen[t.text] || r.stop[t.text] {
			continue
		}
		if n := utf8.RuneCountInString(t.text); n < 3 || n > maxTermRunes {
			continue
		}
		a.seen[t.text] = true
		spelling := t.text
		if t.alt == "" {
			spelling = strings.ToLower(c.Text[t.start:t.end])
		}
		st := a.terms[t.text]
		if st == nil {
			st = &spelled{}
			a.terms[t.text] = st
		}
		st.add(spelling)
	}

	rating := row.Rating
	if rating == 0 {
		a.ratings[5].Count++
		a.ratings[5].Distribution.add(s)
	} else {
		a.ratings[rating-1].Count++
		a.ratings[rating-1].Distribution.add(s)
	}
	city := strings.Join(strings.Fields(c.City), " ")
	a.group(a.cities, fold(city), truncate(city, maxKeyRunes), s, rating)
	month := ""
	if !c.Date.IsZero() {
		month = c.Date.Format("2006-01")
	}
	a.group(a.months, month, month, s, rating)
}

func (a *aggregate) group(m map[string]*group, key, spelling string, s Sentiment, rating int) {
	g := m[key]
	if g == nil {
		g = &group{}
		m[key] = g
	}
	g.add(spelling, s, rating)
}

// offer keeps c among theme i's example candidates if it is one of the best
// few of its sentiment.
func (a *aggregate) offer(i int, c *comments.Comment, s Sentiment, score float64, themes int) {
	n := utf8.RuneCountInString(c.Text)
	cand := candidate{line: c.Line, text: c.Text, s: s, fit: n >= minExampleRunes && n <= MaxExampleRunes,
		themes: themes, score: math.Abs(score)}
	list := &a.cands[i][sentimentIndex(s)]
	if len(*list) == MaxExamples && !cand.better((*list)[MaxExamples-1]) {
		return
	}
	for _, d := range *list {
		if d.text == cand.text {
			return // the same words already there, on an earlier line
		}
	}
	at, _ := slices.BinarySearchFunc(*list, cand, func(d, c candidate) int {
		if d.better(c) {
			return -1
		}
		return 1
	})
	*list = slices.Insert(*list, at, cand)
	if len(*list) > MaxExamples {
		*list = (*list)[:MaxExamples]
	}
}

// examples picks theme i's examples: the best of each sentiment first, then
// the best of the rest, shown negative, neutral, positive.
func (a *aggregate) examples(i int) []Example {
	var chosen []candidate
	var rest []candidate
	for _, list := range a.cands[i] {
		if len(list) > 0 {
			chosen = append(chosen, list[0])
			rest = append(rest, list[1:]...)
		}
	}
	slices.SortFunc(rest, func(c, d candidate) int {
		if c.better(d) {
			return -1
		}
		if d.better(c) {
			return 1
		}
		return 0
	})
	for _, c := range rest {
		if len(chosen) >= MaxExamples {
			break
		}
		if !slices.ContainsFunc(chosen, func(d candidate) bool { return d.text == c.text }) {
			chosen = append(chosen, c)
		}
	}
	slices.SortStableFunc(chosen, func(c, d candidate) int {
		return cmp.Compare(sentimentIndex(c.s), sentimentIndex(d.s))
	})
	ex := make([]Example, 0, len(chosen))
	for _, c := range chosen {
		ex = append(ex, Example{Line: c.line, Text: truncate(strings.Join(strings.Fields(c.text), " "), MaxExampleRunes), Sentiment: c.s})
	}
	return ex
}

func (a *aggregate) result() *Result {
	res := a.res
	for i := range a.themes {
		a.themes[i].Examples = a.examples(i)
	}
	res.Themes = slices.Clone(a.themes)
	slices.SortStableFunc(res.Themes, func(x, y ThemeStat) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Theme, y.Theme)
	})

	res.TopTerms = []TermCount{}
	for _, st := range a.terms {
		res.TopTerms = append(res.TopTerms, TermCount{Term: st.best(), Count: st.n})
	}
	slices.SortFunc(res.TopTerms, func(x, y TermCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return strings.Compare(x.Term, y.Term)
	})
	res.TopTerms = slices.Clip(res.TopTerms[:min(len(res.TopTerms), MaxTopTerms)])

	res.ByRating = make([]Breakdown, 0, 6)
	for i, b := range a.ratings {
		b.Key = fmt.Sprint(i + 1)
		if i == 5 {
			b.Key = KeyNone
		}
		res.ByRating = append(res.ByRating, b)
	}

	res.ByCity = a.cityBreakdown()
	res.ByMonth = a.monthBreakdown()
	return res
}

func (a *aggregate) cityBreakdown() []Breakdown {
	keys := make([]string, 0, len(a.cities))
	for k := range a.cities {
		if k != "" {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y string) int {
		if c := cmp.Compare(a.cities[y].n, a.cities[x].n); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	out := []Breakdown{}
	var other group
	for i, k := range keys {
		if i < MaxCities {
			out = append(out, a.cities[k].breakdown(a.cities[k].best()))
		} else {
			other.merge(a.cities[k])
		}
	}
	if other.n > 0 {
		out = append(out, other.breakdown(KeyOther))
	}
	if g := a.cities[""]; g != nil {
		out = append(out, g.breakdown(KeyNone))
	}
	return out
}

func (a *aggregate) monthBreakdown() []Breakdown {
	keys := make([]string, 0, len(a.months))
	for k := range a.months {
		if k != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []Breakdown{}
	if len(keys) > MaxMonths {
		var earlier group
		for _, k := range keys[:len(keys)-MaxMonths] {
			earlier.merge(a.months[k])
		}
		out = append(out, earlier.breakdown(KeyEarlier))
		keys = keys[len(keys)-MaxMonths:]
	}
	for _, k := range keys {
		out = append(out, a.months[k].breakdown(k))
	}
	if g := a.months[""]; g != nil {
		out = append(out, g.breakdown(KeyNone))
	}
	return out
}
