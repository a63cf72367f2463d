package views

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// humanBytes is a file size for people, with the locale's decimal mark:
// 980 B, 12,3 KiB, 4,0 MiB in es-PY; 12.3 KiB in en.
func humanBytes(ctx context.Context, n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1024*1024:
		return i18n.Number(ctx, float64(n)/1024, 1) + " KiB"
	}
	return i18n.Number(ctx, float64(n)/(1024*1024), 1) + " MiB"
}

// percentOf is n as a percentage of total, as the locale writes it (0 when
// total is 0).
func percentOf(ctx context.Context, n, total int) string {
	if total <= 0 {
		return i18n.Percent(ctx, 0)
	}
	return i18n.Percent(ctx, float64(n)/float64(total))
}

// progressText is an analysis' progress in percent (0 to 100) as text.
func progressText(ctx context.Context, pct int) string {
	return i18n.Percent(ctx, float64(pct)/100)
}

// breakdownKey shows a breakdown's key, naming the analysis package's
// special keys.
func breakdownKey(ctx context.Context, k string) string {
	switch k {
	case analysis.KeyNone:
		return i18n.T(ctx, "workspace.breakdown.no_value")
	case analysis.KeyOther:
		return i18n.T(ctx, "workspace.breakdown.others")
	case analysis.KeyEarlier:
		return i18n.T(ctx, "workspace.breakdown.earlier")
	}
	return k
}

func ratingText(r int) string {
	if r == 0 {
		return ""
	}
	return strconv.Itoa(r)
}

// dateText shows a comment's date (YYYY-MM-DD) as the locale writes dates;
// anything else as it is.
func dateText(ctx context.Context, s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return i18n.Date(ctx, t)
}

// pages is the number of pages of total rows, at least 1.
func pages(total, size int) int {
	if size <= 0 || total <= 0 {
		return 1
	}
	return (total + size - 1) / size
}

// columnLabel names a comments-table column.
func columnLabel(ctx context.Context, c string) string {
	switch c {
	case "comment":
		return i18n.T(ctx, "workspace.column.comment")
	case "sentiment":
		return i18n.T(ctx, "workspace.column.sentiment")
	case "themes":
		return i18n.T(ctx, "workspace.column.themes")
	case "rating":
		return i18n.T(ctx, "workspace.column.rating")
	case "city":
		return i18n.T(ctx, "workspace.column.city")
	case "date":
		return i18n.T(ctx, "workspace.column.date")
	}
	return c
}

// sectionTitle names a workspace section (the ui_state's names), "" for one
// the page does not have.
func sectionTitle(ctx context.Context, s string) string {
	switch s {
	case "datasets":
		return i18n.T(ctx, "workspace.section.datasets")
	case "analysis":
		return i18n.T(ctx, "workspace.section.analysis")
	case "history":
		return i18n.T(ctx, "workspace.section.history")
	case "preferences":
		return i18n.T(ctx, "workspace.section.preferences")
	}
	return ""
}

// StatusName is an analysis status (queued, running, done, failed,
// interrupted) in the reader's language; another status shows as it is.
func StatusName(ctx context.Context, status string) string {
	switch status {
	case "queued":
		return i18n.T(ctx, "workspace.status.queued")
	case "running":
		return i18n.T(ctx, "workspace.status.running")
	case "done":
		return i18n.T(ctx, "workspace.status.done")
	case "failed":
		return i18n.T(ctx, "workspace.status.failed")
	case "interrupted":
		return i18n.T(ctx, "workspace.status.interrupted")
	}
	return status
}

// sentimentName names a comment's sentiment.
func sentimentName(ctx context.Context, s analysis.Sentiment) string {
	switch s {
	case analysis.Positive:
		return i18n.T(ctx, "workspace.sentiment.positive")
	case analysis.Neutral:
		return i18n.T(ctx, "workspace.sentiment.neutral")
	case analysis.Negative:
		return i18n.T(ctx, "workspace.sentiment.negative")
	}
	return string(s)
}

// themeLabel names a theme by its stable key. The analysis carries a label
// of its own, in Spanish (the rules' language): it is shown for a theme the
// catalogs do not know (edited rules), else the key.
func themeLabel(ctx context.Context, key, label string) string {
	switch key {
	case analysis.ThemeSpeed:
		return i18n.T(ctx, "workspace.theme.speed")
	case analysis.ThemeOutages:
		return i18n.T(ctx, "workspace.theme.outages")
	case analysis.ThemeInstallation:
		return i18n.T(ctx, "workspace.theme.installation")
	case analysis.ThemeBilling:
		return i18n.T(ctx, "workspace.theme.billing")
	case analysis.ThemeCustomerService:
		return i18n.T(ctx, "workspace.theme.customer_service")
	case analysis.ThemeCoverage:
		return i18n.T(ctx, "workspace.theme.coverage")
	case analysis.ThemePrice:
		return i18n.T(ctx, "workspace.theme.price")
	}
	if label != "" {
		return label
	}
	return key
}

// rowThemes names a comment's themes, with the result's labels for themes
// the catalogs do not know.
func rowThemes(ctx context.Context, keys []string, res *analysis.Result) string {
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		label := ""
		if res != nil {
			for _, t := range res.Themes {
				if t.Theme == k {
					label = t.Label
					break
				}
			}
		}
		names = append(names, themeLabel(ctx, k, label))
	}
	return strings.Join(names, ", ")
}

// roleName names a user's role; another role shows as it is.
func roleName(ctx context.Context, role string) string {
	switch role {
	case roleAnalyst:
		return i18n.T(ctx, "workspace.role.analyst")
	case roleOperator:
		return i18n.T(ctx, "workspace.role.operator")
	case roleAdmin:
		return i18n.T(ctx, "workspace.role.admin")
	}
	return role
}

// commentColumns are the comments table's optional columns in page order,
// as sessionsvc.ResultColumns names them.
var commentColumns = []string{"comment", "sentiment", "themes", "rating", "city", "date"}
