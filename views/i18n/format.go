package i18n

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"
)

// separators are a locale's decimal mark and thousands separator.
func separators(l Locale) (decimal, group byte) {
	if l == EN {
		return '.', ','
	}
	return ',', '.'
}

// Number formats v with exactly decimals digits after the decimal mark,
// rounded half away from zero, thousands grouped: 1.234,5 in es-PY, 1,234.5 in en. A value that
// rounds to zero has no minus sign; NaN and infinities read "—".
func Number(ctx context.Context, v float64, decimals int) string {
	return formatNumber(FromContext(ctx), v, decimals)
}

// Int formats n with thousands grouped: 1.234.567 in es-PY, 1,234,567 in en.
func Int(ctx context.Context, n int) string { return formatInt(FromContext(ctx), n) }

// Percent formats a ratio (0.125 for 12.5 %) as a percentage with at most
// one decimal, a trailing zero dropped: 12,5 % in es-PY (with a no-break
// space, as Spanish writes it), 12.5% in en; 1 is 100 %.
func Percent(ctx context.Context, ratio float64) string {
	l := FromContext(ctx)
	s := formatNumber(l, ratio*100, 1)
	dec, _ := separators(l)
	s = strings.TrimSuffix(s, string(dec)+"0")
	if l == EN {
		return s + "%"
	}
	return s + "\u00a0%"
}

func formatNumber(l Locale, v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	decimals = min(max(decimals, 0), 12)
	// Half away from zero, as people round (strconv rounds half to even).
	p := math.Pow10(decimals)
	if r := math.Abs(v) * p; r < 1<<53 {
		v = math.Copysign(math.Round(r)/p, v)
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := v < 0 && strings.Trim(s, "0.") != ""
	dec, _ := separators(l)
	out := group(l, intPart, neg)
	if frac != "" {
		out += string(dec) + frac
	}
	return out
}

func formatInt(l Locale, n int) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	return group(l, strings.TrimPrefix(s, "-"), neg)
}

// group inserts the locale's thousands separator into a string of digits.
func group(l Locale, digits string, neg bool) string {
	_, sep := separators(l)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(digits); i++ {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// Date formats t's calendar date as people of the locale write it:
// 27/11/2026 in es-PY, Nov 27, 2026 in en. t is shown in its own location:
// callers convert it to the zone they mean first. The zero time is "—".
func Date(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if FromContext(ctx) == EN {
		return t.Format("Jan 2, 2006")
	}
	return t.Format("02/01/2006")
}

// DateTime is Date with the time of day to the minute: 27/11/2026 14:05 in
// es-PY (24-hour clock), Nov 27, 2026, 2:05 PM in en.
func DateTime(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if FromContext(ctx) == EN {
		return t.Format("Jan 2, 2006, 3:04 PM")
	}
	return t.Format("02/01/2006 15:04")
}

var monthsES = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// Month is the month's name as it stands inside a sentence: noviembre in
// es-PY (Spanish writes months in lower case), November in en.
func Month(ctx context.Context, m time.Month) string {
	if m < time.January || m > time.December {
		return strconv.Itoa(int(m))
	}
	if FromContext(ctx) == EN {
		return m.String()
	}
	return monthsES[m-1]
}

// Ago describes t relative to now for people scanning a table: "hace 3 min",
// "en 2 h", "hace 4 días" in es-PY; "3 min ago", "in 2 h", "4 d ago" in en.
// Amounts are truncated, never rounded up, so a deadline is never shown later
// than it is. The zero time is "—".
func Ago(ctx context.Context, now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	switch {
	case d < time.Minute && future:
		return T(ctx, "time.in_under_a_minute")
	case d < time.Minute:
		return T(ctx, "time.just_now")
	case d < time.Hour && future:
		return N(ctx, "time.in_minutes", int(d/time.Minute))
	case d < time.Hour:
		return N(ctx, "time.minutes_ago", int(d/time.Minute))
	case d < 48*time.Hour && future:
		return N(ctx, "time.in_hours", int(d/time.Hour))
	case d < 48*time.Hour:
		return N(ctx, "time.hours_ago", int(d/time.Hour))
	case future:
		return N(ctx, "time.in_days", int(d/(24*time.Hour)))
	}
	return N(ctx, "time.days_ago", int(d/(24*time.Hour)))
}
