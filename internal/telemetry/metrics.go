// Package telemetry exports what the gateway does: Prometheus metrics
// from each finished request's record, and OpenTelemetry traces.
package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/reqlog"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Buckets for LLM latencies (10 ms … 120 s) and for the gateway's own
// overhead (10 µs … 10 ms).
var (
	LatencyBuckets  = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120}
	OverheadBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3}
)

// Metrics holds the gateway's Prometheus series. Labels are bounded:
// model groups and providers come from the configuration (a model that
// was not found is counted as ""), never from request ids or raw client
// strings.
type Metrics struct {
	reg          *prometheus.Registry
	names        *[]string // every switchboard_ series registered
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	ttft         *prometheus.HistogramVec
	overhead     prometheus.Observer
	tokens       *prometheus.CounterVec
	cost         *prometheus.CounterVec
	unpriced     *prometheus.CounterVec
	cache        *prometheus.CounterVec
	saved        *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	retries      *prometheus.CounterVec
	fallbacks    *prometheus.CounterVec
	rejections   *prometheus.CounterVec
	budgetAlerts *prometheus.CounterVec
}

// NewMetrics registers every series, plus the Go runtime's and the
// process's.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg, new([]string)}
	return &Metrics{
		reg:          reg,
		names:        f.names,
		requests:     f.counter("switchboard_requests_total", "Inference requests finished, by model group, serving provider and status code.", "model", "provider", "status_code"),
		duration:     f.histogram("switchboard_request_duration_seconds", "Time from the request's arrival to the end of the answer (the whole stream).", LatencyBuckets, "model"),
		ttft:         f.histogram("switchboard_time_to_first_token_seconds", "Time from the request's arrival to the first streamed chunk.", LatencyBuckets, "model"),
		overhead:     f.histogram("switchboard_gateway_overhead_seconds", "Time spent in Switchboard itself: the request less the upstream wait.", OverheadBuckets).WithLabelValues(),
		tokens:       f.counter("switchboard_tokens_total", "Tokens by type: input, output, cache_read, cache_write, reasoning.", "type", "model"),
		cost:         f.counter("switchboard_cost_usd_total", "Spend in USD at list or configured prices.", "model"),
		unpriced:     f.counter("switchboard_unpriced_requests_total", "Answers from a model with no price: their cost is unknown, not zero.", "model"),
		cache:        f.counter("switchboard_cache_requests_total", "Cache results by model group: hit, semantic-hit, miss, bypass.", "result", "model"),
		saved:        f.counter("switchboard_cache_saved_usd_total", "What cache hits' answers cost when they were made: spend avoided.", "model"),
		attempts:     f.counter("switchboard_upstream_attempts_total", "Upstream calls by provider and outcome (ok, error, circuit-open, ...).", "provider", "outcome"),
		retries:      f.counter("switchboard_retries_total", "Upstream calls beyond the first for a request.", "model"),
		fallbacks:    f.counter("switchboard_fallbacks_total", "Requests answered (or last tried) by a fallback model group.", "model"),
		rejections:   f.counter("switchboard_rejections_total", "Requests refused before any upstream call, by reason: rate_limit_exceeded, budget_exceeded, concurrency_limit, model_not_allowed, unpriced_model, invalid_api_key, ...", "reason"),
		budgetAlerts: f.counter("switchboard_budget_alerts_total", "Budgets whose spend crossed the alert share this period, by subject kind (key, user, team, org).", "kind"),
	}
}

type factory struct {
	reg   *prometheus.Registry
	names *[]string
}

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	*f.names = append(*f.names, name)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	*f.names = append(*f.names, name)
	return h
}

// Names lists every Switchboard series registered so far, for the docs
// and dashboard checks.
func (m *Metrics) Names() []string { return append([]string(nil), *m.names...) }

// Gauge registers a series read when scraped (in-flight requests, queue
// depth, drops counted elsewhere).
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
	*m.names = append(*m.names, name)
}

