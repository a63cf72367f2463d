package views

import (
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// workspaceProps is a workspace with a finished analysis of a large
// dataset, a failed one in the history, and hostile file names and texts.
func workspaceProps() WorkspaceProps {
	lp := signedIn("analyst")
	run := WSRun{ID: "AAAAAAAAAAAA", Dataset: "d1", DatasetName: "julio.csv", Status: "done", Comments: 12345,
		QueuedAt: now.Add(-3 * time.Minute), FinishedAt: now.Add(-2 * time.Minute)}
	res := &analysis.Result{
		Comments:  12345,
		Sentiment: analysis.Distribution{Positive: 1234, Neutral: 111, Negative: 11000},
		Themes: []analysis.ThemeStat{
			{Theme: analysis.ThemeCustomerService, Label: "Atención al cliente", Count: 2500,
				Distribution: analysis.Distribution{Positive: 1000, Neutral: 500, Negative: 1000},
				Examples:     []analysis.Example{{Line: 2, Text: hostile, Sentiment: analysis.Negative}}},
			{Theme: "wifi", Label: "Wi-Fi del hogar", Count: 3},
		},
		TopTerms: []analysis.TermCount{{Term: "conexión", Count: 1500}},
		ByRating: []analysis.Breakdown{{Key: "5", Count: 8, Distribution: analysis.Distribution{Positive: 1}}, {Key: analysis.KeyNone, Count: 2}},
		ByCity:   []analysis.Breakdown{{Key: "Luque", Count: 3}, {Key: analysis.KeyOther, Count: 1}},
	}
	return WorkspaceProps{
		Home: HomeProps{Layout: lp, ShortSID: "abc", Role: "analyst", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(20 * time.Minute), Now: now},
		Datasets: []WSDataset{{ID: "d1", Name: hostile, Bytes: 1_572_864, Comments: 12345, Encoding: "UTF-8", Separator: ";",
			UploadedAt: now.Add(-5 * time.Minute), Current: true}},
		Status:  AnalysisStatusProps{Run: &run, Progress: 100, CSRFToken: "t"},
		Results: res,
		History: []WSRun{run, {ID: "BBBBBBBBBBBB", DatasetName: "viejo.csv", Status: "failed", Error: "the analysis service answered 502",
			Comments: 10, FinishedAt: now.Add(-time.Hour)}},
		PageSize: 10, Columns: []string{"comment", "sentiment", "themes", "date"}, PageSizes: []int{10, 25},
		AllColumns: []string{"comment", "sentiment", "themes", "rating", "city", "date"},
		Rows: []analysis.Row{{Line: 2, Text: hostile, Sentiment: analysis.Negative, Date: "2026-07-03",
			Themes: []string{analysis.ThemeCustomerService, "wifi"}}},
		RowsTotal: 12345, Page: 2, MaxUploadMB: 20,
	}
}

// TestWorkspaceLanguages renders the workspace in both languages: headings,
// statuses, sentiments, themes by key (the analysis' own label for a theme
// the catalogs do not know), numbers, percentages, sizes and dates as the
// locale writes them.
func TestWorkspaceLanguages(t *testing.T) {
	tests := []struct {
		l                                   i18n.Locale
		h1, state, done, comments, size     string
		positive, theme, unknownTheme, date string
		rowThemes, pager, sentiment, hint   string
		history                             []string
		confirm, themeCount                 string
	}{
		{i18n.EN, "Workspace", "done", "12,345 comments analysed.", "12,345", "1.5 MiB",
			"Positive 1,234 (10%)", "Customer service", "Wi-Fi del hogar", "Jul 3, 2026",
			"Customer service, Wi-Fi del hogar", "Page 2 of 1,235", "Negative", "at most 20 MiB.",
			[]string{"done", "failed", "the analysis service answered 502"}, "Delete " + hostile + "?", "2,500"},
		{i18n.ES, "Espacio de trabajo", "terminado", "Se analizaron 12.345 comentarios.", "12.345", "1,5 MiB",
			"Positivo 1.234 (10 %)", "Atención al cliente", "Wi-Fi del hogar", "03/07/2026",
			"Atención al cliente, Wi-Fi del hogar", "Página 2 de 1.235", "Negativo", "de hasta 20 MiB.",
			[]string{"terminado", "fallido", "the analysis service answered 502"}, "¿Eliminar " + hostile + "?", "2.500"},
	}
	for _, tt := range tests {
		t.Run(tt.l.String(), func(t *testing.T) {
			p := renderIn(t, tt.l, WorkspacePage(workspaceProps()))
			assertSafe(t, p)
			if h1 := p.all(byTag("h1")); len(h1) != 1 || text(h1[0]) != tt.h1 {
				t.Errorf("h1 = %v, want %q", h1, tt.h1)
			}
			for id, want := range map[string]string{
				"analysis-state": tt.state, "analysis-done": tt.done, "dataset-comments": tt.comments,
				"dataset-size": tt.size, "comment-date": tt.date,
				"comment-themes": tt.rowThemes, "comments-page": tt.pager, "comment-sentiment": tt.sentiment,
			} {
				if got := text(p.one(t, id)); got != want {
					t.Errorf("%s = %q, want %q", id, got, want)
				}
			}
			if counts := p.testIDs("theme-count"); len(counts) != 2 || text(counts[0]) != tt.themeCount {
				t.Errorf("theme counts %v, want %q first", counts, tt.themeCount)
			}
			if got := text(ancestor(p.one(t, "sentiment-positive"), "div")); got != tt.positive {
				t.Errorf("positive bar = %q, want %q", got, tt.positive)
			}
			labels := p.testIDs("theme-label")
			if len(labels) != 2 || text(labels[0]) != tt.theme || text(labels[1]) != tt.unknownTheme {
				t.Errorf("theme labels: %v", labels)
			}
			if got := text(p.one(t, "upload-hint")); !strings.HasSuffix(got, tt.hint) {
				t.Errorf("upload hint = %q, want it to end %q", got, tt.hint)
			}
			var hist []string
			for _, n := range p.testIDs("history-status") {
				hist = append(hist, text(n))
			}
			hist = append(hist, text(p.one(t, "history-why")))
			if strings.Join(hist, "|") != strings.Join(tt.history, "|") {
				t.Errorf("history = %q, want %q", hist, tt.history)
			}
			form := ancestor(p.one(t, "dataset-delete"), "form")
			if got, _ := attr(form, "data-confirm"); got != tt.confirm {
				t.Errorf("delete confirmation = %q, want %q", got, tt.confirm)
			}
		})
	}

	// The Spanish page has no English words left in its own texts.
	p := renderIn(t, i18n.ES, WorkspacePage(workspaceProps()))
	main := p.all(byTag("main"))
	if len(main) != 1 {
		t.Fatalf("found %d <main>", len(main))
	}
	body := text(main[0])
	body = strings.ReplaceAll(body, hostile, "")
	for _, english := range []string{"Datasets", "Upload", "Analyse", "Delete", "Sentiment", "Themes", "Comments", "Page ",
		"Previous", "History", "Preferences", "Positive", "Negative", "current", "Download", "Your session",
		"Top terms", "By rating", "By city", "(none)", "(other)", "Save", "Role"} {
		if strings.Contains(body, english) {
			t.Errorf("the Spanish workspace says %q", english)
		}
	}
}

func TestAnalysisStatusLanguages(t *testing.T) {
	run := WSRun{ID: "x", Dataset: "d", DatasetName: "julio.csv", Status: "running"}
	for l, want := range map[i18n.Locale][2]string{i18n.ES: {"en curso", "42 %"}, i18n.EN: {"running", "42%"}} {
		p := renderIn(t, l, AnalysisStatus(AnalysisStatusProps{Run: &run, Progress: 42}))
		if got := text(p.one(t, "analysis-state")); got != want[0] {
			t.Errorf("%s: state %q, want %q", l, got, want[0])
		}
		if got := text(p.one(t, "analysis-percent")); got != want[1] {
			t.Errorf("%s: percent %q, want %q", l, got, want[1])
		}
		if got, _ := attr(p.one(t, "analysis-state"), "data-status"); got != "running" {
			t.Errorf("%s: data-status %q", l, got)
		}
	}
	p := renderIn(t, i18n.ES, AnalysisStatus(AnalysisStatusProps{}))
	if got := text(p.all(byTag("p"))[0]); got != "Todavía no hay análisis: elegí Analizar junto a un conjunto de datos." {
		t.Errorf("no analysis = %q", got)
	}
}
