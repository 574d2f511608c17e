package pluginhost

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// healthDriver triggers health rounds by hand and hands out each recorded
// round, so no test waits on the health interval.
type healthDriver struct {
	ticks  chan time.Time
	rounds chan Health
}

func newHealthDriver(opts *Options) *healthDriver {
	d := &healthDriver{ticks: make(chan time.Time), rounds: make(chan Health, 16)}
	opts.hooks = healthHooks{
		ticks: func() (<-chan time.Time, func()) { return d.ticks, func() {} },
		after: func(_ string, h Health) { d.rounds <- h },
	}
	return d
}

// next returns the next recorded round.
func (d *healthDriver) next(t *testing.T) Health {
	t.Helper()
	select {
	case h := <-d.rounds:
		return h
	case <-time.After(60 * time.Second):
		t.Fatal("no health round was recorded")
		return Health{}
	}
}

// round triggers a round and returns it.
func (d *healthDriver) round(t *testing.T) Health {
	t.Helper()
	select {
	case d.ticks <- time.Now():
	case <-time.After(60 * time.Second):
		t.Fatal("the supervisor did not take the health tick")
	}
	return d.next(t)
}

// TestHealthRoundsCheckTheBackend: the supervisor asks a provisioner's
// backend (HealthCheck) at start and on every health tick, records the
// result, its time and latency in Info and the metrics, and an unhealthy
// backend leaves the plugin running (no kill, no restart, last_error
// untouched) until it is healthy again.
func TestHealthRoundsCheckTheBackend(t *testing.T) {
	t.Parallel()
	opts := Options{}
	d := newHealthDriver(&opts)
	b := setup(t, opts)
	dir := t.TempDir()
	spec := testSpec("tp")
	spec.Config["state_dir"] = dir
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(Health{}, "CheckedAt", "Latency")

	first := d.next(t)
	if diff := cmp.Diff(Health{Status: HealthHealthy, Message: "created 0"}, first, ignore); diff != "" {
		t.Errorf("first round, at start (-want +got):\n%s", diff)
	}
	if first.CheckedAt.IsZero() || first.Latency <= 0 {
		t.Errorf("first round: checked_at %v latency %v, want both set", first.CheckedAt, first.Latency)
	}

	if err := os.WriteFile(filepath.Join(dir, "backend-down"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d.round(t)
	got := d.round(t)
	want := Health{Status: HealthUnhealthy, Message: "backend: unavailable: panel unreachable", Failures: 2}
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("backend down, twice (-want +got):\n%s", diff)
	}
	in, err := b.host.Get("tp")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, in.Health, ignore); diff != "" || in.State != StateRunning || in.Restarts != 0 || in.LastError != "" {
		t.Errorf("Info with the backend down: %+v (health -want +got: %s); want running, no restart, no last_error", in, diff)
	}
	if v := testutil.ToFloat64(b.host.metrics.healthy.WithLabelValues("tp")); v != 0 {
		t.Errorf("ezscale_plugin_healthy = %v, want 0", v)
	}
	if v := testutil.ToFloat64(b.host.metrics.healthChecks.WithLabelValues("tp", "unhealthy")); v != 2 {
		t.Errorf("ezscale_plugin_health_checks_total{result=unhealthy} = %v, want 2", v)
	}

	if err := os.Remove(filepath.Join(dir, "backend-down")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Health{Status: HealthHealthy, Message: "created 0"}, d.round(t), ignore); diff != "" {
		t.Errorf("backend back (-want +got):\n%s", diff)
	}
	if v := testutil.ToFloat64(b.host.metrics.healthy.WithLabelValues("tp")); v != 1 {
		t.Errorf("ezscale_plugin_healthy = %v, want 1", v)
	}
	if n := testutil.CollectAndCount(b.host.metrics.healthLatency); n != 1 {
		t.Errorf("health latency series: %d, want 1", n)
	}
}

// TestHealthUnhealthyPluginKeepsRunning: a plugin that answers its health
// check with an error is unhealthy, shown in health and last_error, and is
// neither killed nor restarted.
func TestHealthUnhealthyPluginKeepsRunning(t *testing.T) {
	t.Parallel()
	opts := Options{}
	d := newHealthDriver(&opts)
	b := setup(t, opts)
	spec := testSpec("tp")
	spec.Config["health"] = "unhealthy"
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	d.next(t)
	got := d.round(t)
	want := Health{Status: HealthUnhealthy, Message: "plugin: internal: backend queue is full", Failures: 2}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Health{}, "CheckedAt", "Latency")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	in, _ := b.host.Get("tp")
	if in.State != StateRunning || in.Restarts != 0 || in.LastError != want.Message {
		t.Errorf("Info: %+v; want running, no restart, last_error %q", in, want.Message)
	}
}
