package main

import (
	"context"
	"errors"
	"strconv"

	"github.com/ezscale/platform/plugins/internal/errkind"
	"github.com/ezscale/platform/plugins/internal/idem"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Validate checks the plan options against the panel: the package exists and
// is enabled, the hypervisor group exists, and a customer is given.
func (p *Plugin) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	var ds sdk.Diagnostics
	svc := req.GetService()
	if svc.GetCustomer().GetEmail() == "" {
		ds = append(ds, sdk.FieldError("service.customer.email", "is required to create the VirtFusion user")...)
	}
	if _, err := extRelationID(svc.GetCustomer().GetAccountId()); err != nil {
		ds = append(ds, sdk.FieldError("service.customer.account_id", "is required")...)
	}
	pl, err := cfg.plan(svc.GetPlanOptions())
	if err != nil {
		var se *sdk.Error
		if !errors.As(err, &se) {
			return nil, err
		}
		ds = append(ds, sdk.FieldError(se.Field, se.Message)...)
		return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
	}
	pkg, err := cl.Package(ctx, pl.packageID)
	switch {
	case vf.IsNotFound(err):
		ds = append(ds, sdk.FieldError("plan_options.package_id", "no such VirtFusion package: "+strconv.FormatInt(pl.packageID, 10))...)
	case err != nil:
		return nil, errkind.FromAPI(err, "checking the package")
	case !pkg.Enabled:
		ds = append(ds, sdk.FieldError("plan_options.package_id", "the VirtFusion package "+pkg.Name+" is disabled")...)
	}
	if _, err := cl.HypervisorGroup(ctx, pl.groupID); vf.IsNotFound(err) {
		ds = append(ds, sdk.FieldError("plan_options.hypervisor_group_id", "no such hypervisor group: "+strconv.FormatInt(pl.groupID, 10))...)
	} else if err != nil {
		return nil, errkind.FromAPI(err, "checking the hypervisor group")
	}
	return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
}

// TestConnection checks the URL and token.
func (p *Plugin) TestConnection(ctx context.Context, _ *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	if err := cl.Connect(ctx); err != nil {
		return nil, errkind.FromAPI(err, "connecting to VirtFusion")
	}
	return &pb.TestConnectionResponse{Message: "connected to VirtFusion"}, nil
}

// HealthCheck checks that the panel answers with our token.
func (p *Plugin) HealthCheck(ctx context.Context, _ *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	resp, err := p.TestConnection(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &pb.HealthCheckResponse{Message: resp.GetMessage()}, nil
}

// Create finds or creates the customer's user, then finds the service's
// server by name or creates and builds it. Idempotent per key in process and
// across restarts through the server's name. Creating and naming a server
// are two calls; a lost answer to the first leaves an unnamed server, which
// the next attempt adopts instead of creating a second one (see adopt).
func (p *Plugin) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	return idem.Do(ctx, p.idem, "create:"+req.GetIdempotencyKey(), func(ctx context.Context) (*pb.CreateResponse, error) {
		s, err := p.create(ctx, req.GetService())
		if err != nil {
			return nil, err
		}
		return &pb.CreateResponse{Status: status(s)}, nil
	})
}

func (p *Plugin) create(ctx context.Context, svc *pb.ServiceRef) (*vf.Server, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	pl, err := cfg.plan(svc.GetPlanOptions())
	if err != nil {
		return nil, err
	}
	user, err := p.user(ctx, cl, svc.GetCustomer())
	if err != nil {
		return nil, err
	}
	// One create at a time per VirtFusion user in this process, so an
	// unnamed server of the user is never another create's in flight.
	unlock, err := p.users.lock(ctx, user.ID)
	if err != nil {
		return nil, sdk.UnavailableError(0, "waiting for another create of this customer: %v", err)
	}
	defer unlock()

	serviceID, name := svc.GetServiceId(), serverName(svc.GetServiceId())
	servers, err := cl.AllUserServers(ctx, user.ID)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing the customer's servers")
	}
	existing, err := p.named(ctx, cl, servers, name)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.State != vf.StateAllocated {
		p.lost.forget(serviceID)
		return existing, nil
	}
	var id int64
	switch {
	case existing != nil:
		// Created and named earlier but not built: finish the job.
		id = existing.ID
	default:
		orphan, err := p.adopt(ctx, cl, serviceID, user.ID, servers, pl)
		if err != nil {
			return nil, err
		}
		if orphan != nil {
			id = orphan.ID
			break
		}
		s, err := cl.CreateServer(ctx, vf.CreateServerRequest{PackageID: pl.packageID, UserID: user.ID, HypervisorID: pl.groupID, IPv4: int(pl.ipv4)}, false)
		if err != nil {
			if !ambiguous(err) {
				return nil, errkind.FromAPI(err, "creating the server")
			}
			// The panel may have created it: remember the window, and look
			// at once (the answer may have been lost after the commit).
			p.lost.remember(serviceID, lostCreate{userID: user.ID, after: highestServerID(servers)})
			if again, listErr := cl.AllUserServers(ctx, user.ID); listErr == nil {
				if orphan, _ := p.adopt(ctx, cl, serviceID, user.ID, again, pl); orphan != nil {
					id = orphan.ID
				}
			}
			if id == 0 {
				return nil, errkind.FromAPI(err, "creating the server (no answer; the next attempt adopts the server if the panel created it)")
			}
		} else {
			id = s.ID
		}
		// Name it at once so that a repeat finds it even if the build fails.
		if err := cl.ModifyName(ctx, id, name); err != nil {
			// Unnamed, it is an orphan the next attempt adopts.
			p.lost.remember(serviceID, lostCreate{userID: user.ID, after: id - 1})
			return nil, errkind.FromAPI(err, "naming the server")
		}
		p.lost.forget(serviceID)
	}
	built, err := cl.BuildServer(ctx, id, vf.BuildRequest{OperatingSystemID: pl.osTemplateID, Name: name, Hostname: pl.hostname})
	if err != nil {
		return nil, errkind.FromAPI(err, "building the server")
	}
	return built, nil
}

