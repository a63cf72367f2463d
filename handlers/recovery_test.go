package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// writeFile puts a file into a session's namespace, as an upload would.
func writeFile(t *testing.T, a *app, sid, name, body string) {
	t.Helper()
	fm, err := files.NewManager(a.Backend.filesRoot(t), a.Cfg.Storage.QuotaBytes())
	if err != nil {
		t.Fatal(err)
	}
	ns, err := fm.Namespace(sid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	w, err := ns.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, a *app, sid, name string) (string, bool) {
	t.Helper()
	fm, _ := files.NewManager(a.Backend.filesRoot(t), a.Cfg.Storage.QuotaBytes())
	if !fm.Exists(sid) {
		return "", false
	}
	ns, err := fm.Namespace(sid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	f, err := ns.Open(name)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b), true
}

// endedWithWork signs ana in, gives her session state and a file, and has an
// admin terminate it. It returns her browser and the ended sid.
func endedWithWork(t *testing.T, a *app) (*browser, string) {
	t.Helper()
	b, sid := signedIn(t, a, "ana")
	ctx := context.Background()
	for cat, kv := range map[string][2]string{
		store.CatUserData:      {"note", "análisis de julio"},
		store.CatUIState:       {"current_page", "analysis"},
		store.CatTemporaryData: {"scratch", "drop me"},
	} {
		if _, err := a.Svc.SetStateValue(ctx, sid, cat, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, a, sid, "comentarios.csv", "comentario\nmuy buena conexión\n")
	a.Clock.Add(2 * time.Minute)
	b.get("/account/sessions") // the page she was on
	if err := a.Svc.Terminate(ctx, sid, "adam", "maintenance"); err != nil {
		t.Fatal(err)
	}
	return b, sid
}

func TestRecoveryThroughLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b, old := endedWithWork(t, a)
		assertEnded(t, b, b.get("/workspace"), "Un administrador cerró tu sesión: maintenance")

		res := b.login("ana")
		if loc := res.Header.Get("Location"); loc != "/recover" {
			t.Fatalf("after sign-in went to %q, want /recover", loc)
		}
		page := b.get("/recover")
		if page.StatusCode != 200 || strings.Count(page.Body, `data-testid="recovery-offer"`) != 1 || !strings.Contains(page.Body, "1 archivo, 0 análisis") {
			t.Fatalf("recovery page = %d\n%s", page.StatusCode, page.Body)
		}
		tok := csrfFrom(t, page.Body)
		res = b.post("/recover", url.Values{"csrf_token": {tok}, "sid": {old}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/sessions" {
			t.Fatalf("resume = %d %q\n%s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		recs := sessionsOf(t, a, "ana")
		if len(recs) != 1 || recs[0].RecoveredFrom != old || recs[0].SID == old {
			t.Fatalf("after recovery sessions = %+v", recs)
		}
		sid := recs[0].SID
		ctx := context.Background()
		st, err := a.Svc.State(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		if v := string(st.Categories[store.CatUserData].Values["note"]); v != `"análisis de julio"` {
			t.Errorf("recovered note = %s", v)
		}
		if v := string(st.Categories[store.CatUIState].Values["current_page"]); v != `"analysis"` {
			t.Errorf("recovered page = %s", v)
		}
		if _, ok := st.Categories[store.CatTemporaryData].Values["scratch"]; ok {
			t.Errorf("temporary_data survived recovery")
		}
		if body, ok := readFile(t, a, sid, "comentarios.csv"); !ok || !strings.Contains(body, "muy buena") {
			t.Errorf("file not in the recovered session: %q %v", body, ok)
		}
		if _, ok := readFile(t, a, old, "comentarios.csv"); ok {
			t.Errorf("file still in the ended session's namespace")
		}
		if res := b.get("/workspace"); res.StatusCode != 200 {
			t.Fatalf("recovered session GET = %d", res.StatusCode)
		}
		// Used once.
		res = b.post("/recover", url.Values{"csrf_token": {b.csrf()}, "sid": {old}})
		if res.StatusCode != http.StatusGone || !strings.Contains(res.Body, "ya no se puede retomar") {
			t.Errorf("second resume = %d", res.StatusCode)
		}
	})
}

func TestRecoveryRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		t.Run("expired window", func(t *testing.T) {
			a := newApp(t, be)
			b, old := endedWithWork(t, a)
			a.Clock.Add(61 * time.Minute)
			if loc := b.login("ana").Header.Get("Location"); loc == "/recover" {
				t.Errorf("offered an expired point")
			}
			res := b.post("/recover", url.Values{"csrf_token": {b.csrf()}, "sid": {old}})
			if res.StatusCode != http.StatusGone {
				t.Errorf("expired resume = %d", res.StatusCode)
			}
		})
		t.Run("another user", func(t *testing.T) {
			a := newApp(t, be)
			_, old := endedWithWork(t, a)
			o := a.browser()
			o.login("olga")
			res := o.post("/recover", url.Values{"csrf_token": {o.csrf()}, "sid": {old}})
			if res.StatusCode != http.StatusGone {
				t.Errorf("another user's resume = %d", res.StatusCode)
			}
			if n := len(sessionsOf(t, a, "ana")); n != 0 {
				t.Errorf("olga revived ana's session")
			}
		})
		t.Run("disabled", func(t *testing.T) {
			a := newApp(t, be, func(c *sessionsvc.Config) { c.Session.EnableRecovery = false })
			b, old := endedWithWork(t, a)
			if loc := b.login("ana").Header.Get("Location"); loc == "/recover" {
				t.Errorf("recovery offered while disabled")
			}
			res := b.post("/recover", url.Values{"csrf_token": {b.csrf()}, "sid": {old}})
			if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "está desactivada") {
				t.Errorf("disabled resume = %d", res.StatusCode)
			}
		})
		t.Run("logout leaves nothing to resume", func(t *testing.T) {
			a := newApp(t, be)
			b, _ := signedIn(t, a, "ana")
			b.post("/logout", urlValues("csrf_token", b.csrf()))
			if loc := b.login("ana").Header.Get("Location"); loc == "/recover" {
				t.Errorf("a logout was offered for recovery")
			}
		})
	})
}

