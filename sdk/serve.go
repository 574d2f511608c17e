package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
)

// Environment variables and arguments Serve understands.
const (
	// DescribeEnv set to 1 (or the argument "describe") prints the plugin's
	// description as JSON on stdout and exits, without a handshake.
	DescribeEnv = "EZSCALE_PLUGIN_DESCRIBE"
	// DebugEnv set to 1 (or the argument "debug") serves without the core:
	// run the plugin under a debugger, and it prints the
	// EZSCALE_REATTACH_PLUGINS value to give the core.
	DebugEnv = "EZSCALE_PLUGIN_DEBUG"
	// LogLevelEnv sets the plugin's log level (trace, debug, info, warn,
	// error); the core filters again with its own level.
	LogLevelEnv = "EZSCALE_PLUGIN_LOG_LEVEL"
)

// parentPollInterval is how often a plugin checks that the core is alive.
const parentPollInterval = 500 * time.Millisecond

var (
	loggerOnce sync.Once
	logger     hclog.Logger
)

// Logger returns the plugin's logger. It writes JSON lines to stderr, which
// the core parses and logs under the plugin's name. Plugins must never
// write to stdout: it carries the handshake.
func Logger() hclog.Logger {
	loggerOnce.Do(func() {
		level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
		if level == hclog.NoLevel {
			level = hclog.Info
		}
		// os.Stderr is captured now, before go-plugin swaps it for a pipe.
		logger = hclog.New(&hclog.LoggerOptions{
			Output:     os.Stderr,
			Level:      level,
			JSONFormat: true,
		})
	})
	return logger
}

// Serve runs the plugin. Call it from main; it does not return.
//
//   - Started by the core: it completes the go-plugin handshake (gRPC,
//     AutoMTLS) and serves until the core stops it, or exits on its own
//     when the core dies (the parent process changes).
//   - With the argument "describe" or EZSCALE_PLUGIN_DESCRIBE=1: it prints
//     the description as JSON on stdout and exits 0.
//   - With the argument "debug" or EZSCALE_PLUGIN_DEBUG=1: it serves on its
//     own and prints the reattach config to stderr.
//
// A plugin whose description is invalid (no name, no kind, a broken schema)
// exits with status 1 and says why on stderr.
func Serve(p Plugin) {
	os.Exit(run(p, os.Args[1:], os.Stdout, os.Stderr))
}

func run(p Plugin, args []string, stdout, stderr io.Writer) int {
	mode := ""
	if len(args) > 0 {
		mode = args[0]
	}
	switch {
	case mode == "describe" || os.Getenv(DescribeEnv) == "1":
		return describe(p, stdout, stderr)
	case mode == "debug" || os.Getenv(DebugEnv) == "1":
		return serveDebug(p, stderr)
	}
	cfg, err := ServeConfig(p)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	go watchParent(os.Getppid(), parentPollInterval, func() {
		Logger().Warn("the core (parent process) has exited; stopping")
		os.Exit(0)
	})
	plugin.Serve(cfg)
	return 0
}

func describe(p Plugin, stdout, stderr io.Writer) int {
	s, err := newServer(p, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	b, err := descriptionJSON(s)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		return 1
	}
	return 0
}

// descriptionJSON is the JSON printed in describe mode: the protojson form of
// DescribeResponse, with proto field names.
func descriptionJSON(s *server) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(s.desc)
	if err != nil {
		return nil, err
	}
	// protojson's whitespace is deliberately unstable; re-indent it so the
	// output is the same on every run.
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ServeConfig returns the go-plugin serve config Serve uses: the SDK
// handshake, gRPC only, the SDK's interceptor and logger. Exported for tests
// and tools that call plugin.Serve themselves.
func ServeConfig(p Plugin) (*plugin.ServeConfig, error) {
	s, err := newServer(p, Logger().Named(p.Describe().Name))
	if err != nil {
		return nil, err
	}
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: p, srv: s}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, s.interceptors()...)...)
		},
		Logger: Logger(),
	}, nil
}

func serveDebug(p Plugin, stderr io.Writer) int {
	if os.Getenv(DataDirEnv) == "" {
		// Started by hand: keep state where the next debug run finds it.
		dir := filepath.Join(os.TempDir(), "ezscale-plugin-"+p.Describe().Name+"-data")
		_ = os.Setenv(DataDirEnv, dir)
		fmt.Fprintf(stderr, "%s is not set; the plugin's data directory is %s\n", DataDirEnv, dir)
	}
	cfg, err := ServeConfig(p)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go plugin.Serve(cfg)
	select {
	case rc := <-reattach:
		if rc == nil {
			fmt.Fprintln(stderr, "plugin failed to start in debug mode")
			return 1
		}
		b, _ := json.Marshal(map[string]ReattachConfig{p.Describe().Name: reattachFromGoPlugin(rc)})
		fmt.Fprintf(stderr, "Plugin serving in debug mode. Start the core with:\n\n\t%s='%s'\n\n", ReattachEnv, b)
	case <-time.After(10 * time.Second):
		fmt.Fprintln(stderr, "plugin did not start in debug mode within 10s")
		return 1
	}
	<-closed
	return 0
}

// watchParent calls gone once the parent process has exited: the process is
// then reparented, so its parent pid changes. Polling works for every way
// the core can die, including SIGKILL, where no signal reaches the plugin.
func watchParent(ppid int, every time.Duration, gone func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != ppid {
			gone()
			return
		}
	}
}
