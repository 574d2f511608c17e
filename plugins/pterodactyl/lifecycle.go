package main

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ezscale/platform/plugins/internal/errkind"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Validate checks the plan against the panel: the egg exists in its nest, the
// plan's environment covers its required variables (or they have defaults),
// and a node in the location has room.
func (p *Plugin) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	var ds sdk.Diagnostics
	svc := req.GetService()
	if svc.GetCustomer().GetEmail() == "" {
		ds = append(ds, sdk.FieldDiagnostic("service.customer.email", "is required to create the panel user")...)
	}
	if svc.GetCustomer().GetAccountId() == "" {
		ds = append(ds, sdk.FieldDiagnostic("service.customer.account_id", "is required")...)
	}
	pl, err := cfg.plan(svc.GetPlanOptions())
	if err != nil {
		var se *sdk.Error
		if !errors.As(err, &se) {
			return nil, err
		}
		ds = append(ds, sdk.FieldDiagnostic(se.Field, "%s", se.Message)...)
		return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
	}
	egg, err := cl.Egg(ctx, pl.nestID, pl.eggID)
	switch {
	case pt.IsNotFound(err):
		ds = append(ds, sdk.FieldDiagnostic("plan_options.egg_id", "%s", "no egg "+strconv.FormatInt(pl.eggID, 10)+" in nest "+strconv.FormatInt(pl.nestID, 10))...)
	case err != nil:
		return nil, errkind.FromAPI(err, "reading the egg")
	default:
		if _, missing := environment(egg, pl); missing != "" {
			ds = append(ds, sdk.FieldDiagnostic("plan_options.env."+missing, "the egg requires this variable and has no default")...)
		}
	}
	nodes, err := cl.DeployableNodes(ctx, pl.memory, pl.disk, pl.locationID)
	if err != nil {
		return nil, errkind.FromAPI(err, "finding deployable nodes")
	}
	if len(nodes) == 0 {
		ds = append(ds, sdk.FieldDiagnostic("plan_options.location_id", "%s", "no node in location "+strconv.FormatInt(pl.locationID, 10)+" has room for this plan")...)
	}
	return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
}

// environment is the egg's variables with their defaults, overridden by the
// plan's env.* options; missing names a required variable left empty.
func environment(egg *pt.Egg, pl plan) (env map[string]string, missing string) {
	env = map[string]string{}
	if egg.Relationships != nil && egg.Relationships.Variables != nil {
		for _, v := range egg.Relationships.Variables.Items() {
			env[v.EnvVariable] = v.DefaultValue
		}
	}
	for k, v := range pl.env {
		env[k] = v
	}
	if egg.Relationships != nil && egg.Relationships.Variables != nil {
		for _, v := range egg.Relationships.Variables.Items() {
			if env[v.EnvVariable] == "" && required(v.Rules) {
				return env, v.EnvVariable
			}
		}
	}
	return env, ""
}

// required reports a Laravel "required" rule. A regex rule may hold "|",
// but "required" is always its own element.
func required(rules string) bool { return slices.Contains(strings.Split(rules, "|"), "required") }

// TestConnection checks both keys: the application key lists nodes, the
// client key lists the account's servers.
func (p *Plugin) TestConnection(ctx context.Context, _ *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	if _, err := cl.Nodes(ctx, pt.ListOptions{PerPage: 1}); err != nil {
		return nil, errkind.FromAPI(err, "checking the application key")
	}
	return &pb.TestConnectionResponse{Message: "connected to the Pterodactyl Application API"}, nil
}

// HealthCheck checks that the panel answers with our key.
func (p *Plugin) HealthCheck(ctx context.Context, _ *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	r, err := p.TestConnection(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &pb.HealthCheckResponse{Message: r.GetMessage()}, nil
}

// Create finds or creates the panel user, then finds the server by its
// external id or creates it. Idempotent per key in process and across
// restarts through the external id, which the panel keeps unique.
func (p *Plugin) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	return outcomesCreate.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.CreateResponse, error) {
		s, err := p.create(ctx, req.GetService(), req.GetPassword())
		if err != nil {
			return nil, err
		}
		return &pb.CreateResponse{Status: status(s)}, nil
	})
}

func (p *Plugin) create(ctx context.Context, svc *pb.ServiceRef, password string) (*pt.Server, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	pl, err := cfg.plan(svc.GetPlanOptions())
	if err != nil {
		return nil, err
	}
	ext := serverExternalID(svc.GetServiceId())
	if s, err := cl.ServerByExternalID(ctx, ext); err == nil {
		return s, nil
	} else if !pt.IsNotFound(err) {
		return nil, errkind.FromAPI(err, "looking for the server")
	}
	user, err := p.user(ctx, cl, svc.GetCustomer(), password)
	if err != nil {
		return nil, err
	}
	egg, err := cl.Egg(ctx, pl.nestID, pl.eggID)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the egg")
	}
	env, missing := environment(egg, pl)
	if missing != "" {
		return nil, sdk.FieldErrorf("plan_options.env."+missing, "the egg requires this variable and has no default")
	}
	image, startup := pl.dockerImage, pl.startup
	if image == "" {
		image = egg.DockerImage
	}
	if startup == "" {
		startup = egg.Startup
	}
	name := pl.name
	if name == "" {
		name = "Game server " + svc.GetServiceId()
	}
	deploy := &pt.DeployRequest{Locations: []int64{pl.locationID}}
	if pl.portRange != "" {
		deploy.PortRange = []string{pl.portRange}
	}
	s, err := cl.CreateServer(ctx, pt.CreateServerRequest{
		Name: name, User: user.ID, Egg: egg.ID, ExternalID: ext, DockerImage: image, Startup: startup,
		Environment: env, Limits: pl.limits(), FeatureLimits: pl.featureLimits(), Deploy: deploy,
		StartOnCompletion: true,
	})
	if err != nil {
		if pt.IsUnprocessable(err) {
			// A concurrent Create of the same service took the external id.
			if again, err2 := cl.ServerByExternalID(ctx, ext); err2 == nil {
				return again, nil
			}
		}
		return nil, errkind.FromAPI(err, "creating the server")
	}
	return s, nil
}

