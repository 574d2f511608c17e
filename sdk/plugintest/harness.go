// Package plugintest runs a plugin implementation in process, served over a
// real gRPC server on a loopback listener, and hands out the same typed
// clients the core uses. Errors, panics, idempotency-key checks, the
// configured gate and the data directory behave exactly as in a real plugin
// process, because the harness uses the SDK's own server.
//
// A harness can restart the plugin (Restart): it stops the served instance,
// closing its data directory as a process exit would, and serves a new one
// on the same directory, so a test can prove that what a plugin promises
// survives a restart. Launch does the same for a plugin in another process
// (a built binary, in any language).
//
// Public API, append-only.
package plugintest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Harness is a plugin served for a test. It is stopped by t.Cleanup.
type Harness struct {
	t     testing.TB
	o     *options
	start Launcher

	mu      sync.Mutex
	conn    *grpc.ClientConn
	stop    func()
	dataDir string
	desc    *pb.DescribeResponse
}

// Launcher starts one instance of a plugin whose process (or server) the
// harness does not own, with the given data directory, and returns a
// connection to it and a function that stops it. Launch calls it at start
// and at each Restart.
type Launcher func(ctx context.Context, dataDir string) (conn *grpc.ClientConn, stop func(), err error)

// Option configures New and Launch.
type Option func(*options)

type options struct {
	config     map[string]any
	configure  bool
	logger     hclog.Logger
	dataDir    string
	newPlugin  func() sdk.Plugin
	restartErr string
}

// WithConfig sets the config the harness passes to Configure (default:
// empty), at start and after each Restart.
func WithConfig(cfg map[string]any) Option { return func(o *options) { o.config = cfg } }

// WithoutConfigure leaves the plugin unconfigured, to test Configure itself.
func WithoutConfigure() Option { return func(o *options) { o.configure = false } }

// WithLogger sets the logger the SDK server logs panics to.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDataDir sets the plugin's data directory (default: a new t.TempDir()).
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithRestart gives New a constructor for fresh instances of the plugin,
// which Restart serves in place of the stopped one, as a new process of
// the same binary would start. Without it a harness from New cannot
// restart, and the conformance suites skip their restart checks.
func WithRestart(newPlugin func() sdk.Plugin) Option {
	return func(o *options) { o.newPlugin = newPlugin }
}

// New serves p on 127.0.0.1 and connects to it. Unless WithoutConfigure is
// given, it calls Configure with the WithConfig config and fails the test
// on any error diagnostic.
func New(t testing.TB, p sdk.Plugin, opts ...Option) *Harness {
	t.Helper()
	o := newOptions(opts)
	first := p
	start := func(_ context.Context, dataDir string) (*grpc.ClientConn, func(), error) {
		inst := first
		if inst == nil {
			inst = o.newPlugin()
		}
		first = nil
		srv, err := sdk.NewServer(inst, sdk.ServerOptions{Logger: o.logger, DataDir: dataDir})
		if err != nil {
			return nil, nil, err
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		go func() { _ = srv.Serve(lis) }()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			srv.Stop()
			return nil, nil, err
		}
		return conn, func() { _ = conn.Close(); srv.Stop() }, nil
	}
	if o.newPlugin == nil {
		o.restartErr = "the harness cannot restart the plugin: give plugintest.New the option WithRestart(newPlugin)"
	}
	return newHarness(t, o, start)
}

// Launch starts a plugin through start (for example a built plugin binary,
// in any language, over go-plugin) and connects to it, as New does for a
// plugin served in process. Restart stops it and starts it again.
func Launch(t testing.TB, start Launcher, opts ...Option) *Harness {
	t.Helper()
	return newHarness(t, newOptions(opts), start)
}

