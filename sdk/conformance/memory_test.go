package conformance_test

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// memBackend is a key-less backend kept in memory: it outlives plugin
// restarts, as a real panel does.
type memBackend struct {
	mu        sync.Mutex
	services  map[string]*pb.ServiceStatus // by external id
	byService map[string]string            // service id → external id
	creates   int
}

func newMemBackend() *memBackend {
	return &memBackend{services: map[string]*pb.ServiceStatus{}, byService: map[string]string{}}
}

// memProvisioner is a provisioner over a memBackend with the required
// methods only; fullProvisioner adds every capability. They are the
// reference the suites are tested against: Create records its outcome
// with sdk.Outcomes and, without a record, finds the service's object by
// its service id before creating one.
type memProvisioner struct {
	b *memBackend
	// forgetful keeps keys in memory only and never reconciles: the plugin
	// that creates a second server when a Create is retried after a restart.
	forgetful bool
	byKey     map[string]string
}

var memCreates = sdk.NewOutcomes[*pb.CreateResponse]("create")

func newMemProvisioner() *memProvisioner {
	return &memProvisioner{b: newMemBackend(), byKey: map[string]string{}}
}

// restarted is a new instance of the plugin over the same backend.
func (m *memProvisioner) restarted() sdk.Plugin {
	return &memProvisioner{b: m.b, forgetful: m.forgetful, byKey: map[string]string{}}
}

func (m *memProvisioner) Describe() sdk.Description {
	return sdk.Description{Name: "memory", Version: "0.0.1", Schema: sdk.NewSchema().String("region", sdk.Default("fra"))}
}
func (m *memProvisioner) Configure(context.Context, sdk.Config) error { return nil }
func (m *memProvisioner) Health(context.Context) error                { return nil }

func (m *memProvisioner) Validate(_ context.Context, r *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	if r.GetService().GetPlanOptions()["size"] == "" {
		return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(sdk.FieldDiagnostic("plan_options.size", "is required"))}, nil
	}
	return &pb.ValidateResponse{}, nil
}
func (m *memProvisioner) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{Message: "ok"}, nil
}
func (m *memProvisioner) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{Message: "ok"}, nil
}

func (m *memProvisioner) Create(ctx context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	if m.forgetful {
		m.b.mu.Lock()
		defer m.b.mu.Unlock()
		if ext, ok := m.byKey[r.GetIdempotencyKey()]; ok {
			return &pb.CreateResponse{Status: m.b.services[ext]}, nil
		}
		st := m.b.createLocked(r.GetService().GetServiceId())
		m.byKey[r.GetIdempotencyKey()] = st.GetExternalId()
		return &pb.CreateResponse{Status: st}, nil
	}
	return memCreates.Do(ctx, r.GetIdempotencyKey(), func(context.Context) (*pb.CreateResponse, error) {
		m.b.mu.Lock()
		defer m.b.mu.Unlock()
		if ext, ok := m.b.byService[r.GetService().GetServiceId()]; ok {
			return &pb.CreateResponse{Status: m.b.services[ext]}, nil // reconciled
		}
		return &pb.CreateResponse{Status: m.b.createLocked(r.GetService().GetServiceId())}, nil
	})
}

func (b *memBackend) createLocked(serviceID string) *pb.ServiceStatus {
	b.creates++
	ext := fmt.Sprintf("mem-%d", b.creates)
	b.services[ext] = &pb.ServiceStatus{ExternalId: ext, State: pb.ServiceState_SERVICE_STATE_ACTIVE}
	b.byService[serviceID] = ext
	return b.services[ext]
}

// objects counts the backend objects of a service id.
func (b *memBackend) objects(serviceID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for ext := range b.services {
		if b.byService[serviceID] == ext {
			n++
		}
	}
	return n
}

func (m *memProvisioner) setState(ref *pb.ServiceRef, state pb.ServiceState) (*pb.ServiceStatus, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	s, ok := m.b.services[ref.GetExternalId()]
	if !ok && state == pb.ServiceState_SERVICE_STATE_TERMINATED {
		// Gone already, or never made: terminated either way.
		return &pb.ServiceStatus{ExternalId: ref.GetExternalId(), State: state}, nil
	}
	if !ok {
		return nil, sdk.Errorf(sdk.NotFound, "no service %q", ref.GetExternalId())
	}
	if s.State == pb.ServiceState_SERVICE_STATE_TERMINATED && state != s.State {
		return nil, sdk.Errorf(sdk.Conflict, "service %q is terminated", ref.GetExternalId())
	}
	s.State = state
	return s, nil
}

