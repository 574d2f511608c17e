package main

import (
	"net/http/httptest"
	"testing"

	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// startProcess runs the plugin as a child process, configured against a
// fresh fake, as the core would.
func startProcess(t testing.TB) (sdk.ProvisionerClient, *fakevirtfusion.Fake) {
	t.Helper()
	fake := fakevirtfusion.New(fakevirtfusion.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"api_url": srv.URL + fakevirtfusion.BasePath, "api_token": "tok"})
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v, %v", diags, err)
	}
	return sdk.NewProvisionerClient(cc), fake
}

func TestRealProcess(t *testing.T) {
	t.Parallel()
	p, fake := startProcess(t)
	ctx := t.Context()

	r, err := p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	if _, err := p.Power(ctx, &pb.PowerRequest{Service: svc, IdempotencyKey: "p", Action: pb.PowerAction_POWER_ACTION_RESTART}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	if fake.ServerCount() != 0 {
		t.Errorf("%d servers left", fake.ServerCount())
	}
	// Errors keep their kind across the process boundary.
	if _, err := p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc}); !sdk.IsKind(err, sdk.NotFound) {
		t.Errorf("GetInfo after Terminate: %v", err)
	}
}

func BenchmarkGetInfoViaProcess(b *testing.B) {
	p, _ := startProcess(b)
	r, err := p.Create(b.Context(), &pb.CreateRequest{Service: service("bench"), IdempotencyKey: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	svc := service("bench")
	svc.ExternalId = r.GetStatus().GetExternalId()
	for b.Loop() {
		if _, err := p.GetInfo(b.Context(), &pb.GetInfoRequest{Service: svc}); err != nil {
			b.Fatal(err)
		}
	}
}
