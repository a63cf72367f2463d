package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

// upload posts a multipart form as a browser does: the CSRF token first,
// then the file.
func upload(b *browser, name string, content []byte, hdr ...string) *response {
	b.t.Helper()
	return uploadParts(b, []string{"csrf_token", b.csrf(), "file", name}, content, hdr...)
}

// uploadParts writes fields as name/value pairs in order; the pair named
// "file" gets content under the file name given as its value.
func uploadParts(b *browser, fields []string, content []byte, hdr ...string) *response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "file" {
			w, _ := mw.CreateFormFile("file", fields[i+1])
			w.Write(content)
			continue
		}
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.app.URL+"/workspace/uploads", &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", b.UA)
	req.Header.Set("Accept-Language", b.Lang)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &response{Response: res, Body: string(raw)}
}

// sessionFiles lists every file under a session's namespace (data and tmp).
func sessionFiles(t *testing.T, a *app, sid string) []string {
	t.Helper()
	root := filepath.Join(a.Backend.filesRoot(t), "sessions", sid)
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func latin1(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

func TestWorkspaceUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be, func(c *sessionsvc.Config) { c.Storage.MaxUploadMB = 1 })
		ana, sid := signedIn(t, a, "ana")

		good := []struct {
			name    string
			content []byte
			want    int
		}{
			{"comma.csv", []byte("comentario,rating,ciudad\nAnda re bien,5,Luque\nSe corta a cada rato,1,Limpio\n"), 2},
			{"bom-semicolon.csv", append([]byte("\uFEFF"), "Comment;Rating\nExcelente servicio;5\nNo funciona;1\nNormal;3\n"...), 3},
			{"latin1.csv", latin1("texto;ciudad\nLa instalación fue rápida;Ñemby\n"), 1},
		}
		for _, tc := range good {
			res := upload(ana, tc.name, tc.content)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: status %d, want 303\n%s", tc.name, res.StatusCode, res.Body)
			}
		}
		page := ana.get("/workspace")
		d := doc(t, page.Body)
		rows := d.Find(`[data-testid="dataset-row"]`)
		if rows.Length() != len(good) {
			t.Fatalf("workspace lists %d datasets, want %d", rows.Length(), len(good))
		}
		for i, tc := range good {
			row := rows.Eq(i)
			if got := row.Find(`[data-testid="dataset-name"]`).Text(); got != tc.name {
				t.Errorf("dataset %d name %q, want %q", i, got, tc.name)
			}
			if got := row.Find(`[data-testid="dataset-comments"]`).Text(); got != fmt.Sprint(tc.want) {
				t.Errorf("%s: %s comments, want %d", tc.name, got, tc.want)
			}
		}
		if n := len(sessionFiles(t, a, sid)); n != len(good) {
			t.Errorf("namespace holds %d files, want %d: %v", n, len(good), sessionFiles(t, a, sid))
		}

		// Refused files: a precise message in the analyst's language (es-PY
		// here), and nothing left on disk.
		before := sessionFiles(t, a, sid)
		bad := []struct {
			name    string
			content []byte
			status  int
			want    string
		}{
			{"no-text.csv", []byte("id,nombre\n1,x\n"), http.StatusUnprocessableEntity, "no tiene una columna de comentarios"},
			{"quote.csv", []byte("comentario,rating\nbien,5\n\"sin cerrar,4\nmal,1\n"), http.StatusUnprocessableEntity, "Línea 3: hay unas comillas"},
			{"big.csv", append([]byte("comentario\n"), bytes.Repeat([]byte("muy lento el servicio\n"), 60000)...), http.StatusRequestEntityTooLarge, "pesa más de 1 MiB"},
			{"", []byte("comentario\nbien\n"), http.StatusUnprocessableEntity, "No se envió ningún archivo"},
		}
		for _, tc := range bad {
			res := upload(ana, tc.name, tc.content)
			if res.StatusCode != tc.status || !strings.Contains(htmlUnescape(res.Body), tc.want) {
				t.Errorf("%s: status %d, want %d with %q", tc.name, res.StatusCode, tc.status, tc.want)
			}
			if after := sessionFiles(t, a, sid); len(after) != len(before) {
				t.Errorf("%s: files %v after a refused upload, want %v", tc.name, after, before)
			}
		}

		// A hostile file name is display text, escaped on the page.
		hostile := `"><img src=x onerror=alert(1)>'.csv`
		if res := upload(ana, hostile, []byte("comment\nok\n")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("hostile name: status %d", res.StatusCode)
		}
		page = ana.get("/workspace")
		if strings.Contains(page.Body, "<img src=x") {
			t.Fatal("a file name reached the page unescaped")
		}
		if got := doc(t, page.Body).Find(`[data-testid="dataset-name"]`).Last().Text(); got != hostile {
			t.Errorf("hostile name shows as %q, want it verbatim as text", got)
		}

		// CSRF: no token, or a token after the file, is refused before
		// anything is stored.
		n := len(sessionFiles(t, a, sid))
		if res := uploadParts(ana, []string{"file", "x.csv"}, []byte("comment\nok\n")); res.StatusCode != http.StatusForbidden {
			t.Errorf("no token: status %d, want 403", res.StatusCode)
		}
		if res := uploadParts(ana, []string{"file", "x.csv", "csrf_token", ana.csrf()}, []byte("comment\nok\n")); res.StatusCode != http.StatusForbidden {
			t.Errorf("token after the file: status %d, want 403", res.StatusCode)
		}
		other, _ := signedIn(t, a, "ana")
		if res := uploadParts(ana, []string{"csrf_token", other.csrf(), "file", "x.csv"}, []byte("comment\nok\n")); res.StatusCode != http.StatusForbidden {
			t.Errorf("another session's token: status %d, want 403", res.StatusCode)
		}
		if res := uploadParts(ana, []string{"file", "x.csv"}, []byte("comment\nok\n"), "X-CSRF-Token", ana.csrf(), "HX-Request", "true"); res.StatusCode != http.StatusNoContent || res.Header.Get("HX-Redirect") == "" {
			t.Errorf("htmx upload with the header token: status %d, want 204 with HX-Redirect", res.StatusCode)
		}
		if got := len(sessionFiles(t, a, sid)); got != n+1 {
			t.Errorf("files: %d, want %d (only the htmx upload kept)", got, n+1)
		}
		// Operators have no workspace.
		olga, _ := signedIn(t, a, "olga")
		if res := upload(olga, "x.csv", []byte("comment\nok\n")); res.StatusCode != http.StatusForbidden {
			t.Errorf("operator upload: status %d, want 403", res.StatusCode)
		}
	})
}

