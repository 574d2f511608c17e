package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/examples/acme-provisioner/acmepanel"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// settings is the plugin's config, declared as a struct: Describe's schema
// comes from the tags, and Configure decodes the operator's block into it.
type settings struct {
	APIURL      string        `config:"api_url,required,url" doc:"Acme Panel API root, e.g. https://panel.example.com"`
	APIKey      string        `config:"api_key,required,secret" doc:"API key (sent as a Bearer token)"`
	Timeout     time.Duration `config:"timeout,positive" default:"10s" doc:"per API request"`
	DefaultPlan string        `config:"default_plan" default:"small" oneof:"small medium large" doc:"plan of new servers unless the service's plan sets plan"`
}

var config = sdk.ConfigOf[settings]()

// options are the keys this plugin reads from a service's options: staff
// pick the panel plan on the plan; a customer may choose the hostname when
// ordering. The core passes no other key.
var options = sdk.Options{
	sdk.EnumOption("plan", "Acme Panel plan of new servers (default: the config's default_plan)", "small", "medium", "large").OnPlan(),
	sdk.StringOption("hostname", "the new server's host name").AtOrder().MaxLen(253).Matching(`[a-z0-9]([a-z0-9.-]*[a-z0-9])?`),
}

// creates records the outcome of each Create per idempotency key in the
// plugin's data directory: the panel has no idempotency keys of its own.
var creates = sdk.NewOutcomes[*pb.CreateResponse]("create")

// Plugin provisions servers on Acme Panel.
type Plugin struct {
	mu  sync.RWMutex
	cfg settings
	hc  *http.Client
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

// Describe is static: the SDK calls it in describe mode too.
func (p *Plugin) Describe() sdk.Description {
	return sdk.Description{Name: "acme", Version: "0.1.0", Schema: config.Schema(), Options: options}
}

// ValidateConfig lets the core refuse a bad block before Configure, with
// the same checks.
func (p *Plugin) ValidateConfig(_ context.Context, cfg sdk.Config) sdk.Diagnostics {
	_, diags := config.Decode(cfg)
	return diags
}

// Configure decodes the block; it does not call the panel, so a panel
// that is down does not keep the plugin from starting (TestConnection is
// for that).
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config) error {
	s, diags := config.Decode(cfg)
	if diags.HasErrors() {
		return diags
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg, p.hc = s, &http.Client{Timeout: s.Timeout}
	return nil
}

// Health answers for the process from local state: the SDK calls it only
// once configured. The panel's reachability is HealthCheck's question.
func (p *Plugin) Health(context.Context) error { return nil }

func (p *Plugin) current() (settings, *http.Client) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.cfg, p.hc
}

// Validate checks a service before the order is accepted.
func (p *Plugin) Validate(_ context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	var ds sdk.Diagnostics
	if _, err := options.Parse(req.GetService().GetPlanOptions()); err != nil {
		var e *sdk.Error
		if errors.As(err, &e) {
			ds = append(ds, sdk.FieldDiagnostic(e.Field, "%s", e.Message)...)
		}
	}
	if req.GetService().GetCustomer().GetAccountId() == "" {
		ds = append(ds, sdk.FieldDiagnostic("customer.account_id", "is required: it owns the server at the panel")...)
	}
	return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
}

// TestConnection checks the URL and the key against the panel.
func (p *Plugin) TestConnection(ctx context.Context, _ *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	if err := p.call(ctx, http.MethodGet, "/servers?name=ezscale-connection-test", nil, nil); err != nil {
		return nil, err
	}
	return &pb.TestConnectionResponse{Message: "connected to Acme Panel"}, nil
}

// HealthCheck is the panel's health, asked by the core's health rounds.
func (p *Plugin) HealthCheck(ctx context.Context, _ *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	r, err := p.TestConnection(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &pb.HealthCheckResponse{Message: r.GetMessage()}, nil
}

// serverName ties the panel's server to the core's service, so a Create
// without a record can find what an earlier attempt made.
func serverName(serviceID string) string { return "ezscale-" + serviceID }

// Create makes the service's server, once per key: the recorded outcome
// answers a repeat (also after a restart), and without a record
// (another replica, a lost data directory) the server is found by the
// service id before a new one is made. A new server is still installing:
// Create answers PENDING and the core polls GetInfo until it is ACTIVE.
func (p *Plugin) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	return creates.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.CreateResponse, error) {
		svc := req.GetService()
		cfg, _ := p.current()
		opts, err := options.Parse(svc.GetPlanOptions()) // InvalidInput naming plan_options.<key>
		if err != nil {
			return nil, err
		}
		owner := svc.GetCustomer().GetAccountId() // stable; email and name can change
		if owner == "" {
			return nil, sdk.FieldErrorf("service.customer.account_id", "is required: it owns the server at the panel")
		}
		// Reconcile first: adopt what an earlier attempt made.
		if s, err := p.find(ctx, svc.GetServiceId()); err != nil || s != nil {
			if err != nil {
				return nil, err
			}
			return &pb.CreateResponse{Status: status(s)}, nil
		}
		var s acmepanel.Server
		err = p.call(ctx, http.MethodPost, "/servers", acmepanel.Server{
			Name: serverName(svc.GetServiceId()), Plan: opts.String("plan", cfg.DefaultPlan),
			Owner: owner, Hostname: opts.String("hostname", ""),
		}, &s)
		if err != nil {
			return nil, err
		}
		return &pb.CreateResponse{Status: status(&s)}, nil
	})
}

