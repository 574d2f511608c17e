package pluginhost

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Spec is one plugin "NAME" { … } block of the config.
type Spec struct {
	// Name is the block label, unique per host; used in logs, metrics and
	// the admin API.
	Name string
	// Path of the plugin executable.
	Path string
	// SHA256 pins the executable's hex sha256; empty means no pin. A
	// mismatch refuses to start the plugin.
	SHA256 string
	// Config is the block's config {} body.
	Config map[string]any
	// Positions maps a config field name to its "file:line:col", so errors
	// point into the config file; the key "" is the block itself.
	Positions map[string]string
	// CallTimeout overrides Options.CallTimeout for this plugin.
	CallTimeout time.Duration
	// Disabled registers the plugin without starting it.
	Disabled bool
}

func (s Spec) position(field string) string {
	if p, ok := s.Positions[field]; ok {
		return p
	}
	return s.Positions[""]
}

// State of a plugin.
type State string

// States. A plugin is starting until Configure succeeds, running while
// serving, restarting between a crash and the next start, failed when it
// cannot start (bad config, refused handshake, checksum) or its breaker is
// open, and disabled when an admin or the config turned it off.
const (
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateFailed     State = "failed"
	StateDisabled   State = "disabled"
)

// Info is a plugin's status, as shown by `ezscale plugins list` and
// GET /api/v1/admin/plugins.
type Info struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Kinds        []string `json:"kinds"`
	Capabilities []string `json:"capabilities"`
	// Options is a provisioner's option declaration, from its latest
	// Describe.
	Options   sdk.Options `json:"options"`
	State     State       `json:"state"`
	Restarts  int         `json:"restarts"`
	LastError string      `json:"last_error"`
	PID       int         `json:"pid"`
	StartedAt time.Time   `json:"started_at"`
	Path      string      `json:"path"`
	// Health is the latest health round of the running process (unknown
	// while none runs or before its first round).
	Health Health `json:"health"`
}

// Options configure a Host. Zero values take the defaults in brackets.
type Options struct {
	// Logger is the core's logger; plugin logs go to Logger.Named(name).
	// [discard]
	Logger hclog.Logger
	// Registerer receives the per-plugin metrics. [a private registry]
	Registerer prometheus.Registerer
	// CallTimeout bounds every call to a plugin. [30s]
	CallTimeout time.Duration
	// StreamTimeout bounds a whole server-streaming call (an assistant's
	// streamed answer); the caller's context usually ends it sooner. [5m]
	StreamTimeout time.Duration
	// Described, when set, is called with each description a plugin gives
	// at start (outside any lock; it may block briefly, e.g. to store the
	// plugin's option declaration).
	Described func(name string, desc *pb.DescribeResponse)
	// HealthTimeout bounds a health check. [5s]
	HealthTimeout time.Duration
	// HealthInterval is the time between health rounds (the plugin's
	// Health and, for a provisioner, its backend's HealthCheck). [30s]
	HealthInterval time.Duration
	// StartTimeout bounds exec, handshake, Describe and Configure. [30s]
	StartTimeout time.Duration
	// BackoffBase and BackoffMax shape the restart delay: base, doubling per
	// consecutive crash, capped at max. [1s, 2m]
	BackoffBase, BackoffMax time.Duration
	// BreakerCrashes crashes within BreakerWindow open the breaker. [3, 10m]
	BreakerCrashes int
	BreakerWindow  time.Duration
	// Reattach maps plugin names to plugins started by hand in debug mode,
	// which the host connects to instead of starting (and does not kill).
	// [parsed from EZSCALE_REATTACH_PLUGINS]
	Reattach map[string]sdk.ReattachConfig
	// DataDir is the root of the plugins' data directories: each plugin
	// gets DataDir/<name>/, created 0700 before it starts and named to it by
	// EZSCALE_PLUGIN_DATA_DIR, so what the plugin records there (the SDK's
	// outcomes) survives restarts. A relative path is made absolute
	// against the core's working directory. ["": no data directory]
	DataDir string
	// Env is the plugin processes' environment (plus go-plugin's own
	// variables). The core's environment is not inherited, so the core's
	// secrets do not leak into plugins; secrets reach a plugin through its
	// config. [PATH, HOME, TMPDIR, LANG, TZ and EZSCALE_PLUGIN_LOG_LEVEL from
	// the core's environment]
	Env []string

	hooks healthHooks
}

// DefaultOptions are the host's settings when nothing is configured: the
// configuration's defaults (config.Default) are composed from them.
func DefaultOptions() Options {
	return Options{
		CallTimeout:    30 * time.Second,
		StreamTimeout:  5 * time.Minute,
		HealthTimeout:  5 * time.Second,
		HealthInterval: 30 * time.Second,
		StartTimeout:   30 * time.Second,
		BackoffBase:    time.Second,
		BackoffMax:     2 * time.Minute,
		BreakerCrashes: 3,
		BreakerWindow:  10 * time.Minute,
		DataDir:        "data/plugins",
	}
}

// withDefaults fills the unset settings from DefaultOptions. DataDir is not
// among them: empty is a setting (no data directories).
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.CallTimeout = cmp.Or(max(o.CallTimeout, 0), d.CallTimeout)
	o.StreamTimeout = cmp.Or(max(o.StreamTimeout, 0), d.StreamTimeout)
	o.HealthTimeout = cmp.Or(max(o.HealthTimeout, 0), d.HealthTimeout)
	o.HealthInterval = cmp.Or(max(o.HealthInterval, 0), d.HealthInterval)
	o.StartTimeout = cmp.Or(max(o.StartTimeout, 0), d.StartTimeout)
	o.BackoffBase = cmp.Or(max(o.BackoffBase, 0), d.BackoffBase)
	o.BackoffMax = cmp.Or(max(o.BackoffMax, 0), d.BackoffMax)
	o.BreakerWindow = cmp.Or(max(o.BreakerWindow, 0), d.BreakerWindow)
	o.BreakerCrashes = cmp.Or(max(o.BreakerCrashes, 0), d.BreakerCrashes)
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return o
}

// ConfigError is a plugin config that the schema or the plugin refused. Its
// message names each field and its position in the config file.
type ConfigError struct {
	Plugin      string
	Diagnostics sdk.Diagnostics
	// Positions of the fields named by Diagnostics, where known.
	Positions map[string]string
}

func (e *ConfigError) Error() string {
	var parts []string
	for _, d := range e.Diagnostics {
		if d.Severity == sdk.SeverityWarning {
			continue
		}
		field := d.Field
		if field == "" {
			field = "config"
		}
		if pos := e.Positions[d.Field]; pos != "" {
			field += " (" + pos + ")"
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += " (" + d.Detail + ")"
		}
		parts = append(parts, field+": "+msg)
	}
	return fmt.Sprintf("plugin %q: invalid config: %s", e.Plugin, strings.Join(parts, "; "))
}
