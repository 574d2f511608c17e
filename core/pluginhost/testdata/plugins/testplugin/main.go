// Command testplugin is a well-behaved no-op notifier and provisioner for
// the plugin host's tests and benchmarks, which misbehaves on request:
// delivering to recipient "hang" blocks forever (ignoring cancellation), and
// to "crash" exits the process mid-call; GetInfo of external id
// "crash-once" exits the first time (remembered in config state_dir); the
// config health = "unhealthy" | "hang" makes Health fail or block; the file
// "backend-down" in state_dir makes HealthCheck (the backend) unavailable.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type plugin struct {
	created  atomic.Int64
	health   atomic.Value // string
	stateDir atomic.Value // string
}

func (p *plugin) Describe() sdk.Description {
	return sdk.Description{
		Name:    "testplugin",
		Version: "1.0.0",
		Schema: sdk.NewSchema().
			String("api_url", sdk.Required()).
			Int("port", sdk.Default(1)).
			String("token", sdk.Secret()).
			String("health", sdk.OneOf("ok", "unhealthy", "hang"), sdk.Default("ok")).
			String("state_dir"),
		Options: testOptions,
	}
}

// testOptions is the option declaration the host keeps in Info.
var testOptions = sdk.Options{
	sdk.IntOption("size", "plan size").OnPlan().Range(1, 8),
	sdk.StringOption("hostname", "the server's name").AtOrder().MaxLen(63),
}

func (p *plugin) Configure(_ context.Context, cfg sdk.Config) error {
	if cfg.String("api_url") == "refuse" {
		return sdk.FieldError("api_url", "the backend refused this URL")
	}
	p.health.Store(cfg.String("health"))
	p.stateDir.Store(cfg.String("state_dir"))
	sdk.Logger().Info("configured", "api_url", cfg.String("api_url"))
	return nil
}

func (p *plugin) Health(context.Context) error {
	switch p.health.Load() {
	case "unhealthy":
		return sdk.Errorf(sdk.Internal, "backend queue is full")
	case "hang":
		select {}
	}
	return nil
}

func (p *plugin) Deliver(ctx context.Context, r *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	switch r.GetRecipient() {
	case "hang":
		select {} // a wedged plugin: ignores its context on purpose
	case "crash":
		os.Exit(3)
	case "invalid":
		return nil, sdk.FieldErrorf("recipient", "not deliverable")
	}
	return &pb.DeliverResponse{ProviderMessageId: "id-" + r.GetIdempotencyKey()}, nil
}

func (p *plugin) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}
func (p *plugin) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}
func (p *plugin) Create(_ context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	p.created.Add(1)
	return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "ext-" + r.GetIdempotencyKey(), State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
}
func (p *plugin) Suspend(_ context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return &pb.SuspendResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_SUSPENDED)}, nil
}
func (p *plugin) Unsuspend(_ context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return &pb.UnsuspendResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}
func (p *plugin) Terminate(_ context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return &pb.TerminateResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_TERMINATED)}, nil
}
func (p *plugin) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	if r.GetService().GetExternalId() == "" {
		return nil, sdk.Errorf(sdk.NotFound, "no such service")
	}
	if r.GetService().GetExternalId() == "crash-once" {
		marker := filepath.Join(p.stateDir.Load().(string), "crashed")
		if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
			_ = os.WriteFile(marker, nil, 0o600)
			os.Exit(3)
		}
	}
	return &pb.GetInfoResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}
func (p *plugin) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	if dir, _ := p.stateDir.Load().(string); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "backend-down")); err == nil {
			return nil, sdk.UnavailableError(0, "panel unreachable")
		}
	}
	return &pb.HealthCheckResponse{Message: fmt.Sprintf("created %d", p.created.Load())}, nil
}

func status(ref *pb.ServiceRef, s pb.ServiceState) *pb.ServiceStatus {
	return &pb.ServiceStatus{ExternalId: ref.GetExternalId(), State: s}
}

func main() { sdk.Serve(&plugin{}) }
