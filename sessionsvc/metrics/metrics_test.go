package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// scrape GETs the handler and returns status and body.
func scrape(t *testing.T, h http.Handler, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// exercise calls every method once, so every series has a sample.
func exercise(m *Metrics) {
	m.SessionCreated()
	m.SessionEnded("logout")
	m.SessionEnded("")
	m.SessionsEnded("terminated", 3)
	m.SessionsEnded("terminated", 0)
	m.EventsDropped(2)
	m.EventsFlushed(5, 3*time.Millisecond)
	m.SetBufferFunc(func() int { return 7 })
	m.SetActiveFunc(func(context.Context) (map[string]int, error) {
		return map[string]int{"admin": 1, "analyst": 4, "operator": 0}, nil
	})
	m.CleanupPass(time.Second, 1, 2, 3)
	m.SecurityEvent()
	m.ObserveStore("get", time.Millisecond, nil)
	m.ObserveStore("end", time.Millisecond, errors.New("boom"))
}

func TestHandlerExposesEverySeries(t *testing.T) {
	m := New("app-1")
	exercise(m)
	e := echo.New()
	e.Use(m.EchoMiddleware())
	e.GET("/x/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x/1", nil))

	code, body := scrape(t, m.Handler(""), "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200\n%s", code, body)
	}
	for _, want := range []string{
		`sessionconsole_active_sessions_cluster{role="admin"} 1`,
		`sessionconsole_active_sessions_cluster{role="analyst"} 4`,
		`sessionconsole_active_sessions_cluster{role="operator"} 0`,
		`sessionconsole_sessions_created_total{instance="app-1"} 1`,
		`sessionconsole_sessions_ended_total{instance="app-1",reason="logout"} 1`,
		`sessionconsole_sessions_ended_total{instance="app-1",reason="unknown"} 1`,
		`sessionconsole_sessions_ended_total{instance="app-1",reason="terminated"} 3`,
		`sessionconsole_http_request_duration_seconds_count{code="200",instance="app-1",method="GET",route="/x/:id"} 1`,
		`sessionconsole_store_errors_total{instance="app-1",op="end"} 1`,
		`sessionconsole_store_duration_seconds_count{instance="app-1",op="get"} 1`,
		`sessionconsole_store_duration_seconds_count{instance="app-1",op="end"} 1`,
		`sessionconsole_analytics_buffer_events{instance="app-1"} 7`,
		`sessionconsole_analytics_events_dropped_total{instance="app-1"} 2`,
		`sessionconsole_analytics_events_flushed_total{instance="app-1"} 5`,
		`sessionconsole_analytics_flush_duration_seconds_count{instance="app-1"} 1`,
		`sessionconsole_cleanup_duration_seconds_count{instance="app-1"} 1`,
		`sessionconsole_cleanup_sessions_total{action="ended",instance="app-1"} 1`,
		`sessionconsole_cleanup_sessions_total{action="archived",instance="app-1"} 2`,
		`sessionconsole_cleanup_sessions_total{action="purged",instance="app-1"} 3`,
		`sessionconsole_security_events_total{instance="app-1"} 1`,
		`go_goroutines{instance="app-1"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The cluster-wide gauge must not carry instance, or sum() would count it
	// once per instance.
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "sessionconsole_active_sessions_cluster{") && strings.Contains(line, "instance=") {
			t.Errorf("cluster gauge has an instance label: %s", line)
		}
	}
	if strings.Contains(body, `store_errors_total{instance="app-1",op="get"}`) {
		t.Error("a successful store call counted as an error")
	}
}

func TestStoreCanceledIsNotAnError(t *testing.T) {
	m := New("i")
	m.ObserveStore("get", time.Millisecond, context.Canceled)
	m.ObserveStore("get", time.Millisecond, context.DeadlineExceeded)
	_, body := scrape(t, m.Handler(""), "")
	if want := `sessionconsole_store_errors_total{instance="i",op="get"} 1`; !strings.Contains(body, want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestActiveFuncFailureKeepsOtherSeries(t *testing.T) {
	m := New("i")
	m.SessionCreated()
	var gotCtx context.Context
	m.SetActiveFunc(func(ctx context.Context) (map[string]int, error) {
		gotCtx = ctx
		return nil, errors.New("store down")
	})
	code, body := scrape(t, m.Handler(""), "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", code)
	}
	if _, ok := gotCtx.Deadline(); !ok {
		t.Error("ActiveFunc got a context without deadline")
	}
	if strings.Contains(body, "sessionconsole_active_sessions_cluster{") {
		t.Error("failed count exported")
	}
	for _, want := range []string{
		`sessionconsole_active_sessions_errors_total{instance="i"} 1`,
		`sessionconsole_sessions_created_total{instance="i"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestHandlerToken(t *testing.T) {
	const token = "s3cret-token-0123456789"
	h := New("i").Handler(token)
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"token prefix", "Bearer " + token[:5], http.StatusUnauthorized},
		{"token without scheme", token, http.StatusUnauthorized},
		{"basic scheme", "Basic " + token, http.StatusUnauthorized},
		{"right token", "Bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := scrape(t, h, tt.auth)
			if code != tt.want {
				t.Fatalf("status = %d, want %d", code, tt.want)
			}
			if code != http.StatusOK && strings.Contains(body, "sessionconsole_") {
				t.Error("unauthorized response carries metrics")
			}
			if code == http.StatusOK && !strings.Contains(body, "sessionconsole_sessions_created_total") {
				t.Error("authorized response lacks metrics")
			}
		})
	}
}

