package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
	"github.com/ppfiber/sessionconsole/views/i18n"
)

// recoveryList shows the signed-in user the ended sessions they can resume.
func (h *Handler) recoveryList(c echo.Context) error {
	return h.renderRecovery(c, http.StatusOK, "")
}

func (h *Handler) renderRecovery(c echo.Context, status int, msg string) error {
	ctx := c.Request().Context()
	offers, err := h.sessions.RecoveryOffers(ctx)
	if err != nil {
		return err
	}
	cur, _ := h.sessions.Current(ctx)
	p := views.RecoveryProps{Layout: h.layout(c, i18n.T(ctx, "recovery.title")), Now: h.now(), Error: msg, Home: homeFor(cur.Role)}
	if next := safeNext(c.QueryParam("next")); next != "" && !strings.HasPrefix(next, "/recover") {
		p.Home = next // "start fresh" goes where the user was going
	}
	for _, o := range offers {
		v := views.RecoveryOffer{
			SID: o.SID, ShortSID: shortSID(o.SID), Why: endedText(ctx, h.sessions.EndedNotice(o.Tombstone())),
			EndedAt: o.EndedAt, ExpiresAt: o.ExpiresAt, LastActivity: o.LastActivity, Page: o.Page, Section: o.Section,
			Processing: o.Processing, Files: o.Files, Analyses: o.Analyses,
		}
		for _, d := range o.Datasets {
			v.Datasets = append(v.Datasets, views.RecoveryDataset{Name: d.Name, Comments: d.Comments})
		}
		if a := o.LastAnalysis; a != nil {
			name := a.DatasetName
			if name == "" {
				name = "—" // a run recorded without its dataset (a state written by hand)
			}
			v.LastAnalysis = &views.RecoveryAnalysis{DatasetName: name, Status: a.Status, QueuedAt: a.QueuedAt, FinishedAt: a.FinishedAt}
		}
		p.Offers = append(p.Offers, v)
	}
	return h.render(c, status, views.RecoveryPage(p))
}
