// Package i18n puts the analyst-facing texts of Session Console into the
// reader's language: Paraguayan Spanish (es-PY, the default) or English (en).
//
// A request's Locale travels in its context (WithLocale, FromContext); the
// handlers decide it once per request and templ components read it through
// the ctx they are rendered with:
//
//	<h1>{ i18n.T(ctx, "login.title") }</h1>
//	<p>{ i18n.N(ctx, "account.ended_notice", n) }</p>
//
// Texts live in YAML catalogs embedded from locales/, one file per area and
// language, named AREA.LOCALE.yaml (common.es-PY.yaml, common.en.yaml, …);
// every *.yaml file there is loaded, so a new area needs no code. A message id
// is the path of its key ("login.title" is title: under login:). A message is
// a string, or for N a map with the plural forms one: and other:. Values are
// Go text/template strings whose placeholders ({{.User}}) are filled from T's
// and N's arguments; N also sets {{.Count}} to the count formatted for the
// locale. The catalog tests check that every id exists in both languages with
// the same placeholders, that plural messages have both forms, and that every
// literal id passed to T or N in the module's .go and .templ files exists.
//
// Lookups never fail: a message missing in the locale falls back to English,
// then to its id. Numbers and dates are formatted per locale by Number, Int,
// Percent, Date, DateTime, Month and Ago.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/ppfiber/sessionconsole/sessionsvc/lang"
)

// Locale is a language the texts are written in.
type Locale string

// The supported locales.
const (
	ES Locale = "es-PY" // Paraguayan Spanish: the analysts' language and the default
	EN Locale = "en"    // English: the console's and the fallback of every message
)

// Default is the locale of a request nothing else decides.
const Default = ES

// Supported returns the locales, in the order a language switcher shows them.
func Supported() []Locale { return []Locale{ES, EN} }

// String returns the BCP 47 tag, as <html lang> takes it.
func (l Locale) String() string { return string(l) }

// Name is the locale's name in its own language, for language switchers.
func (l Locale) Name() string {
	if l == EN {
		return "English"
	}
	return "Español"
}

// Parse maps a language tag to a supported locale: any English (en, en-US,
// en_GB…) is EN, anything else (es, es-PY, es-AR, unknown or empty) is ES.
func Parse(s string) Locale {
	if lang.Primary(s) == "en" {
		return EN
	}
	return ES
}

// FromAcceptLanguage picks the locale for an Accept-Language header: English
// when the browser prefers English to Spanish (by order and q-value), else
// ES, also when it names neither (package lang decides, for the session
// service too).
func FromAcceptLanguage(h string) Locale { return Locale(lang.FromAcceptLanguage(h)) }

type ctxKey struct{}

// WithLocale returns a context that carries l.
func WithLocale(ctx context.Context, l Locale) context.Context {
	return context.WithValue(ctx, ctxKey{}, Parse(string(l)))
}

// FromContext returns the context's locale, Default when it has none.
func FromContext(ctx context.Context) Locale {
	if ctx == nil {
		return Default
	}
	if l, ok := ctx.Value(ctxKey{}).(Locale); ok {
		return l
	}
	return Default
}

// T returns the message id in the context's locale. args fill its
// placeholders, as key/value pairs (T(ctx, "login.code_hint", "User", name)) or as one
// map[string]any or map[string]string. A message missing in the locale is
// taken from English; one missing there too shows its id.
func T(ctx context.Context, id string, args ...any) string {
	return catalog.localize(FromContext(ctx), id, nil, args)
}

// N is T for a message with plural forms: count chooses the form (one or
// other) and fills {{.Count}}, formatted for the locale (1.234 in es-PY).
func N(ctx context.Context, id string, count int, args ...any) string {
	return catalog.localize(FromContext(ctx), id, &count, args)
}

func (m messages) localize(l Locale, id string, count *int, args []any) string {
	if count == nil && len(args) == 0 {
		// A message without placeholders reads the same every time: a
		// page asks for dozens, and go-i18n executes a template for each.
		if s, ok := m.plain[l][id]; ok {
			return s
		}
	}
	return m.localizeUncached(l, id, count, args)
}

func (m messages) localizeUncached(l Locale, id string, count *int, args []any) string {
	data := templateData(args)
	lc := &goi18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if count != nil {
		lc.PluralCount = *count
		data["Count"] = formatInt(l, *count)
	}
	// The localizer falls back to English by itself; a message whose
	// translation fails to execute is tried in English too.
	if loc := m.localizers[l]; loc != nil {
		if s, _ := loc.Localize(lc); s != "" {
			return s
		}
	}
	if l != EN {
		if s, _ := m.localizers[EN].Localize(lc); s != "" {
			return s
		}
	}
	return id
}

// templateData turns T's arguments into a fresh map.
func templateData(args []any) map[string]any {
	data := make(map[string]any, len(args)/2+1)
	if len(args) == 1 {
		switch m := args[0].(type) {
		case map[string]any:
			for k, v := range m {
				data[k] = v
			}
			return data
		case map[string]string:
			for k, v := range m {
				data[k] = v
			}
			return data
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		k, ok := args[i].(string)
		if !ok {
			k = fmt.Sprint(args[i])
		}
		data[k] = args[i+1]
	}
	return data
}

//go:embed locales/*.yaml
var localeFiles embed.FS

// catalog is every message of every locales/*.yaml file, loaded once.
var catalog = mustLoad(localeFiles)

type messages struct {
	bundle     *goi18n.Bundle
	localizers map[Locale]*goi18n.Localizer
	// plain holds, per locale, every message of the catalogs that has no
	// placeholder, as localizeUncached renders it; built by load, read
	// only after.
	plain map[Locale]map[string]string
}

// mustLoad parses the catalogs. They are compiled in, so a broken one is a
// bug the tests catch: it panics, like template.Must.
func mustLoad(fsys fs.FS) messages {
	m, err := load(fsys)
	if err != nil {
		panic(err)
	}
	return m
}

func load(fsys fs.FS) (messages, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	names, err := fs.Glob(fsys, "locales/*.yaml")
	if err != nil {
		return messages{}, err
	}
	var files []*goi18n.MessageFile
	for _, name := range names {
		f, err := b.LoadMessageFileFS(fsys, name)
		if err != nil {
			return messages{}, fmt.Errorf("i18n: %s: %w", path.Base(name), err)
		}
		files = append(files, f)
	}
	m := messages{bundle: b, localizers: make(map[Locale]*goi18n.Localizer), plain: make(map[Locale]map[string]string)}
	for _, l := range Supported() {
		m.localizers[l] = goi18n.NewLocalizer(b, string(l))
	}
	for _, l := range Supported() {
		m.plain[l] = make(map[string]string)
		for _, f := range files {
			for _, msg := range f.Messages {
				if hasPlaceholder(msg) {
					continue
				}
				if s := m.localizeUncached(l, msg.ID, nil, nil); s != msg.ID {
					m.plain[l][msg.ID] = s
				}
			}
		}
	}
	return m, nil
}

// hasPlaceholder tells a message whose text depends on its arguments.
func hasPlaceholder(m *goi18n.Message) bool {
	for _, form := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		if strings.Contains(form, "{{") {
			return true
		}
	}
	return false
}
