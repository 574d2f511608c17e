// Command provisioner is a minimal provisioner plugin for billing's tests.
// It keeps each service's state in a JSON file under the config's
// state_dir (so tests can read what it was asked to do), honours
// idempotency keys (a repeated key returns the first outcome without
// acting), and fails on request, through the plan options it receives:
//
//	fail_create = "always"      every Create fails
//	fail_create = "<n>"         the first n Create attempts of a service fail
//	fail_kind   = "invalid"     failures are InvalidInput (permanent),
//	fail_kind   = "capacity"    Capacity (no room at the backend: retryable),
//	                            otherwise Unavailable (retryable)
//	fail_retry_after = "<dur>"  failures carry that retry-after hint
//	fail_suspend = "always"     every Suspend fails (Unavailable)
//	install = "wait"            Create answers PENDING (still installing);
//	                            GetInfo answers PENDING until the file
//	                            <state_dir>/<service id>.installed exists
//	                            (then ACTIVE) or <service id>.install_failed
//	                            does (then ERROR)
//
// A file <state_dir>/<service id>.fail_suspend also makes Suspend fail,
// until the test removes it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// record is one service's state at the fake backend.
type record struct {
	ExternalID     string            `json:"external_id"`
	State          string            `json:"state"`
	CreateAttempts int               `json:"create_attempts"`
	Calls          []string          `json:"calls"` // operations that acted
	Keys           map[string]string `json:"keys"`  // idempotency key → state returned
	Options        map[string]string `json:"options"`
	Polls          int               `json:"polls"` // GetInfo calls
}

type plugin struct {
	mu  sync.Mutex
	dir string
}

// options are what the test backend reads of a service: staff set the
// size and the failures on plans, customers may choose a hostname and a
// location where the plan offers them.
var options = sdk.Options{
	sdk.StringOption("size", "plan size").OnPlan().MaxLen(16),
	sdk.StringOption("fail_create", `"always" or how many first attempts fail`).OnPlan().Matching(`always|[0-9]+`),
	sdk.EnumOption("fail_kind", "kind of the injected failures", "invalid", "unavailable", "capacity").OnPlan(),
	sdk.StringOption("fail_retry_after", "the retry-after of the injected failures (a Go duration)").OnPlan().Matching(`[0-9]+(ms|s|m|h)`),
	sdk.EnumOption("fail_suspend", "make every suspend fail", "always").OnPlan(),
	sdk.IntOption("extra_ipv4", "IPv4 addresses besides the first").OnPlan().Range(0, 4),
	sdk.StringOption("hostname", "the server's hostname").AtOrder().MaxLen(63).Matching(`[a-z0-9]([a-z0-9.-]*[a-z0-9])?`),
	sdk.EnumOption("location", "where the server runs", "fra", "nyc", "sgp").OnPlan().AtOrder(),
	sdk.EnumOption("install", `"wait": the server installs until the test marks it installed`, "wait").OnPlan(),
}

func (p *plugin) Describe() sdk.Description {
	return sdk.Description{
		Name: "testprov", Version: "1.0.0",
		Schema:  sdk.NewSchema().String("state_dir", sdk.Required()),
		Options: options,
	}
}

func (p *plugin) Configure(_ context.Context, cfg sdk.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dir = cfg.String("state_dir")
	return os.MkdirAll(p.dir, 0o750)
}

func (p *plugin) Health(context.Context) error { return nil }

func (p *plugin) path(id string) string { return filepath.Join(p.dir, id+".json") }

func (p *plugin) load(id string) *record {
	r := &record{Keys: map[string]string{}}
	if b, err := os.ReadFile(p.path(id)); err == nil {
		_ = json.Unmarshal(b, r)
	}
	if r.Keys == nil {
		r.Keys = map[string]string{}
	}
	return r
}

func (p *plugin) save(id string, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := p.path(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.path(id))
}

// act runs one lifecycle call: a repeated key replays, otherwise fail()
// may refuse, else the state moves to next.
func (p *plugin) act(ref *pb.ServiceRef, key, op, next string, fail func(r *record) error) (*pb.ServiceStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := ref.GetServiceId()
	if id == "" || key == "" {
		return nil, sdk.FieldErrorf("service.service_id", "service id and idempotency key are required")
	}
	r := p.load(id)
	if st, ok := r.Keys[key]; ok {
		return &pb.ServiceStatus{ExternalId: r.ExternalID, State: stateOf(st)}, nil
	}
	if fail != nil {
		if err := fail(r); err != nil {
			if serr := p.save(id, r); serr != nil {
				return nil, serr
			}
			return nil, err
		}
	}
	if r.ExternalID == "" {
		r.ExternalID = "ext-" + id
	}
	r.State, r.Keys[key], r.Options = next, next, ref.GetPlanOptions()
	r.Calls = append(r.Calls, op)
	if err := p.save(id, r); err != nil {
		return nil, err
	}
	return &pb.ServiceStatus{ExternalId: r.ExternalID, State: stateOf(next), Attributes: map[string]string{"node": "test-1"}}, nil
}

