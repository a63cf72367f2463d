package comments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// day is midnight UTC of a date, as a date without a time reads.
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// latin1 encodes s, all of whose characters are Latin-1, in Latin-1.
func latin1(t testing.TB, s string) []byte {
	t.Helper()
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			t.Fatalf("latin1: %q is not Latin-1", r)
		}
		b = append(b, byte(r))
	}
	return b
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameComments reports how got differs from want, or "".
func sameComments(got, want []Comment) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d comments, want %d:\n got  %+v\n want %+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Line != w.Line || g.Text != w.Text || g.Rating != w.Rating || !g.Date.Equal(w.Date) || g.City != w.City {
			return fmt.Sprintf("comment %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
	return ""
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []Comment
		info Info // Columns not compared
	}{{
		name: "utf-8 comma",
		in:   readFile(t, "utf8.csv"),
		want: []Comment{
			{Line: 2, Text: "Muy buen servicio", Rating: 5, Date: day(2024, 3, 1), City: "Asunción"},
			{Line: 3, Text: "Lento, a veces se corta", Rating: 2, Date: day(2024, 3, 2), City: "Luque"},
			{Line: 4, Text: "Señal débil en la habitación", Rating: 3, Date: day(2024, 3, 5), City: "San Lorenzo"},
		},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 3},
	}, {
		name: "utf-8 with BOM semicolon CRLF",
		in:   readFile(t, "utf8_bom_semicolon.csv"),
		want: []Comment{
			{Line: 2, Text: "Excelente atención, gracias", Rating: 5, Date: day(2024, 2, 1), City: "Encarnación"},
			{Line: 3, Text: `El técnico dijo "mañana" y no vino`, Rating: 1, Date: day(2024, 2, 3), City: "Ñemby"},
			{Line: 6, Text: "Instalación rápida", Rating: 4},
		},
		info: Info{Encoding: "utf-8-bom", Separator: ';', Rows: 4, Skipped: 1},
	}, {
		name: "latin-1 semicolon",
		in:   readFile(t, "latin1_semicolon.csv"),
		want: []Comment{
			{Line: 2, Text: "Señal débil en Encarnación", Rating: 3, Date: day(2024, 1, 15), City: "Encarnación"},
			{Line: 3, Text: "Buena atención, pero la instalación tardó", Rating: 4, Date: day(2024, 1, 16), City: "Caacupé"},
			{Line: 4, Text: "Precio: 150.000 Gs. ¿Descuento? ¡Sí!", Rating: 5, Date: day(2024, 1, 17), City: "Ciudad del Este"},
		},
		info: Info{Encoding: "latin-1", Separator: ';', Rows: 3},
	}, {
		name: "latin-1 comma",
		in:   latin1(t, "comentario,ciudad\nla señal se cae,Asunción\n"),
		want: []Comment{{Line: 2, Text: "la señal se cae", City: "Asunción"}},
		info: Info{Encoding: "latin-1", Separator: ',', Rows: 1},
	}, {
		name: "windows-1252 punctuation",
		in:   []byte("comentario\n\x93bien\x94 \x80 100\n"),
		want: []Comment{{Line: 2, Text: "“bien” € 100"}},
		info: Info{Encoding: "latin-1", Separator: ';', Rows: 1},
	}, {
		name: "multi-line quoted fields",
		in:   readFile(t, "multiline.csv"),
		want: []Comment{
			{Line: 2, Text: "Primera línea\nsegunda línea\ntercera línea", Rating: 4, City: "Luque"},
			{Line: 5, Text: "Corto", Rating: 5, City: "Capiatá"},
			{Line: 6, Text: "Otro\ncon CRLF", Rating: 3},
		},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 3},
	}, {
		name: "hostile values pass through",
		in:   []byte("comentario,ciudad\n\"<script>alert(\"\"x\"\")</script>\",'; DROP TABLE x; --\n\"=HYPERLINK(\"\"x\"\")\",<b>\n"),
		want: []Comment{
			{Line: 2, Text: `<script>alert("x")</script>`, City: "'; DROP TABLE x; --"},
			{Line: 3, Text: `=HYPERLINK("x")`, City: "<b>"},
		},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 2},
	}, {
		name: "one column with commas in comments reads as semicolon",
		in:   []byte("Comentario\nBien, gracias\nMal, muy mal, lento\n"),
		want: []Comment{{Line: 2, Text: "Bien, gracias"}, {Line: 3, Text: "Mal, muy mal, lento"}},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 2},
	}, {
		name: "header names: case, spaces, accents, unknown columns",
		in:   []byte("id; CALIFICACIÓN ;Fecha;nombre;  Texto  ;Ciudad\n7;2;2024-01-02;Ana;hola;Luque\n"),
		want: []Comment{{Line: 2, Text: "hola", Rating: 2, Date: day(2024, 1, 2), City: "Luque"}},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 1},
	}, {
		name: "header with a combining accent",
		in:   []byte("comentario,calificacio\u0301n\nok,3\n"),
		want: []Comment{{Line: 2, Text: "ok", Rating: 3}},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 1},
	}, {
		name: "blank lines and empty comments skipped",
		in:   []byte("\n\ncomentario,ciudad\n\n,Luque\n   ,CDE\n,,\n   \nhola,Limpio\n"),
		want: []Comment{{Line: 9, Text: "hola", City: "Limpio"}},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 3, Skipped: 2},
	}, {
		name: "empty cells past the header's columns",
		in:   []byte("comentario;fecha;;\nuno;2024-01-02\ndos;2024-01-03;;;\n"),
		want: []Comment{{Line: 2, Text: "uno", Date: day(2024, 1, 2)}, {Line: 3, Text: "dos", Date: day(2024, 1, 3)}},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 2},
	}, {
		name: "ratings",
		in:   []byte("comentario;rating\na;4\nb; 4 \nc;4.0\nd;4,00\ne;04\nf;\n"),
		want: []Comment{
			{Line: 2, Text: "a", Rating: 4}, {Line: 3, Text: "b", Rating: 4}, {Line: 4, Text: "c", Rating: 4},
			{Line: 5, Text: "d", Rating: 4}, {Line: 6, Text: "e", Rating: 4}, {Line: 7, Text: "f"},
		},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 6},
	}, {
		name: "dates",
		in: []byte("comentario;fecha\na;2024-01-02\nb;02/01/2024\nc;2/1/2024\nd;02-01-2024\n" +
			"e;2024-01-02T15:04:05-03:00\nf;02/01/2024 15:04\ng;2024-01-02 15:04:05\nh;\n"),
		want: []Comment{
			{Line: 2, Text: "a", Date: day(2024, 1, 2)},
			{Line: 3, Text: "b", Date: day(2024, 1, 2)},
			{Line: 4, Text: "c", Date: day(2024, 1, 2)},
			{Line: 5, Text: "d", Date: day(2024, 1, 2)},
			{Line: 6, Text: "e", Date: time.Date(2024, 1, 2, 18, 4, 5, 0, time.UTC)},
			{Line: 7, Text: "f", Date: time.Date(2024, 1, 2, 15, 4, 0, 0, time.UTC)},
			{Line: 8, Text: "g", Date: time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)},
			{Line: 9, Text: "h"},
		},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 8},
	}, {
		name: "spaces before quoted values",
		in:   []byte("comentario, ciudad\n\"hola, che\", \"San Lorenzo\"\n"),
		want: []Comment{{Line: 2, Text: "hola, che", City: "San Lorenzo"}},
		info: Info{Encoding: "utf-8", Separator: ',', Rows: 1},
	}, {
		name: "no newline at the end",
		in:   []byte("comment\r\nfin"),
		want: []Comment{{Line: 2, Text: "fin"}},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 1},
	}, {
		name: "comment of the longest length",
		in:   []byte("comentario\n" + strings.Repeat("ñ", MaxTextLen) + "\n"),
		want: []Comment{{Line: 2, Text: strings.Repeat("ñ", MaxTextLen)}},
		info: Info{Encoding: "utf-8", Separator: ';', Rows: 1},
	}}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"EOF with the data", iotest.DataErrReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, info, err := Parse(rd.wrap(bytes.NewReader(tt.in)), 0)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if d := sameComments(got, tt.want); d != "" {
					t.Error(d)
				}
				info.Columns = nil
				if !reflect.DeepEqual(info, tt.info) {
					t.Errorf("Info = %+v, want %+v", info, tt.info)
				}
			})
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		is   error  // a sentinel the error wraps, or nil for a *LineError
		line int    // for a *LineError
		kind string // for a *LineError
		msg  string // the whole message, or "" not to check it
	}{
		{name: "empty", in: nil, is: ErrEmpty, msg: "the file is empty"},
		{name: "byte order mark alone", in: []byte("\uFEFF"), is: ErrEmpty},
		{name: "blank lines only", in: []byte("\n\r\n\n"), is: ErrEmpty},
		{name: "header only", in: []byte("comentario,ciudad\n"), is: ErrNoComments, msg: "the file has no comments"},
		{name: "all comments empty", in: []byte("Comentario,ciudad\n,Luque\n ,CDE\n"), is: ErrNoComments,
			msg: `the file has no comments: the "Comentario" column is empty in all 2 rows`},
		{name: "no text column", in: []byte("id,nombre,fecha\n1,Ana,2024-01-02\n"), is: ErrNoTextColumn,
			msg: `the header has no text column: expected one of comentario, comment, text (found: "id", "nombre", "fecha")`},
		{name: "no header", in: []byte("muy bueno;5\n"), is: ErrNoTextColumn,
			msg: `the header has no text column: expected one of comentario, comment, text (found: "muy bueno", "5")`},
		{name: "column named twice", in: []byte("Fecha;comentario;date\n2024-01-02;a;2024-01-02\n"), is: ErrDuplicateColumn,
			msg: `the header names a column twice: "Fecha" and "date" are both the date column`},
		{name: "text column named twice", in: []byte("comentario,Comments\n"), is: ErrDuplicateColumn},
		{name: "UTF-16", in: []byte("\xFF\xFEc\x00o\x00m\x00"), is: ErrNotText},
		{name: "zero bytes", in: []byte("PK\x03\x04\x14\x00\x06\x00"), is: ErrNotText},
		{name: "bare quote", in: []byte("comentario,rating\nok,5\nel \"técnico\" no vino,1\notro,2\n"),
			line: 3, kind: KindQuote},
		{name: "text after a closing quote", in: []byte("comentario;rating\nok;5\n\"dijo \"ya vengo\"\";1\n"),
			line: 3, kind: KindQuote},
		{name: "quote never closed", in: []byte("comentario;rating\nok;5\n\"sin cerrar;1\notro;2\nmas;3\n"),
			line: 3, kind: KindQuote},
		{name: "quote closed lines later", in: []byte("comentario;rating\nok;5\n\"sin cerrar;1\notro;2\n\"mas\";3\n"),
			line: 3, kind: KindQuote},
		{name: "broken quote in the header", in: []byte("comentario,\"rating\nok,5\n"), line: 1, kind: KindQuote},
		{name: "too many columns", in: []byte("comentario,rating\nok,5\nbien,4\nlento, caro,2\n"),
			line: 4, kind: KindFields,
			msg: `line 4: the row has 3 columns but the header has 2; a value that contains "," must be in quotes`},
		{name: "too few columns", in: []byte("comentario;rating;ciudad\nok;5;Luque\nbien;4\n"),
			line: 3, kind: KindFields, msg: "line 3: the row has 2 columns but the header has 3"},
		{name: "rating 7", in: []byte("comentario,rating\nok,7\n"), line: 2, kind: KindRating,
			msg: `line 2: rating "7" is not a whole number from 1 to 5`},
		{name: "rating 0", in: []byte("comentario,rating\nok,0\n"), line: 2, kind: KindRating},
		{name: "rating 4.5", in: []byte("comentario,rating\nok,4.5\n"), line: 2, kind: KindRating},
		{name: "rating -1", in: []byte("comentario,rating\nok,-1\n"), line: 2, kind: KindRating},
		{name: "rating +4", in: []byte("comentario,rating\nok,+4\n"), line: 2, kind: KindRating},
		{name: "rating 4.", in: []byte("comentario,rating\nok,4.\n"), line: 2, kind: KindRating},
		{name: "rating 1e0", in: []byte("comentario,rating\nok,1e0\n"), line: 2, kind: KindRating},
		{name: "rating in words", in: []byte("comentario,rating\nok,cinco\n"), line: 2, kind: KindRating},
		{name: "rating after a multi-line comment", in: []byte("comentario,rating\n\"a\nb\",6\n"), line: 3, kind: KindRating},
		{name: "date 31/02", in: []byte("comentario;fecha\nok;2024-01-02\nok;31/02/2024\n"), line: 3, kind: KindDate,
			msg: `line 3: date "31/02/2024" is not a valid date (use YYYY-MM-DD or DD/MM/YYYY)`},
		{name: "date month first", in: []byte("comentario;fecha\nok;12/31/2024\n"), line: 2, kind: KindDate},
		{name: "date two-digit year", in: []byte("comentario;fecha\nok;2/1/24\n"), line: 2, kind: KindDate},
		{name: "date before 1900", in: []byte("comentario;fecha\nok;0001-01-01\n"), line: 2, kind: KindDate},
		{name: "date in words", in: []byte("comentario;fecha\nok;ayer\n"), line: 2, kind: KindDate},
		{name: "long value quoted short", in: []byte("comentario;fecha\nok;" + strings.Repeat("x", 100) + "\n"),
			line: 2, kind: KindDate,
			msg: `line 2: date "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… is not a valid date (use YYYY-MM-DD or DD/MM/YYYY)`},
		{name: "comment too long", in: []byte("comentario\nok\n" + strings.Repeat("ñ", MaxTextLen+1) + "\n"),
			line: 3, kind: KindTooLong, msg: "line 3: the comment is 10001 characters long; the most allowed is 10000"},
		{name: "city too long", in: []byte("comentario,ciudad\nok," + strings.Repeat("a", 201) + "\n"),
			line: 2, kind: KindTooLong},
		{name: "not UTF-8 in a file marked UTF-8", in: []byte("\uFEFFcomentario\nok\nse\xf1al\n"),
			line: 3, kind: KindEncoding,
			msg: `line 3: not valid UTF-8 (the file is marked as UTF-8): save the file as "CSV UTF-8" and upload it again`},
		{name: "not UTF-8 inside a multi-line comment", in: []byte("\uFEFFcomentario;ciudad\nok;Luque\n\"uno\ndos\r\nse\xf1al\";CDE\n"),
			line: 5, kind: KindEncoding},
		{name: "not UTF-8 in the city", in: []byte("\uFEFFcomentario;ciudad\nok;Asunci\xf3n\n"),
			line: 2, kind: KindEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := Parse(bytes.NewReader(tt.in), 0)
			if err == nil {
				t.Fatalf("Parse returned %d comments and no error", len(got))
			}
			if got != nil {
				t.Errorf("Parse returned %d comments with the error", len(got))
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("error %q\nwant  %q", err, tt.msg)
			}
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Errorf("error %q is not %q", err, tt.is)
				}
				return
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %q (%T) is not a *LineError", err, err)
			}
			if le.Line != tt.line || le.Kind != tt.kind {
				t.Errorf("error %q: line %d, kind %q; want line %d, kind %q", err, le.Line, le.Kind, tt.line, tt.kind)
			}
			if strings.Contains(le.Msg, "\n") {
				t.Errorf("message %q has a line break", le.Msg)
			}
		})
	}
}

