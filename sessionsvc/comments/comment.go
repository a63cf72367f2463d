// Package comments reads the customer-comment files analysts upload: CSV with
// a header row, comma or semicolon separated, UTF-8 (with or without BOM) or
// Latin-1. It streams, so a size limit holds while the file is read, and it
// reports a bad file with the line number and what is wrong.
package comments

import "time"

// Comment is one row of an uploaded file.
type Comment struct {
	Line   int       // 1-based line number of the row in the file (the header is line 1)
	Text   string    // the comment itself, never empty
	Rating int       // 1..5, or 0 when the file has no rating column or the cell is empty
	Date   time.Time // zero when the file has no date column or the cell is empty
	City   string    // "" when absent
}
