package pluginhosttest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ProvisionerName is the name the fake provisioner describes itself by.
const ProvisionerName = "testprov"

// Provisioner is a fake provisioner plugin with an in-memory backend: it
// keeps each service's state (read it with Record), honours idempotency
// keys (a repeated key returns the first outcome without acting), and
// fails on request, through the plan options it receives:
//
//	fail_create = "always"      every Create fails
//	fail_create = "<n>"         the first n Create attempts of a service fail
//	fail_kind   = "invalid"     failures are InvalidInput (permanent),
//	fail_kind   = "capacity"    Capacity (no room at the backend: retryable),
//	fail_kind   = "not_found"   NotFound (the backend does not know it: permanent),
//	                            otherwise Unavailable (retryable)
//	fail_retry_after = "<dur>"  failures carry that retry-after hint
//	fail_suspend = "always"     every Suspend fails (Unavailable)
//	install = "wait"            Create answers PENDING (still installing);
//	                            GetInfo answers PENDING until the marker
//	                            "installed" is set on the service (then
//	                            ACTIVE) or "install_failed" is (then ERROR)
//
// The marker "fail_suspend" also makes a service's Suspend fail, until the
// test clears it, and "suspend_not_found" makes it fail with NotFound;
// Hold makes a service's calls of one operation wait until the test
// releases them. Serve it with Start (a plugin named
// ProvisionerName).
type Provisioner struct {
	mu      sync.Mutex
	records map[string]*Record
	keys    map[string]map[string]string // service id → idempotency key → state returned
	markers map[string]bool              // service id + "." + marker
	gates   map[string]chan struct{}     // service id + "." + operation
	held    map[string]int               // the calls waiting at each gate
}

// NewProvisioner returns a fake provisioner with an empty backend.
func NewProvisioner() *Provisioner {
	return &Provisioner{records: map[string]*Record{}, keys: map[string]map[string]string{}, markers: map[string]bool{}, gates: map[string]chan struct{}{}, held: map[string]int{}}
}

// Record is one service's state at the fake backend.
type Record struct {
	ExternalID     string
	State          string // active, suspended, terminated, pending, error
	CreateAttempts int
	// Calls are the operations that acted, oldest first ("create",
	// "suspend:<reason>", "unsuspend", "terminate", "change_plan:<size>").
	Calls []string
	// Options are the plan options of the last call that acted.
	Options map[string]string
	// Polls counts GetInfo calls.
	Polls int
}

// Record returns a copy of what the backend holds for a service (the zero
// Record when it never heard of it).
func (p *Provisioner) Record(serviceID string) Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.records[serviceID]
	if !ok {
		return Record{}
	}
	out := *r
	out.Calls = slices.Clone(r.Calls)
	out.Options = maps.Clone(r.Options)
	return out
}

// Mark sets (on) or clears a marker on a service: "installed",
// "install_failed", "fail_suspend" or "suspend_not_found".
func (p *Provisioner) Mark(serviceID, marker string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.markers[serviceID+"."+marker] = true
	} else {
		delete(p.markers, serviceID+"."+marker)
	}
}

// Hold makes the service's calls of op ("create", "suspend", "unsuspend",
// "terminate" or "change_plan") wait, before they act, until release is
// called (or the call's deadline passes): what the core shows while a
// backend call is under way can then be read without racing the call.
func (p *Provisioner) Hold(serviceID, op string) (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gates[serviceID+"."+op] = gate
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.gates, serviceID+"."+op)
			p.mu.Unlock()
			close(gate)
		})
	}
}

// Held reports whether a call of op for the service is waiting at its
// hold: the call is under way, and has not acted.
func (p *Provisioner) Held(serviceID, op string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[serviceID+"."+op] > 0
}

// wait waits while the service's calls of op are held.
func (p *Provisioner) wait(ctx context.Context, serviceID, op string) error {
	key := serviceID + "." + op
	p.mu.Lock()
	gate := p.gates[key]
	if gate != nil {
		p.held[key]++
	}
	p.mu.Unlock()
	if gate == nil {
		return nil
	}
	defer func() {
		p.mu.Lock()
		if p.held[key]--; p.held[key] == 0 {
			delete(p.held, key)
		}
		p.mu.Unlock()
	}()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return sdk.UnavailableError(0, "%s held by the test until the call's deadline", op)
	}
}

func (p *Provisioner) marked(serviceID, marker string) bool {
	return p.markers[serviceID+"."+marker]
}