// ambiguous reports a failed call that may have acted at the panel: no
// answer (a transport error, a timeout, an unreadable body) or a 5xx. A 4xx
// is a refusal: nothing was created.
func ambiguous(err error) bool {
	e, ok := vf.AsError(err)
	return !ok || e.StatusCode >= 500
}

// user finds the customer's VirtFusion user by extRelationId, else creates it.
func (p *Plugin) user(ctx context.Context, cl *vf.Client, c *pb.Customer) (*vf.User, error) {
	ext, err := extRelationID(c.GetAccountId())
	if err != nil {
		return nil, err
	}
	u, err := cl.UserByExtRelationID(ctx, ext)
	if err == nil {
		return u, nil
	}
	if !vf.IsNotFound(err) {
		return nil, errkind.FromAPI(err, "finding the customer's VirtFusion user")
	}
	if c.GetEmail() == "" {
		return nil, sdk.FieldErrorf("service.customer.email", "is required to create the VirtFusion user")
	}
	name := c.GetName()
	if name == "" {
		name = c.GetEmail()
	}
	u, err = cl.CreateUser(ctx, vf.CreateUserRequest{Name: name, Email: c.GetEmail(), ExtRelationID: ext})
	if vf.IsUnprocessable(err) {
		// Another call created it in the meantime.
		if again, err2 := cl.UserByExtRelationID(ctx, ext); err2 == nil {
			return again, nil
		}
	}
	if err != nil {
		return nil, errkind.FromAPI(err, "creating the customer's VirtFusion user")
	}
	return u, nil
}

// named returns the server of servers (one user's, every page) with the
// given name, read in full, or nil.
func (p *Plugin) named(ctx context.Context, cl *vf.Client, servers []vf.ServerSummary, name string) (*vf.Server, error) {
	for _, s := range servers {
		if s.Name == name {
			full, err := cl.Server(ctx, s.ID, false)
			if err != nil {
				return nil, errkind.FromAPI(err, "reading the server")
			}
			return full, nil
		}
	}
	return nil, nil
}

// read returns the service's server; NotFound when VirtFusion lost it.
func (p *Plugin) read(ctx context.Context, cl *vf.Client, svc *pb.ServiceRef) (*vf.Server, error) {
	id, err := serverID(svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	s, err := cl.Server(ctx, id, false)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the server")
	}
	return s, nil
}

// Suspend suspends the server; suspending a suspended server succeeds.
func (p *Plugin) Suspend(ctx context.Context, req *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	s, err := p.setSuspended(ctx, req.GetService(), true)
	if err != nil {
		return nil, err
	}
	return &pb.SuspendResponse{Status: status(s)}, nil
}

// Unsuspend lifts a suspension.
func (p *Plugin) Unsuspend(ctx context.Context, req *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	s, err := p.setSuspended(ctx, req.GetService(), false)
	if err != nil {
		return nil, err
	}
	return &pb.UnsuspendResponse{Status: status(s)}, nil
}

func (p *Plugin) setSuspended(ctx context.Context, svc *pb.ServiceRef, suspend bool) (*vf.Server, error) {
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

// Terminate deletes the server at once. A server VirtFusion no longer knows
// ({"msg":"server not found"}) is already terminated.
func (p *Plugin) Terminate(ctx context.Context, req *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	svc := req.GetService()
	ext := svc.GetExternalId()
	if ext == "" {
		// Never confirmed created: delete what a failed Create left, the
		// named server or the orphan of a lost answer.
		s, err := p.leftover(ctx, cl, svc)
		if err != nil {
			return nil, err
		}
		if s != nil {
			ext = strconv.FormatInt(s.ID, 10)
		}
	}
	done := &pb.TerminateResponse{Status: &pb.ServiceStatus{ExternalId: ext, State: pb.ServiceState_SERVICE_STATE_TERMINATED}}
	if ext == "" {
		return done, nil
	}
	id, err := serverID(ext)
	if err != nil {
		return done, nil
	}
	if err := cl.DeleteServer(ctx, id, 0); err != nil && !vf.IsNotFound(err) {
		return nil, errkind.FromAPI(err, "deleting the server")
	}
	p.lost.forget(svc.GetServiceId())
	return done, nil
}

// leftover finds what a Create that never answered left for a service: its
// named server, else the orphan of a lost answer. It creates no user.
func (p *Plugin) leftover(ctx context.Context, cl *vf.Client, svc *pb.ServiceRef) (*vf.Server, error) {
	ext, err := extRelationID(svc.GetCustomer().GetAccountId())
	if err != nil {
		return nil, err
	}
	u, err := cl.UserByExtRelationID(ctx, ext)
	switch {
	case vf.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, errkind.FromAPI(err, "finding the customer's VirtFusion user")
	}
	servers, err := cl.AllUserServers(ctx, u.ID)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing the customer's servers")
	}
	s, err := p.named(ctx, cl, servers, serverName(svc.GetServiceId()))
	if s != nil || err != nil {
		return s, err
	}
	_, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	pl, err := cfg.plan(svc.GetPlanOptions())
	if err != nil {
		return nil, nil
	}
	return p.adopt(ctx, cl, svc.GetServiceId(), u.ID, servers, pl)
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
