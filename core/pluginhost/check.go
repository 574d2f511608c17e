package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// CheckResult is what `ezscale plugins check` prints.
type CheckResult struct {
	Name         string      `json:"name"`
	Version      string      `json:"version"`
	Kinds        []string    `json:"kinds"`
	Capabilities []string    `json:"capabilities"`
	SDK          string      `json:"sdk"`
	Config       []sdk.Field `json:"config"`
	// Options is a provisioner's option declaration.
	Options sdk.Options `json:"options"`
	// Health is the plugin's answer to the health check.
	Health string `json:"health"`
	// Configured is set by CheckConfigured: the plugin accepted its config.
	Configured bool `json:"configured"`
	// Connection is a configured provisioner's TestConnection answer.
	Connection string `json:"connection,omitempty"`
}

// checkStepTimeout bounds each step of a check.
const checkStepTimeout = 30 * time.Second

// Check vets a plugin executable without configuring it: the go-plugin
// handshake must succeed (cookie, protocol version, nothing on stdout),
// Describe must name at least one known kind, Health must answer, and
// describe mode (PATH describe) must print the same description without a
// handshake. Any failure is an error that says which step failed.
func Check(ctx context.Context, path string) (*CheckResult, error) {
	l := &launcher{env: defaultEnv(), startTimeout: checkStepTimeout}
	inst, err := l.launch(ctx, hclog.NewNullLogger(), path, "", nil)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	defer inst.client.Kill()
	if inst.desc.GetName() == "" || len(sdk.DescribedKinds(inst.desc)) == 0 {
		return nil, fmt.Errorf("describe: the description has no name or no known kind")
	}
	health, err := checkHealth(ctx, inst)
	if err != nil {
		return nil, err
	}

	static, err := describeMode(ctx, path)
	if err != nil {
		return nil, err
	}
	if static.GetName() != inst.desc.GetName() || static.GetVersion() != inst.desc.GetVersion() {
		return nil, fmt.Errorf("describe mode says %s %s, but over gRPC the plugin says %s %s",
			static.GetName(), static.GetVersion(), inst.desc.GetName(), inst.desc.GetVersion())
	}
	res := resultOf(inst.desc)
	res.Health = health
	return res, nil
}

// CheckConfigured checks a configured plugin as `ezscale serve` would start
// it, and its backend: the sha256 pin, the handshake, the config block
// against the plugin's schema and the plugin's own validation, Configure,
// a health check, and, for a provisioner, TestConnection (the backend
// answers with these credentials). Any failure is an error that says which
// step failed (handshake, config, health, test connection); a refused
// config is a *ConfigError naming the fields and their positions.
func CheckConfigured(ctx context.Context, spec Spec) (*CheckResult, error) {
	l := &launcher{env: defaultEnv(), startTimeout: checkStepTimeout}
	inst, err := l.launch(ctx, hclog.NewNullLogger(), spec.Path, spec.SHA256, nil)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	defer inst.client.Kill()
	if err := configure(ctx, inst, spec, checkStepTimeout, hclog.NewNullLogger()); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	res := resultOf(inst.desc)
	res.Configured = true
	if res.Health, err = checkHealth(ctx, inst); err != nil {
		return nil, err
	}
	if !slices.Contains(res.Kinds, string(sdk.KindProvisioner)) {
		return res, nil
	}
	tctx, cancel := context.WithTimeout(ctx, checkStepTimeout)
	defer cancel()
	resp, err := sdk.NewProvisionerClient(inst.cc).TestConnection(tctx, &pb.TestConnectionRequest{})
	if err != nil {
		return nil, fmt.Errorf("test connection: %w", err)
	}
	res.Connection = resp.GetMessage()
	if res.Connection == "" {
		res.Connection = "ok"
	}
	return res, nil
}

func checkHealth(ctx context.Context, inst *instance) (string, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := sdk.NewPluginClient(inst.cc).HealthMessage(hctx)
	if err != nil {
		return "", fmt.Errorf("health: %w", err)
	}
	return msg, nil
}