// bigFile returns a file of n rows after the header, their comments ASCII.
func bigFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("comentario;rating\n")
	for i := range n {
		fmt.Fprintf(&b, "comentario numero %d sin acentos;%d\n", i, i%5+1)
	}
	return b.Bytes()
}

func TestEncodingDecidedAtFirstNonASCII(t *testing.T) {
	// 100 KiB of ASCII, then Latin-1: the ASCII decides nothing.
	in := append(bigFile(3000), latin1(t, "la señal;2\n")...)
	cs, info, err := Parse(bytes.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Encoding != "latin-1" {
		t.Errorf("Encoding = %q, want latin-1", info.Encoding)
	}
	if last := cs[len(cs)-1]; last.Text != "la señal" || last.Line != 3002 {
		t.Errorf("last comment %+v, want \"la señal\" at line 3002", last)
	}
}

func TestNotUTF8AfterUTF8(t *testing.T) {
	// A UTF-8 ñ decides UTF-8; a Latin-1 ñ more than 64 KiB later is an
	// error at its line.
	in := []byte("comentario;rating\nseñal;5\n")
	in = append(in, bigFile(3000)[len("comentario;rating\n"):]...)
	in = append(in, "ok;1\nla se\xf1al;2\nfin;3\n"...)
	_, _, err := Parse(bytes.NewReader(in), 0)
	want := `line 3004: not valid UTF-8 (the file looked like UTF-8 up to here): save the file as "CSV UTF-8" and upload it again`
	var le *LineError
	if !errors.As(err, &le) || le.Kind != KindEncoding || err.Error() != want {
		t.Fatalf("error %v\nwant  %s", err, want)
	}
}

// endless is a file that never ends, counting the bytes read from it.
type endless struct {
	header []byte
	row    string // repeated after the header
	read   int64
}

func (e *endless) Read(p []byte) (int, error) {
	row := e.row
	if row == "" {
		row = "una fila más del archivo sin fin;3\n"
	}
	n := 0
	for n < len(p) {
		off := int(e.read) + n
		if off < len(e.header) {
			n += copy(p[n:], e.header[off:])
			continue
		}
		off = (off - len(e.header)) % len(row)
		n += copy(p[n:], row[off:])
	}
	e.read += int64(n)
	return n, nil
}

func TestLimit(t *testing.T) {
	for _, limit := range []int64{1, 100, 64<<10 - 1, 64 << 10, 1 << 20, 3<<20 + 7} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			src := &endless{header: []byte("comentario;rating\n")}
			_, _, err := Parse(src, limit)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if want := "the file is too large: the limit is " + formatSize(limit); err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if src.read > limit+1 {
				t.Errorf("read %d bytes with a limit of %d", src.read, limit)
			}
		})
	}
	t.Run("reader", func(t *testing.T) {
		src := &endless{header: []byte("comentario;rating\n")}
		rd, err := NewReader(src, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err = rd.Next()
			if err != nil {
				break
			}
			n++
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
		if src.read > 1<<20+1 {
			t.Errorf("read %d bytes with a limit of %d", src.read, 1<<20)
		}
		if n == 0 || n > 1<<20/30 {
			t.Errorf("%d comments before the error", n)
		}
		if _, again := rd.Next(); again != err {
			t.Errorf("Next after the error returned %v, want %v", again, err)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		in := bigFile(10000)
		if _, _, err := Parse(bytes.NewReader(in), int64(len(in))); err != nil {
			t.Errorf("file of exactly the limit: %v", err)
		}
		if _, _, err := Parse(bytes.NewReader(in), int64(len(in)-1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("file one byte over the limit: %v, want ErrTooLarge", err)
		}
	})
	t.Run("default", func(t *testing.T) {
		// Rows long enough for the limit to come before MaxRows.
		src := &endless{header: []byte("comentario;rating\n"), row: strings.Repeat("x", 200) + ";3\n"}
		if _, _, err := Parse(src, 0); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
		if src.read > DefaultLimit+1 {
			t.Errorf("read %d bytes with the default limit", src.read)
		}
	})
}

func TestMaxRows(t *testing.T) {
	in := []byte("comentario\n" + strings.Repeat("a\n", MaxRows))
	if cs, _, err := Parse(bytes.NewReader(in), 0); err != nil || len(cs) != MaxRows {
		t.Fatalf("%d rows: %d comments, %v", MaxRows, len(cs), err)
	}
	in = append(in, "a\n"...)
	if _, _, err := Parse(bytes.NewReader(in), 0); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("%d rows: %v, want ErrTooManyRows", MaxRows+1, err)
	}
}

func TestReader(t *testing.T) {
	rd, err := NewReader(bytes.NewReader(readFile(t, "utf8_bom_semicolon.csv")), 0)
	if err != nil {
		t.Fatal(err)
	}
	info := rd.Info()
	if info.Encoding != "utf-8-bom" || info.Separator != ';' || info.Rows != 0 ||
		strings.Join(info.Columns, "|") != "Comentario|Puntaje|Fecha|Ciudad" {
		t.Errorf("Info before Next = %+v", info)
	}
	info.Columns[0] = "changed"
	var lines []int
	for {
		c, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, c.Line)
	}
	if fmt.Sprint(lines) != "[2 3 6]" {
		t.Errorf("lines %v, want [2 3 6]", lines)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}
	if info := rd.Info(); info.Rows != 4 || info.Skipped != 1 || info.Columns[0] != "Comentario" {
		t.Errorf("Info at the end = %+v", info)
	}
}

