package i18n

import (
	"math"
	"testing"
	"time"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		v        float64
		decimals int
		es, en   string
	}{
		{1234.5, 1, "1.234,5", "1,234.5"},
		{1234.5, 0, "1.235", "1,235"}, // half away from zero
		{0, 2, "0,00", "0.00"},
		{999, 0, "999", "999"},
		{1000, 0, "1.000", "1,000"},
		{1234567.891, 2, "1.234.567,89", "1,234,567.89"},
		{-1234.5, 1, "-1.234,5", "-1,234.5"},
		{-0.04, 1, "0,0", "0.0"}, // rounds to zero: no minus sign
		{0.125, 2, "0,13", "0.13"},
		{12, -3, "12", "12"}, // negative decimals mean none
		{math.NaN(), 1, "—", "—"},
		{math.Inf(1), 1, "—", "—"},
	}
	for _, tt := range tests {
		if got := Number(ctxFor(ES), tt.v, tt.decimals); got != tt.es {
			t.Errorf("es Number(%v, %d) = %q, want %q", tt.v, tt.decimals, got, tt.es)
		}
		if got := Number(ctxFor(EN), tt.v, tt.decimals); got != tt.en {
			t.Errorf("en Number(%v, %d) = %q, want %q", tt.v, tt.decimals, got, tt.en)
		}
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		n      int
		es, en string
	}{
		{0, "0", "0"},
		{7, "7", "7"},
		{1234, "1.234", "1,234"},
		{-1234567, "-1.234.567", "-1,234,567"},
		{100000, "100.000", "100,000"},
		{math.MinInt64, "-9.223.372.036.854.775.808", "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := Int(ctxFor(ES), tt.n); got != tt.es {
			t.Errorf("es Int(%d) = %q, want %q", tt.n, got, tt.es)
		}
		if got := Int(ctxFor(EN), tt.n); got != tt.en {
			t.Errorf("en Int(%d) = %q, want %q", tt.n, got, tt.en)
		}
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		v      float64
		es, en string
	}{
		{0.125, "12,5\u00a0%", "12.5%"},
		{0.5, "50\u00a0%", "50%"},
		{1, "100\u00a0%", "100%"},
		{0, "0\u00a0%", "0%"},
		{0.33333, "33,3\u00a0%", "33.3%"},
		{12.345, "1.234,5\u00a0%", "1,234.5%"},
		{-0.02, "-2\u00a0%", "-2%"},
		{-0.0001, "0\u00a0%", "0%"},
	}
	for _, tt := range tests {
		if got := Percent(ctxFor(ES), tt.v); got != tt.es {
			t.Errorf("es Percent(%v) = %q, want %q", tt.v, got, tt.es)
		}
		if got := Percent(ctxFor(EN), tt.v); got != tt.en {
			t.Errorf("en Percent(%v) = %q, want %q", tt.v, got, tt.en)
		}
	}
}

func TestDates(t *testing.T) {
	asu := time.FixedZone("PYT", -3*3600)
	tests := []struct {
		t                      time.Time
		esDate, enDate         string
		esDateTime, enDateTime string
	}{
		{time.Date(2026, 11, 27, 14, 5, 0, 0, time.UTC), "27/11/2026", "Nov 27, 2026", "27/11/2026 14:05", "Nov 27, 2026, 2:05 PM"},
		{time.Date(2026, 1, 2, 0, 7, 59, 0, time.UTC), "02/01/2026", "Jan 2, 2026", "02/01/2026 00:07", "Jan 2, 2026, 12:07 AM"},
		// Shown in the time's own zone: the caller picks it.
		{time.Date(2026, 3, 1, 1, 30, 0, 0, time.UTC).In(asu), "28/02/2026", "Feb 28, 2026", "28/02/2026 22:30", "Feb 28, 2026, 10:30 PM"},
		{time.Time{}, "—", "—", "—", "—"},
	}
	for _, tt := range tests {
		if got := Date(ctxFor(ES), tt.t); got != tt.esDate {
			t.Errorf("es Date(%v) = %q, want %q", tt.t, got, tt.esDate)
		}
		if got := Date(ctxFor(EN), tt.t); got != tt.enDate {
			t.Errorf("en Date(%v) = %q, want %q", tt.t, got, tt.enDate)
		}
		if got := DateTime(ctxFor(ES), tt.t); got != tt.esDateTime {
			t.Errorf("es DateTime(%v) = %q, want %q", tt.t, got, tt.esDateTime)
		}
		if got := DateTime(ctxFor(EN), tt.t); got != tt.enDateTime {
			t.Errorf("en DateTime(%v) = %q, want %q", tt.t, got, tt.enDateTime)
		}
	}
}

func TestMonth(t *testing.T) {
	for m, want := range map[time.Month][2]string{
		time.January: {"enero", "January"}, time.September: {"septiembre", "September"},
		time.December: {"diciembre", "December"}, 13: {"13", "13"}, 0: {"0", "0"},
	} {
		if got := Month(ctxFor(ES), m); got != want[0] {
			t.Errorf("es Month(%d) = %q, want %q", m, got, want[0])
		}
		if got := Month(ctxFor(EN), m); got != want[1] {
			t.Errorf("en Month(%d) = %q, want %q", m, got, want[1])
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		d      time.Duration // t - now
		es, en string
	}{
		{0, "recién", "just now"},
		{-59 * time.Second, "recién", "just now"},
		{-time.Minute, "hace 1 min", "1 min ago"},
		{-3*time.Minute - 30*time.Second, "hace 3 min", "3 min ago"},
		{-2*time.Hour - 59*time.Minute, "hace 2 h", "2 h ago"},
		{-47 * time.Hour, "hace 47 h", "47 h ago"},
		{-48 * time.Hour, "hace 2 días", "2 d ago"},
		{-30 * 24 * time.Hour, "hace 30 días", "30 d ago"},
		{30 * time.Second, "en menos de un minuto", "in under a minute"},
		{5*time.Minute + 59*time.Second, "en 5 min", "in 5 min"},
		{2 * time.Hour, "en 2 h", "in 2 h"},
		{72 * time.Hour, "en 3 días", "in 3 d"},
	}
	for _, tt := range tests {
		if got := Ago(ctxFor(ES), now, now.Add(tt.d)); got != tt.es {
			t.Errorf("es Ago(%v) = %q, want %q", tt.d, got, tt.es)
		}
		if got := Ago(ctxFor(EN), now, now.Add(tt.d)); got != tt.en {
			t.Errorf("en Ago(%v) = %q, want %q", tt.d, got, tt.en)
		}
	}
	if got := Ago(ctxFor(ES), now, time.Time{}); got != "—" {
		t.Errorf("zero time = %q", got)
	}
}
