package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
)

// The built-in analyzer is an Analyzer.
var _ Analyzer = (*Builtin)(nil)

func TestThemes(t *testing.T) {
	b := New()
	tests := []struct {
		text string
		want []string
	}{
		{"la velocidad es pésima", []string{ThemeSpeed}},
		{"tengo 300mb y llegan 20", []string{ThemeSpeed}},
		{"mucho lag en los juegos", []string{ThemeSpeed}},
		{"se cae a cada rato", []string{ThemeOutages}},
		{"Tres días SIN INTERNET", []string{ThemeOutages}},
		{"conexión intermitente", []string{ThemeOutages}},
		{"el técnico no vino", []string{ThemeInstallation}},
		{"la instalación fue rápida", []string{ThemeInstallation}},
		{"me cobraron dos veces la factura", []string{ThemeBilling}},
		{"el débito automático falla", []string{ThemeBilling}},
		{"el call center no responde", []string{ThemeCustomerService}},
		{"por whatsapp nadie contesta", []string{ThemeCustomerService}},
		{"no hay cobertura en mi zona", []string{ThemeCoverage}},
		{"la señal no llega al fondo", []string{ThemeCoverage}},
		{"muy caro el plan", []string{ThemePrice}},
		{"buena promo", []string{ThemePrice}},
		{"el técnico vino puntual, excelente", []string{ThemeInstallation}},
		{"lento y caro, y encima me cobraron de más", []string{ThemeSpeed, ThemeBilling, ThemePrice}},
		{"reclamé por los cortes y el router", []string{ThemeOutages, ThemeInstallation, ThemeCustomerService}},
		{"excelente servicio", []string{}},
		{"gracias por la cortesía", []string{}},                    // "cortesía" is not a "corte"
		{"me respondieron rápido", []string{ThemeCustomerService}}, // not about speed
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := b.Themes(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Themes(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if got, want := b.ThemeKeys(), []string{ThemeSpeed, ThemeOutages, ThemeInstallation, ThemeBilling,
		ThemeCustomerService, ThemeCoverage, ThemePrice}; !slices.Equal(got, want) {
		t.Errorf("ThemeKeys() = %q, want %q", got, want)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Atención", "atencion"},
		{"  PORÃ  porã ", "pora pora"},
		{"Ñemby", "nemby"},
		{"mbaʼe mba’e", "mba'e mba'e"},
		{"gu\u0303ai\u0301", "guai"}, // decomposed g̃ and í
		{"👍🏽 ❤️", "👍 ❤"},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	var z tokenizer
	var got []string
	for _, tok := range z.tokenize("¡Buenooo! 300mb, mba'e nde'i… no-anda 👍🏽") {
		got = append(got, tok.text)
	}
	want := []string{"¡", "bueno", "!", "300", "mb", ",", "mba'e", "nde'i", "…", "no", "anda", "👍"}
	if !slices.Equal(got, want) {
		t.Errorf("tokens %q, want %q", got, want)
	}
	if z.excl != 1 {
		t.Errorf("excl = %d", z.excl)
	}
}

func TestRatingNudge(t *testing.T) {
	b := New()
	tests := []struct {
		text   string
		rating int
		want   Sentiment
	}{
		{"llegó el técnico hoy", 0, Neutral},
		{"llegó el técnico hoy", 5, Positive}, // neutral text: the rating decides at the extremes
		{"llegó el técnico hoy", 4, Neutral},
		{"llegó el técnico hoy", 1, Negative},
		{"llegó el técnico hoy", 2, Neutral},
		{"pésimo servicio", 5, Negative}, // the text is never overridden
		{"excelente", 1, Positive},
		{"no es caro", 1, Positive},
	}
	for _, tt := range tests {
		got, score := b.Classify(tt.text, tt.rating)
		if got != tt.want {
			t.Errorf("Classify(%q, %d) = %s (%.3f), want %s", tt.text, tt.rating, got, score, tt.want)
		}
	}
	// The rating moves the score within the text's sentiment.
	_, s1 := b.Classify("excelente", 1)
	_, s5 := b.Classify("excelente", 5)
	if !(s1 < s5 && s1 >= threshold) {
		t.Errorf("excelente: score %.3f at 1 star, %.3f at 5", s1, s5)
	}
}

func demo(tb testing.TB) []comments.Comment {
	tb.Helper()
	return parseDemo(tb, DemoCSV)
}

func TestAnalyzeDemo(t *testing.T) {
	in := demo(t)
	res, err := New().Analyze(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Comments != len(in) || len(res.Rows) != len(in) {
		t.Fatalf("%d comments, %d rows, want %d", res.Comments, len(res.Rows), len(in))
	}
	d := res.Sentiment
	if d.Positive+d.Neutral+d.Negative != len(in) {
		t.Errorf("sentiment %+v does not add up to %d", d, len(in))
	}
	// A plausible mix: every sentiment well represented, none overwhelming.
	for name, n := range map[string]int{"positive": d.Positive, "neutral": d.Neutral, "negative": d.Negative} {
		if n < len(in)/20 || n > len(in)*7/10 {
			t.Errorf("%s: %d of %d", name, n, len(in))
		}
	}
	t.Logf("sentiment %+v, no theme %d", d, res.NoTheme)
	for _, th := range res.Themes {
		t.Logf("theme %-16s %4d  +%d =%d -%d", th.Theme, th.Count, th.Positive, th.Neutral, th.Negative)
		if th.Count == 0 {
			t.Errorf("theme %s has no comment in the demo data", th.Theme)
		}
		if len(th.Examples) != MaxExamples {
			t.Errorf("theme %s: %d examples", th.Theme, len(th.Examples))
		}
		kinds := map[Sentiment]bool{}
		for _, e := range th.Examples {
			kinds[e.Sentiment] = true
			i := slices.IndexFunc(res.Rows, func(r Row) bool { return r.Line == e.Line })
			if i < 0 || !slices.Contains(res.Rows[i].Themes, th.Theme) || res.Rows[i].Sentiment != e.Sentiment {
				t.Errorf("theme %s: example line %d is not a row of the theme and sentiment", th.Theme, e.Line)
			}
		}
		if len(kinds) != 3 {
			t.Errorf("theme %s: examples of %d sentiments, want all 3: %+v", th.Theme, len(kinds), th.Examples)
		}
	}

	// Rows agree with the totals.
	var sum Distribution
	byTheme := map[string]int{}
	for _, r := range res.Rows {
		sum.add(r.Sentiment)
		for _, k := range r.Themes {
			byTheme[k]++
		}
		if r.Score < -1 || r.Score > 1 {
			t.Errorf("line %d: score %v", r.Line, r.Score)
		}
	}
	if sum != res.Sentiment {
		t.Errorf("rows add up to %+v, result says %+v", sum, res.Sentiment)
	}
	for _, th := range res.Themes {
		if byTheme[th.Theme] != th.Count {
			t.Errorf("theme %s: %d rows, count %d", th.Theme, byTheme[th.Theme], th.Count)
		}
	}

	// Top terms: no stop words, no short words, no numbers, sorted.
	if len(res.TopTerms) != MaxTopTerms {
		t.Errorf("%d top terms", len(res.TopTerms))
	}
	b := New()
	for i, tc := range res.TopTerms {
		k := fold(tc.Term)
		if b.r.stop[k] || len([]rune(k)) < 3 || strings.ContainsAny(k, "0123456789") {
			t.Errorf("top term %q", tc.Term)
		}
		if i > 0 && res.TopTerms[i-1].Count < tc.Count {
			t.Errorf("top terms not sorted at %d", i)
		}
	}
	t.Logf("top terms %v", res.TopTerms)

	// Ratings: 1..5 then none, adding up, sentiment following the stars.
	var keys []string
	total := 0
	for _, br := range res.ByRating {
		keys = append(keys, br.Key)
		total += br.Count
	}
	if !slices.Equal(keys, []string{"1", "2", "3", "4", "5", "none"}) || total != len(in) {
		t.Errorf("by rating: keys %q, total %d", keys, total)
	}
	if r1, r5 := res.ByRating[0], res.ByRating[4]; r1.Negative <= r1.Positive || r5.Positive <= r5.Negative {
		t.Errorf("1 star %+v, 5 stars %+v", r1, r5)
	}

	// Cities: the top 20 by count, then other and none; spellings merged.
	if n := len(res.ByCity); n != MaxCities+2 {
		t.Errorf("%d city groups", n)
	}
	total = 0
	for i, br := range res.ByCity {
		total += br.Count
		if i > 0 && i < MaxCities && res.ByCity[i-1].Count < br.Count {
			t.Errorf("cities not sorted at %d", i)
		}
		if br.Key == "Asuncion" || br.Key == "ASUNCIÓN" {
			t.Errorf("city spelling %q not merged", br.Key)
		}
	}
	if total != len(in) || res.ByCity[0].Key != "Asunción" || res.ByCity[MaxCities].Key != KeyOther || res.ByCity[MaxCities+1].Key != KeyNone {
		t.Errorf("by city: total %d, %+v", total, res.ByCity)
	}

	// Months: twelve or thirteen, in order, then none.
	total = 0
	for i, br := range res.ByMonth {
		total += br.Count
		if i > 0 && br.Key != KeyNone && br.Key <= res.ByMonth[i-1].Key {
			t.Errorf("months not in order at %d", i)
		}
	}
	if total != len(in) || len(res.ByMonth) < 13 || res.ByMonth[len(res.ByMonth)-1].Key != KeyNone {
		t.Errorf("by month: total %d, %+v", total, res.ByMonth)
	}
}

// The demo data was written with a sentiment in mind; the analyzer finds it for
// most comments from the text alone.
func TestDemoAgreement(t *testing.T) {
	b := New()
	gen := generateDemo()
	agree := 0
	for _, c := range gen {
		if s, _ := b.Classify(c.text, 0); s == c.intent {
			agree++
		}
	}
	t.Logf("text sentiment agrees with the generator's intent on %d of %d comments", agree, len(gen))
	if agree < len(gen)*85/100 {
		t.Errorf("agreement %d of %d", agree, len(gen))
	}
	seen := map[string]bool{}
	for _, c := range gen {
		seen[c.text] = true
	}
	t.Logf("%d distinct texts of %d", len(seen), len(gen))
	if len(seen) < len(gen)*95/100 {
		t.Errorf("only %d distinct texts of %d", len(seen), len(gen))
	}
}

func TestDeterministic(t *testing.T) {
	in := demo(t)
	var first []byte
	for i := range 3 {
		b := New()
		if i == 2 {
			var err error
			if b, err = NewFrom(Data()); err != nil {
				t.Fatal(err)
			}
		}
		res, err := b.Analyze(context.Background(), in, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, res); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatal("two analyses of the same comments differ")
		}
	}
}

func TestConcurrentAnalyses(t *testing.T) {
	in := demo(t)[:300]
	b := New()
	want, err := b.Analyze(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := b.Analyze(context.Background(), in, nil)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Error("a concurrent analysis differs")
			}
		})
	}
	wg.Wait()
}

func TestCancel(t *testing.T) {
	in := demo(t)
	big := make([]comments.Comment, 0, 50*len(in))
	for range 50 {
		big = append(big, in...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	start := time.Now()
	res, err := New().Analyze(ctx, big, func(done, total int) {
		calls++
		if done >= 1000 {
			cancel()
		}
	})
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Analyze = %v, %v; want nil and an error wrapping context.Canceled", res, err)
	}
	if elapsed > 2*time.Second || calls > 5 {
		t.Errorf("cancelled analysis went on for %v, %d progress calls", elapsed, calls)
	}
	t.Logf("%v after %v", err, elapsed)

	// Already done before it starts.
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := New().Analyze(ctx, in, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
}

func TestProgress(t *testing.T) {
	b := New()
	for _, n := range []int{0, 1, 7, 99, 100, 250, 2000} {
		in := demo(t)[:n]
		var got [][2]int
		_, err := b.Analyze(context.Background(), in, func(done, total int) {
			got = append(got, [2]int{done, total})
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[len(got)-1] != [2]int{n, n} {
			t.Fatalf("%d comments: progress ends %v", n, got[max(len(got)-1, 0):])
		}
		for i, p := range got {
			if p[1] != n || i > 0 && p[0] < got[i-1][0] {
				t.Fatalf("%d comments: progress %v", n, got)
			}
			if i > 0 && p[0]-got[i-1][0] > max(n/100, 1) {
				t.Fatalf("%d comments: a step of %d", n, p[0]-got[i-1][0])
			}
		}
		if n >= 100 && len(got) < 100 {
			t.Errorf("%d comments: only %d progress calls", n, len(got))
		}
	}
}

func TestEmptyInput(t *testing.T) {
	res, err := New().Analyze(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("empty result has a null: %s", b)
	}
	if len(res.Themes) != 7 || len(res.ByRating) != 6 || len(res.ByCity) != 0 {
		t.Errorf("empty result %s", b)
	}
}

// Whatever the comments, the analysis neither panics nor grows the summary
// past a few kilobytes.
func TestHostileInput(t *testing.T) {
	long := strings.Repeat("lentísimo no funciona nada, ", 20000)
	var in []comments.Comment
	for i := range 500 {
		in = append(in, comments.Comment{
			Line:   i + 2,
			Text:   fmt.Sprintf("%s %d \xff\xfe \x00 =cmd|' /C calc'!A0 %s", strings.Repeat("ñandutí", i%40), i, strings.Repeat("a", i*10)),
			Rating: i%9 - 2, // out of range ones too
			Date:   time.Date(1990+i, time.Month(i%12+1), 1, 0, 0, 0, 0, time.UTC),
			City:   fmt.Sprintf("%s ciudad %d", strings.Repeat("Ciudad Muy Larga ", 20), i),
		})
	}
	in = append(in, comments.Comment{Line: 600, Text: long}, comments.Comment{Line: 601, Text: ""},
		comments.Comment{Line: 602, Text: "\u0303\u0301\ufe0f"})
	res, err := New().Analyze(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Summary())
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 8<<10 {
		t.Errorf("summary of hostile input is %d bytes", len(b))
	}
	for _, r := range res.Rows {
		if r.Rating < 0 || r.Rating > 5 {
			t.Errorf("row rating %d", r.Rating)
		}
	}
	if res.ByMonth[0].Key != KeyEarlier || len(res.ByMonth) != MaxMonths+2 {
		t.Errorf("months: %d, first %q", len(res.ByMonth), res.ByMonth[0].Key)
	}
}

func TestSummary(t *testing.T) {
	res, err := New().Analyze(context.Background(), demo(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary()
	if s.Rows != nil || res.Rows == nil {
		t.Fatal("Summary must drop the rows and leave the result alone")
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %d bytes of JSON", len(b))
	if len(b) > 8<<10 {
		t.Errorf("summary is %d bytes", len(b))
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, s) {
		t.Errorf("summary does not survive JSON: %v", err)
	}
	if (*Result)(nil).Summary() != nil {
		t.Error("nil summary")
	}
}

func TestNewFromErrors(t *testing.T) {
	base := fstest.MapFS{}
	for _, name := range []string{LexiconFile, ModifiersFile, ThemesFile, StopWordsFile} {
		b, err := dataFS.ReadFile("data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		base[name] = &fstest.MapFile{Data: b}
	}
	if _, err := NewFrom(base); err != nil {
		t.Fatalf("the embedded files: %v", err)
	}
	tests := []struct {
		file, data, want string
	}{
		{LexiconFile, "bueno\t2\nmalo\n", "lexicon.tsv: line 2"},
		{LexiconFile, "bueno\tmucho\n", "not a number"},
		{LexiconFile, "bueno\t7\n", "from -3 to 3"},
		{LexiconFile, "porã\t2\npora\t-1\n", "already listed"},
		{ModifiersFile, "muy\tintensifier\t0.5\n", "factor"},
		{ModifiersFile, "muy\tsometimes\n", "unknown kind"},
		{ThemesFile, "themes:\n  - key: Speed\n    terms: [lento]\n", "theme key"},
		{ThemesFile, "themes:\n  - key: speed\n    terms: []\n", "no terms"},
		{ThemesFile, "themes:\n  - key: speed\n    terms: [l*]\n", "shorter than 3"},
		{ThemesFile, "themes:\n  - key: speed\n    words: [lento]\n", "field words not found"},
		{ThemesFile, "themes: []\n", "no themes"},
	}
	for _, tt := range tests {
		fsys := maps.Clone(base)
		fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.data)}
		_, err := NewFrom(fsys)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: error %v, want one saying %q", tt.file, tt.data, err, tt.want)
		}
	}
	fsys := maps.Clone(base)
	delete(fsys, StopWordsFile)
	if _, err := NewFrom(fsys); err == nil {
		t.Error("no error for a missing file")
	}
}

func BenchmarkAnalyzeDemo(b *testing.B) {
	in := demo(b)
	a := New()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := a.Analyze(context.Background(), in, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(len(in)*n)/b.Elapsed().Seconds(), "comments/s")
}
