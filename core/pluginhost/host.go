package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc"

	"github.com/ezscale/platform/sdk"
)

// ErrUnknownPlugin is returned for a plugin name the host was not given.
var ErrUnknownPlugin = errors.New("unknown plugin")

// ErrNotSent is in the chain of a call's error when the host refused the
// call before any plugin process saw it (the plugin is starting,
// restarting, failed or disabled): nothing was done, so the caller may
// make the same call again with the same idempotency key.
var ErrNotSent = errors.New("the call was not sent to the plugin")

// Host runs and supervises the core's plugins. Create it with New, give it
// the config's plugin blocks with Start, and Stop it on shutdown. It is safe
// for concurrent use.
type Host struct {
	opts     Options
	metrics  *metrics
	launcher *launcher
	reattach map[string]sdk.ReattachConfig

	mu      sync.RWMutex
	plugins map[string]*managed
	stopped bool
}

// New returns a Host. It registers the plugin metrics on
// opts.Registerer and, unless opts.Reattach is set, reads debug reattach
// configs from EZSCALE_REATTACH_PLUGINS.
func New(opts Options) (*Host, error) {
	opts = opts.withDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("pluginhost: registering metrics: %w", err)
	}
	reattach := opts.Reattach
	if reattach == nil {
		var err error
		if reattach, err = sdk.ParseReattachEnv(os.Getenv(sdk.ReattachEnv)); err != nil {
			return nil, fmt.Errorf("pluginhost: %w", err)
		}
	}
	env := opts.Env
	if env == nil {
		env = defaultEnv()
	}
	return &Host{
		opts:     opts,
		metrics:  m,
		launcher: &launcher{env: env, startTimeout: opts.StartTimeout},
		reattach: reattach,
		plugins:  map[string]*managed{},
	}, nil
}

// Start starts the given plugins and waits until each is running or has
// failed (or ctx ends). It returns the joined start errors; the plugins
// concerned stay visible in List as failed (or still restarting when ctx
// ended) and the others run regardless.
func (h *Host) Start(ctx context.Context, specs []Spec) error {
	var started []*managed
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return errors.New("pluginhost: host is stopped")
	}
	for _, s := range specs {
		if s.Name == "" || (s.Path == "" && h.reattach[s.Name] == (sdk.ReattachConfig{})) {
			h.mu.Unlock()
			return fmt.Errorf("pluginhost: plugin %q: name and path are required", s.Name)
		}
		if _, dup := h.plugins[s.Name]; dup {
			h.mu.Unlock()
			return fmt.Errorf("pluginhost: plugin %q is configured twice", s.Name)
		}
	}
	for _, s := range specs {
		m := newManaged(h, s)
		h.plugins[s.Name] = m
		if s.Disabled {
			m.setState(StateDisabled, nil)
			continue
		}
		started = append(started, m)
	}
	h.mu.Unlock()

	for _, m := range started {
		m.ctl.Lock()
		m.startLoop(false)
		m.ctl.Unlock()
	}
	var errs []error
	for _, m := range started {
		if err := m.awaitStart(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// awaitStart waits for running or failed and reports the latter.
func (m *managed) awaitStart(ctx context.Context) error {
	if m.waitRunning(ctx) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.state == StateRunning:
		return nil
	case m.lastCause != nil:
		var ce *ConfigError
		if errors.As(m.lastCause, &ce) {
			return m.lastCause // already names the plugin
		}
		return fmt.Errorf("plugin %q: %w", m.spec.Name, m.lastCause)
	case ctx.Err() != nil:
		return fmt.Errorf("plugin %q: still %s: %w", m.spec.Name, m.state, ctx.Err())
	}
	return fmt.Errorf("plugin %q: %s", m.spec.Name, m.state)
}

func (h *Host) get(name string) (*managed, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m, ok := h.plugins[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPlugin, name)
	}
	return m, nil
}

