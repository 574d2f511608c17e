package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// managed is one configured plugin and its supervisor.
type managed struct {
	h    *Host
	spec Spec
	log  hclog.Logger

	// ctl serializes Restart, Disable and Stop.
	ctl sync.Mutex

	mu        sync.Mutex
	state     State
	restarts  int
	lastErr   string
	lastCause error // lastErr as an error, for errors.Is on start failures
	desc      *pb.DescribeResponse
	options   sdk.Options   // desc's option declaration
	health    Health        // the running instance's latest health round
	inst      *instance     // the running instance, or nil
	ready     chan struct{} // closed while state is running
	settled   chan struct{} // closed while state is failed or disabled
	crashes   []time.Time
	startedAt time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

func newManaged(h *Host, spec Spec) *managed {
	return &managed{
		h: h, spec: spec, log: h.opts.Logger.Named(spec.Name),
		state: StateStarting, ready: make(chan struct{}), settled: make(chan struct{}),
		health: Health{Status: HealthUnknown},
	}
}

// setState moves to s, keeping the ready/settled channels in step so
// callers can wait for a state without polling.
func (m *managed) setState(s State, lastErr error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setStateLocked(s, lastErr)
}

func (m *managed) setStateLocked(s State, lastErr error) {
	if lastErr != nil {
		m.lastErr = lastErr.Error()
		m.lastCause = lastErr
	}
	if m.state == s {
		return
	}
	wasReady := m.state == StateRunning
	wasSettled := m.state == StateFailed || m.state == StateDisabled
	m.state = s
	isSettled := s == StateFailed || s == StateDisabled
	switch {
	case s == StateRunning && !wasReady:
		close(m.ready)
	case s != StateRunning && wasReady:
		m.ready = make(chan struct{})
	}
	switch {
	case isSettled && !wasSettled:
		close(m.settled)
	case !isSettled && wasSettled:
		m.settled = make(chan struct{})
	}
	up := 0.0
	if s == StateRunning {
		up = 1
	} else {
		m.h.metrics.healthy.WithLabelValues(m.spec.Name).Set(0)
	}
	m.h.metrics.up.WithLabelValues(m.spec.Name).Set(up)
}

// startLoop starts a supervisor goroutine. The caller holds m.ctl.
func (m *managed) startLoop(resetBreaker bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.mu.Lock()
	if resetBreaker {
		m.crashes = nil
	}
	m.cancel, m.done = cancel, done
	m.setStateLocked(StateStarting, nil)
	m.mu.Unlock()
	go func() {
		defer close(done)
		m.loop(ctx)
	}()
}

// stopLoop stops the supervisor goroutine and its process, and waits for
// both. The caller holds m.ctl.
func (m *managed) stopLoop() {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel, m.done = nil, nil
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// loop starts the plugin, waits for it to die, and restarts it with
// backoff until ctx is cancelled, the start failure is permanent, or the
// breaker opens.
func (m *managed) loop(ctx context.Context) {
	o := m.h.opts
	consecutive := 0
	for {
		startedAt := time.Now()
		inst, err := m.start(ctx)
		if ctx.Err() != nil {
			if inst != nil {
				inst.client.Kill()
			}
			return
		}
		var crash error
		if err != nil {
			if isPermanent(err) {
				m.log.Error("plugin refused", "error", err)
				m.setState(StateFailed, err)
				return
			}
			m.log.Error("plugin failed to start", "error", err)
			crash = err
		} else {
			if o.Described != nil {
				// Before the plugin counts as running, so whoever waits
				// for that finds its declaration stored.
				o.Described(m.spec.Name, inst.desc)
			}
			m.mu.Lock()
			m.inst, m.desc, m.startedAt = inst, inst.desc, startedAt
			m.health = Health{Status: HealthUnknown}
			m.setStateLocked(StateRunning, nil)
			m.mu.Unlock()
			m.h.metrics.healthy.WithLabelValues(m.spec.Name).Set(0)
			m.log.Info("plugin running", "pid", inst.pid, "version", inst.desc.GetVersion())

			crash = m.watch(ctx, inst)

			m.mu.Lock()
			m.inst = nil
			m.health = Health{Status: HealthUnknown}
			if ctx.Err() == nil {
				m.setStateLocked(StateRestarting, crash)
			}
			m.mu.Unlock()
			inst.client.Kill()
			if ctx.Err() != nil {
				return
			}
			m.log.Error("plugin crashed", "error", crash)
			if time.Since(startedAt) > o.BackoffMax {
				// It ran well for a while: this crash starts a new series.
				consecutive = 0
			}
		}

		now := time.Now()
		m.mu.Lock()
		kept := m.crashes[:0]
		for _, t := range m.crashes {
			if now.Sub(t) < o.BreakerWindow {
				kept = append(kept, t)
			}
		}
		m.crashes = append(kept, now)
		open := len(m.crashes) >= o.BreakerCrashes
		m.mu.Unlock()
		if open {
			err := fmt.Errorf("crash loop: %d crashes within %s, restarts stopped until an admin restarts it; last: %w", o.BreakerCrashes, o.BreakerWindow, crash)
			m.log.Error("plugin breaker open", "error", err)
			m.setState(StateFailed, err)
			return
		}

		consecutive++
		delay := o.BackoffBase << (consecutive - 1)
		if delay > o.BackoffMax || delay <= 0 {
			delay = o.BackoffMax
		}
		m.setState(StateRestarting, crash)
		m.log.Info("restarting plugin", "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.mu.Lock()
		m.restarts++
		m.mu.Unlock()
		m.h.metrics.restarts.WithLabelValues(m.spec.Name).Inc()
	}
}

// start launches the process and configures it.
func (m *managed) start(ctx context.Context) (*instance, error) {
	o := m.h.opts
	var reattach *sdk.ReattachConfig
	if rc, ok := m.h.reattach[m.spec.Name]; ok {
		reattach = &rc
	}
	inst, err := m.h.launcher.launch(ctx, m.log, m.spec.Path, m.spec.SHA256, reattach)
	if err != nil {
		// Point the operator at the config line to fix.
		if p := m.spec.Positions["sha256"]; p != "" && errors.Is(err, ErrChecksumMismatch) {
			err = fmt.Errorf("%w (sha256 set at %s)", err, p)
		} else if p := m.spec.Positions["path"]; p != "" && isPermanent(err) && !errors.Is(err, ErrChecksumMismatch) {
			err = fmt.Errorf("%w (path set at %s)", err, p)
		}
		return nil, err
	}
	options := sdk.OptionsFromProto(inst.desc.GetOptions())
	m.mu.Lock()
	m.desc, m.options = inst.desc, options
	m.mu.Unlock()
	if err := configure(ctx, inst, m.spec, o.StartTimeout, m.log); err != nil {
		inst.client.Kill()
		return nil, err
	}
	return inst, nil
}

// configure validates spec's config against the schema inst describes and
// by the plugin, then configures it. Refusals are permanent ConfigErrors
// naming each field and its position in the config file.
func configure(ctx context.Context, inst *instance, spec Spec, timeout time.Duration, log hclog.Logger) error {
	schema := sdk.SchemaFromProto(inst.desc.GetConfigSchema())
	if _, diags := schema.Apply(spec.Config); diags.HasErrors() {
		return permanent(spec.configError(diags))
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pc := sdk.NewPluginClient(inst.cc)
	diags, err := pc.ValidateConfig(sctx, spec.Config)
	if err != nil {
		return fmt.Errorf("validate config: %w", err)
	}
	if diags.HasErrors() {
		return permanent(spec.configError(diags))
	}
	diags, err = pc.Configure(sctx, spec.Config)
	if err != nil {
		if k := sdk.KindOf(err); k == sdk.InvalidInput || k == sdk.Unauthenticated {
			return permanent(fmt.Errorf("configure: %w", err))
		}
		return fmt.Errorf("configure: %w", err)
	}
	if diags.HasErrors() {
		return permanent(spec.configError(diags))
	}
	for _, d := range diags {
		log.Warn("plugin config warning", "field", d.Field, "position", spec.position(d.Field), "warning", d.Summary)
	}
	return nil
}

func (s Spec) configError(diags sdk.Diagnostics) *ConfigError {
	pos := map[string]string{}
	for _, d := range diags {
		if p := s.position(d.Field); p != "" {
			pos[d.Field] = p
		}
	}
	return &ConfigError{Plugin: s.Name, Diagnostics: diags, Positions: pos}
}

// exitPollInterval is how often the supervisor checks that its process is
// alive; go-plugin offers no exit notification.
const exitPollInterval = 50 * time.Millisecond

// watch blocks while inst runs, checking its health once at once and then
// every HealthInterval. It returns why the instance stopped, or nil when
// ctx was cancelled.
func (m *managed) watch(ctx context.Context, inst *instance) error {
	poll := time.NewTicker(exitPollInterval)
	defer poll.Stop()
	ticks, stopTicks := m.healthTicks()
	defer stopTicks()
	hctx, cancel := context.WithCancel(ctx)
	runner := &healthRunner{m: m, inst: inst, ctx: hctx}
	defer func() {
		cancel()
		runner.wg.Wait()
	}()
	runner.start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-inst.killed:
			return inst.reason
		case <-poll.C:
			if inst.client.Exited() {
				return inst.exitError()
			}
		case <-ticks:
			runner.start()
		}
	}
}

// current returns the running instance, or an Unavailable error saying why
// there is none.
func (m *managed) current() (*instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inst != nil && m.state == StateRunning {
		return m.inst, nil
	}
	e := sdk.Errorf(sdk.Unavailable, "plugin %q is %s", m.spec.Name, m.state)
	if m.lastErr != "" {
		e.Message += ": " + m.lastErr
	}
	if m.state == StateRestarting || m.state == StateStarting {
		e.RetryAfter = m.h.opts.BackoffBase
	}
	return nil, e.WithCause(ErrNotSent)
}

func (m *managed) isSettled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state == StateFailed || m.state == StateDisabled
}

// waitRunning waits until the plugin runs, or fails, or ctx ends.
func (m *managed) waitRunning(ctx context.Context) bool {
	m.mu.Lock()
	ready, settled := m.ready, m.settled
	m.mu.Unlock()
	select {
	case <-ready:
		return true
	case <-settled:
		return false
	case <-ctx.Done():
		return false
	}
}

func (m *managed) info() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := Info{
		Name: m.spec.Name, Path: m.spec.Path, State: m.state, Restarts: m.restarts, LastError: m.lastErr,
		Kinds: []string{}, Capabilities: []string{}, Health: m.health,
	}
	if m.desc != nil {
		in.Version = m.desc.GetVersion()
		for _, k := range sdk.DescribedKinds(m.desc) {
			in.Kinds = append(in.Kinds, string(k))
		}
		in.Capabilities = append(in.Capabilities, m.desc.GetCapabilities()...)
		in.Options = slices.Clone(m.options)
	}
	if m.inst != nil {
		in.PID = m.inst.pid
		in.StartedAt = m.startedAt
	}
	return in
}
