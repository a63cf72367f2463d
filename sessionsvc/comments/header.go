package comments

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// A role is what a recognised column holds.
type role int

const (
	roleText role = iota
	roleRating
	roleDate
	roleCity
	numRoles
)

var roleNames = [numRoles]string{"comment", "rating", "date", "city"}

// columnRoles maps a header name, trimmed, lower-cased and without accents,
// to the role of its column. Other names are ignored.
var columnRoles = map[string]role{
	"comentario":   roleText,
	"comentarios":  roleText,
	"comment":      roleText,
	"comments":     roleText,
	"text":         roleText,
	"texto":        roleText,
	"rating":       roleRating,
	"calificacion": roleRating,
	"puntaje":      roleRating,
	"puntuacion":   roleRating,
	"fecha":        roleDate,
	"date":         roleDate,
	"ciudad":       roleCity,
	"city":         roleCity,
}

// normalizeName trims name, lower-cases it and drops its accents, so that
// "Calificación", "CALIFICACION" and " calificacion " are one name.
func normalizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'á', 'à', 'â', 'ä':
			return 'a'
		case 'é', 'è', 'ê', 'ë':
			return 'e'
		case 'í', 'ì', 'î', 'ï':
			return 'i'
		case 'ó', 'ò', 'ô', 'ö':
			return 'o'
		case 'ú', 'ù', 'û', 'ü':
			return 'u'
		case 'ñ':
			return 'n'
		}
		if unicode.Is(unicode.Mn, r) { // a combining accent, as macOS writes them
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(name)))
}

// header is what the header row says about the columns.
type header struct {
	col   [numRoles]int // index of each role's column, -1 when absent
	width int           // columns up to the last named one
}

// parseHeader finds the recognised columns of a header row.
func parseHeader(names []string) (header, error) {
	h := header{}
	for i := range h.col {
		h.col[i] = -1
	}
	for i, name := range names {
		if strings.TrimSpace(name) != "" {
			h.width = i + 1
		}
		ro, ok := columnRoles[normalizeName(name)]
		if !ok {
			continue
		}
		if j := h.col[ro]; j >= 0 {
			return header{}, fmt.Errorf("%w: %s and %s are both the %s column", ErrDuplicateColumn,
				quoteValue(strings.TrimSpace(names[j])), quoteValue(strings.TrimSpace(name)), roleNames[ro])
		}
		h.col[ro] = i
	}
	if h.col[roleText] < 0 {
		return header{}, fmt.Errorf("%w: expected one of comentario, comment, text (found: %s)",
			ErrNoTextColumn, quoteList(names))
	}
	return h, nil
}

// newCSVReader returns the CSV reader for one separator. FieldsPerRecord is
// -1 so that the Reader words a wrong number of fields itself.
func newCSVReader(r io.Reader, sep rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	return cr
}

// detectSeparator chooses between comma and semicolon from the start of the
// text: the separator whose header has a text column, then the one that
// splits the header into more columns, then the one whose rows have as many
// columns as the header. A file of one column reads the same either way up
// to the first comma or semicolon in a comment: semicolon, the rarer one in
// prose, wins that tie.
func detectSeparator(sample []byte, atEOF bool) rune {
	if !atEOF {
		// Leave out the last line, which may be cut short.
		if i := bytes.LastIndexByte(sample, '\n'); i >= 0 {
			sample = sample[:i+1]
		}
	}
	best, bestScore := ';', scoreSeparator(sample, ';')
	if s := scoreSeparator(sample, ','); s.better(bestScore) {
		best = ','
	}
	return best
}

// sepScore is how well a separator reads the start of a file.
type sepScore struct {
	text    bool // the header has a text column
	columns int  // the header's columns
	badRows int  // rows whose number of columns is not the header's
}

func (s sepScore) better(t sepScore) bool {
	if s.text != t.text {
		return s.text
	}
	if s.columns != t.columns {
		return s.columns > t.columns
	}
	return s.badRows < t.badRows
}

func scoreSeparator(sample []byte, sep rune) sepScore {
	cr := newCSVReader(bytes.NewReader(sample), sep)
	var rec []string
	var err error
	for {
		rec, err = cr.Read()
		if err != nil {
			return sepScore{}
		}
		if !blank(rec) {
			break
		}
	}
	h, err := parseHeader(rec)
	s := sepScore{text: err == nil, columns: len(rec)}
	for {
		rec, err := cr.Read()
		if err != nil {
			if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
				s.badRows++
			}
			return s
		}
		if !blank(rec) && !h.fits(rec) {
			s.badRows++
		}
	}
}

// fits reports whether rec has the header's number of columns, not
// counting empty cells past the header's last named column.
func (h header) fits(rec []string) bool {
	return len(rec) >= h.width && blank(rec[h.width:])
}

// blank reports whether every cell of rec is empty or spaces.
func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
