// Package metrics holds the Prometheus series of one Session Console instance
// and serves them.
//
// Each Metrics has its own registry: nothing is registered globally, so tests
// and several servers in one process do not collide. Every method is safe on a
// nil *Metrics and then does nothing, so a caller with metrics switched off
// (analytics.track_metrics: false) passes nil instead of checking a flag.
//
// Label values come from code (route patterns, store operation names, end
// reasons), never from a request: a raw path carries a sid, and a label per
// sid would make one series per session. The package must never label a
// series with anything a client chooses.
//
// Summing across instances: every series except the cluster-wide active
// sessions gauge carries a constant label instance (New's argument), so each
// instance's series are distinct and sum() over them is right. Prometheus
// attaches its own target label instance when it scrapes; unless the job sets
// honor_labels, it keeps ours as exported_instance. Either way the series of
// two instances never merge.
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every series name.
const Namespace = "sessionconsole"

// ActiveFunc counts the sessions live now, by role. It runs at scrape time with
// the scrape's context; it should return every role, zeros included, so a role
// whose count drops to zero reads 0 rather than disappearing.
type ActiveFunc func(ctx context.Context) (map[string]int, error)

// activeTimeout bounds one scrape's count of active sessions, whatever the
// scraper's own timeout: a hung store must not pile up scrapes.
const activeTimeout = 10 * time.Second

// Buckets in seconds. Store calls are sub-millisecond on a healthy Redis;
// HTTP requests render a page; a cleanup pass walks many sessions.
var (
	httpBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	storeBuckets   = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	flushBuckets   = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	cleanupBuckets = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// Cleanup actions, the values of sessionconsole_cleanup_sessions_total's
// action label.
const (
	actionEnded    = "ended"    // past a deadline, ended by cleanup
	actionArchived = "archived" // ended session's final record kept
	actionPurged   = "purged"   // ended session's data deleted
)

// Metrics is the set of series one instance exposes. Build it with New.
type Metrics struct {
	reg *prometheus.Registry

	sessionsCreated prometheus.Counter
	sessionsEnded   *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	// httpObservers caches httpDuration's series by httpSeries: every
	// request observes one, and WithLabelValues hashes the labels and takes
	// a lock each time. Routes are the app's patterns, methods the
	// standard ones and statuses few, so it stays small.
	httpObservers   sync.Map
	storeErrors     *prometheus.CounterVec
	storeDuration   *prometheus.HistogramVec
	eventsDropped   prometheus.Counter
	eventsFlushed   prometheus.Counter
	flushDuration   prometheus.Histogram
	cleanupDuration prometheus.Histogram
	cleanupSessions *prometheus.CounterVec
	securityEvents  prometheus.Counter
	activeErrors    prometheus.Counter

	activeDesc *prometheus.Desc
	bufferFn   atomic.Pointer[func() int]
	activeFn   atomic.Pointer[ActiveFunc]
}

// New builds the metrics of one instance on a fresh registry, with the Go
// runtime and process collectors. instance names this instance in the
// instance label (host:port or a pod name); "" means the host name.
func New(instance string) *Metrics {
	if instance == "" {
		instance, _ = os.Hostname()
		if instance == "" {
			instance = "unknown"
		}
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	// Per-instance series go through a registerer that adds instance; the
	// cluster-wide gauge is collected per scrape in Handler, without it.
	r := prometheus.WrapRegistererWith(prometheus.Labels{"instance": instance}, m.reg)
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	m.sessionsCreated = counter(r, "sessions_created_total", "Sessions created by this instance (sign-ins and recoveries).")
	m.sessionsEnded = counterVec(r, "sessions_ended_total", "Sessions ended by this instance, by end reason.", "reason")
	m.httpDuration = histogramVec(r, "http_request_duration_seconds",
		"HTTP requests served, by route pattern (never the raw path), method and status code.",
		httpBuckets, "route", "method", "code")
	m.storeErrors = counterVec(r, "store_errors_total", "Store operations that failed, by operation.", "op")
	m.storeDuration = histogramVec(r, "store_duration_seconds", "Store operation latency, by operation.", storeBuckets, "op")
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "analytics_buffer_events",
		Help: "Analytics events waiting in this instance's buffer for the next flush.",
	}, m.bufferLen))
	m.eventsDropped = counter(r, "analytics_events_dropped_total", "Analytics events dropped because the buffer was full.")
	m.eventsFlushed = counter(r, "analytics_events_flushed_total", "Analytics events written to the store.")
	m.flushDuration = histogram(r, "analytics_flush_duration_seconds", "Duration of one analytics batch flush.", flushBuckets)
	m.cleanupDuration = histogram(r, "cleanup_duration_seconds", "Duration of one cleanup pass run by this instance.", cleanupBuckets)
	m.cleanupSessions = counterVec(r, "cleanup_sessions_total",
		"Sessions handled by cleanup passes, by action: ended (past a deadline), archived, purged.", "action")
	m.securityEvents = counter(r, "security_events_total", "Security events (tampered or undecryptable data, IP changes, refused logins...).")
	m.activeErrors = counter(r, "active_sessions_errors_total", "Scrapes whose count of active sessions failed.")
	for _, a := range []string{actionEnded, actionArchived, actionPurged} {
		m.cleanupSessions.WithLabelValues(a) // exported as 0 before the first pass
	}

	// The count comes from the store's deadline index, shared by every
	// instance: each one reports the same cluster-wide value, so summing over
	// instances would multiply it. Hence no instance label and the _cluster
	// suffix: aggregate it with max (or pick one instance), never sum.
	m.activeDesc = prometheus.NewDesc(Namespace+"_active_sessions_cluster",
		"Sessions live now across the whole cluster, by role (from the store; the same on every instance: use max, not sum).",
		[]string{"role"}, nil)
	return m
}

