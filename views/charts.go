package views

import (
	"strconv"
	"time"
)

// HourCount is one hourly analytics bucket as the dashboard charts read it.
// Hour is the bucket's name in the analytics time zone ("2026-11-26T14"), so
// grouping by its day prefix gives the same days as the daily aggregates.
type HourCount struct {
	Hour       string
	Created    int64
	PeakActive int64
}

// ChartPoint is one position on a chart's x axis: a bar and a point of the
// line above it.
type ChartPoint struct {
	Label string // short axis label, e.g. "14:00" or "Thu 26"
	Long  string // the data table's row header, e.g. "2026-11-26 14:00"
	Bar   int64  // drawn as a bar (sessions created)
	Line  int64  // drawn as a line (peak active sessions)
}

// ChartProps is one server-rendered SVG chart and its data-table alternative.
type ChartProps struct {
	ID       string // unique on the page: prefixes the ids aria-labelledby points at
	Title    string
	Desc     string
	BarName  string // legend and table header of the bars
	LineName string // legend and table header of the line
	Points   []ChartPoint
}

// The chart's drawing area in viewBox units; CSS scales the SVG to its box.
const (
	chartWidth  = 720
	chartHeight = 220
	chartLeft   = 40 // room for the y-axis labels
	chartRight  = 10
	chartTop    = 12
	chartBottom = 28 // room for the x-axis labels
	chartPlotW  = chartWidth - chartLeft - chartRight
	chartPlotH  = chartHeight - chartTop - chartBottom
	// chartMaxLabels bounds the x labels so that they never overlap.
	chartMaxLabels = 12
)

// chartGeom is a chart laid out in viewBox coordinates, ready for the SVG
// template; the template only prints it.
type chartGeom struct {
	Max     int64 // the top of the y axis
	Bars    []chartBar
	Line    string // polyline points; "" with fewer than two points
	Dots    []chartDot
	YTicks  []chartTick
	XLabels []chartTick
	Empty   bool // no points at all
}

type chartBar struct {
	X, Y, W, H string
	Title      string
}

type chartDot struct {
	X, Y  string
	Title string
}

type chartTick struct {
	X, Y  string // where the label sits (and, for y ticks, the grid line's Y)
	Label string
}

// layoutChart scales the points into the viewBox: bars and line share one y
// axis from 0 to a round number at or above the largest value, so the two
// series compare at a glance.
func layoutChart(p ChartProps) chartGeom {
	g := chartGeom{Empty: len(p.Points) == 0}
	var peak int64
	for _, pt := range p.Points {
		peak = max(peak, pt.Bar, pt.Line)
	}
	g.Max = niceCeil(peak)
	y := func(v int64) float64 {
		v = max(v, 0)
		return chartTop + chartPlotH - float64(v)/float64(g.Max)*chartPlotH
	}
	for _, v := range yTickValues(g.Max) {
		g.YTicks = append(g.YTicks, chartTick{X: fmtCoord(chartLeft - 6), Y: fmtCoord(y(v)), Label: strconv.FormatInt(v, 10)})
	}
	n := len(p.Points)
	if n == 0 {
		return g
	}
	slot := float64(chartPlotW) / float64(n)
	every := (n + chartMaxLabels - 1) / chartMaxLabels
	line := make([]byte, 0, n*12)
	for i, pt := range p.Points {
		left := chartLeft + float64(i)*slot
		mid := left + slot/2
		top := y(pt.Bar)
		g.Bars = append(g.Bars, chartBar{
			X: fmtCoord(left + slot*0.15), Y: fmtCoord(top),
			W: fmtCoord(slot * 0.7), H: fmtCoord(chartTop + chartPlotH - top),
			Title: pt.Long + ": " + strconv.FormatInt(pt.Bar, 10) + " " + lower(p.BarName),
		})
		ly := y(pt.Line)
		g.Dots = append(g.Dots, chartDot{X: fmtCoord(mid), Y: fmtCoord(ly),
			Title: pt.Long + ": " + strconv.FormatInt(pt.Line, 10) + " " + lower(p.LineName)})
		if i > 0 {
			line = append(line, ' ')
		}
		line = append(line, fmtCoord(mid)...)
		line = append(line, ',')
		line = append(line, fmtCoord(ly)...)
		// Label every nth point counted from the newest, so "now" is always labelled.
		if (n-1-i)%every == 0 {
			g.XLabels = append(g.XLabels, chartTick{X: fmtCoord(mid), Y: fmtCoord(chartHeight - 8), Label: pt.Label})
		}
	}
	if n > 1 {
		g.Line = string(line)
	}
	return g
}

// niceCeil is the smallest of 1, 2, 5, 10, 20, 50, … at or above v: an axis
// top people read without arithmetic. 0 (no data) scales to 1, so nothing
// divides by zero and zero bars stay on the baseline.
func niceCeil(v int64) int64 {
	for m := int64(1); ; m *= 10 {
		for _, f := range []int64{1, 2, 5} {
			if f*m >= v {
				return f * m
			}
		}
		if m > 1<<58 {
			return v
		}
	}
}

// yTickValues are the labelled y values: the baseline, the top and, when it
// is a whole number, the middle.
func yTickValues(top int64) []int64 {
	if top%2 == 0 {
		return []int64{0, top / 2, top}
	}
	return []int64{0, top}
}

// fmtCoord prints a coordinate with one decimal, enough at this scale.
func fmtCoord(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// lower lower-cases the first letter of a series name for tooltips
// ("Sessions created" → "sessions created").
func lower(s string) string {
	if s != "" && s[0] >= 'A' && s[0] <= 'Z' {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

// HourlyPoints turns hourly buckets (oldest first) into one chart point per
// hour.
func HourlyPoints(hs []HourCount) []ChartPoint {
	out := make([]ChartPoint, 0, len(hs))
	for _, h := range hs {
		pt := ChartPoint{Label: h.Hour, Long: h.Hour, Bar: h.Created, Line: h.PeakActive}
		if t, err := time.Parse("2006-01-02T15", h.Hour); err == nil {
			pt.Label, pt.Long = t.Format("15:00"), t.Format("2006-01-02 15:00")
		}
		out = append(out, pt)
	}
	return out
}

// DailyPoints groups hourly buckets (oldest first) by day and keeps the last
// days of them: sessions created add up, the peak is the highest hourly
// peak. The oldest day of a window of whole hours is usually partial, which
// is why callers ask for more hours than days×24 covers exactly and let this
// keep only the newest days.
func DailyPoints(hs []HourCount, days int) []ChartPoint {
	var out []ChartPoint
	for _, h := range hs {
		day := h.Hour
		if len(day) >= 10 {
			day = day[:10]
		}
		if len(out) == 0 || out[len(out)-1].Long != day {
			out = append(out, ChartPoint{Long: day})
		}
		last := &out[len(out)-1]
		last.Bar += h.Created
		last.Line = max(last.Line, h.PeakActive)
	}
	if days > 0 && len(out) > days {
		out = out[len(out)-days:]
	}
	for i := range out {
		out[i].Label = out[i].Long
		if t, err := time.Parse("2006-01-02", out[i].Long); err == nil {
			out[i].Label = t.Format("Mon 2")
			out[i].Long = t.Format("Mon 2006-01-02")
		}
	}
	return out
}
