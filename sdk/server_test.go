package sdk_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// strictNotifier's Health refuses until it is configured, as most
// first-party plugins' do.
type strictNotifier struct{ configured atomic.Bool }

func (*strictNotifier) Describe() sdk.Description {
	return sdk.Description{Name: "strict", Version: "1.0.0", Schema: sdk.NewSchema().String("token", sdk.Required())}
}
func (n *strictNotifier) Configure(context.Context, sdk.Config) error {
	n.configured.Store(true)
	return nil
}
func (n *strictNotifier) Health(context.Context) error {
	if !n.configured.Load() {
		return sdk.UnavailableError(0, "not configured")
	}
	return sdk.Errorf(sdk.Internal, "relay refuses our login")
}
func (*strictNotifier) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{}, nil
}

// TestHealthBeforeConfigureAnswersForTheProcess: before Configure the SDK
// answers a health check itself (the process serves), whatever the
// plugin's Health says about being unconfigured; once configured, the
// plugin's own Health speaks.
func TestHealthBeforeConfigureAnswersForTheProcess(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &strictNotifier{}, plugintest.WithoutConfigure())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := h.Plugin().HealthMessage(ctx)
	if err != nil || msg != sdk.NotConfiguredHealth {
		t.Fatalf("health before Configure: %q, %v; want %q, nil", msg, err, sdk.NotConfiguredHealth)
	}
	// Kind calls are still refused until Configure.
	if _, err := h.Notifier().Deliver(ctx, &pb.DeliverRequest{IdempotencyKey: "k", Recipient: "r"}); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("Deliver before Configure: %v, want unavailable", err)
	}
	if diags, err := h.Plugin().Configure(ctx, map[string]any{"token": "t"}); err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %v", diags, err)
	}
	if err := h.Plugin().Health(ctx); sdk.KindOf(err) != sdk.Internal {
		t.Errorf("health once configured: %v, want the plugin's own internal error", err)
	}
}
