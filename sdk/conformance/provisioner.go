package conformance

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ProvisionerFixture is what the provisioner suite needs from the author.
type ProvisionerFixture struct {
	// Service is a valid service to create at the plugin's (fake) backend:
	// service id, plan options, customer. ExternalId must be empty.
	Service *pb.ServiceRef
	// NewPlanOptions are used for ChangePlan when the plugin has
	// CapChangePlan; default: Service.PlanOptions.
	NewPlanOptions map[string]string
	// Script is run when the plugin has CapRunScript; default "echo ok".
	Script string
	// UnknownExternalID is an external id the backend does not know;
	// default "conformance-does-not-exist".
	UnknownExternalID string
}

// Provisioner runs the provisioner suite on one service's whole lifecycle:
// Validate, TestConnection, HealthCheck, Create (idempotent per key, refused
// without one), GetInfo, Suspend (idempotent), Unsuspend, every optional
// capability (works when described, NotSupported when not), GetInfo of an
// unknown id (NotFound), Terminate (and again), and GetInfo afterwards.
func Provisioner(t *testing.T, h *plugintest.Harness, f ProvisionerFixture) {
	t.Helper()
	if f.Service == nil {
		t.Fatal("conformance.Provisioner: ProvisionerFixture.Service is required")
	}
	if f.UnknownExternalID == "" {
		f.UnknownExternalID = "conformance-does-not-exist"
	}
	if f.Script == "" {
		f.Script = "echo ok"
	}
	if f.NewPlanOptions == nil {
		f.NewPlanOptions = f.Service.GetPlanOptions()
	}
	requireKind(t, h, sdk.KindProvisioner)
	Plugin(t, h)
	p := h.Provisioner()

	t.Run("Provisioner", func(t *testing.T) {
		c := ctx(t)
		svc := proto.Clone(f.Service).(*pb.ServiceRef)

		v, err := p.Validate(c, &pb.ValidateRequest{Service: svc})
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if ds := sdk.DiagnosticsFromProto(v.GetDiagnostics()); ds.HasErrors() {
			t.Fatalf("Validate refused the fixture service: %v", ds)
		}
		if _, err := p.TestConnection(c, &pb.TestConnectionRequest{}); err != nil {
			t.Fatalf("TestConnection: %v", err)
		}
		if _, err := p.HealthCheck(c, &pb.HealthCheckRequest{}); err != nil {
			t.Fatalf("HealthCheck: %v", err)
		}

		_, err = p.Create(c, &pb.CreateRequest{Service: svc})
		wantKind(t, "Create without idempotency_key", err, sdk.InvalidInput)

		created, err := p.Create(c, &pb.CreateRequest{Service: svc, IdempotencyKey: "conformance-create"})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		ext := created.GetStatus().GetExternalId()
		if ext == "" {
			t.Fatal("Create: empty external_id")
		}
		if s := created.GetStatus().GetState(); s != pb.ServiceState_SERVICE_STATE_ACTIVE && s != pb.ServiceState_SERVICE_STATE_PENDING {
			t.Errorf("Create: state %s, want ACTIVE or PENDING", s)
		}
		again, err := p.Create(c, &pb.CreateRequest{Service: svc, IdempotencyKey: "conformance-create"})
		if err != nil {
			t.Fatalf("Create repeated with the same key: %v", err)
		}
		if got := again.GetStatus().GetExternalId(); got != ext {
			t.Fatalf("Create repeated with the same key: external_id %q, first was %q (created twice?)", got, ext)
		}
		svc.ExternalId = ext

		info, err := p.GetInfo(c, &pb.GetInfoRequest{Service: svc})
		if err != nil {
			t.Fatalf("GetInfo: %v", err)
		}
		if info.GetStatus().GetExternalId() != ext {
			t.Errorf("GetInfo: external_id %q, want %q", info.GetStatus().GetExternalId(), ext)
		}

		for _, key := range []string{"conformance-suspend", "conformance-suspend"} {
			s, err := p.Suspend(c, &pb.SuspendRequest{Service: svc, IdempotencyKey: key, Reason: "conformance"})
			if err != nil {
				t.Fatalf("Suspend (key %s): %v", key, err)
			}
			if s.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_SUSPENDED {
				t.Errorf("Suspend: state %s, want SUSPENDED", s.GetStatus().GetState())
			}
		}
		u, err := p.Unsuspend(c, &pb.UnsuspendRequest{Service: svc, IdempotencyKey: "conformance-unsuspend"})
		if err != nil {
			t.Fatalf("Unsuspend: %v", err)
		}
		if u.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_ACTIVE {
			t.Errorf("Unsuspend: state %s, want ACTIVE", u.GetStatus().GetState())
		}

		for _, capability := range sdk.ProvisionerCapabilities() {
			err := callCapability(c, p, capability, svc, f)
			switch {
			case h.HasCapability(capability) && err != nil:
				t.Errorf("%s is described but failed: %v", capability, err)
			case !h.HasCapability(capability) && !sdk.IsKind(err, sdk.NotSupported):
				t.Errorf("%s is not described, so it must answer NotSupported; got %v", capability, err)
			}
		}

		unknown := proto.Clone(svc).(*pb.ServiceRef)
		unknown.ExternalId = f.UnknownExternalID
		_, err = p.GetInfo(c, &pb.GetInfoRequest{Service: unknown})
		wantKind(t, "GetInfo of an unknown external id", err, sdk.NotFound)

		term, err := p.Terminate(c, &pb.TerminateRequest{Service: svc, IdempotencyKey: "conformance-terminate"})
		if err != nil {
			t.Fatalf("Terminate: %v", err)
		}
		if term.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
			t.Errorf("Terminate: state %s, want TERMINATED", term.GetStatus().GetState())
		}
		if _, err := p.Terminate(c, &pb.TerminateRequest{Service: svc, IdempotencyKey: "conformance-terminate-again"}); err != nil {
			t.Errorf("Terminate of a terminated service must succeed: %v", err)
		}
		after, err := p.GetInfo(c, &pb.GetInfoRequest{Service: svc})
		if err == nil && after.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
			t.Errorf("GetInfo after Terminate: state %s, want TERMINATED or NotFound", after.GetStatus().GetState())
		}
		if err != nil && !sdk.IsKind(err, sdk.NotFound) {
			t.Errorf("GetInfo after Terminate: %v, want TERMINATED or NotFound", err)
		}
	})
}

