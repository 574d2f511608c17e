package pluginhost

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/sdk"
)

// CheckResult is what `ezscale plugins check PATH` prints.
type CheckResult struct {
	Name         string      `json:"name"`
	Version      string      `json:"version"`
	Kinds        []string    `json:"kinds"`
	Capabilities []string    `json:"capabilities"`
	SDK          string      `json:"sdk"`
	Config       []sdk.Field `json:"config"`
	// Options is a provisioner's option declaration.
	Options sdk.Options `json:"options"`
}

// Check vets a plugin executable without configuring it: the go-plugin
// handshake must succeed (cookie, protocol version, nothing on stdout),
// Describe must name at least one known kind, Health must answer, and
// describe mode (PATH describe) must print the same description without a
// handshake. Any failure is an error that says which step failed.
func Check(ctx context.Context, path string) (*CheckResult, error) {
	const stepTimeout = 30 * time.Second

	l := &launcher{env: defaultEnv(), startTimeout: stepTimeout}
	inst, err := l.launch(ctx, hclog.NewNullLogger(), path, "", nil)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	defer inst.client.Kill()
	if inst.desc.GetName() == "" || len(sdk.DescribedKinds(inst.desc)) == 0 {
		return nil, fmt.Errorf("describe: the description has no name or no known kind")
	}
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	if err := sdk.NewPluginClient(inst.cc).Health(hctx); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}

	static, err := describeMode(ctx, path)
	if err != nil {
		return nil, err
	}
	if static.GetName() != inst.desc.GetName() || static.GetVersion() != inst.desc.GetVersion() {
		return nil, fmt.Errorf("describe mode says %s %s, but over gRPC the plugin says %s %s",
			static.GetName(), static.GetVersion(), inst.desc.GetName(), inst.desc.GetVersion())
	}
	return resultOf(inst.desc), nil
}
