package views

import (
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

// TestRecoveryPageWork checks that the resume page says what resuming
// restores: the datasets with their comments, the last analysis and when,
// and where the analyst was.
func TestRecoveryPageWork(t *testing.T) {
	lp := signedIn("analyst")
	offers := []RecoveryOffer{
		{SID: "s1", ShortSID: "s1", EndedAt: now.Add(-time.Minute), ExpiresAt: now.Add(59 * time.Minute),
			Page: "/workspace", Section: "history", Files: 3, Analyses: 1, Processing: "done",
			Datasets:     []RecoveryDataset{{Name: hostile, Comments: 1987}, {Name: "agosto.csv", Comments: 1}},
			LastAnalysis: &RecoveryAnalysis{DatasetName: hostile, Status: "done", QueuedAt: now.Add(-6 * time.Minute), FinishedAt: now.Add(-5 * time.Minute)}},
		{SID: "s2", ShortSID: "s2", EndedAt: now.Add(-time.Minute), ExpiresAt: now.Add(59 * time.Minute),
			Page: "/admin/sessions", Section: "upload", Processing: "running",
			LastAnalysis: &RecoveryAnalysis{DatasetName: "julio.csv", Status: "running", QueuedAt: now.Add(-2 * time.Minute)}},
	}
	tests := []struct {
		l                       i18n.Locale
		page, section, ds0, ds1 string
		last0, last1            string
	}{
		{i18n.ES, "Espacio de trabajo", "En el espacio de trabajo: Historial", hostile + " (1.987 comentarios)", "agosto.csv (1 comentario)",
			"Último análisis: " + hostile + ", terminado hace 5 min",
			"Último análisis: julio.csv, cortado al terminar la sesión (empezó hace 2 min); vas a poder ejecutarlo de nuevo."},
		{i18n.EN, "Workspace", "In the workspace: History", hostile + " (1,987 comments)", "agosto.csv (1 comment)",
			"Last analysis: " + hostile + ", finished 5 min ago",
			"Last analysis: julio.csv, cut off when the session ended (started 2 min ago); you can run it again."},
	}
	for _, tt := range tests {
		t.Run(tt.l.String(), func(t *testing.T) {
			p := renderIn(t, tt.l, RecoveryPage(RecoveryProps{Layout: lp, Now: now, Home: "/workspace", Offers: offers}))
			assertSafe(t, p)
			pages := p.testIDs("recovery-page")
			if len(pages) != 2 {
				t.Fatalf("%d page cells", len(pages))
			}
			if got := text(pages[0]); got != tt.page+" "+tt.section {
				t.Errorf("page = %q, want %q", got, tt.page+" "+tt.section)
			}
			if got := text(pages[1]); got != "/admin/sessions" {
				t.Errorf("an unknown page = %q, want its path (and no section for the default)", got)
			}
			ds := p.testIDs("recovery-dataset")
			if len(ds) != 2 || text(ds[0]) != tt.ds0 || text(ds[1]) != tt.ds1 {
				t.Errorf("datasets: %v, want %q and %q", ds, tt.ds0, tt.ds1)
			}
			last := p.testIDs("recovery-last-analysis")
			if len(last) != 2 || text(last[0]) != tt.last0 || text(last[1]) != tt.last1 {
				t.Errorf("last analyses: %v, want %q and %q", last, tt.last0, tt.last1)
			} else if len(p.all(func(n *html.Node) bool { return n.Data == "time" && ancestor(n, "div") == last[0] })) != 1 {
				t.Errorf("the last analysis' time is not a <time>")
			}
		})
	}
}
