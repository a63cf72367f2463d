package comments

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors about the file as a whole. The errors returned wrap them with
// details, so test for them with errors.Is.
var (
	ErrEmpty           = errors.New("the file is empty")
	ErrNotText         = errors.New("the file is not a CSV text file")
	ErrTooLarge        = errors.New("the file is too large")
	ErrNoTextColumn    = errors.New("the header has no text column")
	ErrDuplicateColumn = errors.New("the header names a column twice")
	ErrNoComments      = errors.New("the file has no comments")
	ErrTooManyRows     = errors.New("the file has too many rows")
)

// Kinds of LineError, for a user interface that words each kind its own way.
const (
	KindQuote    = "quote"    // misplaced or unclosed quote mark
	KindFields   = "fields"   // a row's number of columns differs from the header's
	KindRating   = "rating"   // rating not a whole number from 1 to 5
	KindDate     = "date"     // date in no accepted format, or not a real date
	KindEncoding = "encoding" // bytes that are not UTF-8 in a file read as UTF-8
	KindTooLong  = "too_long" // a comment or city longer than allowed
)

// A LineError is a problem at one line of the file.
type LineError struct {
	Line int    // 1-based line number in the file
	Kind string // one of the Kind constants
	Msg  string // what is wrong, in plain words
}

func (e *LineError) Error() string {
	return "line " + strconv.Itoa(e.Line) + ": " + e.Msg
}

// quoteError words a syntax error of encoding/csv for someone who edits the
// file in a spreadsheet or a text editor.
func quoteError(pe *csv.ParseError) *LineError {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return &LineError{Line: pe.Line, Kind: KindQuote,
			Msg: `a quote mark (") appears inside a value that is not in quotes: ` +
				`put the whole value in quotes and write each quote mark inside it twice ("")`}
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine < pe.Line:
		// A quote opened on the row's first line swallowed the lines after
		// it: the culprit is where the row starts, not where it showed.
		return &LineError{Line: pe.StartLine, Kind: KindQuote,
			Msg: fmt.Sprintf(`a value in quotes in the row that starts on this line is not closed properly `+
				`(the problem shows on line %d): check that every opening quote mark (") has a closing one `+
				`and that a quote mark inside a value is written twice ("")`, pe.Line)}
	case errors.Is(pe.Err, csv.ErrQuote):
		return &LineError{Line: pe.Line, Kind: KindQuote,
			Msg: `a value in quotes is not closed properly: the closing quote mark (") must be followed ` +
				`by the separator or the end of the line, and a quote mark inside the value must be written twice ("")`}
	}
	// FieldsPerRecord is not set, so no other ParseError is expected.
	return &LineError{Line: pe.Line, Kind: KindQuote, Msg: "the line cannot be read: " + pe.Err.Error()}
}

// quoteValue quotes a cell for an error message, shortened if long.
func quoteValue(s string) string {
	const maxRunes = 40
	if utf8.RuneCountInString(s) > maxRunes {
		i := 0
		for range maxRunes {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}

// quoteList lists header names for an error message, at most ten of them.
func quoteList(names []string) string {
	const maxNames = 10
	var b strings.Builder
	for i, name := range names {
		if i == maxNames {
			fmt.Fprintf(&b, " and %d more", len(names)-maxNames)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteValue(strings.TrimSpace(name)))
	}
	return b.String()
}

// formatSize words a byte count the way file browsers do.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KB"
	case n == 1:
		return "1 byte"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