// waitRun polls the service until the session's analysis is no longer active.
func waitRun(t *testing.T, b *browser) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res := b.get("/api/v1/session")
		var v map[string]any
		json.Unmarshal([]byte(res.Body), &v)
		if an, ok := v["analysis"].(map[string]any); ok && an["status"] != "queued" && an["status"] != "running" {
			return an
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the analysis did not finish")
	return nil
}

func TestWorkspaceAnalysis(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		ana, sid := signedIn(t, a, "ana")
		if res := ana.post("/workspace/demo", urlValues("csrf_token", ana.csrf())); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("load demo: %d", res.StatusCode)
		}
		if res := ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf())); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("start: %d\n%s", res.StatusCode, res.Body)
		}
		an := waitRun(t, ana)
		if an["status"] != "done" {
			t.Fatalf("analysis ended %v, want done", an)
		}
		id := an["id"].(string)

		page := ana.get("/workspace")
		d := doc(t, page.Body)
		if got := d.Find(`[data-testid="analysis-state"]`).Text(); got != "terminado" {
			t.Errorf("status on the page %q, want terminado", got)
		}
		if d.Find(`[data-testid="theme-row"]`).Length() != 7 {
			t.Errorf("themes table has %d rows, want 7", d.Find(`[data-testid="theme-row"]`).Length())
		}
		if n := d.Find(`[data-testid="comment-row"]`).Length(); n != 25 {
			t.Errorf("comments page has %d rows, want the default page size 25", n)
		}
		if d.Find(`[data-testid="history-row"]`).Length() != 1 {
			t.Errorf("history has %d rows, want 1", d.Find(`[data-testid="history-row"]`).Length())
		}

		// Downloads and the API.
		csvRes := ana.get("/workspace/analyses/" + id + "/download?format=csv")
		if csvRes.StatusCode != 200 || !strings.HasPrefix(csvRes.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(csvRes.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("CSV download: %d %s", csvRes.StatusCode, csvRes.Header.Get("Content-Type"))
		}
		if lines := strings.Count(csvRes.Body, "\n"); lines < 2000 {
			t.Errorf("CSV has %d lines, want a row per comment", lines)
		}
		api := ana.get("/api/v1/analyses/" + id)
		var res analysis.Result
		if err := json.Unmarshal([]byte(api.Body), &res); err != nil || api.StatusCode != 200 {
			t.Fatalf("API result: %d %v", api.StatusCode, err)
		}
		if res.Comments < 1900 || len(res.Rows) != res.Comments || res.Sentiment.Positive == 0 || res.Sentiment.Negative == 0 {
			t.Errorf("API result: %d comments, %d rows, sentiment %+v", res.Comments, len(res.Rows), res.Sentiment)
		}
		var apiErr struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		nf := ana.get("/api/v1/analyses/AAAAAAAAAAAA")
		if json.Unmarshal([]byte(nf.Body), &apiErr); nf.StatusCode != 404 || apiErr.Error.Code != "not_found" || apiErr.Error.Message == "" {
			t.Errorf("unknown analysis: %d %s", nf.StatusCode, nf.Body)
		}
		anon := a.browser().get("/api/v1/session")
		if json.Unmarshal([]byte(anon.Body), &apiErr); anon.StatusCode != 401 || apiErr.Error.Code != "unauthenticated" {
			t.Errorf("anonymous API: %d %s", anon.StatusCode, anon.Body)
		}
		// Another session of the same user cannot read this one's results.
		other, _ := signedIn(t, a, "ana")
		if r := other.get("/api/v1/analyses/" + id); r.StatusCode != 404 {
			t.Errorf("another session reads the analysis: %d", r.StatusCode)
		}

		// The analysis counts: an analysis_run event with its comments, so
		// the cost estimate is real; API calls count as api_call.
		a.Svc.FlushEvents(context.Background())
		sa, err := a.Svc.SessionAnalytics(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if sa.Analyses != 1 || sa.Comments != int64(res.Comments) || sa.Uploads != 1 || sa.APICalls < 3 {
			t.Errorf("analytics: %d analyses, %d comments, %d uploads, %d API calls; want 1 analysis of %d comments, 1 upload, >= 3 API calls",
				sa.Analyses, sa.Comments, sa.Uploads, sa.APICalls, res.Comments)
		}
		if sa.Cost.Micros == 0 {
			t.Error("estimated cost is zero")
		}

		// One analysis per session at a time; preferences change the table.
		prefs := urlValues("page_size", "10", "columns", "comment", "csrf_token", ana.csrf())
		prefs.Add("columns", "city")
		if r := ana.post("/workspace/preferences", prefs); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("preferences: %d", r.StatusCode)
		}
		d = doc(t, ana.get("/workspace?page=2").Body)
		if n := d.Find(`[data-testid="comment-row"]`).Length(); n != 10 {
			t.Errorf("page size 10 shows %d rows", n)
		}
		if n := d.Find(`[data-testid="comments-table"] th`).Length(); n != 3 {
			t.Errorf("comments table has %d columns (%s), want line + comment + city", n, d.Find(`[data-testid="comments-table"] thead`).Text())
		}
		if r := ana.post("/workspace/preferences", urlValues("page_size", "7", "columns", "comment", "csrf_token", ana.csrf())); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("bad page size: %d, want 422", r.StatusCode)
		}
		// The next session of the user keeps the preferences.
		next, _ := signedIn(t, a, "ana")
		if res := next.post("/workspace/demo", urlValues("csrf_token", next.csrf())); res.StatusCode != http.StatusSeeOther {
			t.Fatal("demo in the next session")
		}
		if sel := doc(t, next.get("/workspace").Body).Find(`[data-testid="prefs-page-size"] option[selected]`).AttrOr("value", ""); sel != "10" {
			t.Errorf("next session's page size %q, want 10", sel)
		}
	})
}

