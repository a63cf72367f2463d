package analysis

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The files NewFrom reads from the root of its file system.
const (
	LexiconFile   = "lexicon.tsv"
	ModifiersFile = "modifiers.tsv"
	ThemesFile    = "themes.yaml"
	StopWordsFile = "stopwords.txt"
)

type entryKind uint8

const (
	sentiment entryKind = iota
	negator
	intensifier // also the diminishers: a factor below 1
	contrast
	marker
)

// An entry is one line of the lexicon or of the modifiers, filed under its
// first word.
type entry struct {
	rest  []string // the words after the first
	kind  entryKind
	value float64 // the score of a sentiment, the factor of an intensifier
	// A sentiment expression that starts with a negator ("no anda", "sin
	// internet") negates what follows it as the negator alone would.
	negates bool
}

// A pattern is one word of a theme term: a folded word, or a prefix when the
// term's word ends with *.
type pattern struct {
	s      string
	prefix bool
}

func (p pattern) match(w string) bool {
	if p.prefix {
		return strings.HasPrefix(w, p.s)
	}
	return w == p.s
}

type themeTerm struct {
	words []pattern
	theme int
}

type themeDef struct {
	key, label string
}

// rules is everything the data files say, folded and indexed.
type rules struct {
	entries  map[string][]entry // by first word; longest first, markers before the rest
	single   map[string]float64 // one-word sentiment entries, for the word-form fallbacks
	stop     map[string]bool
	themes   []themeDef
	byWord   map[string][]themeTerm // terms whose first word is a whole word
	byPrefix map[string][]themeTerm // terms whose first word is a prefix, by its first prefixKey bytes
}

// prefixKey is how many bytes of a prefix index it: prefixes have at least 3
// letters.
const prefixKey = 3

// maxThemes is how many themes a theme file may have: a comment's themes are
// a bit set.
const maxThemes = 64

var themeKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func loadRules(fsys fs.FS) (*rules, error) {
	r := &rules{
		entries:  make(map[string][]entry),
		single:   make(map[string]float64),
		stop:     make(map[string]bool),
		byWord:   make(map[string][]themeTerm),
		byPrefix: make(map[string][]themeTerm),
	}
	for _, load := range []struct {
		name string
		fn   func([]byte) error
	}{
		{LexiconFile, r.loadLexicon},
		{ModifiersFile, r.loadModifiers},
		{ThemesFile, r.loadThemes},
		{StopWordsFile, r.loadStopWords},
	} {
		b, err := fs.ReadFile(fsys, load.name)
		if err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
		if err := load.fn(b); err != nil {
			return nil, fmt.Errorf("analysis: %s: %w", load.name, err)
		}
	}
	for w, es := range r.entries {
		slices.SortStableFunc(es, func(a, b entry) int {
			if c := cmp.Compare(len(b.rest), len(a.rest)); c != 0 {
				return c
			}
			return cmp.Compare(markerRank(a), markerRank(b))
		})
		r.entries[w] = es
	}
	return r, nil
}

// markerRank is 0 for a marker, which is tried first (it applies only in
// place), and 1 for the rest.
func markerRank(e entry) int {
	if e.kind == marker {
		return 0
	}
	return 1
}

