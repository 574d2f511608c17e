package main

import (
	"net/http/httptest"
	"testing"

	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func TestRealProcess(t *testing.T) {
	t.Parallel()
	fake := fakepterodactyl.New(fakepterodactyl.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"api_url": srv.URL,
		"application_key": fakepterodactyl.DefaultApplicationKey, "client_key": fakepterodactyl.DefaultClientKey})
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v, %v", diags, err)
	}
	p := sdk.NewProvisionerClient(cc)
	ctx := t.Context()
	r, err := p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	if _, err := p.Suspend(ctx, &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Power(ctx, &pb.PowerRequest{Service: svc, IdempotencyKey: "p", Action: pb.PowerAction_POWER_ACTION_BOOT})
	if !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("Power while suspended, across the process boundary: %v", err)
	}
	if _, err := p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: "t"}); err != nil || fake.ServerCount() != 0 {
		t.Fatalf("Terminate: %v (%d servers left)", err, fake.ServerCount())
	}
}
