package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
)

// catalogFile is one parsed locales/AREA.LOCALE.yaml.
type catalogFile struct {
	area   string
	locale Locale
	msgs   map[string]*goi18n.Message
}

func readCatalogs(t *testing.T) []catalogFile {
	t.Helper()
	names, err := fs.Glob(localeFiles, "locales/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no catalogs: %v", err)
	}
	var out []catalogFile
	for _, name := range names {
		base := strings.TrimSuffix(filepath.Base(name), ".yaml")
		area, loc, ok := strings.Cut(base, ".")
		if !ok || !slices.Contains(Supported(), Locale(loc)) {
			t.Errorf("%s: want a name AREA.LOCALE.yaml with LOCALE one of %v", name, Supported())
			continue
		}
		buf, err := fs.ReadFile(localeFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		mf, err := goi18n.ParseMessageFileBytes(buf, name, map[string]goi18n.UnmarshalFunc{"yaml": yaml.Unmarshal})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		f := catalogFile{area: area, locale: Locale(loc), msgs: make(map[string]*goi18n.Message)}
		for _, m := range mf.Messages {
			f.msgs[m.ID] = m
		}
		out = append(out, f)
	}
	return out
}

// byLocale gathers every message of every area per locale, failing on an id
// that two areas define.
func byLocale(t *testing.T, files []catalogFile) map[Locale]map[string]*goi18n.Message {
	t.Helper()
	all := map[Locale]map[string]*goi18n.Message{}
	where := map[Locale]map[string]string{}
	for _, f := range files {
		if all[f.locale] == nil {
			all[f.locale], where[f.locale] = map[string]*goi18n.Message{}, map[string]string{}
		}
		for id, m := range f.msgs {
			if prev, dup := where[f.locale][id]; dup {
				t.Errorf("%s: id %q is in both %s.%s.yaml and %s.%s.yaml", f.locale, id, prev, f.locale, f.area, f.locale)
			}
			all[f.locale][id], where[f.locale][id] = m, f.area
		}
	}
	return all
}

// forms returns a message's non-empty plural forms by name.
func forms(m *goi18n.Message) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func isPlural(m *goi18n.Message) bool { return len(forms(m)) > 1 || m.One != "" }

var placeholderRe = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