// lines calls fn with the fields (split at tabs) of each line of b that is
// neither blank nor a comment, and its 1-based number.
func lines(b []byte, fn func(n int, fields []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

// words folds an expression and splits it into words; nil when it has none.
func words(expr string) []string {
	return strings.Fields(fold(expr))
}

func (r *rules) add(ws []string, e entry) error {
	first := ws[0]
	e.rest = ws[1:]
	for _, old := range r.entries[first] {
		if slices.Equal(old.rest, e.rest) && (old.kind == marker) == (e.kind == marker) {
			if old.kind == e.kind && old.value == e.value {
				return nil // the same entry spelled twice ("porã", "pora")
			}
			return fmt.Errorf("%q is already listed differently", strings.Join(ws, " "))
		}
	}
	r.entries[first] = append(r.entries[first], e)
	return nil
}

func (r *rules) loadLexicon(b []byte) error {
	return lines(b, func(_ int, f []string) error {
		if len(f) != 2 {
			return errors.New("want EXPRESSION<TAB>SCORE")
		}
		ws := words(f[0])
		if ws == nil {
			return errors.New("empty expression")
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		if err != nil || math.IsNaN(v) || v < -3 || v > 3 {
			return fmt.Errorf("score %q is not a number from -3 to 3", f[1])
		}
		if len(ws) == 1 {
			r.single[ws[0]] = v
		}
		return r.add(ws, entry{kind: sentiment, value: v})
	})
}

func (r *rules) loadModifiers(b []byte) error {
	err := lines(b, func(_ int, f []string) error {
		if len(f) < 2 || len(f) > 3 {
			return errors.New("want EXPRESSION<TAB>KIND[<TAB>FACTOR]")
		}
		ws := words(f[0])
		if ws == nil {
			return errors.New("empty expression")
		}
		var e entry
		switch f[1] {
		case "negator":
			e.kind = negator
		case "intensifier", "diminisher":
			e.kind = intensifier
			if len(f) != 3 {
				return fmt.Errorf("%s without a factor", f[1])
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
			if err != nil || math.IsNaN(v) || v <= 0 || v > 3 || (f[1] == "intensifier") != (v > 1) {
				return fmt.Errorf("factor %q: an intensifier's is above 1 (up to 3), a diminisher's between 0 and 1", f[2])
			}
			e.value = v
		case "contrast":
			e.kind = contrast
		case "marker":
			e.kind = marker
			if len(ws) != 1 {
				return errors.New("a marker is one word")
			}
		default:
			return fmt.Errorf("unknown kind %q", f[1])
		}
		if e.kind != intensifier && len(f) == 3 {
			return fmt.Errorf("a %s takes no factor", f[1])
		}
		return r.add(ws, e)
	})
	if err != nil {
		return err
	}
	// The lexicon was read first: mark its expressions that open with a
	// negator now that the negators are known.
	for first, es := range r.entries {
		neg := false
		for _, e := range es {
			neg = neg || e.kind == negator && len(e.rest) == 0
		}
		for i := range es {
			es[i].negates = neg && es[i].kind == sentiment && len(es[i].rest) > 0
		}
		r.entries[first] = es
	}
	return nil
}

func (r *rules) loadThemes(b []byte) error {
	var doc struct {
		Themes []struct {
			Key   string   `yaml:"key"`
			Label string   `yaml:"label"`
			Terms []string `yaml:"terms"`
		} `yaml:"themes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if len(doc.Themes) == 0 {
		return errors.New("no themes")
	}
	if len(doc.Themes) > maxThemes {
		return fmt.Errorf("%d themes, at most %d", len(doc.Themes), maxThemes)
	}
	seen := make(map[string]bool)
	for i, t := range doc.Themes {
		if !themeKey.MatchString(t.Key) {
			return fmt.Errorf("theme key %q: want lower-case ASCII letters, digits and _", t.Key)
		}
		if seen[t.Key] {
			return fmt.Errorf("theme %q twice", t.Key)
		}
		seen[t.Key] = true
		if len(t.Terms) == 0 {
			return fmt.Errorf("theme %q has no terms", t.Key)
		}
		label := t.Label
		if label == "" {
			label = t.Key
		}
		r.themes = append(r.themes, themeDef{key: t.Key, label: label})
		for _, term := range t.Terms {
			ws := words(term)
			if ws == nil {
				return fmt.Errorf("theme %q: empty term", t.Key)
			}
			tt := themeTerm{theme: i}
			for _, w := range ws {
				p := pattern{s: w}
				if strings.HasSuffix(w, "*") {
					p = pattern{s: strings.TrimSuffix(w, "*"), prefix: true}
					if len([]rune(p.s)) < 3 {
						return fmt.Errorf("theme %q: prefix %q is shorter than 3 letters", t.Key, w)
					}
				}
				tt.words = append(tt.words, p)
			}
			if p := tt.words[0]; p.prefix {
				r.byPrefix[p.s[:prefixKey]] = append(r.byPrefix[p.s[:prefixKey]], tt)
			} else {
				r.byWord[tt.words[0].s] = append(r.byWord[tt.words[0].s], tt)
			}
		}
	}
	return nil
}

func (r *rules) loadStopWords(b []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, w := range words(line) {
			r.stop[w] = true
		}
	}
	return sc.Err()
}