func newOptions(opts []Option) *options {
	o := &options{config: map[string]any{}, configure: true}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func newHarness(t testing.TB, o *options, start Launcher) *Harness {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	h := &Harness{t: t, o: o, start: start, dataDir: o.dataDir}
	t.Cleanup(h.shutdown)
	if err := h.up(o.dataDir); err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return h
}

// up starts an instance, describes it and configures it.
func (h *Harness) up(dataDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, stop, err := h.start(ctx, dataDir)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.conn, h.stop, h.dataDir = conn, stop, dataDir
	h.mu.Unlock()
	desc, err := h.Plugin().Describe(ctx)
	if err != nil {
		return fmt.Errorf("describe: %v", err)
	}
	h.mu.Lock()
	h.desc = desc
	h.mu.Unlock()
	if h.o.configure {
		diags, err := h.Plugin().Configure(ctx, h.o.config)
		if err != nil {
			return fmt.Errorf("configure: %v", err)
		}
		if diags.HasErrors() {
			return fmt.Errorf("configure refused the config: %v", diags)
		}
	}
	return nil
}

func (h *Harness) shutdown() {
	h.mu.Lock()
	stop := h.stop
	h.stop = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// CanRestart reports whether Restart works: always for Launch, and for New
// with WithRestart.
func (h *Harness) CanRestart() bool { return h.o.restartErr == "" }

// Restart stops the plugin (closing its data directory, as a process exit
// would) and starts a fresh instance on the same data directory, then
// describes and configures it as at start. Clients taken from the harness
// before keep working.
func (h *Harness) Restart(t testing.TB) {
	t.Helper()
	h.restart(t, h.DataDir())
}

// RestartWithNewDataDir restarts the plugin on a new, empty data directory:
// what a plugin meets on another core replica, or after its directory was
// lost. Whatever it recorded before is gone; only the backend remembers.
func (h *Harness) RestartWithNewDataDir(t testing.TB) {
	t.Helper()
	h.restart(t, t.TempDir())
}

func (h *Harness) restart(t testing.TB, dataDir string) {
	t.Helper()
	if !h.CanRestart() {
		t.Fatalf("plugintest: %s", h.o.restartErr)
	}
	h.shutdown()
	if err := h.up(dataDir); err != nil {
		t.Fatalf("plugintest: restart: %v", err)
	}
}

// DataDir returns the plugin's current data directory.
func (h *Harness) DataDir() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dataDir
}

// Conn returns the client connection to the running instance, for calls
// the typed clients lack. After Restart it is a new connection.
func (h *Harness) Conn() *grpc.ClientConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn
}

// Description returns what Describe answered when the harness (re)started.
func (h *Harness) Description() *pb.DescribeResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.desc
}

// HasCapability reports whether Describe listed c.
func (h *Harness) HasCapability(c sdk.Capability) bool {
	for _, got := range h.Description().GetCapabilities() {
		if got == string(c) {
			return true
		}
	}
	return false
}

// HasKind reports whether Describe listed k.
func (h *Harness) HasKind(k sdk.Kind) bool {
	for _, got := range sdk.DescribedKinds(h.Description()) {
		if got == k {
			return true
		}
	}
	return false
}

// cc forwards every call to the instance running at the time of the call,
// so clients survive Restart.
type cc struct{ h *Harness }

func (c cc) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.h.Conn().Invoke(ctx, method, args, reply, opts...)
}

func (c cc) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.h.Conn().NewStream(ctx, desc, method, opts...)
}

// Plugin returns the PluginService client.
func (h *Harness) Plugin() *sdk.PluginClient { return sdk.NewPluginClient(cc{h}) }

// Provisioner returns the provisioner client.
func (h *Harness) Provisioner() sdk.ProvisionerClient { return sdk.NewProvisionerClient(cc{h}) }

// Notifier returns the notifier client.
func (h *Harness) Notifier() sdk.Notifier { return sdk.NewNotifierClient(cc{h}) }

// Community returns the community client.
func (h *Harness) Community() sdk.Community { return sdk.NewCommunityClient(cc{h}) }

// PaymentGateway returns the payment gateway client.
func (h *Harness) PaymentGateway() sdk.PaymentGateway { return sdk.NewPaymentGatewayClient(cc{h}) }

// Monitor returns the monitor client.
func (h *Harness) Monitor() sdk.MonitorClient { return sdk.NewMonitorClient(cc{h}) }

// Assistant returns the assistant client.
func (h *Harness) Assistant() sdk.Assistant { return sdk.NewAssistantClient(cc{h}) }

// Helpdesk returns the helpdesk client.
func (h *Harness) Helpdesk() sdk.Helpdesk { return sdk.NewHelpdeskClient(cc{h}) }

// PricingSource returns the pricing source client.
func (h *Harness) PricingSource() sdk.PricingSource { return sdk.NewPricingSourceClient(cc{h}) }