func stateOf(s string) pb.ServiceState {
	switch s {
	case "active":
		return pb.ServiceState_SERVICE_STATE_ACTIVE
	case "suspended":
		return pb.ServiceState_SERVICE_STATE_SUSPENDED
	case "terminated":
		return pb.ServiceState_SERVICE_STATE_TERMINATED
	case "pending":
		return pb.ServiceState_SERVICE_STATE_PENDING
	case "error":
		return pb.ServiceState_SERVICE_STATE_ERROR
	}
	return pb.ServiceState_SERVICE_STATE_UNSPECIFIED
}

func failure(opts map[string]string, what string) error {
	ra, _ := time.ParseDuration(opts["fail_retry_after"])
	switch opts["fail_kind"] {
	case "invalid":
		return sdk.FieldErrorf("plan_options", "%s refused by the test backend", what)
	case "capacity":
		return sdk.CapacityError(ra, "%s: no allocations satisfying the requirements", what)
	}
	return sdk.UnavailableError(ra, "%s: the test backend is down", what)
}

// marker reports whether the test left the file <state_dir>/<id>.<name>.
func (p *plugin) marker(id, name string) bool {
	_, err := os.Stat(filepath.Join(p.dir, id+"."+name))
	return err == nil
}

func (p *plugin) Create(_ context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	opts := r.GetService().GetPlanOptions()
	next := "active"
	if opts["install"] == "wait" {
		next = "pending"
	}
	st, err := p.act(r.GetService(), r.GetIdempotencyKey(), "create", next, func(rec *record) error {
		rec.CreateAttempts++
		switch v := opts["fail_create"]; {
		case v == "always":
			return failure(opts, "create")
		case v != "":
			n, _ := strconv.Atoi(v)
			if rec.CreateAttempts <= n {
				return failure(opts, fmt.Sprintf("create attempt %d", rec.CreateAttempts))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.CreateResponse{Status: st}, nil
}

func (p *plugin) Suspend(_ context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	opts := r.GetService().GetPlanOptions()
	id := r.GetService().GetServiceId()
	st, err := p.act(r.GetService(), r.GetIdempotencyKey(), "suspend:"+r.GetReason(), "suspended", func(*record) error {
		if opts["fail_suspend"] == "always" || p.marker(id, "fail_suspend") {
			return failure(map[string]string{}, "suspend")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.SuspendResponse{Status: st}, nil
}

func (p *plugin) Unsuspend(_ context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	st, err := p.act(r.GetService(), r.GetIdempotencyKey(), "unsuspend", "active", nil)
	if err != nil {
		return nil, err
	}
	return &pb.UnsuspendResponse{Status: st}, nil
}

func (p *plugin) Terminate(_ context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	st, err := p.act(r.GetService(), r.GetIdempotencyKey(), "terminate", "terminated", nil)
	if err != nil {
		return nil, err
	}
	return &pb.TerminateResponse{Status: st}, nil
}

func (p *plugin) ChangePlan(_ context.Context, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	st, err := p.act(r.GetService(), r.GetIdempotencyKey(), "change_plan:"+r.GetNewPlanOptions()["size"], "active", nil)
	if err != nil {
		return nil, err
	}
	return &pb.ChangePlanResponse{Status: st}, nil
}

func (p *plugin) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := r.GetService().GetServiceId()
	rec := p.load(id)
	if rec.ExternalID == "" {
		return nil, sdk.Errorf(sdk.NotFound, "no such service")
	}
	rec.Polls++
	if rec.State == "pending" {
		switch {
		case p.marker(id, "installed"):
			rec.State = "active"
		case p.marker(id, "install_failed"):
			rec.State = "error"
		}
	}
	if err := p.save(id, rec); err != nil {
		return nil, err
	}
	return &pb.GetInfoResponse{Status: &pb.ServiceStatus{ExternalId: rec.ExternalID, State: stateOf(rec.State)}}, nil
}

func (p *plugin) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}

func (p *plugin) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}

func (p *plugin) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{}, nil
}

func main() { sdk.Serve(&plugin{}) }
