package plugintest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/ezscale/platform/sdk"
)

// Serve serves p in process exactly as sdk.Serve does in a plugin process
// (go-plugin's protocol on a local socket, the SDK's gRPC server and
// interceptor), and returns the reattach config a plugin host attaches to
// it with, as it would to a plugin started in debug mode (the core's
// pluginhost.Options.Reattach). The host then configures, describes,
// health-checks and calls it as it would a process of its own, without
// building or starting one. The plugin stops when the test ends.
//
// Unlike New, Serve does not configure the plugin: the host does.
func Serve(t testing.TB, p sdk.Plugin, opts ...Option) sdk.ReattachConfig {
	t.Helper()
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	cfg, err := sdk.ServeConfig(p)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	// go-plugin's own log (the listener closing when the test ends, say)
	// is the test's noise unless the test asks for it.
	cfg.Logger = hclog.NewNullLogger()
	if o.logger != nil {
		cfg.Logger = o.logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go plugin.Serve(cfg)
	t.Cleanup(func() {
		cancel()
		<-closed
	})
	select {
	case rc := <-reattach:
		if rc == nil {
			t.Fatalf("plugintest: %s did not start serving", p.Describe().Name)
		}
		return sdk.ReattachConfig{
			Protocol:        string(rc.Protocol),
			ProtocolVersion: rc.ProtocolVersion,
			Network:         rc.Addr.Network(),
			Addr:            rc.Addr.String(),
			Pid:             rc.Pid,
		}
	case <-closed:
		t.Fatalf("plugintest: %s stopped before serving", p.Describe().Name)
	case <-time.After(time.Minute):
		t.Fatalf("plugintest: %s did not start serving within a minute", p.Describe().Name)
	}
	return sdk.ReattachConfig{}
}
