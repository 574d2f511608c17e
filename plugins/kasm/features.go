package main

import (
	"context"
	"strings"

	"github.com/ezscale/platform/plugins/kasm/kasmapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Power maps onto sessions: boot starts one (if none), shutdown ends them,
// restart does both.
func (p *Plugin) Power(ctx context.Context, req *pb.PowerRequest) (*pb.PowerResponse, error) {
	action := req.GetAction()
	if action != pb.PowerAction_POWER_ACTION_BOOT && action != pb.PowerAction_POWER_ACTION_SHUTDOWN && action != pb.PowerAction_POWER_ACTION_RESTART {
		return nil, sdk.FieldErrorf("action", "unknown power action %s", action)
	}
	return outcomesPower.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.PowerResponse, error) {
		cl, cfg, err := p.current()
		if err != nil {
			return nil, err
		}
		svc := req.GetService()
		w, err := p.load(ctx, cl, svc.GetExternalId())
		if err != nil {
			return nil, err
		}
		if w.user.Disabled && action != pb.PowerAction_POWER_ACTION_SHUTDOWN {
			return nil, sdk.Errorf(sdk.Conflict, "the workspace is suspended")
		}
		if action != pb.PowerAction_POWER_ACTION_BOOT {
			if err := p.stop(ctx, cl, w); err != nil {
				return nil, err
			}
		}
		if action != pb.PowerAction_POWER_ACTION_SHUTDOWN && len(w.sessions) == 0 {
			imageID, err := cfg.image(svc.GetPlanOptions())
			if err != nil {
				return nil, err
			}
			k, _, err := p.start(ctx, cl, w.user.UserID, imageID)
			if err != nil {
				return nil, err
			}
			w.sessions = []kasmapi.Kasm{k}
		}
		return &pb.PowerResponse{Status: w.status()}, nil
	})
}

// LoginURL returns the URL of the workspace's running session, starting a
// session when there is none. A session still coming up (just started, or
// "starting" with Kasm's "This session is currently starting." beside it)
// answers Unavailable with a retry-after, which the core turns into a 503
// with Retry-After; the session is not requested again.
func (p *Plugin) LoginURL(ctx context.Context, req *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	svc := req.GetService()
	w, err := p.load(ctx, cl, svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	if w.user.Disabled {
		return nil, sdk.Errorf(sdk.Conflict, "the workspace is suspended")
	}
	if len(w.sessions) == 0 {
		imageID, err := cfg.image(svc.GetPlanOptions())
		if err != nil {
			return nil, err
		}
		k, kasmURL, err := p.start(ctx, cl, w.user.UserID, imageID)
		if err != nil {
			return nil, err
		}
		return loginURL(cl, k.OperationalStatus, kasmURL)
	}
	st, err := cl.KasmStatus(ctx, w.sessions[0].KasmID, w.user.UserID)
	if err != nil {
		return nil, fromAPI(err, "reading the session")
	}
	return loginURL(cl, st.Status(), st.KasmURL)
}

// loginURL is the link of a running session, or Unavailable (retry after
// startingRetry) while it is not running yet.
func loginURL(cl *kasmapi.Client, status, kasmURL string) (*pb.LoginURLResponse, error) {
	if status != kasmapi.StatusRunning || kasmURL == "" {
		if status == "" {
			status = kasmapi.StatusStarting
		}
		return nil, sdk.UnavailableError(startingRetry, "the workspace session is %s; try again in a few seconds", status)
	}
	return &pb.LoginURLResponse{Url: cl.URL(kasmURL)}, nil
}

// ResetPassword sets the workspace user's password (generated when none is
// given).
func (p *Plugin) ResetPassword(ctx context.Context, req *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	return outcomesResetPassword.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.ResetPasswordResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		w, err := p.load(ctx, cl, req.GetService().GetExternalId())
		if err != nil {
			return nil, err
		}
		pw, generated := req.GetNewPassword(), ""
		if pw == "" {
			pw = newPassword()
			generated = pw
		}
		if _, err := cl.UpdateUser(ctx, kasmapi.UserUpdate{UserID: w.user.UserID, Username: w.user.Username, Password: &pw}); err != nil {
			return nil, fromAPI(err, "setting the password")
		}
		return &pb.ResetPasswordResponse{Status: w.status(), Password: generated}, nil
	})
}

// ListAccounts lists this plugin's users that have sessions (Kasm lists
// sessions, not users, without paging).
func (p *Plugin) ListAccounts(ctx context.Context, _ *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
	cl, cfg, err := p.current()
	if err != nil {
		return nil, err
	}
	all, err := cl.Kasms(ctx)
	if err != nil {
		return nil, fromAPI(err, "listing sessions")
	}
	out := &pb.ListAccountsResponse{}
	seen := map[string]bool{}
	for _, k := range all {
		if !strings.HasPrefix(k.Username, cfg.prefix) || seen[k.UserID] {
			continue
		}
		seen[k.UserID] = true
		state := pb.ServiceState_SERVICE_STATE_ACTIVE
		if kasmapi.IsPending(k.OperationalStatus) {
			state = pb.ServiceState_SERVICE_STATE_PENDING
		}
		out.Accounts = append(out.Accounts, &pb.RemoteAccount{ExternalId: k.UserID, State: state, Label: k.Username,
			Attributes: map[string]string{"session": k.KasmID, "image": k.Image.FriendlyName}})
	}
	return out, nil
}

// Interface guards: the capabilities Describe reports come from these.
var (
	_ sdk.Plugin           = (*Plugin)(nil)
	_ sdk.ConfigValidator  = (*Plugin)(nil)
	_ sdk.Provisioner      = (*Plugin)(nil)
	_ sdk.PasswordResetter = (*Plugin)(nil)
	_ sdk.AccountLister    = (*Plugin)(nil)
	_ sdk.PowerController  = (*Plugin)(nil)
	_ sdk.LoginURLProvider = (*Plugin)(nil)
)
