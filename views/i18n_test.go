package views

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ppfiber/sessionconsole/views/i18n"
)

func TestLayoutLang(t *testing.T) {
	for _, l := range i18n.Supported() {
		p := renderIn(t, l, ErrorPage(ErrorProps{Layout: anonymous(), Status: 404}))
		if got, _ := attr(p.all(byTag("html"))[0], "lang"); got != l.String() {
			t.Errorf("%s: <html lang=%q>", l, got)
		}
	}
}

// TestLayoutSpanish checks the chrome of a signed-in page in es-PY: the
// navigation, the switchers, and the expiry warning's sentence around its
// countdown.
func TestLayoutSpanish(t *testing.T) {
	lp := signedIn("admin")
	lp.LanguageSwitcher = true
	p := renderIn(t, i18n.ES, ErrorPage(ErrorProps{Layout: lp, Status: 404}))
	assertSafe(t, p)
	for id, want := range map[string]string{
		"nav-console": "Panel", "nav-sessions": "Sesiones", "nav-audit": "Auditoría", "nav-system": "Sistema",
		"nav-workspace": "Espacio de trabajo", "nav-my-sessions": "Mis sesiones", "sign-out": "Cerrar sesión",
		"stay-signed-in": "Mantener la sesión", "theme-light": "Claro", "theme-dark": "Oscuro",
		"error-title": "No encontrado", "error-home": "Ir a la página de inicio",
	} {
		if got := text(p.one(t, id)); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if got, _ := attr(p.one(t, "nav"), "aria-label"); got != "Principal" {
		t.Errorf("nav aria-label = %q", got)
	}
	warn := p.one(t, "session-warning")
	if got := text(warn); !strings.HasPrefix(got, "Tu sesión termina en 2:00. Cuando termine, podrías perder") {
		t.Errorf("warning = %q", got)
	}
	if c := p.one(t, "session-warning-countdown"); ancestor(c, "div") != warn {
		t.Errorf("countdown is outside the warning")
	}
	if got := text(p.one(t, "store-banner")); !strings.HasPrefix(got, "No se puede acceder al almacén de sesiones") {
		t.Errorf("store banner = %q", got)
	}

	form := p.one(t, "language-switcher")
	if a, _ := attr(form, "action"); a != "/account/locale" {
		t.Errorf("language switcher action = %q", a)
	}
	if tok := hiddenField(t, form, "csrf_token"); tok != lp.CSRFToken {
		t.Errorf("language switcher csrf_token = %q", tok)
	}
	for l, want := range map[i18n.Locale][3]string{i18n.ES: {"Español", "es-PY", "true"}, i18n.EN: {"English", "en", "false"}} {
		b := p.one(t, "locale-"+l.String())
		value, _ := attr(b, "value")
		pressed, _ := attr(b, "aria-pressed")
		lang, _ := attr(b, "lang")
		if text(b) != want[0] || value != want[1] || pressed != want[2] || lang != want[1] {
			t.Errorf("locale-%s: %q value %q pressed %q lang %q, want %v", l, text(b), value, pressed, lang, want)
		}
	}

	// The console's pages leave the switcher out, and so do anonymous ones.
	lp.LanguageSwitcher = false
	renderIn(t, i18n.EN, ErrorPage(ErrorProps{Layout: lp, Status: 404})).none(t, "language-switcher")
	renderIn(t, i18n.ES, ErrorPage(ErrorProps{Layout: anonymous(), Status: 404})).none(t, "language-switcher")
}

func TestLoginPageLanguages(t *testing.T) {
	for _, tt := range []struct {
		l                         i18n.Locale
		h1, user, submit, current string
	}{
		{i18n.ES, "Iniciar sesión", "Usuario", "Ingresar", "es-PY"},
		{i18n.EN, "Sign in", "Username", "Sign in", "en"},
	} {
		t.Run(tt.l.String(), func(t *testing.T) {
			p := renderIn(t, tt.l, LoginPage(LoginProps{Layout: anonymous(), FormToken: "t", Next: "/recover/x?a=1&b=" + hostile}))
			assertSafe(t, p)
			if h1 := p.all(byTag("h1")); len(h1) != 1 || text(h1[0]) != tt.h1 {
				t.Errorf("h1 = %v, want %q", h1, tt.h1)
			}
			if labels := p.all(byTag("label")); len(labels) != 2 || text(labels[0]) != tt.user {
				t.Errorf("username label: %v", labels)
			}
			if got := text(p.one(t, "login-submit")); got != tt.submit {
				t.Errorf("submit = %q, want %q", got, tt.submit)
			}
			for _, l := range i18n.Supported() {
				a := p.one(t, "login-lang-"+l.String())
				href, _ := attr(a, "href")
				u, err := url.Parse(href)
				if err != nil || u.Path != "/login" || u.Query().Get("lang") != l.String() || u.Query().Get("next") != "/recover/x?a=1&b="+hostile {
					t.Errorf("login-lang-%s href = %q: want /login with lang and the same next", l, href)
				}
				if lang, _ := attr(a, "lang"); lang != l.String() || text(a) != l.Name() {
					t.Errorf("login-lang-%s: lang %q text %q", l, lang, text(a))
				}
				if cur, _ := attr(a, "aria-current"); (cur == "true") != (l.String() == tt.current) {
					t.Errorf("login-lang-%s aria-current = %q on the %s page", l, cur, tt.l)
				}
			}
		})
	}
	p := renderIn(t, i18n.ES, LoginPage(LoginProps{Layout: anonymous(), FormToken: "t", Pending: "p", Username: hostile}))
	assertSafe(t, p)
	if got := text(p.one(t, "login-code-submit")); got != "Verificar" {
		t.Errorf("code submit = %q", got)
	}
	if got := text(p.all(func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "code-hint" })[0]); got != "El código de 6 dígitos que muestra tu app de autenticación para "+hostile+"." {
		t.Errorf("code hint = %q", got)
	}
}

