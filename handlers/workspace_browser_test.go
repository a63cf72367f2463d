package handlers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
)

// TestBrowserWorkspace drives the analyst workspace in Chromium on both
// stores: load the demo data, open a section, upload a file through the form
// (htmx, with its progress bar), run an analysis and watch it finish live;
// then a second tab of the same session shows the same workspace, open
// sections included (ui_state), and every page passes axe-core.
func TestBrowserWorkspace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		shots := screenshotDir(t)
		name := func(page string) string { return be + "-" + page }
		tab := newBrowserCtx(t)
		if err := browserLogin(tab, a.URL, "ana", `[data-testid="ws-datasets"]`); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		shoot(t, tab, shots, name("workspace-empty"))
		checkA11y(t, tab, "empty workspace")

		csv := filepath.Join(t.TempDir(), "encuesta julio.csv")
		if err := os.WriteFile(csv, []byte("comentario;rating;ciudad\nAnda re bien;5;Luque\nSe corta a cada rato;1;Limpio\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		demo := filepath.Join(t.TempDir(), "comentarios demo.csv")
		if err := os.WriteFile(demo, analysis.DemoCSV, 0o600); err != nil {
			t.Fatal(err)
		}
		// The demo file goes up through the form, whose progress bar follows
		// the upload; the page then reloads, so the listener keeps the
		// highest value it showed in sessionStorage.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.addEventListener("htmx:xhr:progress", () => {
				const bar = document.querySelector('[data-testid="upload-progress"]');
				if (bar && !bar.hidden) sessionStorage.setItem("maxProgress", String(Math.max(bar.value, Number(sessionStorage.getItem("maxProgress") || 0))));
			}); true`)); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(tab,
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="upload-file"]`), []string{demo}),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="dataset-row"]`)),
			// Open the preferences section: recorded in ui_state.
			chromedp.Click(chromedp.CSS(`#ws-preferences > summary`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="prefs-form"]`)),
			chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="upload-file"]`), []string{csv}),
			chromedp.Click(chromedp.CSS(`[data-testid="upload-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="dataset-row"]:nth-child(2)`)),
		)
		if err != nil {
			t.Fatalf("demo file and upload: %v", err)
		}
		if p, err := chromedp.Run(tab, chromedp.Evaluate[string](`sessionStorage.getItem("maxProgress") || ""`)); err != nil || p != "100" {
			t.Errorf("the upload's progress bar reached %q (%v), want 100", p, err)
		}
		names, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="dataset-name"]')].map(e => e.textContent)`))
		if err != nil || len(names) != 2 || names[0] != "comentarios demo.csv" || names[1] != "encuesta julio.csv" {
			t.Fatalf("datasets after upload: %q %v", names, err)
		}

		// Analyse the demo data: the status polls itself and the page
		// reloads with the results when it is done.
		err = chromedp.Do(tab,
			chromedp.Click(chromedp.CSS(`[data-testid="dataset-row"]:first-child [data-testid="dataset-analyse"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="results"]`)),
		)
		if err != nil {
			t.Fatalf("analysis: %v", err)
		}
		if got := textOf(t, tab, `[data-testid="analysis-state"]`); got != "done" { // Chromium asks for English
			t.Errorf("analysis state %q", got)
		}
		shoot(t, tab, shots, name("workspace-results"))
		checkA11y(t, tab, "workspace with results")

		// A second tab of the same session sees the same workspace.
		tab2, cancel := chromedp.NewContext(tab)
		defer cancel()
		err = chromedp.Do(tab2,
			chromedp.Navigate(a.URL+"/workspace"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="results"]`)),
		)
		if err != nil {
			t.Fatalf("second tab: %v", err)
		}
		open, err := chromedp.Run(tab2, chromedp.Evaluate[bool](`document.querySelector('#ws-preferences').open`))
		if err != nil || !open {
			t.Errorf("second tab: preferences section open = %v (%v), want open as the first tab left it", open, err)
		}
		rows, err := chromedp.Run(tab2, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="dataset-row"]').length`))
		if err != nil || rows != 2 {
			t.Errorf("second tab lists %d datasets (%v), want 2", rows, err)
		}
		hist, err := chromedp.Run(tab2, chromedp.Evaluate[string](`document.querySelector('[data-testid="history-table"]').textContent`))
		if got := hist; err != nil || !strings.Contains(got, "comentarios demo.csv") {
			t.Errorf("second tab history %q", got)
		}

		// The analyst switches to Spanish: the same workspace in es-PY
		// passes axe-core too.
		err = chromedp.Do(tab2,
			chromedp.Click(chromedp.CSS(`[data-testid="locale-es-PY"]`)),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="es-PY"] [data-testid="results"]`)),
		)
		if err != nil {
			t.Fatalf("switch to Spanish: %v", err)
		}
		if got := textOf(t, tab2, `[data-testid="analysis-state"]`); got != "terminado" {
			t.Errorf("analysis state in Spanish %q", got)
		}
		if got := textOf(t, tab2, `#ws-datasets > summary h2`); got != "Conjuntos de datos" {
			t.Errorf("datasets section in Spanish %q", got)
		}
		shoot(t, tab2, shots, name("workspace-results-es"))
		checkA11y(t, tab2, "workspace with results in Spanish")
		done := textOf(t, tab2, `[data-testid="analysis-done"]`)

		// A reload keeps everything; then an admin ends the session, the
		// analyst's next click lands on the login page with the reason, and
		// after signing in they resume it: the same datasets and results.
		err = chromedp.Do(tab2, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="results"]`)))
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		recs := sessionsOf(t, a, "ana")
		if len(recs) != 1 {
			t.Fatalf("ana has %d sessions, want 1", len(recs))
		}
		if err := a.Svc.Terminate(t.Context(), recs[0].SID, "adam", "Mantenimiento del servidor"); err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(tab2,
			chromedp.Navigate(a.URL+"/workspace"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-notice"]`)),
		)
		if err != nil {
			t.Fatalf("after termination: %v", err)
		}
		if got := textOf(t, tab2, `[data-testid="login-notice"]`); !strings.Contains(got, "Mantenimiento del servidor") {
			t.Errorf("login notice %q, want the admin's reason", got)
		}
		err = chromedp.Do(tab2,
			chromedp.SendKeys(chromedp.ID("username"), "ana"),
			chromedp.SendKeys(chromedp.ID("password"), "ana-pw"),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="recovery-offer"]`)),
		)
		if err != nil {
			t.Fatalf("sign in again: %v", err)
		}
		offered, err := chromedp.Run(tab2, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="recovery-dataset-name"]')].map(e => e.textContent)`))
		if err != nil || len(offered) != 2 {
			t.Errorf("the resume page offers datasets %q (%v), want both", offered, err)
		}
		shoot(t, tab2, shots, name("resume-es"))
		checkA11y(t, tab2, "resume page in Spanish")
		err = chromedp.Do(tab2,
			chromedp.Click(chromedp.CSS(`[data-testid="resume"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="results"]`)),
		)
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if got := textOf(t, tab2, `[data-testid="analysis-done"]`); got != done {
			t.Errorf("after resuming the results say %q, want %q as before", got, done)
		}
		if n := len(sessionsOf(t, a, "ana")); n != 1 {
			t.Errorf("ana has %d sessions after resuming, want 1", n)
		}
	})
}