// user finds the customer's panel user by its external id, else creates
// one. A panel user is never taken over by email: the customer's email may
// be unverified, and the panel's filter[email] matches substrings (a lookup
// of bob@example.net also finds xbob@example.net). A panel user who already
// has this exact email and no link is a conflict that staff resolve by
// setting that user's external id to ezscale-<account id>.
func (p *Plugin) user(ctx context.Context, cl *pt.Client, c *pb.Customer, password string) (*pt.User, error) {
	if c.GetAccountId() == "" {
		return nil, sdk.FieldErrorf("service.customer.account_id", "is required")
	}
	ext := userExternalID(c.GetAccountId())
	u, err := cl.UserByExternalID(ctx, ext)
	if err == nil {
		return u, nil
	}
	if !pt.IsNotFound(err) {
		return nil, errkind.FromAPI(err, "looking for the customer's panel user")
	}
	if c.GetEmail() == "" {
		return nil, sdk.FieldErrorf("service.customer.email", "is required to create the panel user")
	}
	found, err := cl.AllUsers(ctx, pt.ListOptions{Filters: map[string]string{"email": c.GetEmail()}})
	if err != nil {
		return nil, errkind.FromAPI(err, "looking for the customer's email")
	}
	for _, u := range found {
		// The filter matches substrings: only an exact (case-insensitive)
		// match is this email.
		if strings.EqualFold(u.Email, c.GetEmail()) {
			return nil, sdk.Errorf(sdk.Conflict, "the panel already has a user with the email %s (panel user %d) that this platform did not create; "+
				"to give it this customer's servers, set that user's external id to %s in the panel", c.GetEmail(), u.ID, ext)
		}
	}
	first, last := splitName(c.GetName(), "Customer")
	u, err = cl.CreateUser(ctx, pt.UserRequest{Email: c.GetEmail(), Username: username(c.GetEmail(), c.GetAccountId()),
		FirstName: first, LastName: last, ExternalID: ext, Password: password})
	if err != nil {
		if again, err2 := cl.UserByExternalID(ctx, ext); err2 == nil {
			return again, nil
		}
		return nil, errkind.FromAPI(err, "creating the customer's panel user")
	}
	return u, nil
}

// read returns the service's server with its allocations.
func (p *Plugin) read(ctx context.Context, cl *pt.Client, svc *pb.ServiceRef) (*pt.Server, error) {
	id, err := serverID(svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	s, err := cl.Server(ctx, id, "allocations")
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the server")
	}
	return s, nil
}

// Suspend suspends the server (Wings stops it).
func (p *Plugin) Suspend(ctx context.Context, req *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	s, err := p.setSuspended(ctx, req.GetService(), true)
	if err != nil {
		return nil, err
	}
	return &pb.SuspendResponse{Status: status(s)}, nil
}

// Unsuspend lifts a suspension; the server stays stopped until started.
func (p *Plugin) Unsuspend(ctx context.Context, req *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	s, err := p.setSuspended(ctx, req.GetService(), false)
	if err != nil {
		return nil, err
	}
	return &pb.UnsuspendResponse{Status: status(s)}, nil
}

func (p *Plugin) setSuspended(ctx context.Context, svc *pb.ServiceRef, suspend bool) (*pt.Server, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	s, err := p.read(ctx, cl, svc)
	if err != nil || s.Suspended == suspend {
		return s, err
	}
	if suspend {
		err = cl.SuspendServer(ctx, s.ID)
	} else {
		err = cl.UnsuspendServer(ctx, s.ID)
	}
	if err != nil {
		return nil, errkind.FromAPI(err, "changing the suspension")
	}
	return p.read(ctx, cl, svc)
}

// Terminate deletes the server; a server the panel no longer knows is
// already terminated. Without an external id (a Create whose answer was
// lost) it looks the server up by the service's external id.
func (p *Plugin) Terminate(ctx context.Context, req *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	svc := req.GetService()
	ext := svc.GetExternalId()
	if ext == "" {
		s, err := cl.ServerByExternalID(ctx, serverExternalID(svc.GetServiceId()))
		switch {
		case err == nil:
			ext = strconv.FormatInt(s.ID, 10)
		case !pt.IsNotFound(err):
			return nil, errkind.FromAPI(err, "looking for the server")
		}
	}
	done := &pb.TerminateResponse{Status: &pb.ServiceStatus{ExternalId: ext, State: pb.ServiceState_SERVICE_STATE_TERMINATED}}
	id, err := serverID(ext)
	if err != nil {
		return done, nil
	}
	if err := cl.DeleteServer(ctx, id, false); err != nil && !pt.IsNotFound(err) {
		return nil, errkind.FromAPI(err, "deleting the server")
	}
	return done, nil
}

// GetInfo reads the server.
func (p *Plugin) GetInfo(ctx context.Context, req *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	s, err := p.read(ctx, cl, req.GetService())
	if err != nil {
		return nil, err
	}
	return &pb.GetInfoResponse{Status: status(s)}, nil
}
