package main

import (
	"context"
	"errors"
	"time"

	"github.com/ezscale/platform/plugins/internal/idem"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Validate checks that the plan's image exists and is enabled.
func (p *Plugin) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	var ds sdk.Diagnostics
	if req.GetService().GetServiceId() == "" {
		ds = append(ds, sdk.FieldError("service.service_id", "is required")...)
	}
	imageID, err := cfg.image(req.GetService().GetPlanOptions())
	if err != nil {
		var se *sdk.Error
		if !errors.As(err, &se) {
			return nil, err
		}
		ds = append(ds, sdk.FieldError(se.Field, se.Message)...)
		return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
	}
	images, err := cl.Images(ctx)
	if err != nil {
		return nil, fromAPI(err, "listing images")
	}
	found := false
	for _, img := range images {
		if img.ImageID == imageID {
			found = true
			if !img.Enabled || !img.Available {
				ds = append(ds, sdk.FieldError("plan_options.image_id", "the image "+img.FriendlyName+" is disabled or unavailable")...)
			}
		}
	}
	if !found {
		ds = append(ds, sdk.FieldError("plan_options.image_id", "no Kasm image has id "+imageID)...)
	}
	return &pb.ValidateResponse{Diagnostics: sdk.DiagnosticsToProto(ds)}, nil
}

// TestConnection checks the key by listing images.
func (p *Plugin) TestConnection(ctx context.Context, _ *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	if _, err := cl.Images(ctx); err != nil {
		return nil, fromAPI(err, "connecting to Kasm")
	}
	return &pb.TestConnectionResponse{Message: "connected to Kasm Workspaces"}, nil
}

// HealthCheck checks that Kasm answers with our key.
func (p *Plugin) HealthCheck(ctx context.Context, _ *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	r, err := p.TestConnection(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &pb.HealthCheckResponse{Message: r.GetMessage()}, nil
}

// Create finds or creates the service's user and starts its first session
// unless it has one. Idempotent per key, and across restarts through the
// user's name.
func (p *Plugin) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	return idem.Do(ctx, p.idem, "create:"+req.GetIdempotencyKey(), func(ctx context.Context) (*pb.CreateResponse, error) {
		cl, cfg, err := p.current()
		if err != nil {
			return nil, err
		}
		svc := req.GetService()
		imageID, err := cfg.image(svc.GetPlanOptions())
		if err != nil {
			return nil, err
		}
		if svc.GetServiceId() == "" {
			return nil, sdk.FieldErrorf("service.service_id", "is required")
		}
		name := cfg.username(svc.GetServiceId())
		u, err := cl.UserByUsername(ctx, name)
		created := false
		if kasmapi.IsNotFound(err) {
			first, last := splitName(svc.GetCustomer().GetName())
			pw := req.GetPassword()
			if pw == "" {
				pw = newPassword()
			}
			u, err = cl.CreateUser(ctx, kasmapi.NewUser{Username: name, FirstName: first, LastName: last, Password: pw})
			created = true
		}
		if err != nil {
			return nil, fromAPI(err, "creating the Kasm user")
		}
		// A user created just now has no sessions; listing them all (Kasm
		// has no per-user filter) is only needed for one found again.
		w := &workspace{user: u}
		if !created {
			if w, err = p.withSessions(ctx, cl, u); err != nil {
				return nil, err
			}
		}
		if len(w.sessions) == 0 && !u.Disabled {
			k, _, err := p.start(ctx, cl, u.UserID, imageID)
			if err != nil {
				return nil, err
			}
			w.sessions = []kasmapi.Kasm{k}
		}
		return &pb.CreateResponse{Status: w.status()}, nil
	})
}

