// Package plugintest runs a plugin implementation in process, served over a
// real gRPC server on a loopback listener, and hands out the same typed
// clients the core uses. Errors, panics, idempotency-key checks and the
// configured gate behave exactly as in a real plugin process, because the
// harness uses the SDK's own server.
//
// Public API, append-only.
package plugintest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Harness is a plugin served in process. It is stopped by t.Cleanup.
type Harness struct {
	t    testing.TB
	conn *grpc.ClientConn
	desc *pb.DescribeResponse
}

// Option configures New.
type Option func(*options)

type options struct {
	config    map[string]any
	configure bool
	logger    hclog.Logger
}

// WithConfig sets the config New passes to Configure (default: empty).
func WithConfig(cfg map[string]any) Option { return func(o *options) { o.config = cfg } }

// WithoutConfigure leaves the plugin unconfigured, to test Configure itself.
func WithoutConfigure() Option { return func(o *options) { o.configure = false } }

// WithLogger sets the logger the SDK server logs panics to.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// New serves p on 127.0.0.1 and connects to it. Unless WithoutConfigure is
// given, it calls Configure with the WithConfig config and fails the test
// on any error diagnostic.
func New(t testing.TB, p sdk.Plugin, opts ...Option) *Harness {
	t.Helper()
	o := &options{config: map[string]any{}, configure: true}
	for _, opt := range opts {
		opt(o)
	}
	srv, err := sdk.NewGRPCServer(p, o.logger)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("plugintest: listen: %v", err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("plugintest: dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	h := &Harness{t: t, conn: conn}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.desc, err = h.Plugin().Describe(ctx)
	if err != nil {
		t.Fatalf("plugintest: Describe: %v", err)
	}
	if o.configure {
		diags, err := h.Plugin().Configure(ctx, o.config)
		if err != nil {
			t.Fatalf("plugintest: Configure: %v", err)
		}
		if diags.HasErrors() {
			t.Fatalf("plugintest: Configure refused the config: %v", diags)
		}
	}
	return h
}

// Conn returns the client connection, for calls the typed clients lack.
func (h *Harness) Conn() *grpc.ClientConn { return h.conn }

// Description returns what Describe answered when the harness started.
func (h *Harness) Description() *pb.DescribeResponse { return h.desc }

// HasCapability reports whether Describe listed c.
func (h *Harness) HasCapability(c sdk.Capability) bool {
	for _, got := range h.desc.GetCapabilities() {
		if got == string(c) {
			return true
		}
	}
	return false
}

// HasKind reports whether Describe listed k.
func (h *Harness) HasKind(k sdk.Kind) bool {
	for _, got := range sdk.DescribedKinds(h.desc) {
		if got == k {
			return true
		}
	}
	return false
}

// Plugin returns the PluginService client.
func (h *Harness) Plugin() *sdk.PluginClient { return sdk.NewPluginClient(h.conn) }

// Provisioner returns the provisioner client.
func (h *Harness) Provisioner() sdk.ProvisionerClient { return sdk.NewProvisionerClient(h.conn) }

// Notifier returns the notifier client.
func (h *Harness) Notifier() sdk.Notifier { return sdk.NewNotifierClient(h.conn) }

// Community returns the community client.
func (h *Harness) Community() sdk.Community { return sdk.NewCommunityClient(h.conn) }

// PaymentGateway returns the payment gateway client.
func (h *Harness) PaymentGateway() sdk.PaymentGateway { return sdk.NewPaymentGatewayClient(h.conn) }

// Monitor returns the monitor client.
func (h *Harness) Monitor() sdk.Monitor { return sdk.NewMonitorClient(h.conn) }

// Assistant returns the assistant client.
func (h *Harness) Assistant() sdk.Assistant { return sdk.NewAssistantClient(h.conn) }

// Helpdesk returns the helpdesk client.
func (h *Harness) Helpdesk() sdk.Helpdesk { return sdk.NewHelpdeskClient(h.conn) }

// PricingSource returns the pricing source client.
func (h *Harness) PricingSource() sdk.PricingSource { return sdk.NewPricingSourceClient(h.conn) }
