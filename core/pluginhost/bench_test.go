package pluginhost

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// rawClient starts the test plugin with bare go-plugin (same handshake,
// AutoMTLS, gRPC) and configures it: the baseline the host's overhead is
// measured against.
func rawClient(b *testing.B) pb.NotifierServiceClient {
	b.Helper()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          sdk.PluginSet(),
		Cmd:              exec.Command(bins["testplugin"]),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	b.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		b.Fatal(err)
	}
	cc := raw.(*grpc.ClientConn)
	if diags, err := sdk.NewPluginClient(cc).Configure(context.Background(), map[string]any{"api_url": "x"}); err != nil || diags.HasErrors() {
		b.Fatal(err, diags)
	}
	return pb.NewNotifierServiceClient(cc)
}

func hostNotifier(b *testing.B) sdk.Notifier {
	b.Helper()
	h, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Stop)
	if err := h.Start(context.Background(), []Spec{{Name: "tp", Path: bins["testplugin"], Config: map[string]any{"api_url": "x"}}}); err != nil {
		b.Fatal(err)
	}
	n, err := h.Notifier("tp")
	if err != nil {
		b.Fatal(err)
	}
	return n
}

var benchReq = &pb.DeliverRequest{IdempotencyKey: "bench", Channel: "email", Recipient: "a@example.com"}

// BenchmarkNoopCall is one no-op Deliver through the host and through a raw
// go-plugin client.
func BenchmarkNoopCall(b *testing.B) {
	b.Run("host", func(b *testing.B) {
		n := hostNotifier(b)
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if _, err := n.Deliver(ctx, benchReq); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-go-plugin", func(b *testing.B) {
		c := rawClient(b)
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Deliver(ctx, benchReq); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostOverhead alternates host and raw calls in one loop, so both
// see the same machine state, and reports the host's overhead in percent
// (target: under 10%).
func BenchmarkHostOverhead(b *testing.B) {
	n := hostNotifier(b)
	c := rawClient(b)
	ctx := context.Background()
	var hostTime, rawTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := n.Deliver(ctx, benchReq); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.Deliver(ctx, benchReq); err != nil {
			b.Fatal(err)
		}
		rawTime += time.Since(t1)
		hostTime += t1.Sub(t0)
	}
	b.ReportMetric(float64(hostTime.Nanoseconds())/float64(b.N), "host-ns/call")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/call")
	b.ReportMetric(100*(float64(hostTime)-float64(rawTime))/float64(rawTime), "overhead-%")
}

// BenchmarkStartToReady measures exec, handshake, Describe, config
// validation and Configure, until the plugin is running.
func BenchmarkStartToReady(b *testing.B) {
	for b.Loop() {
		h, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Start(context.Background(), []Spec{{Name: "tp", Path: bins["testplugin"], Config: map[string]any{"api_url": "x"}}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		h.Stop()
		b.StartTimer()
	}
}
