package handlers

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// Register mounts every route and the whole middleware stack on e.
// statePages are the routes (pattern -> method) whose handler reads the
// signed-in session's own state: withSession has Load read it with the blob,
// one store round trip for both (sessionsvc.PrefetchState). A route missing
// here costs a second round trip, one listed wrongly a wasted state read. A
// handler that writes state after reading it (the section toggle) reads the
// prefetched state once; its write and any read after go to the store.
var statePages = map[string]string{
	"/workspace":                  http.MethodGet,
	"/workspace/analyses/current": http.MethodGet,
	"/api/v1/session":             http.MethodGet,
	"/api/v1/analyses/:id":        http.MethodGet,
	"/workspace/sections":         http.MethodPost,
}

func (h *Handler) Register(e *echo.Echo) {
	e.HTTPErrorHandler = h.errorHandler
	e.IPExtractor = echo.ExtractIPDirect() // client IPs come from sessionsvc's trusted-proxy rules

	e.Use(middleware.RequestID())
	e.Use(h.metrics.EchoMiddleware())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			path := v.URIPath
			if strings.HasPrefix(path, "/recover/") {
				path = "/recover/:token" // a one-time link's token stays out of the logs
			}
			attrs := []slog.Attr{
				slog.String("method", v.Method), slog.String("path", path), slog.String("route", c.Path()),
				slog.Int("status", v.Status), slog.Duration("duration", v.Latency), slog.String("request_id", v.RequestID),
			}
			if cur, ok := h.sessions.Current(c.Request().Context()); ok {
				attrs = append(attrs, slog.String("sid", cur.SID))
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("error", v.Error.Error()))
			}
			h.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
			return nil
		},
	}))
	e.Use(middleware.Recover())
	e.Use(h.locale) // before anything that may answer with a page
	e.Use(securityHeaders)
	e.Use(h.crossOrigin())

	// Process and store health, static files: no session.
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", h.static)))

	s := e.Group("", h.withSession, h.sessionLocale)

	// Sign-in and sign-out.
	s.GET("/", h.home)
	s.GET("/login", h.loginShow)
	s.POST("/login", h.loginCheck)
	s.POST("/logout", h.logout, h.csrf)

	// The signed-in user's own sessions.
	u := s.Group("", h.signedIn, h.csrf)
	u.POST("/session/refresh", h.sessionRefresh)
	u.GET("/api/session", h.apiSession)
	u.GET("/account/sessions", h.accountSessionList)
	u.POST("/account/sessions/end-others", h.accountSessionEndOthers)
	u.POST("/account/sessions/:sid/end", h.accountSessionEnd)
	u.POST("/account/theme", h.accountTheme)
	u.POST("/account/locale", h.accountLocale)
	u.GET("/account/two-factor", h.accountTwoFactor)
	u.POST("/account/two-factor", h.accountTwoFactorConfirm)

	// Resuming an ended session: the user's own points, or an admin's one-time link.
	u.GET("/recover", h.recoveryList)
	u.POST("/recover", h.recoveryResume)
	u.GET("/recover/:token", h.recoveryLinkShow)
	u.POST("/recover/:token", h.recoveryLinkUse)

	// Workspace (analysts; admins may use it too) and console (admins and operators).
	// Per route, not a group: a group with middleware on "" would answer
	// every unknown path with its role check (403) instead of 404.
	ws := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
		return append([]echo.MiddlewareFunc{h.signedIn, h.roles(sessionsvc.RoleAnalyst, sessionsvc.RoleAdmin)}, mw...)
	}
	s.GET("/workspace", h.workspaceHome, ws()...)
	s.POST("/workspace/uploads", h.workspaceUpload, ws(h.csrfStream)...)
	s.POST("/workspace/demo", h.workspaceDemo, ws(h.csrf)...)
	s.POST("/workspace/datasets/:id/delete", h.workspaceDatasetDelete, ws(h.csrf)...)
	s.POST("/workspace/analyses", h.workspaceAnalysisStart, ws(h.csrf)...)
	s.GET("/workspace/analyses/current", h.workspaceAnalysisStatus, ws()...)
	s.GET("/workspace/analyses/:id/download", h.workspaceDownload, ws()...)
	s.POST("/workspace/preferences", h.workspacePrefs, ws(h.csrf)...)
	s.POST("/workspace/sections", h.workspaceSection, ws(h.csrf)...)
	s.GET("/api/v1/analyses/:id", h.apiV1Analysis, ws()...)
	u.GET("/api/v1/session", h.apiV1Session)
	u.GET("/admin", h.dashboardShow, h.roles(sessionsvc.RoleAdmin, sessionsvc.RoleOperator))

	// Console: operators read, admins also act. Every route below needs a role.
	ops := u.Group("/admin", h.roles(sessionsvc.RoleAdmin, sessionsvc.RoleOperator))
	admins := u.Group("/admin", h.roles(sessionsvc.RoleAdmin))
	_ = admins
	// console: dashboard routes
	ops.GET("/counters", h.dashboardCounters)
	// console: sessions routes
	ops.GET("/sessions", h.sessionList)
	admins.POST("/sessions/terminate", h.sessionTerminateBulk)
	admins.POST("/sessions/terminate/confirm", h.sessionTerminateBulkConfirm)
	// console: session detail routes
	ops.GET("/sessions/:sid", h.sessionShow)
	admins.POST("/sessions/:sid/terminate", h.sessionTerminate)
	admins.POST("/sessions/:sid/recovery-point", h.sessionRecoveryPoint)
	admins.POST("/users/:user/terminate", h.userTerminate)
	// console: users routes
	ops.GET("/users/:user", h.userShow)
	admins.POST("/users/:user/disable", h.userDisable)
	admins.POST("/users/:user/enable", h.userEnable)
	// console: recovery routes
	ops.GET("/recovery", h.adminRecovery)
	admins.POST("/recovery/:sid", h.adminRecoveryLink)
	// console: system routes
	ops.GET("/system", h.systemShow)
	// console: audit routes
	ops.GET("/audit", h.auditList)
	ops.GET("/audit.csv", h.auditExport)
	_ = ops
}
