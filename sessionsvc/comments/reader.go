package comments

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of one file.
const (
	DefaultLimit = 20 << 20 // bytes, when the caller gives no limit
	MaxRows      = 200_000  // data rows, blank lines not counted
	MaxTextLen   = 10_000   // characters in one comment
)

// maxCityLen is the most characters in a city name: a guard, as no city
// name comes close.
const maxCityLen = 200

// Info describes the file a Reader reads.
type Info struct {
	// Encoding is "utf-8", "utf-8-bom" or "latin-1" (read as Windows-1252,
	// its superset). The first non-ASCII byte decides between UTF-8 and
	// Latin-1: until then the file counts as "utf-8".
	Encoding  string
	Separator rune     // ',' or ';'
	Columns   []string // the header row, as written
	Rows      int      // data rows read so far, blank lines not counted
	Skipped   int      // rows skipped because their comment cell was empty
}

// A Reader reads the comments of an uploaded CSV file one by one, so that
// the size limit holds while the file is read.
//
// The file has a header row that names the comment column, whatever the
// case, surrounding spaces and accents: comentario, comentarios, comment,
// comments, text or texto. It may name a rating column (rating,
// calificación, puntaje, puntuación), a date column (fecha, date) and a
// city column (ciudad, city); other columns are ignored. Blank lines and
// rows whose comment cell is empty are skipped, and so are empty cells past
// the header's last named column.
//
// Values may be in double quotes, and must be if they hold the separator, a
// quote mark (written twice) or a line break.
type Reader struct {
	in       *input
	csv      *csv.Reader
	head     header
	info     Info
	comments int   // comments returned so far
	err      error // the error returned, returned again
}

// NewReader returns a Reader of the file read from r. It fails with
// ErrTooLarge, wrapped, as soon as more than limit bytes came from r, and
// reads at most limit+1 bytes; a limit of 0 or less means DefaultLimit.
//
// NewReader reads the start of the file to choose the encoding and the
// separator, and reads the header row. Its errors are ErrEmpty,
// ErrNotText, ErrNoTextColumn, ErrDuplicateColumn and ErrTooLarge, wrapped,
// a *LineError of kind KindQuote, and those of r.
func NewReader(r io.Reader, limit int64) (*Reader, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	in, err := newInput(r, limit)
	if err != nil {
		return nil, err
	}
	text := bufio.NewReaderSize(in, sniffSize) // csv.NewReader reads through it as it is
	sample, err := text.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(sample) == 0 {
		return nil, ErrEmpty // a byte order mark alone
	}
	sep := detectSeparator(sample, err == io.EOF)
	rd := &Reader{in: in, csv: newCSVReader(text, sep), info: Info{Separator: sep}}
	var rec []string
	for {
		rec, err = rd.csv.Read()
		if err == io.EOF {
			return nil, ErrEmpty
		}
		if err != nil {
			return nil, rd.readError(err)
		}
		if !blank(rec) {
			break
		}
	}
	if rd.head, err = parseHeader(rec); err != nil {
		return nil, err
	}
	rd.info.Columns = slices.Clone(rec)
	return rd, nil
}

// Info describes the file as read so far.
func (r *Reader) Info() Info {
	info := r.info
	info.Encoding = r.in.encoding()
	info.Columns = slices.Clone(info.Columns)
	return info
}

// Next returns the next comment of the file. After the last one it returns
// io.EOF, or ErrNoComments if there was none. Its other errors are a
// *LineError, ErrTooLarge and ErrTooManyRows, wrapped, and those of the
// underlying reader; after an error Next returns it again.
//
// A comment is trimmed of spaces and holds at most MaxTextLen characters;
// it is otherwise passed on as it is: escaping it is the job of whatever
// shows it. A city is trimmed too. A rating is a whole number from 1 to 5 ("4", "4.0" and "4,0"
// are 4). A date is written 2006-01-02, 02/01/2006 or 02-01-2006 (day
// first; one-digit days and months too), optionally followed by a time of
// day 15:04 or 15:04:05, or as RFC 3339; a date without a time zone is UTC.
func (r *Reader) Next() (Comment, error) {
	if r.err != nil {
		return Comment{}, r.err
	}
	c, err := r.next()
	if err != nil {
		r.err = err
	}
	return c, err
}

func (r *Reader) next() (Comment, error) {
	for {
		rec, err := r.csv.Read()
		if err == io.EOF {
			if r.comments == 0 {
				return Comment{}, r.noComments()
			}
			return Comment{}, io.EOF
		}
		if err != nil {
			return Comment{}, r.readError(err)
		}
		if blank(rec) {
			continue
		}
		r.info.Rows++
		if r.info.Rows > MaxRows {
			return Comment{}, fmt.Errorf("%w: the limit is %d rows", ErrTooManyRows, MaxRows)
		}
		line, _ := r.csv.FieldPos(0)
		if !r.head.fits(rec) {
			return Comment{}, r.fieldsError(rec, line)
		}
		text, _, err := r.cell(rec, roleText)
		if err != nil {
			return Comment{}, err
		}
		if text == "" {
			r.info.Skipped++
			continue
		}
		c, err := r.comment(rec, line, text)
		if err != nil {
			return Comment{}, err
		}
		r.comments++
		return c, nil
	}
}