func TestRecoveryLink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		_, old := endedWithWork(t, a)
		ctx := context.Background()
		points, err := a.Svc.UserRecoveryPoints(ctx, "ana")
		if err != nil || len(points) != 1 || points[0].SID != old {
			t.Fatalf("points = %+v %v", points, err)
		}
		token, _, err := a.Svc.IssueRecoveryLink(ctx, points[0], "adam")
		if err != nil {
			t.Fatal(err)
		}
		// Another user cannot use it.
		o := a.browser()
		o.login("olga")
		if res := o.get("/recover/" + token); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "es de otro usuario") {
			t.Errorf("olga opening ana's link = %d", res.StatusCode)
		}
		if res := o.post("/recover/"+token, urlValues("csrf_token", o.csrf())); res.StatusCode != http.StatusForbidden {
			t.Errorf("olga using ana's link = %d", res.StatusCode)
		}
		// A fresh browser is asked to sign in first, then confirms.
		b := a.browser()
		res := b.get("/recover/" + token)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=%2Frecover%2F") {
			t.Fatalf("anonymous link = %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		page := a.browser().get("/login")
		res = b.post("/login", url.Values{"username": {"ana"}, "password": {"ana-pw"}, "csrf_token": {csrfFrom(t, page.Body)}, "next": {"/recover/" + token}})
		if res.Header.Get("Location") != "/recover/"+token {
			t.Fatalf("sign-in did not return to the link: %q", res.Header.Get("Location"))
		}
		confirm := b.get("/recover/" + token)
		if confirm.StatusCode != 200 || !strings.Contains(confirm.Body, `data-testid="resume-link"`) {
			t.Fatalf("confirm page = %d", confirm.StatusCode)
		}
		res = b.post("/recover/"+token, urlValues("csrf_token", csrfFrom(t, confirm.Body)))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("use link = %d\n%s", res.StatusCode, res.Body)
		}
		recs := sessionsOf(t, a, "ana")
		if len(recs) != 1 || recs[0].RecoveredFrom != old {
			t.Fatalf("after link recovery: %+v", recs)
		}
		if res := b.post("/recover/"+token, urlValues("csrf_token", b.csrf())); res.StatusCode != http.StatusGone {
			t.Errorf("reused link = %d", res.StatusCode)
		}
		if strings.Contains(a.Logs.String(), token) {
			t.Errorf("the link's token reached the logs")
		}
	})
}

