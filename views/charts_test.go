package views

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want int64 }{
		{0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {10, 10}, {11, 20}, {21, 50}, {51, 100}, {999, 1000}, {1001, 2000},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func parseCoord(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("coordinate %q: %v", s, err)
	}
	return f
}

func TestLayoutChartScales(t *testing.T) {
	p := ChartProps{ID: "c", Title: "T", BarName: "Sessions created", LineName: "Peak active", Points: []ChartPoint{
		{Label: "a", Long: "A", Bar: 0, Line: 2},
		{Label: "b", Long: "B", Bar: 5, Line: 10},
		{Label: "c", Long: "C", Bar: 10, Line: 7},
	}}
	g := layoutChart(p)
	if g.Max != 10 || g.Empty {
		t.Fatalf("max = %d, empty = %v; want 10, false", g.Max, g.Empty)
	}
	if len(g.Bars) != 3 || len(g.Dots) != 3 {
		t.Fatalf("%d bars, %d dots; want 3, 3", len(g.Bars), len(g.Dots))
	}
	baseline := float64(chartTop + chartPlotH)
	for i, want := range []float64{0, chartPlotH / 2, chartPlotH} {
		b := g.Bars[i]
		h, y := parseCoord(t, b.H), parseCoord(t, b.Y)
		if h != want || y+h != baseline {
			t.Errorf("bar %d: height %v (top %v), want height %v standing on %v", i, h, y, want, baseline)
		}
		if x, w := parseCoord(t, b.X), parseCoord(t, b.W); x < chartLeft || x+w > chartWidth-chartRight || w <= 0 {
			t.Errorf("bar %d: x %v width %v outside the plot", i, x, w)
		}
	}
	// The line shares the axis: the peak of 10 touches the top.
	if y := parseCoord(t, g.Dots[1].Y); y != chartTop {
		t.Errorf("dot of the maximum at y %v, want %v", y, float64(chartTop))
	}
	if got := strings.Count(g.Line, ","); got != 3 {
		t.Errorf("line %q has %d points, want 3", g.Line, got)
	}
	if g.Bars[1].Title != "B: 5 sessions created" || g.Dots[1].Title != "B: 10 peak active" {
		t.Errorf("tooltips = %q, %q", g.Bars[1].Title, g.Dots[1].Title)
	}
	var ticks []string
	for _, tk := range g.YTicks {
		ticks = append(ticks, tk.Label)
	}
	if strings.Join(ticks, ",") != "0,5,10" {
		t.Errorf("y ticks = %v, want 0,5,10", ticks)
	}
}

func TestLayoutChartEdges(t *testing.T) {
	t.Run("empty series", func(t *testing.T) {
		g := layoutChart(ChartProps{ID: "e"})
		if !g.Empty || len(g.Bars) != 0 || g.Line != "" || g.Max != 1 {
			t.Errorf("empty chart = %+v", g)
		}
	})
	t.Run("all zero", func(t *testing.T) {
		g := layoutChart(ChartProps{ID: "z", Points: make([]ChartPoint, 24)})
		if g.Empty || g.Max != 1 || len(g.Bars) != 24 {
			t.Fatalf("zero chart: empty %v max %d bars %d", g.Empty, g.Max, len(g.Bars))
		}
		for _, b := range g.Bars {
			if b.H != "0.0" {
				t.Errorf("zero bar height %s", b.H)
			}
		}
	})
	t.Run("one point has no line", func(t *testing.T) {
		g := layoutChart(ChartProps{ID: "o", Points: []ChartPoint{{Bar: 3, Line: 3}}})
		if g.Line != "" || len(g.Bars) != 1 || g.Max != 5 {
			t.Errorf("one-point chart: line %q bars %d max %d", g.Line, len(g.Bars), g.Max)
		}
	})
	t.Run("labels thin out and keep the newest", func(t *testing.T) {
		pts := make([]ChartPoint, 168)
		for i := range pts {
			pts[i].Label = strconv.Itoa(i)
		}
		g := layoutChart(ChartProps{ID: "w", Points: pts})
		if len(g.XLabels) > chartMaxLabels || g.XLabels[len(g.XLabels)-1].Label != "167" {
			t.Errorf("%d x labels, last %q; want at most %d ending with 167", len(g.XLabels), g.XLabels[len(g.XLabels)-1].Label, chartMaxLabels)
		}
	})
}

// svgOf returns the <svg> element of a rendered chart.
func svgOf(t *testing.T, raw string) string {
	t.Helper()
	i, j := strings.Index(raw, "<svg"), strings.Index(raw, "</svg>")
	if i < 0 || j < i {
		t.Fatalf("no <svg> in %s", raw)
	}
	return raw[i : j+len("</svg>")]
}

func TestChartRendersValidSVG(t *testing.T) {
	tests := []struct {
		name   string
		points []ChartPoint
		bars   int
	}{
		{"hours", HourlyPoints([]HourCount{{"2026-11-26T13", 1, 1}, {"2026-11-26T14", 4, 3}}), 2},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := ChartProps{ID: "chart-x", Title: "Last " + hostile, Desc: "D " + hostile, BarName: "Sessions created", LineName: "Peak " + hostile, Points: tt.points}
			if err := Chart(p).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			raw := buf.String()
			if strings.Contains(raw, "<script>") || strings.Contains(raw, "<img") || strings.Contains(raw, "style=") {
				t.Errorf("chart renders markup or inline style:\n%s", raw)
			}
			// The SVG is well-formed XML in the SVG namespace.
			dec := xml.NewDecoder(strings.NewReader(svgOf(t, raw)))
			var root string
			ids := map[string]bool{}
			var labelledBy string
			counts := map[string]int{}
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("SVG is not well-formed: %v\n%s", err, svgOf(t, raw))
				}
				se, ok := tok.(xml.StartElement)
				if !ok {
					continue
				}
				if root == "" {
					root = se.Name.Space + " " + se.Name.Local
				}
				counts[se.Name.Local]++
				for _, a := range se.Attr {
					switch a.Name.Local {
					case "id":
						ids[a.Value] = true
					case "aria-labelledby":
						labelledBy = a.Value
					}
				}
			}
			if root != "http://www.w3.org/2000/svg svg" {
				t.Errorf("root element %q, want svg in the SVG namespace", root)
			}
			for _, id := range strings.Fields(labelledBy) {
				if !ids[id] {
					t.Errorf("aria-labelledby names %q, which is not in the SVG", id)
				}
			}
			if labelledBy == "" {
				t.Error("svg has no aria-labelledby")
			}
			if counts["rect"] != tt.bars {
				t.Errorf("%d bars, want %d", counts["rect"], tt.bars)
			}
			// The data-table alternative has one row per point.
			pg := render(t, Chart(p))
			table := pg.one(t, "chart-table-chart-x")
			if rows := len(pg.all(func(n *html.Node) bool {
				return n.Data == "tr" && ancestor(n, "tbody") != nil && ancestor(n, "table") == table
			})); rows != len(tt.points) {
				t.Errorf("data table has %d rows, want %d", rows, len(tt.points))
			}
			if tt.points == nil {
				pg.one(t, "chart-empty")
			}
		})
	}
}

