package conformance_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func service() *pb.ServiceRef {
	return &pb.ServiceRef{
		ServiceId:   "svc-1",
		PlanOptions: map[string]string{"size": "small"},
		Customer:    &pb.Customer{AccountId: "acct-1", Email: "a@example.com", Name: "A"},
	}
}

func TestProvisionerMinimal(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, newMemProvisioner())
	if caps := h.Description().GetCapabilities(); len(caps) != 0 {
		t.Errorf("a provisioner with only the required methods describes capabilities %v", caps)
	}
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: service()})
}

func TestProvisionerFull(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fullProvisioner{newMemProvisioner()})
	var want []string
	for _, c := range sdk.ProvisionerCapabilities() {
		want = append(want, string(c))
	}
	got := h.Description().GetCapabilities()
	if diff := cmp.Diff(len(want), len(got)); diff != "" {
		t.Errorf("capabilities %v, want all of %v", got, want)
	}
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: service()})
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	n := &memNotifier{sent: map[string]*pb.DeliverRequest{}}
	h := plugintest.New(t, n, plugintest.WithConfig(map[string]any{"token": "secret"}))
	delivered := 0
	conformance.Notifier(t, h, conformance.NotifierFixture{
		Message: &pb.DeliverRequest{Channel: "email", Recipient: "a@example.com", Subject: "hi", TextBody: "hello"},
		Delivered: func(t *testing.T, req *pb.DeliverRequest, _ *pb.DeliverResponse) {
			delivered++
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.sent[req.GetIdempotencyKey()] == nil {
				t.Errorf("message %s not in the backend", req.GetIdempotencyKey())
			}
		},
	})
	if delivered == 0 {
		t.Error("the Delivered hook was never called")
	}
}

// panicky panics in Deliver; the SDK must turn that into Internal and keep
// serving.
type panicky struct{ memNotifier }

func (p *panicky) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	panic("boom")
}

func TestHarnessBehavesLikeAPlugin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("PanicIsInternal", func(t *testing.T) {
		t.Parallel()
		h := plugintest.New(t, &panicky{}, plugintest.WithConfig(map[string]any{"token": "x"}))
		_, err := h.Notifier().Deliver(ctx, &pb.DeliverRequest{IdempotencyKey: "k", Channel: "email", Recipient: "a@b"})
		if sdk.KindOf(err) != sdk.Internal {
			t.Errorf("panic: got %v, want Internal", err)
		}
		if err := h.Plugin().Health(ctx); err != nil {
			t.Errorf("plugin unhealthy after a panic: %v", err)
		}
	})
	t.Run("UnconfiguredIsUnavailable", func(t *testing.T) {
		t.Parallel()
		h := plugintest.New(t, &memNotifier{sent: map[string]*pb.DeliverRequest{}}, plugintest.WithoutConfigure())
		_, err := h.Notifier().Deliver(ctx, &pb.DeliverRequest{IdempotencyKey: "k", Channel: "email", Recipient: "a@b"})
		if sdk.KindOf(err) != sdk.Unavailable {
			t.Errorf("before Configure: got %v, want Unavailable", err)
		}
		diags, err := h.Plugin().Configure(ctx, map[string]any{"token": 5})
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.Diagnostics{{Severity: sdk.SeverityError, Field: "token", Summary: "must be a string, got float64"}}
		if diff := cmp.Diff(want, diags); diff != "" {
			t.Errorf("Configure diagnostics (-want +got):\n%s", diff)
		}
	})
	t.Run("NotSupportedNamesCapability", func(t *testing.T) {
		t.Parallel()
		h := plugintest.New(t, newMemProvisioner())
		_, err := h.Provisioner().Power(ctx, &pb.PowerRequest{IdempotencyKey: "k", Service: service()})
		if diff := cmp.Diff(`not_supported: capability provisioner.power is not supported by this plugin`, errString(err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