// TestRecoveryShowsWork checks that the resume page says, in the reader's
// language, what resuming restores: the session's datasets with their
// comments, its last analysis and when it finished, and where the analyst
// was.
func TestRecoveryShowsWork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be string) {
		a := newApp(t, be)
		b, sid := signedIn(t, a, "ana")
		if res := b.post("/workspace/demo", urlValues("csrf_token", b.csrf())); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("demo: %d", res.StatusCode)
		}
		b.post("/workspace/analyses", urlValues("csrf_token", b.csrf()))
		an := waitRun(t, b)
		if an["status"] != "done" {
			t.Fatalf("analysis %v", an)
		}
		if res := upload(b, "encuesta julio.csv", []byte("comentario\nanda bien\n")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload: %d", res.StatusCode)
		}
		b.post("/workspace/sections", urlValues("csrf_token", b.csrf(), "section", "history", "open", "true"))
		a.Clock.Add(3 * time.Minute)
		// The demo's comments as the workspace shows them in Spanish (about
		// 2.000), and in English.
		demoES := doc(t, b.get("/workspace").Body).Find(`[data-testid="dataset-comments"]`).First().Text()
		if !strings.Contains(demoES, ".") {
			t.Fatalf("demo comments %q, want thousands", demoES)
		}
		demoEN := strings.ReplaceAll(demoES, ".", ",")
		if err := a.Svc.Terminate(context.Background(), sid, "adam", "maintenance"); err != nil {
			t.Fatal(err)
		}

		if loc := b.login("ana").Header.Get("Location"); loc != "/recover" {
			t.Fatalf("after sign-in went to %q, want /recover", loc)
		}
		en := a.browser()
		en.Lang = "en"
		en.login("ana")
		for _, tc := range []struct {
			b                            *browser
			demo, julio, last, page, sec string
		}{
			{b, "comentarios-demo.csv (" + demoES + " comentarios)", "encuesta julio.csv (1 comentario)",
				"Último análisis: comentarios-demo.csv, terminado hace 3 min", "Espacio de trabajo", "En el espacio de trabajo: Historial"},
			{en, "comentarios-demo.csv (" + demoEN + " comments)", "encuesta julio.csv (1 comment)",
				"Last analysis: comentarios-demo.csv, finished 3 min ago", "Workspace", "In the workspace: History"},
		} {
			d := doc(t, tc.b.get("/recover").Body)
			if n := d.Find(`[data-testid="recovery-offer"]`).Length(); n != 1 {
				t.Fatalf("%s: %d offers, want 1", tc.b.Lang, n)
			}
			ds := testids(d, "recovery-dataset")
			if len(ds) != 2 || strings.Join(strings.Fields(ds[0]), " ") != tc.demo || strings.Join(strings.Fields(ds[1]), " ") != tc.julio {
				t.Errorf("%s: datasets %q, want %q and %q", tc.b.Lang, ds, tc.demo, tc.julio)
			}
			if got := strings.Join(strings.Fields(d.Find(`[data-testid="recovery-last-analysis"]`).Text()), " "); got != tc.last {
				t.Errorf("%s: last analysis %q, want %q", tc.b.Lang, got, tc.last)
			}
			page := d.Find(`[data-testid="recovery-page"]`)
			if got := strings.TrimSpace(page.Contents().First().Text()); got != tc.page {
				t.Errorf("%s: page %q, want %q", tc.b.Lang, got, tc.page)
			}
			if got := page.Find(`[data-testid="recovery-section"]`).Text(); got != tc.sec {
				t.Errorf("%s: section %q, want %q", tc.b.Lang, got, tc.sec)
			}
		}

		// Resuming restores what the page said: both datasets and the
		// finished analysis, on the workspace the analyst was on.
		res := b.post("/recover", url.Values{"csrf_token": {b.csrf()}, "sid": {sid}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/workspace" {
			t.Fatalf("resume = %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		d := doc(t, b.get("/workspace").Body)
		if names := testids(d, "dataset-name"); len(names) != 2 || names[0] != "comentarios-demo.csv" || names[1] != "encuesta julio.csv" {
			t.Errorf("resumed datasets %q", names)
		}
		if got := d.Find(`[data-testid="analysis-state"]`).Text(); got != "terminado" {
			t.Errorf("resumed analysis %q, want terminado", got)
		}
	})
}
