package sdk

import (
	"context"

	"google.golang.org/grpc"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Provisioner creates and manages what customers buy (a VPS, a game server,
// a workspace). These methods are required; the optional interfaces below
// (Renewer, PowerController, …) add capabilities.
//
// Called by the core's service lifecycle (order accepted, invoice overdue,
// cancellation) and by staff actions, concurrently for different services.
//
// Lifecycle methods (Create, Suspend, Unsuspend, Terminate and every optional
// call whose request has an idempotency_key) must be idempotent per key: a
// repeat with the same key returns the first outcome without acting twice,
// also after the plugin restarted and on another core replica. The SDK
// refuses such a call without a key (InvalidInput) before it reaches the
// plugin. For a backend without idempotency keys, record outcomes with
// Outcomes and, before acting, find what an earlier attempt made by the
// service id (reconciliation).
//
// States (ServiceStatus.state) mean:
//
//   - PENDING: the backend accepted the service but it is not ready
//     (installing, building). Create may return it; the core then keeps the
//     service provisioning and polls GetInfo (its billing_provision_ready
//     job, every billing.install_poll_interval, up to
//     billing.install_timeout) until GetInfo says ACTIVE, or ERROR.
//   - ACTIVE: ready for the customer.
//   - SUSPENDED: exists, but the customer cannot use it.
//   - TERMINATED: gone for good (or never existed).
//   - ERROR: the backend failed the service (a failed install): from Create
//     or GetInfo while PENDING, the core fails the provisioning.
//
// ServiceRef.customer.account_id is the stable owner of a service at the
// backend; email and name can change, so never key a backend user on them.
// Sizes are bytes, money is pluginv1.Money, never a float.
//
// Errors: InvalidInput for bad plan options or requests, NotFound for an
// unknown external id, Conflict for a state that forbids the call,
// Unavailable (with RetryAfter only when the backend refused before
// acting) when the backend is down or rate limiting, Capacity when it has
// no room now, Unauthenticated when it refuses the configured credentials.
//
// Public API, append-only.
type Provisioner interface {
	// Validate checks a service request before the order is accepted;
	// problems are returned as diagnostics (FieldDiagnostic, paths relative
	// to the service: "plan_options.package_id"), not as an error.
	Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error)
	// TestConnection checks credentials and reachability of the backend;
	// `ezscale plugins check NAME --config FILE` runs it. (The plugin's
	// Health is about the process, not the backend.)
	TestConnection(ctx context.Context, req *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error)
	// Create makes the service at the backend and returns its external id,
	// in state ACTIVE or PENDING (see the states above).
	Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error)
	// Suspend and Unsuspend return the service's status after the change.
	// When the backend answers 204 with no body, read the object back (or
	// build the status from what you know) and return that: never a nil
	// status.
	Suspend(ctx context.Context, req *pb.SuspendRequest) (*pb.SuspendResponse, error)
	Unsuspend(ctx context.Context, req *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error)
	// Terminate removes the service and returns state TERMINATED. It
	// succeeds for a service already terminated and for an external id the
	// backend does not know (deleted, or never made): the end state holds
	// either way. With an empty external id (Create never answered), find
	// and remove what Create may have made, by the service id.
	Terminate(ctx context.Context, req *pb.TerminateRequest) (*pb.TerminateResponse, error)
	// GetInfo (Sync) reads the backend's view of a service; NotFound when
	// the backend no longer knows it. After Terminate, answer TERMINATED
	// when the backend still shows the object, else NotFound: the core
	// reads both as gone.
	GetInfo(ctx context.Context, req *pb.GetInfoRequest) (*pb.GetInfoResponse, error)
	// HealthCheck checks the backend (not only the plugin); the core's
	// health rounds call it.
	HealthCheck(ctx context.Context, req *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error)
}

// Renewer is capability CapRenew: the backend needs to hear about renewals.
type Renewer interface {
	Renew(ctx context.Context, req *pb.RenewRequest) (*pb.RenewResponse, error)
}

// PlanChanger is capability CapChangePlan (upgrades and downgrades).
type PlanChanger interface {
	ChangePlan(ctx context.Context, req *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error)
}