// start requests a session and reads it back (one session, not the whole
// list); kasmURL is set once it runs. Once Kasm has the session, start does
// not fail: a session still coming up (or whose read-back failed) is
// reported as starting, and the next call finds it among the user's
// sessions, so a retry never requests a second one.
func (p *Plugin) start(ctx context.Context, cl *kasmapi.Client, userID, imageID string) (k kasmapi.Kasm, kasmURL string, err error) {
	nk, err := cl.RequestKasm(ctx, kasmapi.RequestKasm{UserID: userID, ImageID: imageID})
	if err != nil {
		return kasmapi.Kasm{}, "", fromAPI(err, "starting a session")
	}
	pending := kasmapi.Kasm{KasmID: nk.KasmID, UserID: userID, OperationalStatus: kasmapi.StatusStarting}
	st, err := cl.KasmStatus(ctx, nk.KasmID, userID)
	switch {
	case err != nil:
		return pending, "", nil
	case st.Kasm != nil:
		return *st.Kasm, st.KasmURL, nil
	}
	if s := st.Status(); s != "" {
		pending.OperationalStatus = s
	}
	return pending, "", nil
}

// stop ends every session of the workspace; sessions already gone are fine.
func (p *Plugin) stop(ctx context.Context, cl *kasmapi.Client, w *workspace) error {
	for _, k := range w.sessions {
		if err := cl.DestroyKasm(ctx, k.KasmID, w.user.UserID); err != nil && !kasmapi.IsNotFound(err) {
			return fromAPI(err, "ending a session")
		}
	}
	w.sessions = nil
	return nil
}

// Suspend disables the user and ends its sessions.
func (p *Plugin) Suspend(ctx context.Context, req *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	w, err := p.setDisabled(ctx, req.GetService(), true)
	if err != nil {
		return nil, err
	}
	return &pb.SuspendResponse{Status: w.status()}, nil
}

// Unsuspend enables the user again; a session starts on the next LoginURL
// or Power boot.
func (p *Plugin) Unsuspend(ctx context.Context, req *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	w, err := p.setDisabled(ctx, req.GetService(), false)
	if err != nil {
		return nil, err
	}
	return &pb.UnsuspendResponse{Status: w.status()}, nil
}

func (p *Plugin) setDisabled(ctx context.Context, svc *pb.ServiceRef, disabled bool) (*workspace, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	w, err := p.load(ctx, cl, svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	if w.user.Disabled != disabled {
		// update_user refuses a change without the username.
		u, err := cl.UpdateUser(ctx, kasmapi.UserUpdate{UserID: w.user.UserID, Username: w.user.Username, Disabled: &disabled})
		if err != nil {
			return nil, fromAPI(err, "changing the user's suspension")
		}
		w.user = u
	}
	if disabled {
		if err := p.stop(ctx, cl, w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Terminate deletes the user and its sessions. A user Kasm no longer knows
// (delete_user answers "Unknown user (<id>)") is already terminated, so a
// second Terminate succeeds.
func (p *Plugin) Terminate(ctx context.Context, req *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	svc := req.GetService()
	userID := svc.GetExternalId()
	if userID == "" {
		// The Create answer was lost: find the user by name.
		u, err := cl.UserByUsername(ctx, cfg.username(svc.GetServiceId()))
		switch {
		case err == nil:
			userID = u.UserID
		case !kasmapi.IsNotFound(err):
			return nil, fromAPI(err, "looking for the Kasm user")
		}
	}
	done := &pb.TerminateResponse{Status: &pb.ServiceStatus{ExternalId: userID, State: pb.ServiceState_SERVICE_STATE_TERMINATED}}
	if userID == "" {
		return done, nil
	}
	if err := cl.DeleteUser(ctx, userID, true); err != nil && !kasmapi.IsNotFound(err) {
		return nil, fromAPI(err, "deleting the Kasm user")
	}
	return done, nil
}

// GetInfo reads the user and its sessions.
func (p *Plugin) GetInfo(ctx context.Context, req *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	w, err := p.load(ctx, cl, req.GetService().GetExternalId())
	if err != nil {
		return nil, err
	}
	return &pb.GetInfoResponse{Status: w.status()}, nil
}

// startingRetry is how long the core should wait for a session that is
// still starting.
const startingRetry = 5 * time.Second
