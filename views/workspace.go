package views

import (
	"strconv"
	"strings"
)

// humanBytes is a file size for people: 980 B, 12.3 KiB, 4.0 MiB.
func humanBytes(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1024*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MiB"
}

// percentOf is n as a whole percentage of total ("0%" when total is 0).
func percentOf(n, total int) string {
	if total <= 0 {
		return "0%"
	}
	return strconv.Itoa((n*100+total/2)/total) + "%"
}

// breakdownKey shows a breakdown's key, naming the analysis package's
// special keys.
func breakdownKey(k string) string {
	switch k {
	case "none":
		return "(none)"
	case "other":
		return "(other)"
	case "earlier":
		return "(earlier)"
	}
	return k
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

func ratingText(r int) string {
	if r == 0 {
		return ""
	}
	return strconv.Itoa(r)
}

// pages is the number of pages of total rows, at least 1.
func pages(total, size int) int {
	if size <= 0 || total <= 0 {
		return 1
	}
	return (total + size - 1) / size
}

// columnLabel names a comments-table column.
func columnLabel(c string) string {
	switch c {
	case "comment":
		return "Comment"
	case "sentiment":
		return "Sentiment"
	case "themes":
		return "Themes"
	case "rating":
		return "Rating"
	case "city":
		return "City"
	case "date":
		return "Date"
	}
	return c
}