// options are what the fake backend reads of a service: staff set the size
// and the failures on plans, customers may choose a hostname and a
// location where the plan offers them.
var options = sdk.Options{
	sdk.StringOption("size", "plan size").OnPlan().MaxLen(16),
	sdk.StringOption("fail_create", `"always" or how many first attempts fail`).OnPlan().Matching(`always|[0-9]+`),
	sdk.EnumOption("fail_kind", "kind of the injected failures", "invalid", "unavailable", "capacity", "not_found").OnPlan(),
	sdk.StringOption("fail_retry_after", "the retry-after of the injected failures (a Go duration)").OnPlan().Matching(`[0-9]+(ms|s|m|h)`),
	sdk.EnumOption("fail_suspend", "make every suspend fail", "always").OnPlan(),
	sdk.IntOption("extra_ipv4", "IPv4 addresses besides the first").OnPlan().Range(0, 4),
	sdk.StringOption("hostname", "the server's hostname").AtOrder().MaxLen(63).Matching(`[a-z0-9]([a-z0-9.-]*[a-z0-9])?`),
	sdk.EnumOption("location", "where the server runs", "fra", "nyc", "sgp").OnPlan().AtOrder(),
	sdk.EnumOption("install", `"wait": the server installs until the test marks it installed`, "wait").OnPlan(),
}

func (p *Provisioner) Describe() sdk.Description {
	return sdk.Description{Name: ProvisionerName, Version: "1.0.0", Schema: sdk.NewSchema(), Options: options}
}

func (p *Provisioner) Configure(context.Context, sdk.Config) error { return nil }

func (p *Provisioner) Health(context.Context) error { return nil }

func (p *Provisioner) record(id string) *Record {
	r, ok := p.records[id]
	if !ok {
		r = &Record{}
		p.records[id] = r
		p.keys[id] = map[string]string{}
	}
	return r
}

// act runs one lifecycle call: a repeated key replays, otherwise fail()
// may refuse (what it changed is kept), else the state moves to next.
func (p *Provisioner) act(ctx context.Context, ref *pb.ServiceRef, key, op, next string, fail func(r *Record) error) (*pb.ServiceStatus, error) {
	if err := p.wait(ctx, ref.GetServiceId(), strings.SplitN(op, ":", 2)[0]); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := ref.GetServiceId()
	if id == "" || key == "" {
		return nil, sdk.FieldErrorf("service.service_id", "service id and idempotency key are required")
	}
	r := p.record(id)
	if st, ok := p.keys[id][key]; ok {
		return &pb.ServiceStatus{ExternalId: r.ExternalID, State: stateOf(st)}, nil
	}
	if fail != nil {
		if err := fail(r); err != nil {
			return nil, err
		}
	}
	if r.ExternalID == "" {
		r.ExternalID = "ext-" + id
	}
	r.State, p.keys[id][key], r.Options = next, next, maps.Clone(ref.GetPlanOptions())
	r.Calls = append(r.Calls, op)
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
	case "not_found":
		return sdk.Errorf(sdk.NotFound, "%s: the test backend does not know the server", what)
	}
	return sdk.UnavailableError(ra, "%s: the test backend is down", what)
}

func (p *Provisioner) Create(ctx context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	opts := r.GetService().GetPlanOptions()
	next := "active"
	if opts["install"] == "wait" {
		next = "pending"
	}
	st, err := p.act(ctx, r.GetService(), r.GetIdempotencyKey(), "create", next, func(rec *Record) error {
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

func (p *Provisioner) Suspend(ctx context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	opts := r.GetService().GetPlanOptions()
	id := r.GetService().GetServiceId()
	st, err := p.act(ctx, r.GetService(), r.GetIdempotencyKey(), "suspend:"+r.GetReason(), "suspended", func(*Record) error {
		if p.marked(id, "suspend_not_found") {
			return failure(map[string]string{"fail_kind": "not_found"}, "suspend")
		}
		if opts["fail_suspend"] == "always" || p.marked(id, "fail_suspend") {
			return failure(map[string]string{}, "suspend")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.SuspendResponse{Status: st}, nil
}

func (p *Provisioner) Unsuspend(ctx context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	st, err := p.act(ctx, r.GetService(), r.GetIdempotencyKey(), "unsuspend", "active", nil)
	if err != nil {
		return nil, err
	}
	return &pb.UnsuspendResponse{Status: st}, nil
}

func (p *Provisioner) Terminate(ctx context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	st, err := p.act(ctx, r.GetService(), r.GetIdempotencyKey(), "terminate", "terminated", nil)
	if err != nil {
		return nil, err
	}
	return &pb.TerminateResponse{Status: st}, nil
}

func (p *Provisioner) ChangePlan(ctx context.Context, r *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	st, err := p.act(ctx, r.GetService(), r.GetIdempotencyKey(), "change_plan:"+r.GetNewPlanOptions()["size"], "active", nil)
	if err != nil {
		return nil, err
	}
	return &pb.ChangePlanResponse{Status: st}, nil
}

func (p *Provisioner) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := r.GetService().GetServiceId()
	rec, ok := p.records[id]
	if !ok || rec.ExternalID == "" {
		return nil, sdk.Errorf(sdk.NotFound, "no such service")
	}
	rec.Polls++
	if rec.State == "pending" {
		switch {
		case p.marked(id, "installed"):
			rec.State = "active"
		case p.marked(id, "install_failed"):
			rec.State = "error"
		}
	}
	return &pb.GetInfoResponse{Status: &pb.ServiceStatus{ExternalId: rec.ExternalID, State: stateOf(rec.State)}}, nil
}

func (p *Provisioner) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}

func (p *Provisioner) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}

func (p *Provisioner) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{}, nil
}
