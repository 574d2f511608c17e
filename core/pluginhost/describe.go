package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Describe runs a plugin executable in describe mode (`PATH describe`: the
// plugin prints its description as JSON and exits, without a handshake) and
// returns what it says. When pin is set the file's sha256 must match it
// first, so a swapped binary is never executed, not even to describe it.
// `ezscale plugins list` uses it to show configured plugins without
// starting them.
func Describe(ctx context.Context, path, pin string) (*CheckResult, error) {
	if pin != "" {
		got, err := fileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if !strings.EqualFold(got, pin) {
			return nil, fmt.Errorf("refused: %w: %s has sha256 %s, the config pins %s", ErrChecksumMismatch, path, got, strings.ToLower(pin))
		}
	}
	d, err := describeMode(ctx, path)
	if err != nil {
		return nil, err
	}
	return resultOf(d), nil
}

// describeMode execs `path describe` with the plugins' minimal environment.
func describeMode(ctx context.Context, path string) (*pb.DescribeResponse, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(dctx, path, "describe")
	cmd.Env = append(defaultEnv(), sdk.DescribeEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if s := bytes.TrimSpace(stderr.Bytes()); len(s) > 0 {
			return nil, fmt.Errorf("describe mode: %w; stderr: %s", err, s)
		}
		return nil, fmt.Errorf("describe mode: %w", err)
	}
	d, err := sdk.ParseDescription(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("describe mode: %w", err)
	}
	return d, nil
}

func resultOf(d *pb.DescribeResponse) *CheckResult {
	res := &CheckResult{
		Name: d.GetName(), Version: d.GetVersion(), SDK: d.GetSdk(),
		Kinds: []string{}, Capabilities: d.GetCapabilities(),
		Config:  sdk.SchemaFromProto(d.GetConfigSchema()).Fields(),
		Options: sdk.OptionsFromProto(d.GetOptions()),
	}
	for _, k := range sdk.DescribedKinds(d) {
		res.Kinds = append(res.Kinds, string(k))
	}
	if res.Capabilities == nil {
		res.Capabilities = []string{}
	}
	return res
}
