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
// across restarts through the server's name; a crash between creating and
// naming a server (one request apart) can leave an unnamed server behind.
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
	name := serverName(svc.GetServiceId())
	existing, err := p.findServer(ctx, cl, user.ID, name)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.State != vf.StateAllocated {
		return existing, nil
	}
	id := int64(0)
	if existing != nil {
		// Created earlier but not built: finish the job.
		id = existing.ID
	} else {
		s, err := cl.CreateServer(ctx, vf.CreateServerRequest{PackageID: pl.packageID, UserID: user.ID, HypervisorID: pl.groupID, IPv4: int(pl.ipv4)}, false)
		if err != nil {
			return nil, errkind.FromAPI(err, "creating the server")
		}
		id = s.ID
		// Name it at once so that a repeat finds it even if the build fails.
		if err := cl.ModifyName(ctx, id, name); err != nil {
			return nil, errkind.FromAPI(err, "naming the server")
		}
	}
	built, err := cl.BuildServer(ctx, id, vf.BuildRequest{OperatingSystemID: pl.osTemplateID, Name: name, Hostname: pl.hostname})
	if err != nil {
		return nil, errkind.FromAPI(err, "building the server")
	}
	return built, nil
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

// findServer returns the user's server with the given name, or nil.
func (p *Plugin) findServer(ctx context.Context, cl *vf.Client, userID int64, name string) (*vf.Server, error) {
	list, err := cl.UserServers(ctx, userID)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing the customer's servers")
	}
	for _, s := range list {
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
		// Never confirmed created: delete what a crashed Create left.
		u, err := p.user(ctx, cl, svc.GetCustomer())
		if err != nil {
			return nil, err
		}
		s, err := p.findServer(ctx, cl, u.ID, serverName(svc.GetServiceId()))
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