func (m *memProvisioner) Suspend(_ context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	s, err := m.setState(r.GetService(), pb.ServiceState_SERVICE_STATE_SUSPENDED)
	return &pb.SuspendResponse{Status: s}, err
}
func (m *memProvisioner) Unsuspend(_ context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	s, err := m.setState(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)
	return &pb.UnsuspendResponse{Status: s}, err
}
func (m *memProvisioner) Terminate(_ context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	s, err := m.setState(r.GetService(), pb.ServiceState_SERVICE_STATE_TERMINATED)
	return &pb.TerminateResponse{Status: s}, err
}
func (m *memProvisioner) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	s, ok := m.b.services[r.GetService().GetExternalId()]
	if !ok {
		return nil, sdk.Errorf(sdk.NotFound, "no service %q", r.GetService().GetExternalId())
	}
	return &pb.GetInfoResponse{Status: s}, nil
}

type fullProvisioner struct{ *memProvisioner }

func (f fullProvisioner) status(ref *pb.ServiceRef) (*pb.ServiceStatus, error) {
	info, err := f.GetInfo(context.Background(), &pb.GetInfoRequest{Service: ref})
	return info.GetStatus(), err
}

func (f fullProvisioner) Renew(_ context.Context, r *pb.RenewRequest) (*pb.RenewResponse, error) {
	s, err := f.status(r.GetService())
	return &pb.RenewResponse{Status: s}, err
}
func (f fullProvisioner) ChangePlan(_ context.Context, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	s, err := f.status(r.GetService())
	return &pb.ChangePlanResponse{Status: s}, err
}
func (f fullProvisioner) ResetPassword(_ context.Context, r *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	s, err := f.status(r.GetService())
	return &pb.ResetPasswordResponse{Status: s, Password: "generated"}, err
}
func (f fullProvisioner) ListAccounts(context.Context, *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
	return &pb.ListAccountsResponse{}, nil
}
func (f fullProvisioner) Usage(context.Context, *pb.UsageRequest) (*pb.UsageResponse, error) {
	return &pb.UsageResponse{CpuPercent: 12.5, SampledAt: timestamppb.Now()}, nil
}
func (f fullProvisioner) Power(_ context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	s, err := f.status(r.GetService())
	return &pb.PowerResponse{Status: s}, err
}
func (f fullProvisioner) Snapshot(context.Context, *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	return &pb.SnapshotResponse{Snapshot: &pb.BackupInfo{Id: "snap-1", Type: "snapshot"}}, nil
}
func (f fullProvisioner) Backup(context.Context, *pb.BackupRequest) (*pb.BackupResponse, error) {
	return &pb.BackupResponse{Backup: &pb.BackupInfo{Id: "bak-1", Type: "backup"}}, nil
}
func (f fullProvisioner) ListBackups(context.Context, *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	return &pb.ListBackupsResponse{Backups: []*pb.BackupInfo{{Id: "bak-1"}}}, nil
}
func (f fullProvisioner) LoginURL(context.Context, *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	return &pb.LoginURLResponse{Url: "https://panel.example.com/sso/abc"}, nil
}
func (f fullProvisioner) ListActions(context.Context, *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
	return &pb.ListActionsResponse{Actions: []*pb.ActionDescriptor{{Id: "reinstall", Label: "Reinstall", Destructive: true}}}, nil
}
func (f fullProvisioner) InvokeAction(_ context.Context, r *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
	if r.GetActionId() != "reinstall" {
		return nil, sdk.FieldErrorf("action_id", "unknown action %q", r.GetActionId())
	}
	return &pb.InvokeActionResponse{Message: "reinstalling"}, nil
}
func (f fullProvisioner) RunScript(context.Context, *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	return &pb.RunScriptResponse{Output: "ok\n"}, nil
}
func (f fullProvisioner) Capacity(context.Context, *pb.CapacityRequest) (*pb.CapacityResponse, error) {
	return &pb.CapacityResponse{Nodes: []*pb.NodeCapacity{{NodeId: "n1", FreeSlots: 3}}}, nil
}

// memNotifier remembers deliveries by idempotency key.
type memNotifier struct {
	mu   sync.Mutex
	sent map[string]*pb.DeliverRequest
}

func (n *memNotifier) Describe() sdk.Description {
	return sdk.Description{Name: "memnotify", Version: "0.0.1", Schema: sdk.NewSchema().String("token", sdk.Required(), sdk.Secret())}
}
func (n *memNotifier) Configure(context.Context, sdk.Config) error { return nil }
func (n *memNotifier) Health(context.Context) error                { return nil }
func (n *memNotifier) Deliver(_ context.Context, r *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	if r.GetChannel() != "email" {
		return nil, sdk.FieldErrorf("channel", "only email is supported")
	}
	if r.GetRecipient() == "" {
		return nil, sdk.FieldErrorf("recipient", "is required")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[r.GetIdempotencyKey()] = r
	return &pb.DeliverResponse{ProviderMessageId: "mem-" + r.GetIdempotencyKey()}, nil
}
