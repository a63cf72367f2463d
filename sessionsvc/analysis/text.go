package analysis

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldTable maps the precomposed lower-case letters of Spanish, Portuguese,
// Guaraní and the other Latin-1 languages to their base letter. Anything
// decomposed (a base letter followed by combining marks, as macOS writes it, or
// Guaraní's g̃) loses its marks in foldRune instead.
var foldTable = map[rune]rune{
	'á': 'a', 'à': 'a', 'â': 'a', 'ä': 'a', 'ã': 'a', 'å': 'a',
	'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e', 'ẽ': 'e',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i', 'ĩ': 'i',
	'ó': 'o', 'ò': 'o', 'ô': 'o', 'ö': 'o', 'õ': 'o',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u', 'ũ': 'u',
	'ý': 'y', 'ÿ': 'y', 'ỹ': 'y',
	'ñ': 'n', 'ç': 'c',
	// Apostrophes: Guaraní's puso (ʼ) and the typographic and accent-key ones
	// all become ', so "mba'e", "mbaʼe" and "mba’e" are one word.
	'’': '\'', '‘': '\'', 'ʼ': '\'', '´': '\'', '`': '\'',
}

// foldRune returns r lower-cased and without diacritics, or -1 when r is to be
// dropped: combining marks, variation selectors, zero-width joiners, the BOM
// and emoji skin tones, so "👍🏽" is "👍" and "❤️" is "❤".
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	switch {
	case r == 0xFE0E || r == 0xFE0F || r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF:
		return -1
	case 0x1F3FB <= r && r <= 0x1F3FF:
		return -1
	case unicode.Is(unicode.Mn, r):
		return -1
	}
	r = unicode.ToLower(r)
	if f, ok := foldTable[r]; ok {
		return f
	}
	return r
}

// fold returns s lower-cased, without diacritics and with runs of white space
// made one space, trimmed: the form every data file entry, every comment word
// and every city name is compared in.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		r = foldRune(r)
		switch {
		case r < 0:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

type tokenKind uint8

const (
	word     tokenKind = iota // letters (with inner apostrophes) or digits
	emoji                     // one pictographic symbol
	boundary                  // punctuation that ends a clause
)

// A token is a word, an emoji or a clause boundary of a comment.
type token struct {
	text  string // folded; a letter run of 3 or more is made one letter ("buenooo")
	alt   string // when text had such a run, the run made two letters ("horrrible")
	start int    // byte offsets of the token in the original text
	end   int
	kind  tokenKind
	fa    int // while tokenizing: where text is in the folded buffer
	fb    int
	// For a word: it has digits (numbers are split from letters, "300mb" is
	// "300" "mb"). For a boundary: it ends a sentence (. ! ? … or a new line),
	// rather than a clause (, ; : and brackets).
	flag bool
}

// tokenizer splits comments into tokens, reusing its buffers from one comment
// to the next. It is not safe for concurrent use.
type tokenizer struct {
	toks   []token
	buf    []rune
	folded []byte // the texts of the tokens, one string at the end
	excl   int    // exclamation marks in the last comment
	start  int
	digit  bool
}

// tokenize returns the tokens of text, valid until the next call.
func (z *tokenizer) tokenize(text string) []token {
	z.toks = z.toks[:0]
	z.buf = z.buf[:0]
	z.folded = z.folded[:0]
	z.excl = 0
	for i, r := range text {
		f := foldRune(r)
		if f < 0 {
			continue // a combining mark inside a word leaves the word whole
		}
		switch {
		case unicode.IsLetter(f):
			if len(z.buf) > 0 && z.digit {
				z.flush(i)
			}
			if len(z.buf) == 0 {
				z.start, z.digit = i, false
			}
			z.buf = append(z.buf, f)
			continue
		case unicode.IsDigit(f):
			if len(z.buf) > 0 && !z.digit {
				z.flush(i)
			}
			if len(z.buf) == 0 {
				z.start, z.digit = i, true
			}
			z.buf = append(z.buf, f)
			continue
		case f == '\'' && len(z.buf) > 0 && !z.digit:
			// Inside a word only: "mba'e", "don't".
			next, _ := utf8.DecodeRuneInString(text[i+utf8.RuneLen(r):])
			if unicode.IsLetter(next) {
				z.buf = append(z.buf, f)
				continue
			}
		}
		z.flush(i)
		switch f {
		case '!':
			z.excl++
			z.add(f, token{start: i, end: i + 1, kind: boundary, flag: true})
		case '.', '?', '\n', '…':
			z.add(f, token{start: i, end: i + utf8.RuneLen(r), kind: boundary, flag: true})
		case ',', ';', ':', '(', ')', '¡', '¿', '[', ']', '"', '«', '»', '“', '”':
			z.add(f, token{start: i, end: i + utf8.RuneLen(r), kind: boundary})
		default:
			if isEmoji(f) {
				z.add(f, token{start: i, end: i + utf8.RuneLen(r), kind: emoji})
			}
		}
	}
	z.flush(len(text))
	// One string for all the token texts rather than one each.
	all := string(z.folded)
	for i := range z.toks {
		if t := &z.toks[i]; t.fb > t.fa {
			t.text = all[t.fa:t.fb]
		}
	}
	return z.toks
}

// add appends a token of one rune.
func (z *tokenizer) add(r rune, t token) {
	t.fa = len(z.folded)
	z.folded = utf8.AppendRune(z.folded, r)
	t.fb = len(z.folded)
	z.toks = append(z.toks, t)
}

// flush ends the word being built, if any, at byte offset end.
func (z *tokenizer) flush(end int) {
	if len(z.buf) == 0 {
		return
	}
	t := token{start: z.start, end: end, kind: word, flag: z.digit}
	if !z.digit && hasRun(z.buf) {
		t.text, t.alt = collapse(z.buf, 1), collapse(z.buf, 2)
	} else {
		t.fa = len(z.folded)
		for _, r := range z.buf {
			z.folded = utf8.AppendRune(z.folded, r)
		}
		t.fb = len(z.folded)
	}
	z.toks = append(z.toks, t)
	z.buf = z.buf[:0]
}

// hasRun reports whether w has a letter three or more times in a row, which no
// Spanish or Guaraní word has: "buenoooo", "muuuy", "nooo".
func hasRun(w []rune) bool {
	for i := 2; i < len(w); i++ {
		if w[i] == w[i-1] && w[i] == w[i-2] {
			return true
		}
	}
	return false
}

// collapse returns w with every run of 3 or more equal letters cut to max
// letters; shorter runs ("ll", "rr") stay as they are.
func collapse(w []rune, max int) string {
	var b strings.Builder
	for i := 0; i < len(w); {
		j := i + 1
		for j < len(w) && w[j] == w[i] {
			j++
		}
		n := j - i
		if n >= 3 {
			n = max
		}
		for range n {
			b.WriteRune(w[i])
		}
		i = j
	}
	return b.String()
}

// isEmoji reports whether r is a pictographic symbol worth a token.
func isEmoji(r rune) bool {
	return r >= 0x2190 && unicode.Is(unicode.So, r)
}
