package analysis

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

var update = flag.Bool("update", false, "rewrite testdata/demo_comments.csv from the generator")

// parseDemo reads a demo-format CSV into comments the way the upload parser
// would (it is another package's job; this is only for the tests).
func parseDemo(tb testing.TB, data []byte) []comments.Comment {
	tb.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	if strings.Join(header, ",") != "comentario,rating,fecha,ciudad" {
		tb.Fatalf("header %q", header)
	}
	var out []comments.Comment
	for {
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			tb.Fatal(err)
		}
		line, _ := r.FieldPos(0)
		c := comments.Comment{Line: line, Text: rec[0], City: rec[3]}
		if rec[1] != "" {
			if c.Rating, err = strconv.Atoi(rec[1]); err != nil {
				tb.Fatalf("line %d: rating %q", line, rec[1])
			}
		}
		if rec[2] != "" {
			if c.Date, err = time.Parse("2006-01-02", rec[2]); err != nil {
				tb.Fatalf("line %d: date %q", line, rec[2])
			}
		}
		out = append(out, c)
	}
	return out
}

func TestDemoData(t *testing.T) {
	gen := generateDemo()
	data := encodeDemo(gen)
	if *update {
		if err := os.WriteFile("testdata/demo_comments.csv", data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/demo_comments.csv: %d comments, %d bytes", len(gen), len(data))
		return
	}
	if !bytes.Equal(data, DemoCSV) {
		t.Fatal("testdata/demo_comments.csv is not what the generator makes: go test ./sessionsvc/analysis -run TestDemoData -update")
	}
}

// The upload parser reads the demo file as the tests do.
func TestDemoThroughParser(t *testing.T) {
	got, info, err := comments.Parse(bytes.NewReader(DemoCSV), comments.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	want := parseDemo(t, DemoCSV)
	if info.Rows != len(want) || len(got) != len(want) {
		t.Fatalf("parser: %d comments (%+v), want %d", len(got), info, len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("parser: %+v, want %+v", got[i], want[i])
		}
	}
}
