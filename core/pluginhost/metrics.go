package pluginhost

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/platform/sdk"
)

type metrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec

	healthy       *prometheus.GaugeVec
	healthChecks  *prometheus.CounterVec
	healthLatency *prometheus.HistogramVec

	// observers caches the per (plugin, method) children: looking them up by
	// label values on every call costs more than the rest of the host's
	// bookkeeping.
	observers sync.Map // key{plugin, method} → *methodMetrics
}

type methodKey struct{ plugin, method string }

type methodMetrics struct {
	calls   prometheus.Counter
	latency prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ezscale_plugin_calls_total", Help: "Calls made to plugins.",
		}, []string{"plugin", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ezscale_plugin_call_errors_total", Help: "Plugin calls that failed, by error kind.",
		}, []string{"plugin", "method", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ezscale_plugin_call_duration_seconds",
			Help:    "Latency of plugin calls, as seen by the core.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"plugin", "method"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ezscale_plugin_restarts_total", Help: "Plugin restarts after a crash, a hang or an admin request.",
		}, []string{"plugin"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ezscale_plugin_up", Help: "1 when the plugin is running, else 0.",
		}, []string{"plugin"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ezscale_plugin_healthy",
			Help: "1 when the plugin's latest health round passed (for a provisioner, its backend's too), else 0.",
		}, []string{"plugin"}),
		healthChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ezscale_plugin_health_checks_total",
			Help: "Health rounds by result: healthy, unhealthy, or unresponsive (the plugin was killed).",
		}, []string{"plugin", "result"}),
		healthLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ezscale_plugin_health_check_duration_seconds",
			Help:    "Duration of a health round (the plugin's Health and, for a provisioner, the backend's HealthCheck).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"plugin"}),
	}
	var err error
	m.calls, err = register(reg, m.calls)
	if err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.restarts, err = register(reg, m.restarts); err != nil {
		return nil, err
	}
	if m.up, err = register(reg, m.up); err != nil {
		return nil, err
	}
	if m.healthy, err = register(reg, m.healthy); err != nil {
		return nil, err
	}
	if m.healthChecks, err = register(reg, m.healthChecks); err != nil {
		return nil, err
	}
	if m.healthLatency, err = register(reg, m.healthLatency); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// the same name, so two hosts (or a host re-created in tests) can share one
// registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(plugin, method string, d time.Duration, err error) {
	k := methodKey{plugin, method}
	v, ok := m.observers.Load(k)
	if !ok {
		v, _ = m.observers.LoadOrStore(k, &methodMetrics{
			calls:   m.calls.WithLabelValues(plugin, method),
			latency: m.latency.WithLabelValues(plugin, method),
		})
	}
	mm := v.(*methodMetrics)
	mm.calls.Inc()
	mm.latency.Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(plugin, method, sdk.KindOf(err).String()).Inc()
	}
}