// gateAnalyzer runs the built-in analyzer but waits for its gate to open
// halfway, so tests can see a run in progress and cut it off.
type gateAnalyzer struct {
	builtin *analysis.Builtin
	gate    chan struct{}
	reached chan struct{}
	once    sync.Once
}

func (g *gateAnalyzer) Analyze(ctx context.Context, in []comments.Comment, progress func(done, total int)) (*analysis.Result, error) {
	progress(len(in)/2, len(in))
	g.once.Do(func() { close(g.reached) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.builtin.Analyze(ctx, in, progress)
}

type failAnalyzer struct{}

func (failAnalyzer) Analyze(context.Context, []comments.Comment, func(int, int)) (*analysis.Result, error) {
	return nil, fmt.Errorf("the analysis service answered 502")
}

func TestWorkspaceAnalysisStates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		cfg := testConfig(t)
		bk := newBackend(t, be, cfg)
		g := &gateAnalyzer{builtin: analysis.New(), gate: make(chan struct{}), reached: make(chan struct{})}
		a := newAppOn(t, bk, cfg, newClock(), func(o *sessionsvc.Options) { o.Analyzer = g })
		ana, _ := signedIn(t, a, "ana")
		ana.post("/workspace/demo", urlValues("csrf_token", ana.csrf()))
		ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf()))
		select {
		case <-g.reached:
		case <-time.After(10 * time.Second):
			t.Fatal("the analysis never started")
		}
		// Running, with its progress in the registry (the console's column
		// and the page's bar), and a second start refused.
		d := doc(t, ana.get("/workspace/analyses/current", "HX-Request", "true", "X-Background", "1").Body)
		if got := d.Find(`[data-testid="analysis-state"]`).Text(); got != "en curso" {
			t.Fatalf("status %q, want en curso (running)", got)
		}
		if got := d.Find(`[data-testid="analysis-percent"]`).Text(); got != "50\u00a0%" {
			t.Errorf("progress %q, want 50 %% (with a no-break space, as Spanish writes it)", got)
		}
		if d.Find(`[data-testid="analysis-status"][hx-trigger]`).Length() != 1 || d.Find(`[data-background]`).Length() != 1 {
			t.Error("a running status does not poll itself as a background request")
		}
		if r := ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf())); r.StatusCode != http.StatusConflict {
			t.Errorf("second start: %d, want 409", r.StatusCode)
		}
		// The session ends mid-run (an admin terminates it): the run stops
		// as interrupted; the recovered session offers to run it again.
		recs := sessionsOf(t, a, "ana")
		if err := a.Svc.Terminate(context.Background(), recs[0].SID, "adam", "maintenance"); err != nil {
			t.Fatal(err)
		}
		close(g.gate)
		time.Sleep(100 * time.Millisecond)
		ana.login("ana")
		var offers []string
		for _, o := range doc(t, ana.get("/recover").Body).Find(`input[name="sid"]`).Nodes {
			for _, at := range o.Attr {
				if at.Key == "value" {
					offers = append(offers, at.Val)
				}
			}
		}
		if len(offers) == 0 {
			t.Fatal("no recovery offer after the termination")
		}
		if r := ana.post("/recover", urlValues("sid", offers[0], "csrf_token", ana.csrf())); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("recover: %d\n%s", r.StatusCode, r.Body)
		}
		d = doc(t, ana.get("/workspace").Body)
		if got := d.Find(`[data-testid="analysis-state"]`).Text(); got != "interrumpido" {
			t.Fatalf("recovered status %q, want interrumpido (interrupted)", got)
		}
		if got := d.Find(`[data-testid="analysis-why"]`).Text(); got != "El servidor se reinició o la sesión terminó mientras se ejecutaba." &&
			got != "La sesión terminó mientras se ejecutaba." && got != "El servidor se detuvo o la sesión terminó mientras se ejecutaba." {
			t.Errorf("why it was interrupted: %q, want it in Spanish", got)
		}
		if d.Find(`[data-testid="analysis-rerun"]`).Length() != 1 {
			t.Fatal("no way to run the interrupted analysis again")
		}
		if d.Find(`[data-testid="dataset-row"]`).Length() != 1 {
			t.Fatal("the recovered session lost its dataset")
		}
		// Run again: it completes in the recovered session.
		ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf()))
		if an := waitRun(t, ana); an["status"] != "done" {
			t.Fatalf("rerun ended %v", an)
		}
	})
}

