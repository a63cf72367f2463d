package analysis

import (
	"math"
	"strings"
)

// The sentiment rule's constants (see Builtin).
const (
	negWindow       = 3    // words a negator reaches
	intensWindow    = 2    // words an intensifier reaches
	maxIntensity    = 2.5  // stacked intensifiers multiply up to this
	negatedNegative = -0.5 // "nada lento" is half as positive as "lento" is negative
	beforeContrast  = 0.5  // what came before "pero"
	afterContrast   = 1.5  // what follows it
	superlative     = 1.5  // "-ísimo" of a listed word
	exclamation     = 0.1  // each "!" (up to 3) adds this share
	ratingNudge     = 0.3  // per star away from 3
	threshold       = 0.2  // |score| from which a comment is positive or negative
	scoreScale      = 4.0  // score = s / sqrt(s² + scoreScale)
)

// textScore returns the raw sentiment sum of a comment's tokens.
func (r *rules) textScore(toks []token, excl int) float64 {
	var (
		sum       float64
		weight    = 1.0 // afterContrast once a "pero" was seen
		negLeft   int   // words still negated
		intensity = 1.0
		intLeft   int // words the intensity still reaches
		opening   = true
	)
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind == boundary {
			negLeft, intensity, intLeft = 0, 1, 0
			opening = opening || t.flag
			i++
			continue
		}
		e, n, ok := r.match(toks, i, opening)
		opening = false
		if !ok {
			i++
			if negLeft > 0 {
				negLeft--
			}
			if intLeft > 0 {
				if intLeft--; intLeft == 0 {
					intensity = 1
				}
			}
			continue
		}
		i += n
		switch e.kind {
		case negator:
			negLeft = negWindow
		case intensifier:
			intensity = min(intensity*e.value, maxIntensity)
			intLeft = intensWindow
		case contrast:
			sum *= beforeContrast
			weight = afterContrast
			negLeft, intensity, intLeft = 0, 1, 0
		case marker:
			// A discourse marker ("Bueno, ...") says nothing.
		case sentiment:
			v := e.value
			switch {
			case e.negates:
				// Its own negation is in its score: "no anda" is not negated
				// again by a "no" before it.
			case negLeft > 0 && v > 0:
				v = -v
			case negLeft > 0:
				v *= negatedNegative
			default:
				v *= intensity
			}
			sum += v * weight
			intensity, intLeft = 1, 0
			negLeft = max(negLeft-n, 0)
			if e.negates {
				negLeft = negWindow
			}
		}
	}
	if excl > 0 {
		sum *= 1 + exclamation*float64(min(excl, 3))
	}
	return sum
}

// match returns the longest lexicon or modifier entry that starts at toks[i]
// and how many tokens it takes. A plain word that is not listed may still be a
// form of a listed one (see wordForm).
func (r *rules) match(toks []token, i int, opening bool) (entry, int, bool) {
	t := toks[i]
	for _, e := range r.entries[t.text] {
		if e.kind == marker {
			// Only "Bueno," opening the comment or a sentence.
			if opening && i+1 < len(toks) && toks[i+1].kind == boundary && toks[i+1].text == "," {
				return e, 1, true
			}
			continue
		}
		if i+1+len(e.rest) > len(toks) {
			continue
		}
		ok := true
		for j, w := range e.rest {
			if u := toks[i+1+j]; u.kind != word || u.text != w {
				ok = false
				break
			}
		}
		if ok {
			return e, 1 + len(e.rest), true
		}
	}
	if t.kind != word || t.flag {
		return entry{}, 0, false
	}
	if v, ok := r.wordForm(t.text); ok {
		return entry{kind: sentiment, value: v}, 1, true
	}
	if t.alt != "" {
		if v, ok := r.wordForm(t.alt); ok {
			return entry{kind: sentiment, value: v}, 1, true
		}
	}
	return entry{}, 0, false
}

// wordForm finds the score of w through the form rules: as listed, then its
// singular (-s, -es), the singular of a verb (-n), each also as masculine
// (-a to -o), and the superlative (-ísimo, -ísima, plurals too) of a listed
// word, weighted by superlative.
func (r *rules) wordForm(w string) (float64, bool) {
	if v, ok := r.single[w]; ok {
		return v, true
	}
	if len(w) < 4 {
		return 0, false
	}
	for _, suffix := range [...]string{"isimos", "isimas", "isimo", "isima"} {
		if base, ok := strings.CutSuffix(w, suffix); ok && len(base) >= 2 {
			for _, c := range [...]string{base + "o", base + "e", base, base + "a"} {
				if v, ok := r.single[c]; ok {
					return v * superlative, true
				}
			}
			return 0, false
		}
	}
	var cands [3]string
	n := 0
	last := w[len(w)-1]
	switch {
	case last == 's':
		cands[n] = w[:len(w)-1]
		n++
		if strings.HasSuffix(w, "es") {
			cands[n] = w[:len(w)-2]
			n++
		}
	case last == 'n' && strings.IndexByte("aeiou", w[len(w)-2]) >= 0:
		cands[n] = w[:len(w)-1]
		n++
	}
	if last == 'a' {
		cands[n] = w[:len(w)-1] + "o"
		n++
	}
	for _, c := range cands[:n] {
		if v, ok := r.single[c]; ok {
			return v, true
		}
		if strings.HasSuffix(c, "a") {
			if v, ok := r.single[c[:len(c)-1]+"o"]; ok {
				return v, true
			}
		}
	}
	return 0, false
}

// compound maps a raw sum onto (-1, 1).
func compound(s float64) float64 {
	return s / math.Sqrt(s*s+scoreScale)
}

func label(score float64) Sentiment {
	switch {
	case score >= threshold:
		return Positive
	case score <= -threshold:
		return Negative
	}
	return Neutral
}

// classify turns a comment's raw text sum and its rating (0 for none) into its
// sentiment and score, by the rule documented on Builtin.
func classify(sum float64, rating int) (Sentiment, float64) {
	score := compound(sum)
	s := label(score)
	if rating >= 1 && rating <= 5 {
		nudged := compound(sum + ratingNudge*float64(rating-3))
		switch s {
		case Neutral:
			score = nudged
			s = label(score)
		case Positive:
			score = max(nudged, threshold)
		case Negative:
			score = min(nudged, -threshold)
		}
	}
	return s, math.Round(score*1000) / 1000
}

// themes returns the bit set of the themes the comment's tokens match.
func (r *rules) themeSet(toks []token) uint64 {
	var set uint64
	for i, t := range toks {
		if t.kind != word {
			continue
		}
		for _, tt := range r.byWord[t.text] {
			if set&(1<<tt.theme) == 0 && termAt(toks, i, tt.words) {
				set |= 1 << tt.theme
			}
		}
		if len(t.text) < prefixKey {
			continue
		}
		for _, tt := range r.byPrefix[t.text[:prefixKey]] {
			if set&(1<<tt.theme) == 0 && termAt(toks, i, tt.words) {
				set |= 1 << tt.theme
			}
		}
	}
	return set
}

// termAt reports whether the words of a term match toks from i on.
func termAt(toks []token, i int, ps []pattern) bool {
	if i+len(ps) > len(toks) {
		return false
	}
	for j, p := range ps {
		if t := toks[i+j]; t.kind != word || !p.match(t.text) {
			return false
		}
	}
	return true
}
