package handlers

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// TestParseProblem checks the words for every kind of problem the parser
// reports at a line, and the fallback for a kind without its own words: the
// parser's English inside a translated sentence, with the line's number.
func TestParseProblem(t *testing.T) {
	es, en := i18n.WithLocale(t.Context(), i18n.ES), i18n.WithLocale(t.Context(), i18n.EN)
	for _, kind := range []string{comments.KindQuote, comments.KindFields, comments.KindRating, comments.KindDate,
		comments.KindEncoding, comments.KindTooLong} {
		err := fmt.Errorf("wrapped: %w", &comments.LineError{Line: 1234, Kind: kind, Msg: "english words"})
		got := parseProblem(es, err)
		if got == "" || got[:len("Línea 1234: ")] != "Línea 1234: " {
			t.Errorf("%s in Spanish: %q, want it to start with the line", kind, got)
		}
		if s := parseProblem(en, err); s[:len("Line 1234: ")] != "Line 1234: " || s == got {
			t.Errorf("%s in English: %q", kind, s)
		}
	}
	unknown := &comments.LineError{Line: 7, Kind: "bom", Msg: "a stray byte order mark"}
	if got := parseProblem(es, unknown); got != "Línea 7: a stray byte order mark." {
		t.Errorf("unknown kind in Spanish: %q", got)
	}
	if got := parseProblem(en, unknown); got != "Line 7: a stray byte order mark." {
		t.Errorf("unknown kind in English: %q", got)
	}
	for _, err := range []error{comments.ErrEmpty, comments.ErrNotText, comments.ErrNoTextColumn, comments.ErrDuplicateColumn,
		comments.ErrNoComments, comments.ErrTooManyRows} {
		wrapped := fmt.Errorf("%w: details", err)
		if s, e := parseProblem(es, wrapped), parseProblem(en, wrapped); s == "" || e == "" || s == e {
			t.Errorf("%v: %q / %q, want words in each language", err, s, e)
		}
	}
	if got := parseProblem(en, comments.ErrTooManyRows); got != "The file has too many rows: the most it may have is 200,000." {
		t.Errorf("too many rows: %q", got)
	}
	if got := parseProblem(es, errors.New("something else")); got != "" {
		t.Errorf("an unknown error: %q, want none", got)
	}
}

// TestRunErrorText checks that every reason the service records for a
// failed or interrupted analysis (sessionsvc/analyses.go) is translated, and
// that another one (an analyzer's) is kept as it is.
func TestRunErrorText(t *testing.T) {
	es, en := i18n.WithLocale(t.Context(), i18n.ES), i18n.WithLocale(t.Context(), i18n.EN)
	// Every reason code the service sets (sessionsvc/analyses.go).
	codes := []string{sessionsvc.ReasonQueueFull, sessionsvc.ReasonNoFiles, sessionsvc.ReasonDatasetDeleted,
		sessionsvc.ReasonDatasetUnreadable, sessionsvc.ReasonNotSaved, sessionsvc.ReasonStoppedOrEnded,
		sessionsvc.ReasonSessionEnded, sessionsvc.ReasonRestartedOrEnded, sessionsvc.ReasonStoppedBefore}
	var known []sessionsvc.AnalysisRun
	for _, c := range codes {
		known = append(known, sessionsvc.AnalysisRun{Status: sessionsvc.StatusFailed, Reason: c, Error: "English text of " + c})
	}
	seen := map[string]bool{}
	for _, r := range known {
		s, e := runErrorText(es, r), runErrorText(en, r)
		if s == r.Error || e == r.Error || s == e || seen[s] {
			t.Errorf("%s %q: %q / %q, want its own words in each language", r.Status, r.Reason, s, e)
		}
		seen[s] = true
	}
	if got := runErrorText(es, sessionsvc.AnalysisRun{Status: sessionsvc.StatusFailed, Error: "the analysis service answered 502"}); got != "the analysis service answered 502" {
		t.Errorf("an analyzer's error: %q, want it as it is", got)
	}
	if got := runErrorText(es, sessionsvc.AnalysisRun{Status: sessionsvc.StatusDone}); got != "" {
		t.Errorf("a finished run: %q", got)
	}
}