// PasswordResetter is capability CapResetPassword.
type PasswordResetter interface {
	ResetPassword(ctx context.Context, req *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error)
}

// AccountLister is capability CapListAccounts: used to import and reconcile
// services that exist at the backend.
type AccountLister interface {
	ListAccounts(ctx context.Context, req *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error)
}

// UsageReporter is capability CapUsage. A UsageResponse must set
// sampled_at (when the backend measured); every size is in bytes, and
// bandwidth counts the current billing period. The conformance suite fails
// a response without sampled_at.
type UsageReporter interface {
	Usage(ctx context.Context, req *pb.UsageRequest) (*pb.UsageResponse, error)
}

// PowerController is capability CapPower (boot, shutdown, restart).
type PowerController interface {
	Power(ctx context.Context, req *pb.PowerRequest) (*pb.PowerResponse, error)
}

// Snapshotter is capability CapSnapshot.
type Snapshotter interface {
	Snapshot(ctx context.Context, req *pb.SnapshotRequest) (*pb.SnapshotResponse, error)
}

// BackupManager is capability CapBackup.
type BackupManager interface {
	Backup(ctx context.Context, req *pb.BackupRequest) (*pb.BackupResponse, error)
	ListBackups(ctx context.Context, req *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error)
}

// LoginURLProvider is capability CapLoginURL: single sign-on into the
// backend's own panel.
type LoginURLProvider interface {
	LoginURL(ctx context.Context, req *pb.LoginURLRequest) (*pb.LoginURLResponse, error)
}

// ActionProvider is capability CapActions: backend-specific operations
// described as typed data; the core renders them, so never return HTML.
type ActionProvider interface {
	ListActions(ctx context.Context, req *pb.ListActionsRequest) (*pb.ListActionsResponse, error)
	InvokeAction(ctx context.Context, req *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error)
}

// ScriptRunner is capability CapRunScript: run a command on the customer's
// own server (a console command on a game server).
type ScriptRunner interface {
	RunScript(ctx context.Context, req *pb.RunScriptRequest) (*pb.RunScriptResponse, error)
}

// CapacityReporter is capability CapCapacity: free room per node.
type CapacityReporter interface {
	Capacity(ctx context.Context, req *pb.CapacityRequest) (*pb.CapacityResponse, error)
}

// ProvisionerClient is the whole provisioner surface as the core sees a
// remote plugin: every optional method is present and answers NotSupported
// when the plugin lacks the capability (check Describe's capabilities before
// offering a feature).
type ProvisionerClient interface {
	Provisioner
	Renewer
	PlanChanger
	PasswordResetter
	AccountLister
	UsageReporter
	PowerController
	Snapshotter
	BackupManager
	LoginURLProvider
	ActionProvider
	ScriptRunner
	CapacityReporter
}

// NewProvisionerClient returns a ProvisionerClient over cc (a plugin's gRPC
// connection, or the host's managed connection).
func NewProvisionerClient(cc grpc.ClientConnInterface) ProvisionerClient {
	return &provisionerClient{c: pb.NewProvisionerServiceClient(cc)}
}

type provisionerClient struct{ c pb.ProvisionerServiceClient }