// Counter registers a counter kept elsewhere, read when scraped.
func (m *Metrics) Counter(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read))
	*m.names = append(*m.names, name)
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Observe counts one finished request. It runs after the answer has been
// sent and takes no locks beyond the series' own.
func (m *Metrics) Observe(rec *server.Record) {
	model := rec.Group
	m.requests.WithLabelValues(model, rec.Provider, statusLabel(rec.Status)).Inc()
	m.duration.WithLabelValues(model).Observe(rec.Latency.Seconds())
	if rec.Stream && rec.TTFT > 0 {
		m.ttft.WithLabelValues(model).Observe(rec.TTFT.Seconds())
	}
	if rec.Overhead > 0 {
		m.overhead.Observe(rec.Overhead.Seconds())
	}
	u := rec.Usage
	for _, t := range [...]struct {
		kind string
		n    int64
	}{{"input", u.Input}, {"output", u.Output}, {"cache_read", u.CacheRead}, {"cache_write", u.CacheWrite}, {"reasoning", u.Reasoning}} {
		if t.n > 0 {
			m.tokens.WithLabelValues(t.kind, model).Add(float64(t.n))
		}
	}
	if rec.CostUSD > 0 {
		m.cost.WithLabelValues(model).Add(rec.CostUSD)
	}
	if rec.Unpriced {
		m.unpriced.WithLabelValues(model).Inc()
	}
	if rec.Cache != "" {
		m.cache.WithLabelValues(rec.Cache, model).Inc()
	}
	if rec.CostSavedUSD > 0 {
		m.saved.WithLabelValues(model).Add(rec.CostSavedUSD)
	}
	fallback := false
	for _, a := range rec.Trace {
		m.attempts.WithLabelValues(a.Provider, a.Outcome).Inc()
		fallback = fallback || a.Group != rec.Group
	}
	if rec.Attempts > 1 {
		m.retries.WithLabelValues(model).Add(float64(rec.Attempts - 1))
	}
	if fallback {
		m.fallbacks.WithLabelValues(model).Inc()
	}
	if rec.Attempts == 0 && rec.Status >= 400 && rec.ErrorCode != "" {
		m.rejections.WithLabelValues(rec.ErrorCode).Inc()
	}
	for _, subject := range rec.BudgetAlerts {
		kind, _, _ := strings.Cut(subject, ":")
		m.budgetAlerts.WithLabelValues(kind).Inc()
	}
}

// Breakers exports each deployment's circuit-breaker state (0 closed,
// 1 open, 2 half-open) from the gateway serving at scrape time.
func (m *Metrics) Breakers(current func() *gateway.Gateway) {
	*m.names = append(*m.names, "switchboard_circuit_breaker_state")
	m.reg.MustRegister(breakers{
		desc:    prometheus.NewDesc("switchboard_circuit_breaker_state", "Circuit-breaker state per deployment: 0 closed, 1 open, 2 half-open.", []string{"provider", "model"}, nil),
		current: current,
	})
}

type breakers struct {
	desc    *prometheus.Desc
	current func() *gateway.Gateway
}

func (b breakers) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b breakers) Collect(ch chan<- prometheus.Metric) {
	gw := b.current()
	if gw == nil {
		return
	}
	gw.Router.Deployments(func(d *gateway.Deployment) {
		if d.Target != nil && d.Target.Breaker != nil {
			ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(d.Target.Breaker.State()), d.ProviderName, d.Model)
		}
	})
}

