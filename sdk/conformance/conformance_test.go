package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
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

// createdOnce is the Created hook of the reference provisioners: the
// backend holds exactly one object for the service, the one named.
func createdOnce(b *memBackend) func(*testing.T, *pb.ServiceRef, *pb.ServiceStatus) {
	return func(t *testing.T, svc *pb.ServiceRef, st *pb.ServiceStatus) {
		if n := b.objects(svc.GetServiceId()); n != 1 {
			t.Errorf("the backend holds %d objects for %s, want 1", n, svc.GetServiceId())
		}
	}
}

func TestProvisionerMinimal(t *testing.T) {
	t.Parallel()
	m := newMemProvisioner()
	h := plugintest.New(t, m, plugintest.WithRestart(m.restarted))
	if caps := h.Description().GetCapabilities(); len(caps) != 0 {
		t.Errorf("a provisioner with only the required methods describes capabilities %v", caps)
	}
	created := 0
	hook := createdOnce(m.b)
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: service(),
		Created: func(t *testing.T, svc *pb.ServiceRef, st *pb.ServiceStatus) { created++; hook(t, svc, st) }})
	if created != 3 {
		t.Errorf("the Created hook was called %d times, want 3 (lifecycle, restart, replica)", created)
	}
}

func TestProvisionerFull(t *testing.T) {
	t.Parallel()
	m := newMemProvisioner()
	h := plugintest.New(t, fullProvisioner{m}, plugintest.WithRestart(func() sdk.Plugin {
		return fullProvisioner{m.restarted().(*memProvisioner)}
	}))
	var want []string
	for _, c := range sdk.ProvisionerCapabilities() {
		want = append(want, string(c))
	}
	got := h.Description().GetCapabilities()
	if diff := cmp.Diff(len(want), len(got)); diff != "" {
		t.Errorf("capabilities %v, want all of %v", got, want)
	}
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: service(), Created: createdOnce(m.b)})
}

// suiteLineEnv makes TestForgetfulProvisionerRun run the suite on a
// plugin that must fail it; TestSuiteCatchesCreateTwiceAcrossRestart reads
// its output.
const suiteLineEnv = "EZSCALE_CONFORMANCE_EXPECT_FAILURE"

func TestForgetfulProvisionerRun(t *testing.T) {
	if os.Getenv(suiteLineEnv) != "1" {
		t.Skip("run by TestSuiteCatchesCreateTwiceAcrossRestart")
	}
	m := newMemProvisioner()
	m.forgetful = true
	h := plugintest.New(t, m, plugintest.WithRestart(m.restarted))
	conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: service()}) // the reported line
}

// TestSuiteCatchesCreateTwiceAcrossRestart: a provisioner that keeps its
// idempotency keys in memory and does not look for the service's object
// creates a second one when a Create is retried after a restart; the suite
// fails it, prefixed, at the line of the test that called the suite.
func TestSuiteCatchesCreateTwiceAcrossRestart(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestForgetfulProvisionerRun$", "-test.v")
	cmd.Env = append(os.Environ(), suiteLineEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a plugin that creates twice:\n%s", out)
	}
	for _, want := range []string{
		"conformance_test.go:" + strconv.Itoa(forgetfulCallLine(t)) + ": conformance: provisioner: Create repeated with the same key after a restart: external_id",
		"--- FAIL: TestForgetfulProvisionerRun/CreateAcrossRestart",
		"--- FAIL: TestForgetfulProvisionerRun/CreateOnAnotherReplica",
		"--- PASS: TestForgetfulProvisionerRun/Provisioner",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}

// forgetfulCallLine finds the line of the suite call marked "the reported
// line" in this file.
func forgetfulCallLine(t *testing.T) int {
	t.Helper()
	src, err := os.ReadFile("conformance_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, "// the reported line") && !strings.Contains(line, "strings.Contains") {
			return i + 1
		}
	}
	t.Fatal("marker not found")
	return 0
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
