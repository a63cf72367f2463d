package comments

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// sniffSize is how much of the file decides its encoding: the first 64 KiB,
// or the 64 KiB from the first non-ASCII byte on.
const sniffSize = 64 << 10

// The values of Info.Encoding.
const (
	encUTF8    = "utf-8"
	encUTF8BOM = "utf-8-bom"
	encLatin1  = "latin-1"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// limitReader reads from r until more than limit bytes came: then it fails
// with ErrTooLarge, having read at most limit+1 bytes.
type limitReader struct {
	r     io.Reader
	limit int64
	left  int64 // bytes that may still come
	err   error // ErrTooLarge, wrapped, once the limit was passed
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one more byte tells whether the limit is passed
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.err = fmt.Errorf("%w: the limit is %s", ErrTooLarge, formatSize(l.limit))
		n, l.left = int(l.left), 0
		return n, l.err
	}
	l.left -= int64(n)
	return n, err
}

// input turns an uploaded file into UTF-8 text for the CSV reader. It
// enforces the size limit, drops a UTF-8 byte order mark, and reads Latin-1
// files as Windows-1252, the superset of Latin-1 that spreadsheets write.
//
// While every byte so far was ASCII, which reads the same either way, the
// encoding is undecided. The first non-ASCII byte decides it: if the 64 KiB
// from there on are valid UTF-8 the file is UTF-8, else Latin-1. A file
// decided UTF-8 is passed on as it is; the reader of the cells reports the
// line of any bytes in it that are not UTF-8 after all.
type input struct {
	limit *limitReader
	src   *bufio.Reader
	enc   string    // "" while undecided
	latin io.Reader // the decoder, once enc is encLatin1
}

// newInput sniffs the start of r and returns the input reading it.
func newInput(r io.Reader, limit int64) (*input, error) {
	lr := &limitReader{r: r, limit: limit, left: limit}
	in := &input{limit: lr, src: bufio.NewReaderSize(lr, sniffSize)}
	head, err := in.src.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(head) == 0 {
		return nil, ErrEmpty
	}
	// UTF-16 ("Unicode text" in Excel) has a byte order mark and zero bytes
	// for the ASCII letters; Excel workbooks, zipped or not, zero bytes.
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) ||
		bytes.IndexByte(head, 0) >= 0 {
		return nil, fmt.Errorf(`%w: it may be an Excel workbook or a "Unicode text" file; `+
			`save it as "CSV UTF-8" and upload it again`, ErrNotText)
	}
	if bytes.HasPrefix(head, utf8BOM) {
		in.src.Discard(len(utf8BOM))
		in.enc = encUTF8BOM
	}
	return in, nil
}

// encoding is the encoding as decided so far: a file that was ASCII up to
// here is UTF-8 too.
func (in *input) encoding() string {
	if in.enc == "" {
		return encUTF8
	}
	return in.enc
}

// tooLarge returns the ErrTooLarge error once the limit was passed, else nil.
func (in *input) tooLarge() error {
	return in.limit.err
}

func (in *input) Read(p []byte) (int, error) {
	switch in.enc {
	case encUTF8, encUTF8BOM:
		return in.src.Read(p)
	case encLatin1:
		return in.latin.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := in.src.Peek(1); err != nil {
		return 0, err
	}
	buf, _ := in.src.Peek(in.src.Buffered())
	if i := indexNonASCII(buf); i != 0 {
		if i > 0 {
			buf = buf[:i]
		}
		n := copy(p, buf)
		in.src.Discard(n)
		return n, nil
	}
	chunk, err := in.src.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return 0, err
	}
	if validUTF8(chunk, err == io.EOF) {
		in.enc = encUTF8
	} else {
		in.enc = encLatin1
		in.latin = transform.NewReader(in.src, charmap.Windows1252.NewDecoder())
	}
	return in.Read(p)
}

// indexNonASCII returns the index of the first byte of b that is not ASCII,
// or -1.
func indexNonASCII(b []byte) int {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

// validUTF8 reports whether b is valid UTF-8. Unless b is the end of the
// file, a character cut short at its end does not count against it.
func validUTF8(b []byte, atEOF bool) bool {
	if !atEOF {
		for i := len(b) - 1; i >= 0 && i >= len(b)-(utf8.UTFMax-1); i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}
