// Package pluginhosttest runs plugins in the test's own process behind a
// real plugin host: each is served over go-plugin's gRPC protocol by
// sdk/plugintest.Serve, and the host attaches to it as it would to a
// plugin started in debug mode. Domain tests get the host's behaviour
// (configure against the schema, describe, deadlines, health rounds,
// metrics) without building or starting a plugin executable; tests of
// plugin processes themselves (crashes, restarts, handshakes) stay in
// package pluginhost and in tests/.
//
// Provisioner is the fake provisioner the domain tests share.
package pluginhosttest

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
)

// Plugin is one in-process plugin for Start: its config block's name, the
// implementation, and the config the host configures it with.
type Plugin struct {
	Name   string
	Impl   sdk.Plugin
	Config map[string]any
}

// Start serves each plugin in process and returns a started host running
// them, stopped when the test ends. specs are further plugins the host
// starts as usual (a real plugin executable, say).
func Start(t testing.TB, opts pluginhost.Options, plugins []Plugin, specs ...pluginhost.Spec) *pluginhost.Host {
	t.Helper()
	reattach := map[string]sdk.ReattachConfig{}
	for k, v := range opts.Reattach {
		reattach[k] = v
	}
	all := make([]pluginhost.Spec, 0, len(plugins)+len(specs))
	for _, p := range plugins {
		reattach[p.Name] = plugintest.Serve(t, p.Impl)
		cfg := p.Config
		if cfg == nil {
			cfg = map[string]any{}
		}
		all = append(all, pluginhost.Spec{Name: p.Name, Config: cfg})
	}
	all = append(all, specs...)
	opts.Reattach = reattach
	h, err := pluginhost.New(opts)
	if err != nil {
		t.Fatalf("pluginhosttest: %v", err)
	}
	t.Cleanup(h.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.Start(ctx, all); err != nil {
		t.Fatalf("pluginhosttest: starting plugins: %v", err)
	}
	return h
}

// Describe returns what p declares, through a real Describe call (the
// protocol's round trip): what a core reads in describe mode.
func Describe(t testing.TB, p sdk.Plugin) (version string, options sdk.Options) {
	t.Helper()
	h := plugintest.New(t, p, plugintest.WithoutConfigure())
	d := h.Description()
	return d.GetVersion(), sdk.OptionsFromProto(d.GetOptions())
}
