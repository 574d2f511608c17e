// Package processtest runs a plugin as a real child process over go-plugin,
// as the core does (handshake on stdout, gRPC with AutoMTLS), using the test
// binary itself as the plugin: TestMain calls ServeIfChild, and Start
// re-executes the binary in plugin mode. This catches what an in-process
// harness cannot, such as a plugin writing to stdout.
package processtest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ezscale/platform/sdk"
)

// env marks the child process.
const env = "EZSCALE_PLUGINS_PROCESSTEST_CHILD"

// ServeIfChild serves the plugin and exits when this process is a child
// started by Start; otherwise it returns at once. Call it first in TestMain.
func ServeIfChild(newPlugin func() sdk.Plugin) {
	if os.Getenv(env) == "1" {
		sdk.Serve(newPlugin())
	}
}

// Start runs the test binary as a plugin process, with a data directory of
// its own, and returns its gRPC connection, configured for nothing yet. The process is killed by
// t.Cleanup.
func Start(t testing.TB) *grpc.ClientConn {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"=1", sdk.DataDirEnv+"="+t.TempDir())
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          sdk.PluginSet(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("processtest: starting the plugin process: %v", err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatalf("processtest: dispense: %v", err)
	}
	cc, ok := raw.(*grpc.ClientConn)
	if !ok {
		t.Fatalf("processtest: dispensed %T, want *grpc.ClientConn", raw)
	}
	return cc
}