func TestReadErrorPassedOn(t *testing.T) {
	broken := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(bigFile(5000)), iotest.ErrReader(broken))
	if _, _, err := Parse(r, 0); !errors.Is(err, broken) {
		t.Fatalf("error %v, want %v", err, broken)
	}
}

func TestQuoteErrorMessages(t *testing.T) {
	// Every quote error says what to do in words, not in CSV terms.
	for _, in := range []string{
		"comentario\nel \"x\" y\n",
		"comentario\n\"a\"b\n",
		"comentario\n\"a\nb\nc\n",
	} {
		_, _, err := Parse(strings.NewReader(in), 0)
		var le *LineError
		if !errors.As(err, &le) || le.Kind != KindQuote {
			t.Fatalf("%q: error %v, want a quote LineError", in, err)
		}
		if strings.Contains(le.Msg, "field") || !strings.Contains(le.Msg, `quote mark (")`) {
			t.Errorf("%q: message %q", in, le.Msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"utf8.csv", "utf8_bom_semicolon.csv", "latin1_semicolon.csv", "multiline.csv"} {
		f.Add(readFile(f, name))
	}
	kinds := map[string]bool{KindQuote: true, KindFields: true, KindRating: true, KindDate: true,
		KindEncoding: true, KindTooLong: true}
	sentinels := []error{ErrEmpty, ErrNotText, ErrTooLarge, ErrNoTextColumn, ErrDuplicateColumn,
		ErrNoComments, ErrTooManyRows}
	f.Fuzz(func(t *testing.T, in []byte) {
		cs, info, err := Parse(bytes.NewReader(in), 0)
		if err != nil {
			if cs != nil {
				t.Fatalf("comments with error %v", err)
			}
			var le *LineError
			switch {
			case errors.As(err, &le):
				if le.Line < 1 || !kinds[le.Kind] || le.Msg == "" {
					t.Fatalf("bad LineError %#v", le)
				}
			case !isAny(err, sentinels):
				t.Fatalf("error %q (%T) is neither a LineError nor a sentinel", err, err)
			}
		}
		line := 1
		for _, c := range cs {
			if c.Text == "" || c.Text != strings.TrimSpace(c.Text) || !utf8.ValidString(c.Text) ||
				utf8.RuneCountInString(c.Text) > MaxTextLen {
				t.Fatalf("bad text %q", c.Text)
			}
			if c.Line <= line {
				t.Fatalf("line %d after line %d", c.Line, line)
			}
			line = c.Line
			if c.Rating < 0 || c.Rating > 5 {
				t.Fatalf("rating %d", c.Rating)
			}
			if !c.Date.IsZero() && c.Date.Year() < 1900 {
				t.Fatalf("date %v", c.Date)
			}
			if !utf8.ValidString(c.City) || c.City != strings.TrimSpace(c.City) {
				t.Fatalf("bad city %q", c.City)
			}
		}
		if err == nil && info.Rows < len(cs)+info.Skipped {
			t.Fatalf("Info %+v with %d comments", info, len(cs))
		}

		// How the file arrives changes nothing.
		cs2, _, err2 := Parse(iotest.OneByteReader(bytes.NewReader(in)), 0)
		if fmt.Sprint(err) != fmt.Sprint(err2) || sameComments(cs2, cs) != "" {
			t.Fatalf("read byte by byte: %v, %v; read whole: %v, %v", cs2, err2, cs, err)
		}

		// The limit holds to the byte.
		if n := int64(len(in)); n > 1 && n <= sniffSize {
			if _, _, err := Parse(bytes.NewReader(in), n); errors.Is(err, ErrTooLarge) {
				t.Fatalf("limit %d of a file of %d bytes: %v", n, n, err)
			}
			if _, _, err := Parse(bytes.NewReader(in), n-1); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("limit %d of a file of %d bytes: %v", n-1, n, err)
			}
		}
	})
}

func isAny(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