func TestWorkspaceAnalysisFailsAndShutdownInterrupts(t *testing.T) {
	cfg := testConfig(t)
	bk := newBackend(t, "sqlite", cfg)
	a := newAppOn(t, bk, cfg, newClock(), func(o *sessionsvc.Options) { o.Analyzer = failAnalyzer{} })
	ana, _ := signedIn(t, a, "ana")
	ana.post("/workspace/demo", urlValues("csrf_token", ana.csrf()))
	ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf()))
	if an := waitRun(t, ana); an["status"] != "failed" {
		t.Fatalf("status %v, want failed", an)
	}
	d := doc(t, ana.get("/workspace").Body)
	if got := d.Find(`[data-testid="analysis-why"]`).Text(); !strings.Contains(got, "502") {
		t.Errorf("failure reason %q", got)
	}

	// A shutdown cuts a running analysis off: it is recorded interrupted.
	g := &gateAnalyzer{builtin: analysis.New(), gate: make(chan struct{}), reached: make(chan struct{})}
	b := newAppOn(t, bk, cfg, newClock(), func(o *sessionsvc.Options) { o.Analyzer = g })
	bob := b.browser()
	bob.setCookie(ana.cookie())
	bob.post("/workspace/analyses", urlValues("csrf_token", bob.csrf()))
	<-g.reached
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.Svc.Close(ctx)
	c := newAppOn(t, bk, cfg, newClock())
	carl := c.browser()
	carl.setCookie(ana.cookie())
	if got := doc(t, carl.get("/workspace").Body).Find(`[data-testid="analysis-state"]`).Text(); got != "interrumpido" {
		t.Errorf("after shutdown the status is %q, want interrumpido (interrupted)", got)
	}
}

