package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ppfiber/sessionconsole/views"
)

// systemShow is what an operator checks first: store reachability and
// latency, the cleanup lease and this instance's last pass, the analytics
// buffer, the encryption keys in use, the version. A store that does not
// answer is the page's subject, not its failure: it renders 200 with the
// store shown down (System reports it rather than failing).
func (h *Handler) systemShow(c echo.Context) error {
	info, err := h.console.System(c.Request().Context())
	if err != nil {
		return err
	}
	p := views.SystemProps{
		Layout: h.layout(c, "System"), CheckedAt: info.CheckedAt, Version: info.Version, Instance: info.Instance,
		Backend: info.Backend, StoreUp: info.StoreUp, StoreLatency: info.StoreLatency, StoreErr: info.StoreErr,
		CleanupEnabled: info.CleanupEnabled, CleanupInterval: info.CleanupInterval,
		LeaseHeld: info.CleanupLease.Held, LeaseHolder: info.CleanupLease.Holder, LeaseUntil: info.CleanupLease.Until,
		LeaseMine: info.CleanupLease.Mine, LeaseErr: info.CleanupLease.Err,
		AnalyticsOn: info.AnalyticsOn, BufferLen: info.BufferLen, BufferCap: info.BufferCap,
		EventsDropped: info.EventsDropped, SecurityEvents: info.SecurityEvents,
		Encryption: info.Encryption, KeyIDs: info.KeyIDs,
	}
	if lp := info.LastPass; lp != nil {
		p.LastPass = &views.SystemPass{At: lp.At, Duration: lp.Duration, Ended: lp.Ended, Archived: lp.Archived, Purged: lp.Purged, Err: lp.Err}
	}
	if !info.StoreUp {
		p.Layout.Banner = "The session store is unreachable."
	}
	return h.render(c, http.StatusOK, views.SystemPage(p))
}