func TestAccountAndRecoverySpanish(t *testing.T) {
	lp := signedIn("analyst")
	p := renderIn(t, i18n.ES, AccountSessionsPage(AccountSessionsProps{
		Layout: lp, Now: now,
		Sessions: []AccountSession{
			{SID: "a", ShortSID: "a", Current: true, CreatedAt: now.Add(-2 * time.Hour), LastActive: now},
			{SID: "b", ShortSID: "b", CreatedAt: now.Add(-72 * time.Hour), LastActive: now.Add(-3 * time.Minute)},
		},
	}))
	assertSafe(t, p)
	if got := text(p.one(t, "current-session")); got != "Esta sesión" {
		t.Errorf("current badge = %q", got)
	}
	if got := text(p.one(t, "two-factor-link")); got != "Configurá el inicio de sesión en dos pasos" {
		t.Errorf("two-factor link = %q", got)
	}
	if got := text(ancestor(p.one(t, "two-factor-link"), "p")); got != "Configurá el inicio de sesión en dos pasos con una app de autenticación." {
		t.Errorf("two-factor sentence = %q", got)
	}
	if got, _ := attr(p.one(t, "end-session"), "aria-label"); got != "Cerrar la sesión b" {
		t.Errorf("end-session label = %q", got)
	}
	times := p.all(byTag("time"))
	if len(times) != 4 || text(times[0]) != "hace 2 h" || text(times[2]) != "hace 3 días" || text(times[3]) != "hace 3 min" {
		t.Errorf("relative times in Spanish: %v", times)
	}

	r := renderIn(t, i18n.ES, RecoveryPage(RecoveryProps{Layout: lp, Now: now, Home: "/workspace", Offers: []RecoveryOffer{
		{SID: "s", ShortSID: "s", Why: "Un administrador cerró tu sesión: " + hostile, EndedAt: now.Add(-time.Minute),
			ExpiresAt: now.Add(59 * time.Minute), Files: 1, Analyses: 2, Processing: "running"},
	}}))
	assertSafe(t, r)
	row := text(r.one(t, "recovery-offer"))
	for _, want := range []string{"hace 1 min", "Un administrador cerró tu sesión: " + hostile, "1 archivo, 2 análisis", "análisis: en curso", "en 59 min", "Retomar"} {
		if !strings.Contains(row, want) {
			t.Errorf("recovery row %q lacks %q", row, want)
		}
	}
	if got := text(r.one(t, "start-fresh")); got != "Empezar de cero" {
		t.Errorf("start fresh = %q", got)
	}
}

func TestTwoFactorRichText(t *testing.T) {
	lp := signedIn("analyst")
	p := renderIn(t, i18n.ES, TwoFactorPage(TwoFactorProps{Layout: lp, User: hostile, Secret: "ABC", Confirmed: true}))
	if strings.Contains(p.raw, "<script>alert") {
		t.Fatal("hostile user name rendered unescaped")
	}
	sec := p.one(t, "totp-confirmed")
	var para *html.Node
	walk(sec, func(n *html.Node) {
		if para == nil && n.Data == "p" {
			para = n
		}
	})
	want := "Agregá esta línea a la cuenta " + hostile + " en config.yaml (junto a su password_hash) y reiniciá el servidor."
	if got := text(para); !strings.HasPrefix(got, want) {
		t.Errorf("config sentence = %q, want it to start with %q", got, want)
	}
	strong := p.all(byTag("strong"))
	if len(strong) != 1 || text(strong[0]) != hostile {
		t.Errorf("the user is not the one <strong>: %v", strong)
	}

	e := renderIn(t, i18n.EN, TwoFactorPage(TwoFactorProps{Layout: lp, User: "ana", Secret: "ABC", QRDataURL: "data:image/png;base64,AA=="}))
	if got := text(ancestor(e.one(t, "totp-secret"), "p")); got != "Or type this secret: ABC" {
		t.Errorf("secret sentence = %q", got)
	}
	if alt, _ := attr(e.one(t, "totp-qr"), "alt"); alt != "QR code of the secret for ana" {
		t.Errorf("QR alt = %q", alt)
	}
}

func TestStatusTitle(t *testing.T) {
	es, en := i18n.WithLocale(t.Context(), i18n.ES), i18n.WithLocale(t.Context(), i18n.EN)
	for status, want := range map[int][2]string{
		404: {"No encontrado", "Not Found"}, 403: {"Acceso denegado", "Forbidden"},
		503: {"Servicio no disponible", "Service Unavailable"}, 418: {"I'm a teapot", "I'm a teapot"},
	} {
		if got := StatusTitle(es, status); got != want[0] {
			t.Errorf("es %d = %q, want %q", status, got, want[0])
		}
		if got := StatusTitle(en, status); got != want[1] {
			t.Errorf("en %d = %q, want %q", status, got, want[1])
		}
	}
	if got := StatusMessage(es, 404); got != "La página que buscás no existe." {
		t.Errorf("es 404 message = %q", got)
	}
	if got := StatusMessage(en, 400); got != "" {
		t.Errorf("400 message = %q, want none", got)
	}
}