func counter(r prometheus.Registerer, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	r.MustRegister(c)
	return c
}

func counterVec(r prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	r.MustRegister(c)
	return c
}

func histogram(r prometheus.Registerer, name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	r.MustRegister(h)
	return h
}

func histogramVec(r prometheus.Registerer, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	r.MustRegister(h)
	return h
}

// SessionCreated counts one session created (sign-in or recovery).
func (m *Metrics) SessionCreated() {
	if m == nil {
		return
	}
	m.sessionsCreated.Inc()
}

// SessionEnded counts one session ended for reason (a store end reason code).
func (m *Metrics) SessionEnded(reason string) {
	if m == nil {
		return
	}
	if reason == "" {
		reason = "unknown"
	}
	m.sessionsEnded.WithLabelValues(reason).Inc()
}

// SessionsEnded counts n sessions ended at once for reason (a bulk
// termination); n <= 0 counts nothing.
func (m *Metrics) SessionsEnded(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	if reason == "" {
		reason = "unknown"
	}
	m.sessionsEnded.WithLabelValues(reason).Add(float64(n))
}

// EventsDropped counts n analytics events dropped because the buffer was full.
func (m *Metrics) EventsDropped(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.eventsDropped.Add(float64(n))
}

// EventsFlushed records one successful flush of n events that took d.
func (m *Metrics) EventsFlushed(n int, d time.Duration) {
	if m == nil {
		return
	}
	if n > 0 {
		m.eventsFlushed.Add(float64(n))
	}
	m.flushDuration.Observe(d.Seconds())
}

// SetBufferFunc sets what reports the analytics buffer's length at scrape
// time. It must be cheap and safe for concurrent use; nil reports 0.
func (m *Metrics) SetBufferFunc(f func() int) {
	if m == nil {
		return
	}
	if f == nil {
		m.bufferFn.Store(nil)
		return
	}
	m.bufferFn.Store(&f)
}

func (m *Metrics) bufferLen() float64 {
	if f := m.bufferFn.Load(); f != nil {
		return float64((*f)())
	}
	return 0
}

// SetActiveFunc sets what counts the live sessions by role at scrape time.
// Until it is set (or after it is set to nil) the series is absent.
func (m *Metrics) SetActiveFunc(f ActiveFunc) {
	if m == nil {
		return
	}
	if f == nil {
		m.activeFn.Store(nil)
		return
	}
	m.activeFn.Store(&f)
}