// placeholders returns the sorted, distinct {{.Name}}s of all of m's forms.
func placeholders(m *goi18n.Message) []string {
	var out []string
	for _, v := range forms(m) {
		for _, p := range placeholderRe.FindAllStringSubmatch(v, -1) {
			out = append(out, p[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestCatalogsComplete checks that each area has a file per locale with the
// same ids, that every id has the same placeholders in every locale, that
// plural messages have their one and other forms everywhere, and that every
// text is a valid template.
func TestCatalogsComplete(t *testing.T) {
	files := readCatalogs(t)
	areas := map[string]map[Locale]catalogFile{}
	for _, f := range files {
		if areas[f.area] == nil {
			areas[f.area] = map[Locale]catalogFile{}
		}
		areas[f.area][f.locale] = f
	}
	if _, ok := areas["common"]; !ok {
		t.Fatalf("no common area")
	}
	for area, locs := range areas {
		for _, l := range Supported() {
			if _, ok := locs[l]; !ok {
				t.Errorf("area %s has no %s.%s.yaml", area, area, l)
			}
		}
		en := locs[EN]
		for _, l := range Supported() {
			f, ok := locs[l]
			if !ok || l == EN {
				continue
			}
			for id := range en.msgs {
				if _, ok := f.msgs[id]; !ok {
					t.Errorf("%s.%s.yaml lacks %q", area, l, id)
				}
			}
			for id := range f.msgs {
				if _, ok := en.msgs[id]; !ok {
					t.Errorf("%s.%s.yaml has %q, which %s.en.yaml lacks", area, l, id, area)
				}
			}
		}
	}

	all := byLocale(t, files)
	for id, em := range all[EN] {
		for _, l := range Supported() {
			m, ok := all[l][id]
			if !ok {
				continue // reported above
			}
			for form, text := range forms(m) {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s %q: empty %s form", l, id, form)
				}
				if _, err := template.New(id).Parse(text); err != nil {
					t.Errorf("%s %q (%s): %v", l, id, form, err)
				}
			}
			if m.Other == "" {
				t.Errorf("%s %q: no text (other form)", l, id)
			}
			if isPlural(em) || isPlural(m) {
				if m.One == "" || m.Other == "" {
					t.Errorf("%s %q: a plural message needs both one and other", l, id)
				}
			}
			if got, want := placeholders(m), placeholders(em); !slices.Equal(got, want) {
				t.Errorf("%s %q: placeholders %v, English has %v", l, id, got, want)
			}
		}
	}
}

// callRe finds i18n.T(ctx, "id") and i18n.N(ctx, "id", …) calls (unqualified
// inside this package), where the first argument is a context: ctx,
// r.Context(), c.Request().Context() and the like.
var callRe = regexp.MustCompile(`(?:^|[^\w.])(?:i18n\.)?([TN])\(\s*([\w.]*(?:\(\)[\w.]*)*)\s*,\s*"([^"\\]+)"`)

// richRe finds the views' richText("id", …) components, which look their
// message up with T when they render.
var richRe = regexp.MustCompile(`(?:^|[^\w.])richText\(\s*"([^"\\]+)"`)

// sourceCalls returns every literal message id passed to T or N in the
// module's .go and .templ files, with where it is used and whether with N.
func sourceCalls(t *testing.T) (ids map[string][]string, plural map[string]bool) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	self, _ := filepath.Abs(".")
	ids, plural = map[string][]string{}, map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, "_templ.go"): // generated from the .templ next to it
			return nil
		case strings.HasSuffix(name, "_test.go") && filepath.Dir(p) == self: // these tests look up missing ids on purpose
			return nil
		case !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".templ"):
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, m := range callRe.FindAllStringSubmatch(string(b), -1) {
			if arg := m[2]; !strings.Contains(arg, "ctx") && !strings.HasSuffix(arg, "Context()") {
				continue
			}
			ids[m[3]] = append(ids[m[3]], rel)
			if m[1] == "N" {
				plural[m[3]] = true
			}
		}
		for _, m := range richRe.FindAllStringSubmatch(string(b), -1) {
			ids[m[1]] = append(ids[m[1]], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, plural
}

// TestSourceIDsExist checks that every message id the code asks for is in the
// catalogs, as a plural message when asked for with N and a plain one with T.
func TestSourceIDsExist(t *testing.T) {
	all := byLocale(t, readCatalogs(t))
	ids, plural := sourceCalls(t)
	if len(ids) == 0 {
		t.Fatal("found no message ids in the source: is the scanner broken?")
	}
	for id, where := range ids {
		for _, l := range Supported() {
			m, ok := all[l][id]
			switch {
			case !ok:
				t.Errorf("%s: message %q is not in the %s catalogs", strings.Join(slices.Compact(where), ", "), id, l)
			case plural[id] && m.One == "":
				t.Errorf("%s: %q is used with N but has no plural forms in %s", where[0], id, l)
			case !plural[id] && isPlural(m):
				t.Errorf("%s: %q has plural forms in %s but is used with T; use N", where[0], id, l)
			}
		}
	}
	var unused []string
	for id := range all[EN] {
		if _, ok := ids[id]; !ok {
			unused = append(unused, id)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Logf("catalog ids no literal T/N call uses: %v", unused)
	}
}

func TestSourceScanner(t *testing.T) {
	src := `
		{ i18n.T(ctx, "a.one") }
		x := i18n.N(c.Request().Context(), "a.two", n)
		y := T(ctx, "a.three", "User", u)
		z := foo.T(ctx, "not.this")
		w := i18n.T(r.Context(), "a.four")
		v := T(x, "not.ctx")
		@richText("a.five", map[string]templ.Component{})
	`
	var got []string
	for _, m := range callRe.FindAllStringSubmatch(src, -1) {
		if arg := m[2]; strings.Contains(arg, "ctx") || strings.HasSuffix(arg, "Context()") {
			got = append(got, m[1]+":"+m[3])
		}
	}
	for _, m := range richRe.FindAllStringSubmatch(src, -1) {
		got = append(got, "rich:"+m[1])
	}
	want := []string{"T:a.one", "N:a.two", "T:a.three", "T:a.four", "rich:a.five"}
	if !slices.Equal(got, want) {
		t.Errorf("scanner found %v, want %v", got, want)
	}
}
