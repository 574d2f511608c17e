package pluginhost

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
)

// ConformanceLauncher starts the plugin executable at path as the core
// would (go-plugin handshake with AutoMTLS, the core's minimal environment)
// with the given data directory, and returns its connection and a function
// that kills it. It has the shape of plugintest.Launcher, so
// `ezscale plugins conformance` runs the SDK's conformance suites against
// a built plugin, in any language, over the real protocol, and can restart
// it on the same data directory.
func ConformanceLauncher(path string, logger hclog.Logger) func(ctx context.Context, dataDir string) (*grpc.ClientConn, func(), error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return func(ctx context.Context, dataDir string) (*grpc.ClientConn, func(), error) {
		l := &launcher{env: defaultEnv(), startTimeout: 30 * time.Second}
		inst, err := l.launchIn(ctx, logger, path, "", nil, dataDir)
		if err != nil {
			return nil, nil, fmt.Errorf("starting %s: %w", path, err)
		}
		return inst.cc, inst.client.Kill, nil
	}
}
