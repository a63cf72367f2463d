package comments

import (
	"strconv"
	"strings"
	"time"
)

// parseRating reads a rating: a whole number from 1 to 5, possibly written
// with a zero fraction after a point or a comma ("4.0", "4,0").
func parseRating(s string) (int, bool) {
	whole, frac := s, ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		whole, frac = s[:i], s[i+1:]
		if frac == "" || strings.Trim(frac, "0") != "" {
			return 0, false
		}
	}
	if whole == "" || strings.Trim(whole, "0123456789") != "" {
		return 0, false // no sign, no spaces, no exponent
	}
	n, err := strconv.Atoi(whole)
	if err != nil || n < 1 || n > 5 {
		return 0, false
	}
	return n, true
}

// dateLayouts are the accepted ways of writing a date: ISO, and day first as
// in Paraguay. A one-digit day or month in a layout accepts two digits too.
var dateLayouts = []string{
	"2006-1-2",
	"2/1/2006",
	"2-1-2006",
	"2006-1-2 15:04",
	"2006-1-2 15:04:05",
	"2/1/2006 15:04",
	"2/1/2006 15:04:05",
	time.RFC3339,
}

// parseDate reads a date in one of dateLayouts. Years before 1900 are taken
// for typing mistakes.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, t.Year() >= 1900
		}
	}
	return time.Time{}, false
}