func (p *provisionerClient) Validate(ctx context.Context, r *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return invoke(ctx, r, p.c.Validate)
}
func (p *provisionerClient) TestConnection(ctx context.Context, r *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return invoke(ctx, r, p.c.TestConnection)
}
func (p *provisionerClient) Create(ctx context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	return invoke(ctx, r, p.c.Create)
}
func (p *provisionerClient) Suspend(ctx context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return invoke(ctx, r, p.c.Suspend)
}
func (p *provisionerClient) Unsuspend(ctx context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return invoke(ctx, r, p.c.Unsuspend)
}
func (p *provisionerClient) Terminate(ctx context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return invoke(ctx, r, p.c.Terminate)
}
func (p *provisionerClient) GetInfo(ctx context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return invoke(ctx, r, p.c.GetInfo)
}
func (p *provisionerClient) HealthCheck(ctx context.Context, r *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return invoke(ctx, r, p.c.HealthCheck)
}
func (p *provisionerClient) Renew(ctx context.Context, r *pb.RenewRequest) (*pb.RenewResponse, error) {
	return invoke(ctx, r, p.c.Renew)
}
func (p *provisionerClient) ChangePlan(ctx context.Context, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	return invoke(ctx, r, p.c.ChangePlan)
}
func (p *provisionerClient) ResetPassword(ctx context.Context, r *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	return invoke(ctx, r, p.c.ResetPassword)
}
func (p *provisionerClient) ListAccounts(ctx context.Context, r *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
	return invoke(ctx, r, p.c.ListAccounts)
}
func (p *provisionerClient) Usage(ctx context.Context, r *pb.UsageRequest) (*pb.UsageResponse, error) {
	return invoke(ctx, r, p.c.Usage)
}
func (p *provisionerClient) Power(ctx context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	return invoke(ctx, r, p.c.Power)
}
func (p *provisionerClient) Snapshot(ctx context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	return invoke(ctx, r, p.c.Snapshot)
}
func (p *provisionerClient) Backup(ctx context.Context, r *pb.BackupRequest) (*pb.BackupResponse, error) {
	return invoke(ctx, r, p.c.Backup)
}
func (p *provisionerClient) ListBackups(ctx context.Context, r *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	return invoke(ctx, r, p.c.ListBackups)
}
func (p *provisionerClient) LoginURL(ctx context.Context, r *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	return invoke(ctx, r, p.c.LoginURL)
}
func (p *provisionerClient) ListActions(ctx context.Context, r *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
	return invoke(ctx, r, p.c.ListActions)
}
func (p *provisionerClient) InvokeAction(ctx context.Context, r *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
	return invoke(ctx, r, p.c.InvokeAction)
}
func (p *provisionerClient) RunScript(ctx context.Context, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	return invoke(ctx, r, p.c.RunScript)
}
func (p *provisionerClient) Capacity(ctx context.Context, r *pb.CapacityRequest) (*pb.CapacityResponse, error) {
	return invoke(ctx, r, p.c.Capacity)
}

// provisionerServer adapts a Provisioner (and whatever optional interfaces
// it implements) to the generated gRPC server interface.
type provisionerServer struct {
	pb.UnimplementedProvisionerServiceServer
	p Provisioner
}

func (s *provisionerServer) Validate(ctx context.Context, r *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return s.p.Validate(ctx, r)
}
func (s *provisionerServer) TestConnection(ctx context.Context, r *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return s.p.TestConnection(ctx, r)
}
func (s *provisionerServer) Create(ctx context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	return s.p.Create(ctx, r)
}
func (s *provisionerServer) Suspend(ctx context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return s.p.Suspend(ctx, r)
}
func (s *provisionerServer) Unsuspend(ctx context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return s.p.Unsuspend(ctx, r)
}
func (s *provisionerServer) Terminate(ctx context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return s.p.Terminate(ctx, r)
}
func (s *provisionerServer) GetInfo(ctx context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return s.p.GetInfo(ctx, r)
}
func (s *provisionerServer) HealthCheck(ctx context.Context, r *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return s.p.HealthCheck(ctx, r)
}

// optional calls a method of an optional interface, or answers NotSupported
// naming the capability, so an unimplemented capability is typed, not a bare
// gRPC Unimplemented.
func optional[I, Req, Resp any](p any, c Capability, r Req, call func(I, Req) (Resp, error)) (Resp, error) {
	impl, ok := p.(I)
	if !ok {
		var zero Resp
		return zero, Errorf(NotSupported, "capability %s is not supported by this plugin", c)
	}
	return call(impl, r)
}

