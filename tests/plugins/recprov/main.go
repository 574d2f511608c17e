// Command recprov is the end-to-end tests' provisioner plugin. Like the
// shipped plugins, it remembers the outcomes of keyed calls in its own
// process only: a repeat with the same key answers the first outcome
// within one process, while another process — the plugin of another
// replica, or this replica's plugin after a restart — does not know it and
// acts again. What it acts on is a backend: the fake backend a test serves
// over HTTP (config backend_url), which records every call it receives, so
// a test counts what really reached the backend.
//
// Backend API (JSON):
//
//	POST /act      {key, action, service_id, name, script, pid, ppid} → {id, output, exit}
//	GET  /info     ?service_id=  → {power_state, power_changed_at}
//	GET  /backups  ?service_id=  → [{id, name, type, status}]
//	GET  /servers  ?service_id=  → {external_id} or 404
//	POST /servers  {service_id, key, pid, ppid} → {external_id}
//
// A 503 answer with Retry-After is Unavailable with that hint; a 409 is
// Conflict. With config record = false it calls no backend and answers at
// once (the no-op plugin of the benchmark). Built under a name containing
// "basic" it offers only the power action (no snapshot, backup or
// scripts).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
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
	backend atomic.Value // string
	record  atomic.Bool
	client  *http.Client

	// memory is this process's outcomes by key, as the shipped plugins'
	// idempotency cache keeps them: successes only, lost with the process.
	mu     sync.Mutex
	memory map[string]any
}

func (p *base) init() {
	p.client, p.memory = &http.Client{}, map[string]any{}
}

func (p *base) Describe() sdk.Description {
	return sdk.Description{
		Name:    "recprov",
		Version: "2.0.0",
		Schema: sdk.NewSchema().
			String("backend_url").
			Bool("record", sdk.Default(true)),
	}
}

func (p *base) Configure(_ context.Context, cfg sdk.Config) error {
	p.record.Store(cfg.Bool("record"))
	u := cfg.String("backend_url")
	if p.record.Load() && u == "" {
		return sdk.FieldError("backend_url", "is required when record is true")
	}
	p.backend.Store(strings.TrimSuffix(u, "/"))
	return nil
}

func (p *base) Health(context.Context) error { return nil }

// remembered runs fn once per key in this process, keeping its success.
func remembered[T any](p *base, key string, fn func() (T, error)) (T, error) {
	p.mu.Lock()
	if v, ok := p.memory[key]; ok {
		p.mu.Unlock()
		return v.(T), nil
	}
	p.mu.Unlock()
	v, err := fn()
	if err != nil {
		return v, err
	}
	p.mu.Lock()
	p.memory[key] = v
	p.mu.Unlock()
	return v, nil
}

// call sends one request to the backend and decodes its answer into out.
func (p *base) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.backend.Load().(string)+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return sdk.UnavailableError(0, "the backend did not answer: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return sdk.UnavailableError(time.Duration(secs)*time.Second, "the backend is busy: %s", raw)
	case resp.StatusCode == http.StatusConflict:
		return sdk.Errorf(sdk.Conflict, "%s", raw)
	case resp.StatusCode == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "%s", raw)
	case resp.StatusCode >= 300:
		return sdk.Errorf(sdk.Internal, "backend answered %d: %s", resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

type actRequest struct {
	Key       string `json:"key"`
	Action    string `json:"action"`
	ServiceID string `json:"service_id"`
	Name      string `json:"name,omitempty"`
	Script    string `json:"script,omitempty"`
	PID       int    `json:"pid"`
	PPID      int    `json:"ppid"`
}

type actResult struct {
	ID     string `json:"id"`
	Output string `json:"output"`
	Exit   int32  `json:"exit"`
}

// act performs a keyed action at the backend, once per key in this
// process.
func (p *base) act(ctx context.Context, r actRequest) (actResult, error) {
	if !p.record.Load() {
		return actResult{ID: r.Key, Output: r.Action + " done"}, nil
	}
	return remembered(p, r.Action+":"+r.Key, func() (actResult, error) {
		r.PID, r.PPID = os.Getpid(), os.Getppid()
		var res actResult
		err := p.call(ctx, http.MethodPost, "/act", r, &res)
		return res, err
	})
}

func (p *base) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}
func (p *base) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}