// Watch registers the series read when scraped: from the running server
// (requests in flight, circuit breakers), the request-log writer (queue,
// spill, drops, failures; nil when the log is off), the teams' budgets
// and the in-process cache.
func (m *Metrics) Watch(srv *server.Server, logs *reqlog.Writer, st *store.Store, limiter *limits.Limiter, responses cache.Backend) {
	m.teamBudgets(st, limiter)
	m.cacheSize(responses)
	m.Gauge("switchboard_in_flight_requests", "Inference requests being served now.", func() float64 { return float64(srv.InFlight()) })
	// With the request log off (logs nil) its series stay, at zero.
	logStat := func(read func(*reqlog.Writer) int64) func() float64 {
		return func() float64 {
			if logs == nil {
				return 0
			}
			return float64(read(logs))
		}
	}
	m.Gauge("switchboard_log_queue_depth", "Request-log entries waiting to be written.", logStat(func(w *reqlog.Writer) int64 { return int64(w.QueueDepth()) }))
	m.Counter("switchboard_log_queue_dropped_total", "Request-log entries dropped: the queue and the spill queue were full, or the spill file could not be written (logged).", logStat((*reqlog.Writer).Dropped))
	m.Counter("switchboard_log_spilled_total", "Request-log entries written to the local spill file (queue full or database refusing), to be stored later.", logStat((*reqlog.Writer).Spilled))
	m.Counter("switchboard_log_replayed_total", "Request-log entries stored from the spill file.", logStat((*reqlog.Writer).Replayed))
	m.Counter("switchboard_log_write_failures_total", "Request-log entries lost because the database refused their batch twice and there was no spill file.", logStat((*reqlog.Writer).Failed))
	m.Breakers(srv.Gateway)
}

// teamBudgets exports each team's remaining budget in its current period
// (limit less settled spend and open reservations), read when scraped.
// At most maxTeams teams are reported, so the series stay bounded.
func (m *Metrics) teamBudgets(st *store.Store, limiter *limits.Limiter) {
	*m.names = append(*m.names, "switchboard_budget_remaining_usd")
	m.reg.MustRegister(teamBudgets{
		desc:    prometheus.NewDesc("switchboard_budget_remaining_usd", "A team's budget left in its current period: limit less spend and open reservations.", []string{"team"}, nil),
		st:      st,
		limiter: limiter,
	})
}

const maxTeams = 1000

type teamBudgets struct {
	desc    *prometheus.Desc
	st      *store.Store
	limiter *limits.Limiter
}

func (b teamBudgets) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b teamBudgets) Collect(ch chan<- prometheus.Metric) {
	if b.limiter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reported := 0
	for after := ""; reported < maxTeams; {
		teams, err := b.st.ListTeams(ctx, after, 200)
		if err != nil || len(teams) == 0 {
			return
		}
		for _, t := range teams {
			if t.MaxBudgetUSD == nil || reported >= maxTeams {
				continue
			}
			pol := limits.Policy{Subject: "team:" + t.ID, HasBudget: true, BudgetUSD: *t.MaxBudgetUSD, Period: t.BudgetPeriod}
			spent, reserved, err := b.limiter.Spent(ctx, pol)
			if err != nil {
				return
			}
			ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, max(0, *t.MaxBudgetUSD-spent-reserved), t.ID)
			reported++
		}
		after = teams[len(teams)-1].ID
	}
}

// statusLabels holds every HTTP status as text, so counting one does not
// allocate.
var statusLabels = func() (out [600]string) {
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// cacheSize exports the in-process cache's size; a Redis cache is sized
// by Redis itself (GET /admin/v1/cache/stats counts it on demand).
func (m *Metrics) cacheSize(b cache.Backend) {
	mem, ok := b.(*cache.Memory)
	if !ok {
		return
	}
	m.Gauge("switchboard_cache_entries", "Entries in the in-process response cache.", func() float64 {
		st, _ := mem.Stats(context.Background())
		return float64(st.Entries)
	})
	m.Gauge("switchboard_cache_bytes", "Bytes held by the in-process response cache.", func() float64 {
		st, _ := mem.Stats(context.Background())
		return float64(st.Bytes)
	})
}

// Recorder is what a server does with each finished request's record:
// count it, trace it (when tracer is set), and hand it to the request
// log (when logs is set) last, since the writer owns the record from
// then on.
func (m *Metrics) Recorder(tracer *Tracer, logs *reqlog.Writer) func(*server.Record) {
	return func(r *server.Record) {
		m.Observe(r)
		if tracer != nil {
			tracer.Export(r)
		}
		if logs != nil {
			logs.Record(r)
		}
	}
}
