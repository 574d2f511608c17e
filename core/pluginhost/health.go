package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// HealthStatus is the outcome of a plugin's latest health round.
type HealthStatus string

// Health statuses. A plugin is unknown until its first round has finished
// (and again after each restart: a new process has not been checked yet).
const (
	HealthUnknown   HealthStatus = "unknown"
	HealthHealthy   HealthStatus = "healthy"
	HealthUnhealthy HealthStatus = "unhealthy"
)

// Health is what the supervisor last learned of a running plugin. A round
// asks the plugin (PluginService.Health: can the process serve?) and, for a
// provisioner, its backend (ProvisionerService.HealthCheck: does the panel
// answer with our credentials?). A plugin that does not answer the first
// question is killed and restarted; any other failure only makes it
// unhealthy: restarting a plugin does not bring its backend back, and a
// restart loop would hide the problem.
type Health struct {
	Status HealthStatus `json:"status"`
	// Message is the plugin's or the backend's answer, or why the round
	// failed ("backend: unavailable: connecting to VirtFusion: …").
	Message string `json:"message"`
	// CheckedAt is when the latest round finished; zero before the first.
	CheckedAt time.Time `json:"checked_at"`
	// Latency is the latest round's duration.
	Latency time.Duration `json:"latency"`
	// Failures counts consecutive unhealthy rounds.
	Failures int `json:"failures"`
}

// healthHooks let the package's tests drive health rounds without waiting
// on the wall clock.
type healthHooks struct {
	// ticks returns the channel rounds are triggered by, and a stop func;
	// nil means a time.Ticker of HealthInterval.
	ticks func() (<-chan time.Time, func())
	// after is called when a round has been recorded and the next may start.
	after func(name string, h Health)
}

func (m *managed) healthTicks() (<-chan time.Time, func()) {
	if f := m.h.opts.hooks.ticks; f != nil {
		return f()
	}
	t := time.NewTicker(m.h.opts.HealthInterval)
	return t.C, t.Stop
}

// healthRunner runs one instance's health rounds, at most one at a time,
// outside the supervisor's loop, so a slow backend check never delays the
// noticing of a crash.
type healthRunner struct {
	m        *managed
	inst     *instance
	ctx      context.Context
	wg       sync.WaitGroup
	mu       sync.Mutex
	inflight bool
}

// start begins a round unless one is still running.
func (r *healthRunner) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight {
		return
	}
	r.inflight = true
	r.wg.Go(func() {
		h, recorded := r.m.healthRound(r.ctx, r.inst)
		r.mu.Lock()
		r.inflight = false
		r.mu.Unlock()
		// The hook runs once the next round may start, so a test that
		// ticks again as soon as it sees a round is never skipped.
		if f := r.m.h.opts.hooks.after; recorded && f != nil {
			f(r.m.spec.Name, h)
		}
	})
}

// healthRound asks the plugin, then (for a provisioner) its backend, and
// records the outcome, which it returns (recorded is false when nothing
// was: the host stopped, the instance was replaced, or a plugin that did
// not answer was killed).
func (m *managed) healthRound(ctx context.Context, inst *instance) (Health, bool) {
	o := m.h.opts
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, o.HealthTimeout)
	resp, rawErr := pb.NewPluginServiceClient(inst.cc).Health(hctx, &pb.HealthRequest{})
	overran := errors.Is(hctx.Err(), context.DeadlineExceeded)
	cancel()
	if ctx.Err() != nil {
		return Health{}, false
	}
	if rawErr != nil && (overran || processLost(rawErr)) {
		// No answer: the process is wedged (or gone). Kill it; the
		// supervisor restarts it. An answer, even an error, is not this.
		m.h.metrics.healthChecks.WithLabelValues(m.spec.Name, "unresponsive").Inc()
		inst.killHung(fmt.Errorf("health check failed, plugin killed: %w", sdk.FromStatus(rawErr)))
		return Health{}, false
	}
	err := sdk.FromStatus(rawErr)
	msg := resp.GetMessage()
	if err != nil {
		// The plugin answers but reports a problem: keep it running and
		// show the problem to admins.
		return m.recordHealth(inst, start, HealthUnhealthy, "plugin: "+err.Error(), true)
	}
	if !slices.Contains(sdk.DescribedKinds(inst.desc), sdk.KindProvisioner) {
		return m.recordHealth(inst, start, HealthHealthy, msg, false)
	}
	// The backend check talks to the panel: it gets a call's deadline, not
	// the health check's, and overrunning it says the backend is slow,
	// not that the plugin is wedged, so it does not kill the plugin.
	bctx, cancel := context.WithTimeout(ctx, m.timeout(pb.ProvisionerService_HealthCheck_FullMethodName))
	bresp, err := sdk.NewProvisionerClient(inst.cc).HealthCheck(bctx, &pb.HealthCheckRequest{})
	cancel()
	if ctx.Err() != nil {
		return Health{}, false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return m.recordHealth(inst, start, HealthUnhealthy, fmt.Sprintf("backend: no answer within %s", m.timeout(pb.ProvisionerService_HealthCheck_FullMethodName)), false)
	case err != nil:
		return m.recordHealth(inst, start, HealthUnhealthy, "backend: "+err.Error(), false)
	default:
		return m.recordHealth(inst, start, HealthHealthy, bresp.GetMessage(), false)
	}
}

// recordHealth stores a round's outcome for inst (ignored when inst is no
// longer the running instance), updates the metrics and logs changes.
// pluginErr also makes the message the plugin's last error. It returns
// the stored round and whether it was stored.
func (m *managed) recordHealth(inst *instance, start time.Time, status HealthStatus, msg string, pluginErr bool) (Health, bool) {
	now := time.Now()
	latency := now.Sub(start)
	m.mu.Lock()
	if m.inst != inst {
		m.mu.Unlock()
		return Health{}, false
	}
	prev := m.health
	h := Health{Status: status, Message: msg, CheckedAt: now, Latency: latency}
	if status == HealthUnhealthy {
		h.Failures = prev.Failures + 1
	}
	m.health = h
	if pluginErr {
		m.lastErr = msg
	}
	m.mu.Unlock()

	met := m.h.metrics
	met.healthChecks.WithLabelValues(m.spec.Name, string(status)).Inc()
	met.healthLatency.WithLabelValues(m.spec.Name).Observe(latency.Seconds())
	healthy := 0.0
	if status == HealthHealthy {
		healthy = 1
	}
	met.healthy.WithLabelValues(m.spec.Name).Set(healthy)
	switch {
	case status == HealthUnhealthy && (prev.Status != HealthUnhealthy || prev.Message != msg):
		m.log.Warn("plugin unhealthy", "error", msg, "latency", latency)
	case status == HealthHealthy && prev.Status == HealthUnhealthy:
		m.log.Info("plugin healthy again", "message", msg, "latency", latency)
	}
	return h, true
}