// comment reads the cells of a row whose comment is text.
func (r *Reader) comment(rec []string, line int, text string) (Comment, error) {
	c := Comment{Line: line, Text: text}
	if n := utf8.RuneCountInString(text); n > MaxTextLen {
		textLine, _ := r.csv.FieldPos(r.head.col[roleText])
		return Comment{}, &LineError{Line: textLine, Kind: KindTooLong,
			Msg: fmt.Sprintf("the comment is %d characters long; the most allowed is %d", n, MaxTextLen)}
	}
	v, cellLine, err := r.cell(rec, roleRating)
	if err != nil {
		return Comment{}, err
	}
	if v != "" {
		var ok bool
		if c.Rating, ok = parseRating(v); !ok {
			return Comment{}, &LineError{Line: cellLine, Kind: KindRating,
				Msg: fmt.Sprintf("rating %s is not a whole number from 1 to 5", quoteValue(v))}
		}
	}
	v, cellLine, err = r.cell(rec, roleDate)
	if err != nil {
		return Comment{}, err
	}
	if v != "" {
		var ok bool
		if c.Date, ok = parseDate(v); !ok {
			return Comment{}, &LineError{Line: cellLine, Kind: KindDate,
				Msg: fmt.Sprintf("date %s is not a valid date (use YYYY-MM-DD or DD/MM/YYYY)", quoteValue(v))}
		}
	}
	v, cellLine, err = r.cell(rec, roleCity)
	if err != nil {
		return Comment{}, err
	}
	if n := utf8.RuneCountInString(v); n > maxCityLen {
		return Comment{}, &LineError{Line: cellLine, Kind: KindTooLong,
			Msg: fmt.Sprintf("the city is %d characters long; the most allowed is %d", n, maxCityLen)}
	}
	c.City = v
	return c, nil
}

// cell returns the trimmed cell of rec in the column of ro, "" if there is
// no such column, and the line where the cell starts. A cell that is not
// valid UTF-8 is an error at the line of its first bad byte.
func (r *Reader) cell(rec []string, ro role) (string, int, error) {
	i := r.head.col[ro]
	if i < 0 {
		return "", 0, nil
	}
	v := rec[i]
	line, _ := r.csv.FieldPos(i)
	if !utf8.ValidString(v) {
		why := "the file looked like UTF-8 up to here"
		if r.in.encoding() == encUTF8BOM {
			why = "the file is marked as UTF-8"
		}
		return "", 0, &LineError{Line: line + strings.Count(v[:invalidUTF8(v)], "\n"), Kind: KindEncoding,
			Msg: fmt.Sprintf(`not valid UTF-8 (%s): save the file as "CSV UTF-8" and upload it again`, why)}
	}
	return strings.TrimSpace(v), line, nil
}

// invalidUTF8 returns the index of the first byte of s that is not part of
// a valid UTF-8 character, or len(s).
func invalidUTF8(s string) int {
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// fieldsError words a row whose columns do not match the header's.
func (r *Reader) fieldsError(rec []string, line int) error {
	n := len(rec)
	for n > r.head.width && strings.TrimSpace(rec[n-1]) == "" {
		n-- // empty cells past the header's columns do not count
	}
	msg := fmt.Sprintf("the row has %d columns but the header has %d", n, r.head.width)
	if n > r.head.width {
		msg += fmt.Sprintf(`; a value that contains "%c" must be in quotes`, r.info.Separator)
	}
	return &LineError{Line: line, Kind: KindFields, Msg: msg}
}

// noComments words a file with a header and no comment.
func (r *Reader) noComments() error {
	if r.info.Skipped == 0 {
		return ErrNoComments
	}
	name := quoteValue(strings.TrimSpace(r.info.Columns[r.head.col[roleText]]))
	if r.info.Skipped == 1 {
		return fmt.Errorf("%w: the %s column is empty in the only row", ErrNoComments, name)
	}
	return fmt.Errorf("%w: the %s column is empty in all %d rows", ErrNoComments, name, r.info.Skipped)
}

// readError turns an error of the CSV reader into one of the package's.
func (r *Reader) readError(err error) error {
	if tooLarge := r.in.tooLarge(); tooLarge != nil {
		return tooLarge // rather than a problem of the line it cut short
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return quoteError(pe)
	}
	return err
}

// Parse reads all the comments of the file read from r, as NewReader and
// Next do, and describes the file.
func Parse(r io.Reader, limit int64) ([]Comment, Info, error) {
	rd, err := NewReader(r, limit)
	if err != nil {
		return nil, Info{}, err
	}
	var cs []Comment
	for {
		c, err := rd.Next()
		if err == io.EOF {
			return cs, rd.Info(), nil
		}
		if err != nil {
			return nil, rd.Info(), err
		}
		cs = append(cs, c)
	}
}
