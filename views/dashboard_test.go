package views

import (
	"testing"
	"time"
)

func TestAverageDuration(t *testing.T) {
	tests := []struct {
		d     time.Duration
		ended int64
		want  string
	}{
		{0, 0, "—"},
		{5 * time.Minute, 0, "—"},
		{42 * time.Second, 1, "42 s"},
		{12*time.Minute + 59*time.Second, 3, "12 min"},
		{time.Hour, 1, "1 h"},
		{time.Hour + 5*time.Minute, 1, "1 h 5 min"},
	}
	for _, tt := range tests {
		if got := averageDuration(tt.d, tt.ended); got != tt.want {
			t.Errorf("averageDuration(%v, %d) = %q, want %q", tt.d, tt.ended, got, tt.want)
		}
	}
}

func TestDashboardPage(t *testing.T) {
	p := DashboardProps{
		Layout: signedIn("operator"),
		Counters: DashboardCountersProps{ActiveNow: 4, Created: 7, UniqueUsers: 3, AverageDuration: 10 * time.Minute, Ended: 2,
			PeakConcurrent: 5, Analyses: 9, UpdatedAt: now},
		Day:  ChartProps{ID: "chart-day", Title: "Last 24 hours", BarName: "Sessions created", LineName: "Peak active", Points: HourlyPoints([]HourCount{{"2025-03-04T09", 2, 1}})},
		Week: ChartProps{ID: "chart-week", Title: "Last 7 days", BarName: "Sessions created", LineName: "Peak active"},
		Audit: []DashboardAudit{{At: now.Add(-2 * time.Minute), Actor: hostile, Action: "login_failed", Target: hostile,
			Result: "refused", Reason: hostile}},
		Now: now,
	}
	pg := render(t, DashboardPage(p))
	assertSafe(t, pg)
	for id, want := range map[string]string{
		"counter-active": "4", "counter-created": "7", "counter-unique": "3",
		"counter-duration": "10 min", "counter-peak": "5", "counter-analyses": "9",
	} {
		if got := text(pg.one(t, id)); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	c := pg.one(t, "dashboard-counters")
	for k, want := range map[string]string{"hx-get": "/admin/counters", "hx-trigger": "every 5s", "hx-swap": "outerHTML", "id": "dashboard-counters"} {
		if got, _ := attr(c, k); got != want {
			t.Errorf("counters %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := attr(c, "data-background"); !ok {
		t.Error("counters poll is not marked data-background")
	}
	pg.one(t, "chart-chart-day")
	pg.one(t, "chart-chart-week")
	rows := pg.testIDs("audit-row")
	if len(rows) != 1 {
		t.Fatalf("%d audit rows, want 1", len(rows))
	}
	if got := text(pg.one(t, "audit-actor")); got != hostile {
		t.Errorf("actor = %q, want the hostile text shown as text", got)
	}
	if got := text(pg.one(t, "audit-target")); got != hostile {
		t.Errorf("target = %q, want the hostile text shown as text", got)
	}
	if got := text(pg.one(t, "audit-action")); got != "login_failed" {
		t.Errorf("action = %q", got)
	}
	pg.none(t, "dashboard-audit-empty")
}

func TestDashboardEmptyAudit(t *testing.T) {
	pg := render(t, DashboardPage(DashboardProps{Layout: signedIn("admin"), Now: now,
		Day: ChartProps{ID: "chart-day"}, Week: ChartProps{ID: "chart-week"}}))
	pg.one(t, "dashboard-audit-empty")
	pg.none(t, "audit-row")
	if got := text(pg.one(t, "counter-duration")); got != "—" {
		t.Errorf("average with nothing ended = %q, want —", got)
	}
}

func TestDashboardCountersFragment(t *testing.T) {
	pg := render(t, DashboardCounters(DashboardCountersProps{ActiveNow: 1, UpdatedAt: now}))
	if n := len(pg.all(byTag("header"))); n != 0 {
		t.Errorf("fragment renders the layout (%d headers)", n)
	}
	if got := text(pg.one(t, "counter-active")); got != "1" {
		t.Errorf("active = %q", got)
	}
}