// Create finds the service's server at the backend by the service id, or
// creates it: idempotent across processes through the backend, as the
// shipped plugins are (by server name, external id or user name).
func (p *base) Create(ctx context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	svc := r.GetService().GetServiceId()
	if !p.record.Load() {
		return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "ext-" + svc, State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
	}
	return remembered(p, "create:"+r.GetIdempotencyKey(), func() (*pb.CreateResponse, error) {
		var server struct {
			ExternalID string `json:"external_id"`
		}
		err := p.call(ctx, http.MethodGet, "/servers?service_id="+url.QueryEscape(svc), nil, &server)
		if sdk.KindOf(err) == sdk.NotFound {
			err = p.call(ctx, http.MethodPost, "/servers", map[string]any{"service_id": svc, "key": r.GetIdempotencyKey(),
				"pid": os.Getpid(), "ppid": os.Getppid()}, &server)
		}
		if err != nil {
			return nil, err
		}
		return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: server.ExternalID, State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
	})
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

// GetInfo reports the server's power state and when it last changed, the
// attributes the core settles an interrupted power action with.
func (p *base) GetInfo(ctx context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	st := status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)
	if !p.record.Load() {
		return &pb.GetInfoResponse{Status: st}, nil
	}
	var info struct {
		PowerState     string `json:"power_state"`
		PowerChangedAt string `json:"power_changed_at"`
	}
	if err := p.call(ctx, http.MethodGet, "/info?service_id="+url.QueryEscape(r.GetService().GetServiceId()), nil, &info); err != nil {
		return nil, err
	}
	st.Attributes = map[string]string{"power_state": info.PowerState}
	if info.PowerChangedAt != "" {
		st.Attributes["power_changed_at"] = info.PowerChangedAt
	}
	return &pb.GetInfoResponse{Status: st}, nil
}
func (p *base) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{}, nil
}
func (p *base) Power(ctx context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	action := "power_" + strings.ToLower(strings.TrimPrefix(r.GetAction().String(), "POWER_ACTION_"))
	if _, err := p.act(ctx, actRequest{Key: r.GetIdempotencyKey(), Action: action, ServiceID: r.GetService().GetServiceId()}); err != nil {
		return nil, err
	}
	return &pb.PowerResponse{Status: status(r.GetService(), pb.ServiceState_SERVICE_STATE_ACTIVE)}, nil
}

// full adds snapshots, backups and scripts.
type full struct{ base }

func (p *full) Snapshot(ctx context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	res, err := p.act(ctx, actRequest{Key: r.GetIdempotencyKey(), Action: "snapshot", ServiceID: r.GetService().GetServiceId(), Name: r.GetName()})
	if err != nil {
		return nil, err
	}
	return &pb.SnapshotResponse{Snapshot: &pb.BackupInfo{Id: res.ID, Name: r.GetName(), Type: "snapshot", Status: "completed", CreatedAt: timestamppb.Now()}}, nil
}
func (p *full) Backup(ctx context.Context, r *pb.BackupRequest) (*pb.BackupResponse, error) {
	res, err := p.act(ctx, actRequest{Key: r.GetIdempotencyKey(), Action: "backup", ServiceID: r.GetService().GetServiceId(), Name: r.GetName()})
	if err != nil {
		return nil, err
	}
	return &pb.BackupResponse{Backup: &pb.BackupInfo{Id: res.ID, Name: r.GetName(), Type: "backup", Status: "pending", CreatedAt: timestamppb.Now()}}, nil
}
func (p *full) ListBackups(ctx context.Context, r *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	if !p.record.Load() {
		return &pb.ListBackupsResponse{}, nil
	}
	var list []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if err := p.call(ctx, http.MethodGet, "/backups?service_id="+url.QueryEscape(r.GetService().GetServiceId()), nil, &list); err != nil {
		return nil, err
	}
	resp := &pb.ListBackupsResponse{}
	for _, b := range list {
		resp.Backups = append(resp.Backups, &pb.BackupInfo{Id: b.ID, Name: b.Name, Type: b.Type, Status: b.Status})
	}
	return resp, nil
}
func (p *full) RunScript(ctx context.Context, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	res, err := p.act(ctx, actRequest{Key: r.GetIdempotencyKey(), Action: "run_script", ServiceID: r.GetService().GetServiceId(), Script: r.GetScript()})
	if err != nil {
		return nil, err
	}
	return &pb.RunScriptResponse{ExitCode: res.Exit, Output: res.Output}, nil
}

func status(ref *pb.ServiceRef, s pb.ServiceState) *pb.ServiceStatus {
	return &pb.ServiceStatus{ExternalId: ref.GetExternalId(), State: s}
}

func main() {
	if strings.Contains(filepath.Base(os.Args[0]), "basic") {
		p := &base{}
		p.init()
		sdk.Serve(p)
		return
	}
	p := &full{}
	p.init()
	sdk.Serve(p)
}