// CleanupPass records one cleanup pass that took d and ended, archived and
// purged that many sessions.
func (m *Metrics) CleanupPass(d time.Duration, ended, archived, purged int) {
	if m == nil {
		return
	}
	m.cleanupDuration.Observe(d.Seconds())
	for _, c := range []struct {
		action string
		n      int
	}{{actionEnded, ended}, {actionArchived, archived}, {actionPurged, purged}} {
		if c.n > 0 {
			m.cleanupSessions.WithLabelValues(c.action).Add(float64(c.n))
		}
	}
}

// SecurityEvent counts one security event.
func (m *Metrics) SecurityEvent() {
	if m == nil {
		return
	}
	m.securityEvents.Inc()
}

// ObserveStore records one store operation op that took d and returned err.
// A context.Canceled error is the caller giving up (a browser that went away),
// not the store failing, so it is timed but not counted as an error; a
// deadline exceeded is counted: the store was too slow.
func (m *Metrics) ObserveStore(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.storeDuration.WithLabelValues(op).Observe(d.Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// Unmatched is the route label of requests that matched no route (404s):
// their raw paths are whatever a client sent.
const Unmatched = "unmatched"

// EchoMiddleware times every request by route pattern (c.Path(), "/sessions/:sid"),
// method and status. Register it with Echo.Use, not Pre: the route is known
// only after routing. It observes the status the error handler will send when
// the handler returns an error, without handling the error itself, so the
// middlewares around it still see it.
func (m *Metrics) EchoMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if m == nil {
			return next
		}
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			route := c.Path()
			if route == "" {
				route = Unmatched
			}
			m.httpObserver(route, method(c.Request().Method), status(c, err)).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// httpSeries names one series of httpDuration.
type httpSeries struct {
	route, method string
	status        int
}

// httpObserver returns httpDuration's series for the labels, from the cache.
func (m *Metrics) httpObserver(route, method string, status int) prometheus.Observer {
	k := httpSeries{route, method, status}
	if o, ok := m.httpObservers.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o := m.httpDuration.WithLabelValues(route, method, strconv.Itoa(status))
	m.httpObservers.Store(k, o)
	return o
}

// status is the code the response got, or will get once Echo's error handler
// has turned err into a response.
func status(c echo.Context, err error) int {
	if err == nil || c.Response().Committed {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// method keeps the method label to the standard methods: a client can send
// any token as a method, and each would be a new series.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// Handler serves the registry in the Prometheus text format (or OpenMetrics
// when asked). With token != "" every request must carry
// "Authorization: Bearer <token>"; anything else gets 401 and no metrics. It
// is meant for its own listener (server.metrics_addr), never the app's. On a
// nil *Metrics it answers 404.
func (m *Metrics) Handler(token string) http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	opts := promhttp.HandlerOpts{
		// A failing count of active sessions leaves that series out and
		// counts the failure; the other series are still served.
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), activeTimeout)
		defer cancel()
		// The active gauge is gathered first, so a failure it counts is
		// already in this scrape's activeErrors.
		active := prometheus.NewRegistry()
		active.MustRegister(activeCollector{m: m, ctx: ctx})
		promhttp.HandlerFor(prometheus.Gatherers{active, m.reg}, opts).ServeHTTP(w, r)
	})
	if token == "" {
		return serve
	}
	// Comparing digests keeps the comparison's time independent of the
	// token's length as well as its bytes.
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

// activeCollector reports the counts ActiveFunc returns. It is registered
// per scrape, on a registry of its own, because it needs the scrape's context
// and a registered collector's Collect has no way to get one.
type activeCollector struct {
	m   *Metrics
	ctx context.Context
}

func (c activeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.activeDesc }

func (c activeCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.activeFn.Load()
	if f == nil {
		return
	}
	counts, err := (*f)(c.ctx)
	if err != nil {
		c.m.activeErrors.Inc()
		return
	}
	for role, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.m.activeDesc, prometheus.GaugeValue, float64(n), role)
	}
}