func TestNilMetricsIsSafe(t *testing.T) {
	var m *Metrics
	exercise(m) // must not panic
	code, _ := scrape(t, m.Handler("t"), "Bearer t")
	if code != http.StatusNotFound {
		t.Errorf("nil Handler status = %d, want 404", code)
	}
	e := echo.New()
	e.Use(m.EchoMiddleware())
	e.GET("/x/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x/1", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("nil middleware: %d %q", rec.Code, rec.Body.String())
	}
}

func TestEchoMiddlewareLabels(t *testing.T) {
	m := New("i")
	e := echo.New()
	e.Use(m.EchoMiddleware())
	e.GET("/x/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/teapot", func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "short") })
	e.GET("/boom", func(c echo.Context) error { return errors.New("boom") })
	e.POST("/created", func(c echo.Context) error { return c.NoContent(http.StatusCreated) })

	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/x/123"},
		{http.MethodGet, "/x/abcDEF-sid"},
		{http.MethodGet, "/teapot"},
		{http.MethodGet, "/boom"},
		{http.MethodPost, "/created"},
		{http.MethodGet, "/no/such/page/sid-42"},
		{"BREW", "/x/1"},
	} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	_, body := scrape(t, m.Handler(""), "")
	const p = "sessionconsole_http_request_duration_seconds_count"
	for _, want := range []string{
		p + `{code="200",instance="i",method="GET",route="/x/:id"} 2`,
		p + `{code="418",instance="i",method="GET",route="/teapot"} 1`,
		p + `{code="500",instance="i",method="GET",route="/boom"} 1`,
		p + `{code="201",instance="i",method="POST",route="/created"} 1`,
		p + `{code="404",instance="i",method="GET",route="unmatched"} 1`,
		p + `{code="405",instance="i",method="OTHER",route="/x/:id"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, raw := range []string{"/x/123", "abcDEF", "sid-42", "BREW"} {
		if strings.Contains(body, raw) {
			t.Errorf("metrics carry the raw request value %q", raw)
		}
	}
	if t.Failed() {
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, p) {
				t.Log(line)
			}
		}
	}
}

func TestNewDefaultsInstance(t *testing.T) {
	m := New("")
	m.SessionCreated()
	_, body := scrape(t, m.Handler(""), "")
	if strings.Contains(body, `instance=""`) || !strings.Contains(body, "sessionconsole_sessions_created_total{instance=") {
		t.Errorf("New(\"\") does not name the instance:\n%s", body)
	}
}
