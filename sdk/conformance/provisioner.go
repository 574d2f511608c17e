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
	// service id, plan options, customer. ExternalId must be empty. The
	// restart checks create two more services from it, with the service
	// ids Service.ServiceId+"-restart" and Service.ServiceId+"-replica".
	Service *pb.ServiceRef
	// NewPlanOptions are used for ChangePlan when the plugin has
	// CapChangePlan; default: Service.PlanOptions.
	NewPlanOptions map[string]string
	// Script is run when the plugin has CapRunScript; default "echo ok".
	Script string
	// UnknownExternalID is an external id the backend does not know;
	// default "conformance-does-not-exist".
	UnknownExternalID string
	// Created, when set, is called once per service the suite creates,
	// after Create and every repeat of it with the same key (in the same
	// process, after a restart, and on a new data directory) have answered
	// with status: check that your fake backend holds exactly one object for
	// svc.ServiceId, the one status.ExternalId names. That is "created
	// once" proven at the backend, without counting calls.
	Created func(t *testing.T, svc *pb.ServiceRef, status *pb.ServiceStatus)
	// Terminated, when set, is called after the suite terminated a service
	// (svc.ExternalId set): check that the backend object is gone or
	// marked terminated.
	Terminated func(t *testing.T, svc *pb.ServiceRef)
}

// Provisioner runs the provisioner suite on one service's whole lifecycle:
// Validate, TestConnection, HealthCheck, Create (idempotent per key,
// refused without one), GetInfo, Suspend (idempotent), Unsuspend, every
// optional capability (works when described, NotSupported when not),
// GetInfo of an unknown id (NotFound), Terminate (and again), Terminate of
// an unknown id (succeeds), and GetInfo afterwards (TERMINATED or
// NotFound). When the harness can restart the plugin (plugintest.Launch,
// or plugintest.New with WithRestart), it also proves that a Create
// retried after a restart acts once: on the same data directory (the
// recorded outcome) and on a new one (reconciliation at the backend).
//
// Failures read "conformance: provisioner: Create: …" and are reported at
// the line that called Provisioner.
func Provisioner(t *testing.T, h *plugintest.Harness, f ProvisionerFixture) {
	t.Helper()
	s := on(t, "provisioner")
	if f.Service == nil {
		s.Fatal("ProvisionerFixture.Service is required")
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
	s.requireKind(h, sdk.KindProvisioner)
	Plugin(t, h)
	p := h.Provisioner()

	s.run("Provisioner", func(t st) {
		t.Helper()
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
		t.wantKind("Create without idempotency_key", err, sdk.InvalidInput)

		ext := t.createOnce(p, svc, "conformance-create", "", nil, f.Created)
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
				t.Errorf("%s: described, but failed: %v", capability, err)
			case !h.HasCapability(capability) && !sdk.IsKind(err, sdk.NotSupported):
				t.Errorf("%s: not described, so it must answer NotSupported; got %v", capability, err)
			}
		}

		unknown := proto.Clone(svc).(*pb.ServiceRef)
		unknown.ExternalId = f.UnknownExternalID
		_, err = p.GetInfo(c, &pb.GetInfoRequest{Service: unknown})
		t.wantKind("GetInfo of an unknown external id", err, sdk.NotFound)

		t.terminate(p, svc, f.Terminated)
		if _, err := p.Terminate(c, &pb.TerminateRequest{Service: svc, IdempotencyKey: "conformance-terminate-again"}); err != nil {
			t.Errorf("Terminate of a terminated service must succeed: %v", err)
		}
		term, err := p.Terminate(c, &pb.TerminateRequest{Service: unknown, IdempotencyKey: "conformance-terminate-unknown"})
		if err != nil {
			t.Errorf("Terminate of an unknown external id must succeed (the service is gone either way): %v", err)
		} else if term.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
			t.Errorf("Terminate of an unknown external id: state %s, want TERMINATED", term.GetStatus().GetState())
		}
		after, err := p.GetInfo(c, &pb.GetInfoRequest{Service: svc})
		if err == nil && after.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
			t.Errorf("GetInfo after Terminate: state %s, want TERMINATED or NotFound", after.GetStatus().GetState())
		}
		if err != nil && !sdk.IsKind(err, sdk.NotFound) {
			t.Errorf("GetInfo after Terminate: %v, want TERMINATED or NotFound", err)
		}
	})

	s.run("CreateAcrossRestart", func(t st) {
		t.Helper()
		if !h.CanRestart() {
			t.Skip("conformance: provisioner: the harness cannot restart the plugin (give plugintest.New the option WithRestart), so a Create retried across a restart is not checked")
		}
		// The record kept in the data directory answers the repeat.
		svc := proto.Clone(f.Service).(*pb.ServiceRef)
		svc.ServiceId += "-restart"
		svc.ExternalId = t.createOnce(p, svc, "conformance-create-restart", "after a restart", func() { h.Restart(t.T) }, f.Created)
		t.terminate(p, svc, f.Terminated)
	})

	s.run("CreateOnAnotherReplica", func(t st) {
		t.Helper()
		if !h.CanRestart() {
			t.Skip("conformance: provisioner: the harness cannot restart the plugin, so a Create retried without its record is not checked")
		}
		// Without the record (another replica, a lost directory), the
		// plugin must find what the first attempt made by the service id.
		svc := proto.Clone(f.Service).(*pb.ServiceRef)
		svc.ServiceId += "-replica"
		svc.ExternalId = t.createOnce(p, svc, "conformance-create-replica", "after a restart on a new data directory", func() { h.RestartWithNewDataDir(t.T) }, f.Created)
		t.terminate(p, svc, f.Terminated)
	})
}