// List returns every plugin's status, sorted by name.
func (h *Host) List() []Info {
	h.mu.RLock()
	all := make([]*managed, 0, len(h.plugins))
	for _, m := range h.plugins {
		all = append(all, m)
	}
	h.mu.RUnlock()
	out := make([]Info, 0, len(all))
	for _, m := range all {
		out = append(out, m.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns one plugin's status.
func (h *Host) Get(name string) (Info, error) {
	m, err := h.get(name)
	if err != nil {
		return Info{}, err
	}
	return m.info(), nil
}

// Restart stops the plugin (whatever its state: running, failed, disabled)
// and starts it afresh with a closed breaker, then waits until it runs or
// fails again. This is how an admin re-enables a failed plugin.
func (h *Host) Restart(ctx context.Context, name string) error {
	m, err := h.get(name)
	if err != nil {
		return err
	}
	h.mu.RLock()
	stopped := h.stopped
	h.mu.RUnlock()
	if stopped {
		return errors.New("pluginhost: host is stopped")
	}
	m.ctl.Lock()
	m.stopLoop()
	m.mu.Lock()
	m.restarts++
	m.mu.Unlock()
	h.metrics.restarts.WithLabelValues(name).Inc()
	m.log.Info("plugin restart requested")
	m.startLoop(true)
	m.ctl.Unlock()
	return m.awaitStart(ctx)
}

// Down reports whether the plugin will not run in this process until an
// admin acts: its crash-loop breaker is open or its start was refused
// (failed), or it is disabled. Job workers snooze the work of such a
// plugin instead of spending attempts on it, so that a replica where it
// runs takes the work. An unknown name is not down (the call says why).
func (h *Host) Down(name string) bool {
	m, err := h.get(name)
	if err != nil {
		return false
	}
	return m.isSettled()
}

// DownOn is Down asked of what a domain holds as its plugin host (a *Host,
// or what a test puts in front of one): a host that cannot tell is taken
// as up.
func DownOn(host any, name string) bool {
	d, ok := host.(interface{ Down(string) bool })
	return ok && d.Down(name)
}

// Enable starts a disabled or failed plugin; it is Restart under the name
// admins look for.
func (h *Host) Enable(ctx context.Context, name string) error { return h.Restart(ctx, name) }

// Disable stops the plugin and keeps it stopped until Enable or Restart.
func (h *Host) Disable(name string) error {
	m, err := h.get(name)
	if err != nil {
		return err
	}
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.stopLoop()
	m.setState(StateDisabled, nil)
	return nil
}

// Stop kills every plugin process and waits for them to exit. The host
// cannot be started again.
func (h *Host) Stop() {
	h.mu.Lock()
	h.stopped = true
	all := make([]*managed, 0, len(h.plugins))
	for _, m := range h.plugins {
		all = append(all, m)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range all {
		wg.Go(func() {
			m.ctl.Lock()
			defer m.ctl.Unlock()
			m.stopLoop()
			m.setState(StateDisabled, nil)
		})
	}
	wg.Wait()
}

// connFor returns the managed connection for a plugin of the given kind.
// The connection works across restarts; while the plugin is not running,
// calls fail with an Unavailable error.
func (h *Host) connFor(name string, kind sdk.Kind) (grpc.ClientConnInterface, error) {
	m, err := h.get(name)
	if err != nil {
		return nil, err
	}
	in := m.info()
	if in.Version != "" && !slices.Contains(in.Kinds, string(kind)) {
		return nil, fmt.Errorf("plugin %q is not a %s (its kinds: %s)", name, kind, strings.Join(in.Kinds, ", "))
	}
	return conn{m: m}, nil
}

// Plugin returns the PluginService client of a plugin (describe, health).
func (h *Host) Plugin(name string) (*sdk.PluginClient, error) {
	m, err := h.get(name)
	if err != nil {
		return nil, err
	}
	return sdk.NewPluginClient(conn{m: m}), nil
}

// Provisioner returns the named provisioner plugin.
func (h *Host) Provisioner(name string) (sdk.ProvisionerClient, error) {
	cc, err := h.connFor(name, sdk.KindProvisioner)
	if err != nil {
		return nil, err
	}
	return sdk.NewProvisionerClient(cc), nil
}

// Notifier returns the named notifier plugin.
func (h *Host) Notifier(name string) (sdk.Notifier, error) {
	cc, err := h.connFor(name, sdk.KindNotifier)
	if err != nil {
		return nil, err
	}
	return sdk.NewNotifierClient(cc), nil
}

// Community returns the named community plugin.
func (h *Host) Community(name string) (sdk.Community, error) {
	cc, err := h.connFor(name, sdk.KindCommunity)
	if err != nil {
		return nil, err
	}
	return sdk.NewCommunityClient(cc), nil
}

// PaymentGateway returns the named payment gateway plugin.
func (h *Host) PaymentGateway(name string) (sdk.PaymentGateway, error) {
	cc, err := h.connFor(name, sdk.KindPaymentGateway)
	if err != nil {
		return nil, err
	}
	return sdk.NewPaymentGatewayClient(cc), nil
}

// Monitor returns the named monitor plugin.
func (h *Host) Monitor(name string) (sdk.MonitorClient, error) {
	cc, err := h.connFor(name, sdk.KindMonitor)
	if err != nil {
		return nil, err
	}
	return sdk.NewMonitorClient(cc), nil
}

// Assistant returns the named assistant plugin.
func (h *Host) Assistant(name string) (sdk.Assistant, error) {
	cc, err := h.connFor(name, sdk.KindAssistant)
	if err != nil {
		return nil, err
	}
	return sdk.NewAssistantClient(cc), nil
}

// Helpdesk returns the named helpdesk plugin.
func (h *Host) Helpdesk(name string) (sdk.Helpdesk, error) {
	cc, err := h.connFor(name, sdk.KindHelpdesk)
	if err != nil {
		return nil, err
	}
	return sdk.NewHelpdeskClient(cc), nil
}

// PricingSource returns the named pricing source plugin.
func (h *Host) PricingSource(name string) (sdk.PricingSource, error) {
	cc, err := h.connFor(name, sdk.KindPricingSource)
	if err != nil {
		return nil, err
	}
	return sdk.NewPricingSourceClient(cc), nil
}