func TestHourlyAndDailyPoints(t *testing.T) {
	hs := HourlyPoints([]HourCount{{"2026-11-26T09", 2, 3}, {"bogus", 1, 1}})
	if hs[0].Label != "09:00" || hs[0].Long != "2026-11-26 09:00" || hs[0].Bar != 2 || hs[0].Line != 3 {
		t.Errorf("hour point = %+v", hs[0])
	}
	if hs[1].Label != "bogus" {
		t.Errorf("unparseable hour label = %q, want it as given", hs[1].Label)
	}

	// 8 calendar days of hours: the oldest, partial, day is dropped.
	var in []HourCount
	for d := 19; d <= 26; d++ {
		for h := 0; h < 24; h++ {
			if d == 19 && h < 20 {
				continue
			}
			in = append(in, HourCount{Hour: "2026-11-" + strconv.Itoa(d) + "T" + twoDigits(h), Created: 1, PeakActive: int64(h % 5)})
		}
	}
	days := DailyPoints(in, 7)
	if len(days) != 7 {
		t.Fatalf("%d days, want 7", len(days))
	}
	if days[0].Long != "Fri 2026-11-20" || days[0].Label != "Fri 20" || days[6].Label != "Thu 26" {
		t.Errorf("days from %+v to %+v", days[0], days[6])
	}
	for _, d := range days {
		if d.Bar != 24 || d.Line != 4 {
			t.Errorf("%s: created %d peak %d, want 24 and 4", d.Long, d.Bar, d.Line)
		}
	}
	if got := DailyPoints(nil, 7); len(got) != 0 {
		t.Errorf("no hours gave %d days", len(got))
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