func (s *provisionerServer) Renew(ctx context.Context, r *pb.RenewRequest) (*pb.RenewResponse, error) {
	return optional(s.p, CapRenew, r, func(i Renewer, r *pb.RenewRequest) (*pb.RenewResponse, error) { return i.Renew(ctx, r) })
}
func (s *provisionerServer) ChangePlan(ctx context.Context, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	return optional(s.p, CapChangePlan, r, func(i PlanChanger, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
		return i.ChangePlan(ctx, r)
	})
}
func (s *provisionerServer) ResetPassword(ctx context.Context, r *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	return optional(s.p, CapResetPassword, r, func(i PasswordResetter, r *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
		return i.ResetPassword(ctx, r)
	})
}
func (s *provisionerServer) ListAccounts(ctx context.Context, r *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
	return optional(s.p, CapListAccounts, r, func(i AccountLister, r *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
		return i.ListAccounts(ctx, r)
	})
}
func (s *provisionerServer) Usage(ctx context.Context, r *pb.UsageRequest) (*pb.UsageResponse, error) {
	return optional(s.p, CapUsage, r, func(i UsageReporter, r *pb.UsageRequest) (*pb.UsageResponse, error) { return i.Usage(ctx, r) })
}
func (s *provisionerServer) Power(ctx context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	return optional(s.p, CapPower, r, func(i PowerController, r *pb.PowerRequest) (*pb.PowerResponse, error) { return i.Power(ctx, r) })
}
func (s *provisionerServer) Snapshot(ctx context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	return optional(s.p, CapSnapshot, r, func(i Snapshotter, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) { return i.Snapshot(ctx, r) })
}
func (s *provisionerServer) Backup(ctx context.Context, r *pb.BackupRequest) (*pb.BackupResponse, error) {
	return optional(s.p, CapBackup, r, func(i BackupManager, r *pb.BackupRequest) (*pb.BackupResponse, error) { return i.Backup(ctx, r) })
}
func (s *provisionerServer) ListBackups(ctx context.Context, r *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	return optional(s.p, CapBackup, r, func(i BackupManager, r *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
		return i.ListBackups(ctx, r)
	})
}
func (s *provisionerServer) LoginURL(ctx context.Context, r *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	return optional(s.p, CapLoginURL, r, func(i LoginURLProvider, r *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
		return i.LoginURL(ctx, r)
	})
}
func (s *provisionerServer) ListActions(ctx context.Context, r *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
	return optional(s.p, CapActions, r, func(i ActionProvider, r *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
		return i.ListActions(ctx, r)
	})
}
func (s *provisionerServer) InvokeAction(ctx context.Context, r *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
	return optional(s.p, CapActions, r, func(i ActionProvider, r *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
		return i.InvokeAction(ctx, r)
	})
}
func (s *provisionerServer) RunScript(ctx context.Context, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	return optional(s.p, CapRunScript, r, func(i ScriptRunner, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
		return i.RunScript(ctx, r)
	})
}
func (s *provisionerServer) Capacity(ctx context.Context, r *pb.CapacityRequest) (*pb.CapacityResponse, error) {
	return optional(s.p, CapCapacity, r, func(i CapacityReporter, r *pb.CapacityRequest) (*pb.CapacityResponse, error) {
		return i.Capacity(ctx, r)
	})
}

// provisionerCapabilities returns the capabilities p implements.
func provisionerCapabilities(p any) []Capability {
	var caps []Capability
	add := func(ok bool, c Capability) {
		if ok {
			caps = append(caps, c)
		}
	}
	_, ok := p.(Renewer)
	add(ok, CapRenew)
	_, ok = p.(PlanChanger)
	add(ok, CapChangePlan)
	_, ok = p.(PasswordResetter)
	add(ok, CapResetPassword)
	_, ok = p.(AccountLister)
	add(ok, CapListAccounts)
	_, ok = p.(UsageReporter)
	add(ok, CapUsage)
	_, ok = p.(PowerController)
	add(ok, CapPower)
	_, ok = p.(Snapshotter)
	add(ok, CapSnapshot)
	_, ok = p.(BackupManager)
	add(ok, CapBackup)
	_, ok = p.(LoginURLProvider)
	add(ok, CapLoginURL)
	_, ok = p.(ActionProvider)
	add(ok, CapActions)
	_, ok = p.(ScriptRunner)
	add(ok, CapRunScript)
	_, ok = p.(CapacityReporter)
	add(ok, CapCapacity)
	return caps
}

var _ ProvisionerClient = (*provisionerClient)(nil)
