package i18n

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParse(t *testing.T) {
	tests := map[string]Locale{
		"es": ES, "es-PY": ES, "es-py": ES, "es-AR": ES, "es_ES": ES, "ES": ES,
		"en": EN, "en-US": EN, "en_GB": EN, "EN": EN, " en ": EN,
		"": ES, "fr": ES, "gn": ES, "english": ES, "e": ES,
	}
	for in, want := range tests {
		if got := Parse(in); got != want {
			t.Errorf("Parse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	tests := map[string]Locale{
		"":                                  ES,
		"es-PY":                             ES,
		"es-PY,es;q=0.9,en;q=0.8":           ES,
		"en-US,en;q=0.9,es;q=0.8":           EN,
		"en":                                EN,
		"EN-gb":                             EN,
		"de-DE,de;q=0.9,en;q=0.8":           EN, // prefers English to Spanish
		"de-DE,de;q=0.9":                    ES, // neither: the default
		"gn,es;q=0.9,en;q=0.8":              ES,
		"es;q=0.5,en;q=0.6":                 EN, // q-values, not order, decide
		"en;q=0,es":                         ES, // q=0 means not acceptable
		"en;q=0.9,es;q=0.9":                 EN, // a tie goes to the first
		"*":                                 ES,
		"en;q=bogus,es":                     ES,
		"fr-CH, fr;q=0.9, en;q=0.8, *;q=.5": EN,
	}
	for in, want := range tests {
		if got := FromAcceptLanguage(in); got != want {
			t.Errorf("FromAcceptLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContext(t *testing.T) {
	if got := FromContext(context.Background()); got != ES {
		t.Errorf("empty context: %q, want es-PY", got)
	}
	if got := FromContext(nil); got != ES { //nolint:staticcheck // nil must not panic
		t.Errorf("nil context: %q, want es-PY", got)
	}
	ctx := WithLocale(context.Background(), EN)
	if got := FromContext(ctx); got != EN {
		t.Errorf("WithLocale(EN): %q", got)
	}
	if got := FromContext(WithLocale(ctx, "es-AR")); got != ES {
		t.Errorf("WithLocale(es-AR): %q, want it normalized to es-PY", got)
	}
}

func ctxFor(l Locale) context.Context { return WithLocale(context.Background(), l) }

func TestT(t *testing.T) {
	es, en := ctxFor(ES), ctxFor(EN)
	if got := T(es, "login.title"); got != "Iniciar sesión" {
		t.Errorf("es login.title = %q", got)
	}
	if got := T(en, "login.title"); got != "Sign in" {
		t.Errorf("en login.title = %q", got)
	}
	// Key/value pairs and maps fill placeholders; the value is not a template.
	note := "{{.Note}} <b>"
	if got := T(es, "ended.terminated_note", "Note", note); got != "Un administrador cerró tu sesión: {{.Note}} <b>" {
		t.Errorf("pairs: %q", got)
	}
	if got := T(en, "ended.terminated_note", map[string]any{"Note": "x"}); got != "Your session was ended by an administrator: x" {
		t.Errorf("map[string]any: %q", got)
	}
	if got := T(en, "ended.terminated_note", map[string]string{"Note": "y"}); got != "Your session was ended by an administrator: y" {
		t.Errorf("map[string]string: %q", got)
	}
	// Missing ids show the id, whatever the arguments; nothing panics.
	for _, args := range [][]any{nil, {"odd"}, {1, 2}, {nil}} {
		if got := T(es, "no.such.id", args...); got != "no.such.id" {
			t.Errorf("missing id with %v = %q", args, got)
		}
	}
	if got := N(en, "no.such.plural", 3); got != "no.such.plural" {
		t.Errorf("missing plural = %q", got)
	}
}

func TestN(t *testing.T) {
	es, en := ctxFor(ES), ctxFor(EN)
	tests := []struct {
		ctx   context.Context
		count int
		want  string
	}{
		{es, 1, "Se cerró 1 sesión."},
		{es, 2, "Se cerraron 2 sesiones."},
		{es, 0, "Se cerraron 0 sesiones."},
		{es, 1234, "Se cerraron 1.234 sesiones."},
		{es, 1000000, "Se cerraron 1.000.000 sesiones."}, // CLDR "many" falls back to other
		{en, 1, "1 session was signed out."},
		{en, 1234, "1,234 sessions were signed out."},
	}
	for _, tt := range tests {
		if got := N(tt.ctx, "account.ended_notice", tt.count); got != tt.want {
			t.Errorf("N(%s, %d) = %q, want %q", FromContext(tt.ctx), tt.count, got, tt.want)
		}
	}
}

// TestFallback uses a catalog of its own: a message missing in Spanish
// shows in English, one whose Spanish template fails too.
func TestFallback(t *testing.T) {
	m, err := load(fstest.MapFS{
		"locales/x.en.yaml":    {Data: []byte("a: \"only English\"\nb: \"English {{.X}}\"\n")},
		"locales/x.es-PY.yaml": {Data: []byte("b: \"roto {{.X.Y}}\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.localize(ES, "a", nil, nil); got != "only English" {
		t.Errorf("missing in es = %q, want the English text", got)
	}
	if got := m.localize(ES, "b", nil, []any{"X", 1}); got != "English 1" {
		t.Errorf("failing es template = %q, want the English text", got)
	}
	if got := m.localize(ES, "c", nil, nil); got != "c" {
		t.Errorf("missing everywhere = %q, want the id", got)
	}
}

func TestLoadRejectsBadYAML(t *testing.T) {
	if _, err := load(fstest.MapFS{"locales/x.en.yaml": {Data: []byte("a: [unclosed\n")}}); err == nil {
		t.Error("malformed YAML loaded")
	}
}

// TestPlainMessages: a message without placeholders is looked up, in each
// locale, as go-i18n renders it; an unknown id and a message with
// placeholders are not in the table and still render.
func TestPlainMessages(t *testing.T) {
	m, err := load(localeFiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Supported() {
		if len(m.plain[l]) < 100 {
			t.Errorf("%s: %d plain messages", l, len(m.plain[l]))
		}
		for id, s := range m.plain[l] {
			if want := m.localizeUncached(l, id, nil, nil); s != want || strings.Contains(s, "{{") {
				t.Errorf("%s %s = %q, go-i18n renders %q", l, id, s, want)
			}
		}
	}
	es, en := m.localize(ES, "login.title", nil, nil), m.localize(EN, "login.title", nil, nil)
	if es == en || es == "login.title" || en == "login.title" {
		t.Fatalf("login.title: es %q, en %q", es, en)
	}
	if _, ok := m.plain[EN]["no.such.id"]; ok || m.localize(EN, "no.such.id", nil, nil) != "no.such.id" {
		t.Error("an unknown id")
	}
	if _, ok := m.plain[EN]["login.code_hint"]; ok {
		t.Error("login.code_hint has a placeholder, yet is in the table")
	}
	if got := m.localize(EN, "login.code_hint", nil, []any{"User", "ana"}); !strings.Contains(got, "ana") {
		t.Errorf("login.code_hint with User = %q", got)
	}
}
