// Command recprov is the scheduler tests' provisioner plugin: it records
// every keyed call (power, snapshot, backup, run script) in a state
// directory shared by all its processes, the way a real backend remembers
// idempotency keys across the core's replicas.
//
// For each idempotency key the first call is "executed": its outcome is
// stored (atomically, by hard-linking a finished file) and a line is
// appended to calls.log; a later call with the same key, from any process,
// is a "repeat" and answers the stored outcome. A test proves "executed
// exactly once" by counting the executed lines of a key.
//
// Scripts steer it: "hold:MS" records the execution and then takes MS
// milliseconds to answer (a replica can be killed meanwhile); "fail" exits
// with status 1; "unavailable" answers Unavailable without recording.
// With config record = false it records nothing and answers at once (the
// no-op plugin of the benchmark). Built under a name containing "basic" it
// offers only the power action (no snapshot, backup or scripts).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type base struct {
	dir    atomic.Value // string
	record atomic.Bool
	logMu  sync.Mutex
}

func (p *base) Describe() sdk.Description {
	return sdk.Description{
		Name:    "recprov",
		Version: "1.0.0",
		Schema: sdk.NewSchema().
			String("state_dir").
			Bool("record", sdk.Default(true)),
	}
}

func (p *base) Configure(_ context.Context, cfg sdk.Config) error {
	p.record.Store(cfg.Bool("record"))
	dir := cfg.String("state_dir")
	if p.record.Load() {
		if dir == "" {
			return sdk.FieldDiagnostic("state_dir", "is required when record is true")
		}
		if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
			return err
		}
	}
	p.dir.Store(dir)
	return nil
}

func (p *base) Health(context.Context) error { return nil }

type logLine struct {
	Key       string `json:"key"`
	Action    string `json:"action"`
	Result    string `json:"result"`
	ServiceID string `json:"service_id"`
	PID       int    `json:"pid"`
	PPID      int    `json:"ppid"`
	At        int64  `json:"at"`
}

type outcome struct {
	Output string `json:"output"`
	Exit   int32  `json:"exit"`
}

// keyed runs a keyed call once per key across processes.
func (p *base) keyed(ctx context.Context, key, action, serviceID, script string) (outcome, error) {
	if strings.TrimSpace(script) == "unavailable" {
		return outcome{}, sdk.UnavailableError(time.Second, "backend is busy")
	}
	out := outcome{Output: fmt.Sprintf("%s done for %s", action, serviceID)}
	if script == "fail" {
		out = outcome{Output: "something went wrong", Exit: 1}
	}
	if !p.record.Load() {
		return out, nil
	}
	dir := p.dir.Load().(string)
	final := filepath.Join(dir, "keys", strings.NewReplacer("/", "_", "\\", "_").Replace(key))
	tmp, err := os.CreateTemp(filepath.Join(dir, "keys"), ".tmp-*")
	if err != nil {
		return outcome{}, err
	}
	b, _ := json.Marshal(out)
	_, _ = tmp.Write(b)
	_ = tmp.Close()
	defer os.Remove(tmp.Name())
	if err := os.Link(tmp.Name(), final); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return outcome{}, err
		}
		stored, err := os.ReadFile(final)
		if err != nil {
			return outcome{}, err
		}
		var prev outcome
		if err := json.Unmarshal(stored, &prev); err != nil {
			return outcome{}, err
		}
		p.log(logLine{Key: key, Action: action, Result: "repeat", ServiceID: serviceID})
		return prev, nil
	}
	p.log(logLine{Key: key, Action: action, Result: "executed", ServiceID: serviceID})
	if ms, ok := strings.CutPrefix(script, "hold:"); ok {
		n, _ := strconv.Atoi(ms)
		select {
		case <-time.After(time.Duration(n) * time.Millisecond):
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
	}
	return out, nil
}

func (p *base) log(l logLine) {
	l.PID, l.PPID, l.At = os.Getpid(), os.Getppid(), time.Now().UnixNano()
	b, _ := json.Marshal(l)
	p.logMu.Lock()
	defer p.logMu.Unlock()
	f, err := os.OpenFile(filepath.Join(p.dir.Load().(string), "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	_, _ = f.Write(append(b, '\n'))
	_ = f.Close()
}

func (p *base) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}
func (p *base) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}
func (p *base) Create(_ context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "ext-" + r.GetIdempotencyKey(), State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
}
func (p *base) Suspend(_ context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return &pb.SuspendResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_SUSPENDED)}, nil
}
func (p *base) Unsuspend(_ context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return &pb.UnsuspendResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}
func (p *base) Terminate(_ context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return &pb.TerminateResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_TERMINATED)}, nil
}
func (p *base) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return &pb.GetInfoResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}
func (p *base) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{}, nil
}
func (p *base) Power(ctx context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	if _, err := p.keyed(ctx, r.GetIdempotencyKey(), "power_"+strings.ToLower(strings.TrimPrefix(r.GetAction().String(), "POWER_ACTION_")), r.GetService().GetServiceId(), ""); err != nil {
		return nil, err
	}
	return &pb.PowerResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}

// full adds snapshots, backups and scripts.
type full struct{ base }

func (p *full) Snapshot(ctx context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	if _, err := p.keyed(ctx, r.GetIdempotencyKey(), "snapshot", r.GetService().GetServiceId(), ""); err != nil {
		return nil, err
	}
	return &pb.SnapshotResponse{Snapshot: &pb.BackupInfo{Id: "snap-" + r.GetIdempotencyKey(), Name: r.GetName(), Type: "snapshot", Status: "completed", CreatedAt: timestamppb.Now()}}, nil
}
func (p *full) Backup(ctx context.Context, r *pb.BackupRequest) (*pb.BackupResponse, error) {
	if _, err := p.keyed(ctx, r.GetIdempotencyKey(), "backup", r.GetService().GetServiceId(), ""); err != nil {
		return nil, err
	}
	return &pb.BackupResponse{Backup: &pb.BackupInfo{Id: "bak-" + r.GetIdempotencyKey(), Name: r.GetName(), Type: "backup", Status: "pending", CreatedAt: timestamppb.Now()}}, nil
}
func (p *full) ListBackups(context.Context, *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	return &pb.ListBackupsResponse{}, nil
}
func (p *full) RunScript(ctx context.Context, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	out, err := p.keyed(ctx, r.GetIdempotencyKey(), "run_script", r.GetService().GetServiceId(), r.GetScript())
	if err != nil {
		return nil, err
	}
	return &pb.RunScriptResponse{ExitCode: out.Exit, Output: out.Output}, nil
}

func status(ref *pb.ServiceRef, s pb.ServiceState) *pb.ServiceStatus {
	return &pb.ServiceStatus{ExternalId: ref.GetExternalId(), State: s}
}

func main() {
	if strings.Contains(filepath.Base(os.Args[0]), "basic") {
		sdk.Serve(&base{})
		return
	}
	sdk.Serve(&full{})
}
