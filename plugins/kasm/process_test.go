package main

import (
	"net/http/httptest"
	"testing"

	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func TestRealProcess(t *testing.T) {
	t.Parallel()
	fake := fakekasm.New(fakekasm.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"api_url": srv.URL,
		"api_key": fakekasm.DefaultAPIKey, "api_key_secret": fakekasm.DefaultAPISecret})
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
	if l, err := p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc}); err != nil || l.GetUrl() == "" {
		t.Fatalf("LoginURL: %v, %v", l, err)
	}
	if _, err := p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: "t"}); err != nil || fake.SessionCount() != 0 {
		t.Fatalf("Terminate: %v (%d sessions left)", err, fake.SessionCount())
	}
}
