package analysis

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

func TestWriteCSV(t *testing.T) {
	in := []comments.Comment{
		{Line: 2, Text: "=HYPERLINK(\"http://x\",\"clic\") lento", Rating: 1, Date: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), City: "+Luque"},
		{Line: 3, Text: "-2 estrellas, \"pésimo\"\ny se corta", City: "@Asunción"},
		{Line: 5, Text: "\tTAB excelente, rápido", Rating: 5, City: "Ñemby"},
		{Line: 6, Text: "excelente; sin cortes", City: "=1+1"},
	}
	res, err := New().Analyze(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("WriteCSV wrote bad CSV: %v\n%s", err, buf.String())
	}
	want := [][]string{
		{"line", "sentiment", "score", "themes", "rating", "date", "city", "text"},
		{"2", "negative", "-0.724", "speed", "1", "2026-03-04", "'+Luque", "'=HYPERLINK(\"http://x\",\"clic\") lento"},
		{"3", "negative", "-0.914", "outages", "", "", "'@Asunción", "'-2 estrellas, \"pésimo\"\ny se corta"},
		{"5", "positive", "0.931", "", "5", "", "Ñemby", "'\tTAB excelente, rápido"},
		{"6", "positive", "0.882", "outages", "", "", "'=1+1", "excelente; sin cortes"},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("CSV:\n%q\nwant\n%q", recs, want)
	}
}

func TestWriteJSON(t *testing.T) {
	res, err := New().Analyze(context.Background(), demo(t)[:50], nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"comments":50`, `"sentiment":{"positive":`, `"themes":[{"theme":`, `"top_terms":[`,
		`"by_rating":[{"key":"1"`, `"by_city":[`, `"by_month":[`, `"rows":[{"line":2,`, `"no_theme":`, `"engine":"builtin/1"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	var back Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || !reflect.DeepEqual(&back, res) {
		t.Errorf("JSON does not round-trip: %v", err)
	}
}