// find returns the service's server, or nil.
func (p *Plugin) find(ctx context.Context, serviceID string) (*acmepanel.Server, error) {
	var found []acmepanel.Server
	if err := p.call(ctx, http.MethodGet, "/servers?name="+url.QueryEscape(serverName(serviceID)), nil, &found); err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, nil
	}
	return &found[0], nil
}

// Suspend and Unsuspend are idempotent by nature (the panel's state is the
// same after a repeat), so they need no record. The panel answers 204 with
// no body: read the server back for the status to return.
func (p *Plugin) Suspend(ctx context.Context, req *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	st, err := p.act(ctx, req.GetService(), "suspend")
	return &pb.SuspendResponse{Status: st}, err
}

// Unsuspend lifts a suspension.
func (p *Plugin) Unsuspend(ctx context.Context, req *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	st, err := p.act(ctx, req.GetService(), "unsuspend")
	return &pb.UnsuspendResponse{Status: st}, err
}

func (p *Plugin) act(ctx context.Context, svc *pb.ServiceRef, action string) (*pb.ServiceStatus, error) {
	id, err := serverID(svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	if err := p.call(ctx, http.MethodPost, "/servers/"+id+"/"+action, nil, nil); err != nil {
		return nil, err
	}
	return p.read(ctx, id)
}

// Terminate deletes the server. A server the panel does not know (deleted
// already, or never made) is terminated: Terminate succeeds, so a repeat
// and a Terminate after a failed Create are no errors.
func (p *Plugin) Terminate(ctx context.Context, req *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	svc := req.GetService()
	ext := svc.GetExternalId()
	if ext == "" {
		// Create never answered: delete what it may have made.
		s, err := p.find(ctx, svc.GetServiceId())
		if err != nil {
			return nil, err
		}
		if s != nil {
			ext = s.ID
		}
	}
	done := &pb.TerminateResponse{Status: &pb.ServiceStatus{ExternalId: ext, State: pb.ServiceState_SERVICE_STATE_TERMINATED}}
	id, err := serverID(ext)
	if err != nil {
		return done, nil
	}
	if err := p.call(ctx, http.MethodDelete, "/servers/"+id, nil, nil); err != nil && !sdk.IsKind(err, sdk.NotFound) {
		return nil, err
	}
	return done, nil
}

// GetInfo reads the server. After Terminate the panel no longer knows it:
// NotFound (the core reads that as gone).
func (p *Plugin) GetInfo(ctx context.Context, req *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	id, err := serverID(req.GetService().GetExternalId())
	if err != nil {
		return nil, err
	}
	st, err := p.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pb.GetInfoResponse{Status: st}, nil
}

func (p *Plugin) read(ctx context.Context, id string) (*pb.ServiceStatus, error) {
	var s acmepanel.Server
	if err := p.call(ctx, http.MethodGet, "/servers/"+id, nil, &s); err != nil {
		return nil, err
	}
	return status(&s), nil
}

// serverID checks an external id; anything else is a server the panel
// cannot know.
func serverID(ext string) (string, error) {
	if n, err := strconv.Atoi(ext); err != nil || n <= 0 {
		return "", sdk.Errorf(sdk.NotFound, "Acme Panel has no server %q", ext)
	}
	return ext, nil
}

// status maps the panel's view to the core's states: installing is
// PENDING (the core keeps the service provisioning and polls GetInfo),
// running ACTIVE, suspended SUSPENDED.
func status(s *acmepanel.Server) *pb.ServiceStatus {
	st := &pb.ServiceStatus{ExternalId: s.ID, State: pb.ServiceState_SERVICE_STATE_ACTIVE,
		Attributes: map[string]string{"name": s.Name, "plan": s.Plan, "panel_status": s.Status}}
	if s.Hostname != "" {
		st.Attributes["hostname"] = s.Hostname
	}
	switch s.Status {
	case acmepanel.StatusInstalling:
		st.State = pb.ServiceState_SERVICE_STATE_PENDING
	case acmepanel.StatusSuspended:
		st.State = pb.ServiceState_SERVICE_STATE_SUSPENDED
	}
	return st
}

// call makes one API request and maps the panel's answers to error kinds.
// A 204 has no body: out stays untouched.
func (p *Plugin) call(ctx context.Context, method, path string, in, out any) error {
	cfg, hc := p.current()
	if hc == nil {
		return sdk.UnavailableError(time.Second, "the plugin is not configured yet")
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.APIURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// No answer: the request may or may not have acted. No retry hint,
		// so the core does not take it for a refusal; Create reconciles.
		return sdk.Errorf(sdk.Unavailable, "calling Acme Panel: %v", err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return nil
	case resp.StatusCode < 300:
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return sdk.Errorf(sdk.Internal, "reading Acme Panel's answer: %v", err)
		}
		return nil
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	msg := fmt.Sprintf("Acme Panel answered %d: %s", resp.StatusCode, e.Error)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return sdk.Errorf(sdk.Unauthenticated, "%s", msg)
	case resp.StatusCode == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "%s", msg)
	case resp.StatusCode == http.StatusUnprocessableEntity:
		return sdk.Errorf(sdk.InvalidInput, "%s", msg)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return sdk.UnavailableError(30*time.Second, "%s", msg) // refused before acting
	}
	return sdk.Errorf(sdk.Internal, "%s", msg)
}

// Interface guards: the compiler checks that Plugin is what it means to
// be. Without them a misspelt or mistyped method compiles, and the plugin
// silently is not a provisioner (Serve then refuses it, naming the method,
// but only when it starts).
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Provisioner     = (*Plugin)(nil)
)