// TestWorkspaceLanguages renders the workspace with a finished analysis of
// the demo data for an analyst who reads Spanish (the default) and one who
// reads English: the page's own texts, statuses, sentiments, themes by key,
// and numbers in the reader's language.
func TestWorkspaceLanguages(t *testing.T) {
	tests := []struct {
		lang                                     string
		h1, notice, state, themeSpeed, positive  string
		thousands, pagePrefix, role, colComments string
	}{
		{"es-PY", "Espacio de trabajo", "Se cargaron los datos de demostración: unos 2.000 comentarios sobre el servicio de fibra.",
			"terminado", "Velocidad", "Positivo", ".", "Página 1 de ", "analista", "Comentarios"},
		{"en", "Workspace", "The demo data was loaded: about 2,000 comments about the fiber service.",
			"done", "Speed", "Positive", ",", "Page 1 of ", "analyst", "Comments"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, "sqlite")
			ana := a.browser()
			ana.Lang = tt.lang
			ana.login("ana")
			res := ana.post("/workspace/demo", urlValues("csrf_token", ana.csrf()))
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("load demo: %d", res.StatusCode)
			}
			d := doc(t, ana.get(res.Header.Get("Location")).Body)
			if got := d.Find(`[data-testid="workspace-notice"]`).Text(); got != tt.notice {
				t.Errorf("notice %q, want %q", got, tt.notice)
			}
			ana.post("/workspace/analyses", urlValues("csrf_token", ana.csrf()))
			if an := waitRun(t, ana); an["status"] != "done" {
				t.Fatalf("analysis %v", an)
			}
			d = doc(t, ana.get("/workspace").Body)
			for sel, want := range map[string]string{
				"h1": tt.h1, `[data-testid="analysis-state"]`: tt.state, `[data-testid="session-role"]`: tt.role,
				`[data-testid="theme-row"][data-theme="speed"] [data-testid="theme-label"]`: tt.themeSpeed,
				`[data-testid="sentiment"] dt:first-of-type`:                                tt.positive,
				`[data-testid="datasets-table"] th:nth-child(2)`:                            tt.colComments,
			} {
				if got := strings.TrimSpace(d.Find(sel).First().Text()); got != want {
					t.Errorf("%s = %q, want %q", sel, got, want)
				}
			}
			// The demo data has about 2,000 comments: grouped as the
			// language groups thousands, in the table and the sentence.
			count := d.Find(`[data-testid="dataset-comments"]`).Text()
			if len(count) != 5 || count[1:2] != tt.thousands {
				t.Errorf("dataset comments %q, want thousands grouped with %q", count, tt.thousands)
			}
			if got := d.Find(`[data-testid="analysis-done"]`).Text(); !strings.Contains(got, count) {
				t.Errorf("analysis done %q does not say %s comments", got, count)
			}
			if got := d.Find(`[data-testid="comments-page"]`).Text(); !strings.HasPrefix(got, tt.pagePrefix) {
				t.Errorf("pager %q, want it to start %q", got, tt.pagePrefix)
			}
			if tt.lang != "es-PY" {
				return
			}
			// No English left in the Spanish page's own texts (the comments
			// and top terms are the analysts' data, in Spanish anyway).
			main := d.Find("main").Clone()
			main.Find(`[data-testid="comment-text"], [data-testid="theme-example"], [data-testid="term"]`).Remove()
			body := main.Text()
			for _, english := range []string{"Datasets", "Upload", "Analyse", "Delete", "Sentiment", "Themes", "Page ",
				"Next", "History", "Preferences", "Positive", "Negative", "current", "Download", "Your session",
				"Top terms", "By rating", "By city", "(none)", "Save", "Speed", "Outages", "Billing", "done", "Role"} {
				if strings.Contains(body, english) {
					t.Errorf("the Spanish workspace says %q", english)
				}
			}
		})
	}
}

