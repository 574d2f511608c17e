package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
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
}

// Check vets a plugin executable without configuring it: describe mode must
// print a valid description without a handshake, the go-plugin handshake
// must succeed (cookie, protocol version, nothing on stdout), Describe over
// gRPC must agree with describe mode, and Health must answer. Any failure is
// an error that says which step failed.
func Check(ctx context.Context, path string) (*CheckResult, error) {
	const stepTimeout = 30 * time.Second

	dctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(dctx, path, "describe")
	cmd.Env = append(defaultEnv(), sdk.DescribeEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("describe mode: %w; stderr: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	static, err := sdk.ParseDescription(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("describe mode: %w", err)
	}
	if static.GetName() == "" || len(sdk.DescribedKinds(static)) == 0 {
		return nil, fmt.Errorf("describe mode: the description has no name or no known kind")
	}

	l := &launcher{logger: hclog.NewNullLogger(), env: defaultEnv(), startTimeout: stepTimeout}
	inst, err := l.launch(ctx, static.GetName(), path, "", nil)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	defer inst.client.Kill()
	if inst.desc.GetName() != static.GetName() || inst.desc.GetVersion() != static.GetVersion() {
		return nil, fmt.Errorf("describe: gRPC says %s %s, describe mode said %s %s",
			inst.desc.GetName(), inst.desc.GetVersion(), static.GetName(), static.GetVersion())
	}
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	if err := sdk.NewPluginClient(inst.cc).Health(hctx); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	res := &CheckResult{
		Name: inst.desc.GetName(), Version: inst.desc.GetVersion(), SDK: inst.desc.GetSdk(),
		Kinds: []string{}, Capabilities: inst.desc.GetCapabilities(),
		Config: sdk.SchemaFromProto(inst.desc.GetConfigSchema()).Fields(),
	}
	for _, k := range sdk.DescribedKinds(inst.desc) {
		res.Kinds = append(res.Kinds, string(k))
	}
	if res.Capabilities == nil {
		res.Capabilities = []string{}
	}
	return res, nil
}