// createOnce creates svc with key, calls between (a restart, described by
// when) when set,
// repeats the Create with the same key, and fails unless both answers name
// the same backend object. It returns the external id.
func (t st) createOnce(p sdk.ProvisionerClient, svc *pb.ServiceRef, key, when string, between func(), created func(*testing.T, *pb.ServiceRef, *pb.ServiceStatus)) string {
	t.Helper()
	c := ctx(t)
	first, err := p.Create(c, &pb.CreateRequest{Service: svc, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	ext := first.GetStatus().GetExternalId()
	if ext == "" {
		t.Fatal("Create: empty external_id")
	}
	if s := first.GetStatus().GetState(); s != pb.ServiceState_SERVICE_STATE_ACTIVE && s != pb.ServiceState_SERVICE_STATE_PENDING {
		t.Errorf("Create: state %s, want ACTIVE or PENDING", s)
	}
	if between != nil {
		between()
	} else {
		when = "in the same process"
	}
	again, err := p.Create(c, &pb.CreateRequest{Service: svc, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create repeated with the same key %s: %v", when, err)
	}
	if got := again.GetStatus().GetExternalId(); got != ext {
		t.Fatalf("Create repeated with the same key %s: external_id %q, first was %q (created twice?)", when, got, ext)
	}
	if created != nil {
		done := proto.Clone(svc).(*pb.ServiceRef)
		done.ExternalId = ext
		created(t.T, done, again.GetStatus())
	}
	return ext
}

// terminate terminates svc and checks the answer.
func (t st) terminate(p sdk.ProvisionerClient, svc *pb.ServiceRef, terminated func(*testing.T, *pb.ServiceRef)) {
	t.Helper()
	term, err := p.Terminate(ctx(t), &pb.TerminateRequest{Service: svc, IdempotencyKey: "conformance-terminate-" + svc.GetServiceId()})
	if err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if term.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
		t.Errorf("Terminate: state %s, want TERMINATED", term.GetStatus().GetState())
	}
	if terminated != nil {
		terminated(t.T, svc)
	}
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
