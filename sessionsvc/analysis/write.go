package analysis

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

var csvHeader = []string{"line", "sentiment", "score", "themes", "rating", "date", "city", "text"}

// WriteCSV writes r's rows as CSV, one per comment after the header row
// line,sentiment,score,themes,rating,date,city,text: the score with 3
// decimals, the themes joined by "|", the rating and date empty when the
// comment had none. A city or text that starts with =, +, -, @, a tab or a
// carriage return gets a leading ' so that a spreadsheet shows it rather than
// runs it as a formula. The other cells are the package's own numbers, dates
// and keys (a negative score starts with -, and is a number to a spreadsheet
// too).
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	rec := make([]string, len(csvHeader))
	for _, row := range r.Rows {
		rec[0] = strconv.Itoa(row.Line)
		rec[1] = string(row.Sentiment)
		rec[2] = strconv.FormatFloat(row.Score, 'f', 3, 64)
		rec[3] = strings.Join(row.Themes, "|")
		rec[4] = ""
		if row.Rating != 0 {
			rec[4] = strconv.Itoa(row.Rating)
		}
		rec[5] = row.Date
		rec[6] = formulaSafe(row.City)
		rec[7] = formulaSafe(row.Text)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formulaSafe defuses a cell a spreadsheet would take for a formula.
func formulaSafe(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// WriteJSON writes r as one JSON document, rows included.
func WriteJSON(w io.Writer, r *Result) error {
	return json.NewEncoder(w).Encode(r)
}