// TestWorkspaceUploadErrorLanguages checks that a refused file says what is
// wrong and at which line, in the analyst's language, on the page and in
// the htmx form's result area.
func TestWorkspaceUploadErrorLanguages(t *testing.T) {
	a := newApp(t, "sqlite", func(c *sessionsvc.Config) { c.Storage.MaxUploadMB = 1 })
	es, _ := signedIn(t, a, "ana")
	en := a.browser()
	en.Lang = "en"
	en.login("ana")
	badRating := []byte("comentario;rating\nbien;5\n\nmal;9\n")
	badDate := []byte("comentario,fecha\nbien,2026-07-01\nmal,31/02/2026\n")
	tests := []struct {
		b       *browser
		content []byte
		want    string
	}{
		{es, badRating, "No se subió el archivo. Línea 4: la calificación no es un número entero del 1 al 5. Corregilo y volvé a subirlo; no se guardó nada."},
		{en, badRating, "The file was not uploaded. Line 4: the rating is not a whole number from 1 to 5. Fix it and upload it again; nothing was kept."},
		{es, badDate, "No se subió el archivo. Línea 3: la fecha no es válida. Escribila como AAAA-MM-DD o DD/MM/AAAA. Corregilo y volvé a subirlo; no se guardó nada."},
		{en, badDate, "The file was not uploaded. Line 3: the date is not a valid date. Write it YYYY-MM-DD or DD/MM/YYYY. Fix it and upload it again; nothing was kept."},
		{es, []byte(""), "No se subió el archivo. El archivo está vacío. Corregilo y volvé a subirlo; no se guardó nada."},
		{en, []byte("comentario\n" + strings.Repeat("x", comments.MaxTextLen+1) + "\n"),
			"The file was not uploaded. Line 2: the comment or the city is too long (a comment may have at most 10,000 characters). Fix it and upload it again; nothing was kept."},
	}
	for _, tc := range tests {
		res := upload(tc.b, "encuesta.csv", tc.content)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.b.Lang, res.StatusCode)
			continue
		}
		if got := doc(t, res.Body).Find(`[data-testid="ws-error-datasets"]`).Text(); got != tc.want {
			t.Errorf("%s: page error\n%q, want\n%q", tc.b.Lang, got, tc.want)
		}
		hx := upload(tc.b, "encuesta.csv", tc.content, "HX-Request", "true")
		if got := doc(t, hx.Body).Find(`[data-testid="form-error"]`).Text(); got != tc.want {
			t.Errorf("%s: htmx error %q, want %q", tc.b.Lang, got, tc.want)
		}
	}
	if res := upload(en, "big.csv", append([]byte("comentario\n"), bytes.Repeat([]byte("muy lento el servicio\n"), 60000)...)); !strings.Contains(htmlUnescape(res.Body), "The file is larger than 1 MiB") {
		t.Errorf("too large in English: %d", res.StatusCode)
	}
	if res := en.post("/workspace/analyses", urlValues("csrf_token", en.csrf(), "dataset", "nope")); res.StatusCode != http.StatusUnprocessableEntity ||
		doc(t, res.Body).Find(`[data-testid="ws-error-analysis"]`).Text() != "Choose one of your datasets first: upload a file or load the demo data." {
		t.Errorf("start without a dataset in English: %d", res.StatusCode)
	}
	if res := es.get("/workspace/analyses/AAAAAAAAAAAA/download?format=csv"); res.StatusCode != http.StatusNotFound || !strings.Contains(htmlUnescape(res.Body), "No existe ese análisis en esta sesión.") {
		t.Errorf("download of an unknown analysis: %d", res.StatusCode)
	}
}