// callCapability exercises one optional capability on an active service.
func callCapability(c context.Context, p sdk.ProvisionerClient, capability sdk.Capability, svc *pb.ServiceRef, f ProvisionerFixture) error {
	key := "conformance-" + string(capability)
	var err error
	switch capability {
	case sdk.CapRenew:
		_, err = p.Renew(c, &pb.RenewRequest{Service: svc, IdempotencyKey: key, PaidUntil: timestamppb.Now()})
	case sdk.CapChangePlan:
		_, err = p.ChangePlan(c, &pb.ChangePlanRequest{Service: svc, IdempotencyKey: key, NewPlanOptions: f.NewPlanOptions})
	case sdk.CapResetPassword:
		_, err = p.ResetPassword(c, &pb.ResetPasswordRequest{Service: svc, IdempotencyKey: key})
	case sdk.CapListAccounts:
		_, err = p.ListAccounts(c, &pb.ListAccountsRequest{PageSize: 10})
	case sdk.CapUsage:
		var u *pb.UsageResponse
		u, err = p.Usage(c, &pb.UsageRequest{Service: svc})
		if err == nil && u.GetSampledAt() == nil {
			err = sdk.Errorf(sdk.Internal, "Usage: sampled_at is not set")
		}
	case sdk.CapPower:
		_, err = p.Power(c, &pb.PowerRequest{Service: svc, IdempotencyKey: key, Action: pb.PowerAction_POWER_ACTION_RESTART})
	case sdk.CapSnapshot:
		_, err = p.Snapshot(c, &pb.SnapshotRequest{Service: svc, IdempotencyKey: key, Name: "conformance"})
	case sdk.CapBackup:
		_, err = p.Backup(c, &pb.BackupRequest{Service: svc, IdempotencyKey: key, Name: "conformance"})
		if err == nil {
			_, err = p.ListBackups(c, &pb.ListBackupsRequest{Service: svc})
		}
	case sdk.CapLoginURL:
		var l *pb.LoginURLResponse
		l, err = p.LoginURL(c, &pb.LoginURLRequest{Service: svc})
		if err == nil && l.GetUrl() == "" {
			err = sdk.Errorf(sdk.Internal, "LoginURL: empty url")
		}
	case sdk.CapActions:
		var l *pb.ListActionsResponse
		l, err = p.ListActions(c, &pb.ListActionsRequest{Service: svc})
		for _, a := range l.GetActions() {
			if a.GetId() == "" || a.GetLabel() == "" {
				err = sdk.Errorf(sdk.Internal, "ListActions: action %q has no id or label", a.GetId())
			}
		}
		if !sdk.IsKind(err, sdk.NotSupported) {
			// An unknown action id must be InvalidInput or NotFound, not a
			// crash and not success.
			_, invErr := p.InvokeAction(c, &pb.InvokeActionRequest{Service: svc, IdempotencyKey: key, ActionId: "conformance-no-such-action"})
			if k := sdk.KindOf(invErr); err == nil && k != sdk.InvalidInput && k != sdk.NotFound {
				err = sdk.Errorf(sdk.Internal, "InvokeAction of an unknown action: got %v, want InvalidInput or NotFound", invErr)
			}
		}
	case sdk.CapRunScript:
		_, err = p.RunScript(c, &pb.RunScriptRequest{Service: svc, IdempotencyKey: key, Script: f.Script})
	case sdk.CapCapacity:
		_, err = p.Capacity(c, &pb.CapacityRequest{})
	}
	return err
}
