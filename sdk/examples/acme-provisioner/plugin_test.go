package main

import (
	"net/http/httptest"
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/examples/acme-provisioner/acmepanel"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	panel := acmepanel.New("k3y", 1)
	srv := httptest.NewServer(panel)
	t.Cleanup(srv.Close)

	// WithRestart lets the suite restart the plugin on its data directory
	// (and on a new one) to prove a retried Create acts once.
	h := plugintest.New(t, New(), plugintest.WithRestart(func() sdk.Plugin { return New() }),
		plugintest.WithConfig(map[string]any{"api_url": srv.URL, "api_key": "k3y"}))
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{
		Service: &pb.ServiceRef{ServiceId: "svc-1", PlanOptions: map[string]string{"plan": "medium", "hostname": "web1.example.com"},
			Customer: &pb.Customer{AccountId: "acct-1", Email: "jo@example.com", Name: "Jo"}},
		// Created once, proven at the panel.
		Created: func(t *testing.T, svc *pb.ServiceRef, _ *pb.ServiceStatus) {
			if got := panel.Named(serverName(svc.GetServiceId())); len(got) != 1 || got[0].ID != svc.GetExternalId() {
				t.Errorf("the panel holds %v for %s, want exactly server %s", got, svc.GetServiceId(), svc.GetExternalId())
			}
		},
		Terminated: func(t *testing.T, svc *pb.ServiceRef) {
			if got := panel.Named(serverName(svc.GetServiceId())); len(got) != 0 {
				t.Errorf("the panel still holds %v after Terminate", got)
			}
		},
	})
}

// TestConfigRefusedByName: the typed config refuses a bad block naming
// each field.
func TestConfigRefusedByName(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, New(), plugintest.WithoutConfigure())
	diags, err := h.Plugin().ValidateConfig(t.Context(), map[string]any{"api_url": "ftp://x", "api_kye": "k", "default_plan": "huge"})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	for _, d := range diags {
		fields[d.Field] = true
	}
	for _, f := range []string{"api_kye", "api_key"} {
		if !fields[f] {
			t.Errorf("diagnostics %v do not name %s", diags, f)
		}
	}
}
