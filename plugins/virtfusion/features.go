package main

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/internal/errkind"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ChangePlan moves the server to the new plan's package, applying all of its
// resources (VirtFusion never shrinks the primary disk).
func (p *Plugin) ChangePlan(ctx context.Context, req *pb.ChangePlanRequest) (*pb.ChangePlanResponse, error) {
	return outcomesChangePlan.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.ChangePlanResponse, error) {
		cl, cfg, err := p.current()
		if err != nil {
			return nil, err
		}
		pl, err := cfg.plan(req.GetNewPlanOptions())
		if err != nil {
			return nil, err
		}
		id, err := serverID(req.GetService().GetExternalId())
		if err != nil {
			return nil, err
		}
		if _, err := cl.ChangePackage(ctx, id, pl.packageID, vf.ApplyAll); err != nil {
			return nil, errkind.FromAPI(err, "changing the package")
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		return &pb.ChangePlanResponse{Status: status(s)}, nil
	})
}

// ResetPassword resets the server's root password. VirtFusion chooses the
// password, so a requested one is refused.
func (p *Plugin) ResetPassword(ctx context.Context, req *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	if req.GetNewPassword() != "" {
		return nil, sdk.FieldErrorf("new_password", "VirtFusion generates root passwords; leave it empty")
	}
	return outcomesResetPassword.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.ResetPasswordResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		reset, err := cl.ResetServerPassword(ctx, s.ID, "root", false)
		if err != nil {
			return nil, errkind.FromAPI(err, "resetting the root password")
		}
		return &pb.ResetPasswordResponse{Status: status(s), Password: reset.ExpectedPassword}, nil
	})
}

// ListAccounts pages through every server; the page token is the next page
// number.
func (p *Plugin) ListAccounts(ctx context.Context, req *pb.ListAccountsRequest) (*pb.ListAccountsResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	page := 1
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return nil, sdk.FieldErrorf("page_token", "not a token this plugin issued")
		}
		page = n
	}
	size := int(req.GetPageSize())
	if size <= 0 || size > 200 {
		size = 200
	}
	list, err := cl.Servers(ctx, vf.ListServersOptions{ListOptions: vf.ListOptions{Page: page, Results: size}})
	if err != nil {
		return nil, errkind.FromAPI(err, "listing servers")
	}
	out := &pb.ListAccountsResponse{}
	for _, s := range list.Data {
		state := pb.ServiceState_SERVICE_STATE_ACTIVE
		if s.Suspended {
			state = pb.ServiceState_SERVICE_STATE_SUSPENDED
		}
		out.Accounts = append(out.Accounts, &pb.RemoteAccount{
			ExternalId: strconv.FormatInt(s.ID, 10), State: state, Label: s.Name,
			Attributes: map[string]string{"uuid": s.UUID, "owner_id": strconv.FormatInt(s.Owner, 10),
				"hypervisor_id": strconv.FormatInt(s.HypervisorID, 10)},
		})
	}
	if list.NextPageURL != nil && page < list.LastPage {
		out.NextPageToken = strconv.Itoa(page + 1)
	}
	return out, nil
}

// Usage combines the live state read from the hypervisor with the traffic of
// the current period.
func (p *Plugin) Usage(ctx context.Context, req *pb.UsageRequest) (*pb.UsageResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	id, err := serverID(req.GetService().GetExternalId())
	if err != nil {
		return nil, err
	}
	s, err := cl.Server(ctx, id, true)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the server's live state")
	}
	tr, err := cl.Traffic(ctx, id)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the server's traffic")
	}
	res := s.Settings.Resources
	out := &pb.UsageResponse{
		RamTotalBytes:  res.Memory << 20,
		DiskTotalBytes: res.Storage << 30,
		SampledAt:      timestamppb.Now(),
	}
	if rs := s.RemoteState; rs != nil {
		out.CpuPercent = rs.CPU
		// remoteState.state is the only documented running flag.
		if rs.State == vf.PowerRunning {
			out.RamUsedBytes = max(0, rs.Memory.Actual-rs.Memory.Unused) << 10
		}
		out.DiskUsedBytes = rs.Disk.Allocation
	}
	if len(tr.Monthly) > 0 {
		// Newest period first.
		cur := tr.Monthly[0]
		out.BandwidthInBytes, out.BandwidthOutBytes = cur.RX, cur.TX
		out.BandwidthLimitBytes = cur.Limit << 30
	}
	return out, nil
}

// Power boots, shuts down or restarts the server.
func (p *Plugin) Power(ctx context.Context, req *pb.PowerRequest) (*pb.PowerResponse, error) {
	var action vf.PowerAction
	switch req.GetAction() {
	case pb.PowerAction_POWER_ACTION_BOOT:
		action = vf.PowerBoot
	case pb.PowerAction_POWER_ACTION_SHUTDOWN:
		action = vf.PowerShutdown
	case pb.PowerAction_POWER_ACTION_RESTART:
		action = vf.PowerRestart
	default:
		return nil, sdk.FieldErrorf("action", "unknown power action %s", req.GetAction())
	}
	return outcomesPower.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.PowerResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		id, err := serverID(req.GetService().GetExternalId())
		if err != nil {
			return nil, err
		}
		queue, err := cl.Power(ctx, id, action)
		if err != nil {
			return nil, errkind.FromAPI(err, "sending the power action")
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		st := status(s)
		st.Attributes["power_queue_id"] = strconv.FormatInt(queue, 10)
		return &pb.PowerResponse{Status: st}, nil
	})
}

// LoginURL returns a single-use SSO link into the panel on the server's
// page: the panel's origin followed by the token path it answers.
func (p *Plugin) LoginURL(ctx context.Context, req *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	svc := req.GetService()
	ext, err := extRelationID(svc.GetCustomer().GetAccountId())
	if err != nil {
		return nil, err
	}
	id, err := serverID(svc.GetExternalId())
	if err != nil {
		return nil, err
	}
	tok, err := cl.ServerAuthenticationTokens(ctx, ext, id)
	if err != nil {
		return nil, errkind.FromAPI(err, "requesting login tokens")
	}
	// endpoint_complete is a path on the panel's own origin.
	link, err := cl.PanelURL(tok.EndpointComplete)
	if err != nil || tok.EndpointComplete == "" {
		return nil, sdk.Errorf(sdk.Internal, "the panel answered no usable login link: %v", err)
	}
	out := &pb.LoginURLResponse{Url: link}
	if t, err := time.Parse(time.RFC3339, tok.Expiry.Expires); err == nil {
		out.ExpiresAt = timestamppb.New(t)
	} else if tok.Expiry.TTL > 0 {
		out.ExpiresAt = timestamppb.New(time.Now().Add(time.Duration(tok.Expiry.TTL) * time.Second))
	}
	return out, nil
}

// Capacity reports every hypervisor of every group.
func (p *Plugin) Capacity(ctx context.Context, _ *pb.CapacityRequest) (*pb.CapacityResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	groups, err := cl.AllHypervisorGroups(ctx)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing hypervisor groups")
	}
	out := &pb.CapacityResponse{}
	for _, g := range groups {
		res, err := cl.HypervisorGroupResources(ctx, g.ID)
		if err != nil {
			return nil, errkind.FromAPI(err, "reading hypervisor group resources")
		}
		for _, h := range res.Hypervisors {
			free := h.Servers.Free
			if !h.Enabled || h.Maintenance {
				free = 0
			}
			out.Nodes = append(out.Nodes, &pb.NodeCapacity{
				NodeId: strconv.FormatInt(h.ID, 10), Name: h.Name, Region: g.Name,
				CpuTotal: h.CPUCores.Max, CpuUsed: h.CPUCores.Allocated,
				RamTotalBytes: h.Memory.Max << 20, RamUsedBytes: h.Memory.Allocated << 20,
				DiskTotalBytes: h.Storage.Max << 30, DiskUsedBytes: h.Storage.Allocated << 30,
				FreeSlots: free,
			})
		}
	}
	return out, nil
}

// Action ids.
const (
	actionListBackups   = "list_backups"
	actionSetBackupPlan = "set_backup_plan"
)

// ListActions describes the VirtFusion-specific operations.
func (p *Plugin) ListActions(context.Context, *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
	return &pb.ListActionsResponse{Actions: []*pb.ActionDescriptor{
		{Id: actionListBackups, Label: "List backups", Description: "The server's backups (VirtFusion has no API to start one).", CustomerVisible: true},
		{Id: actionSetBackupPlan, Label: "Set backup plan", Description: "Assign a VirtFusion backup plan; 0 removes it.",
			Params: []*pb.ActionParam{{Name: "plan_id", Label: "Backup plan id", Type: pb.ParamType_PARAM_TYPE_INT, Required: true}}},
	}}, nil
}

// InvokeAction runs one of ListActions' operations.
func (p *Plugin) InvokeAction(ctx context.Context, req *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
	switch req.GetActionId() {
	case actionListBackups, actionSetBackupPlan:
	default:
		return nil, sdk.Errorf(sdk.NotFound, "no action %q", req.GetActionId())
	}
	return outcomesAction.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.InvokeActionResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		id, err := serverID(req.GetService().GetExternalId())
		if err != nil {
			return nil, err
		}
		params := req.GetParams().AsMap()
		switch req.GetActionId() {
		case actionListBackups:
			backups, err := cl.Backups(ctx, id)
			if err != nil {
				return nil, errkind.FromAPI(err, "listing backups")
			}
			list := make([]any, 0, len(backups))
			for _, b := range backups {
				list = append(list, map[string]any{"id": float64(b.ID), "storage": b.Storage.Name, "complete": b.Complete, "created": b.Created})
			}
			result, err := structpb.NewStruct(map[string]any{"backups": list})
			if err != nil {
				return nil, sdk.Errorf(sdk.Internal, "encoding backups: %v", err)
			}
			return &pb.InvokeActionResponse{Message: strconv.Itoa(len(backups)) + " backup(s)", Result: result}, nil
		default:
			plan, ok := params["plan_id"].(float64)
			if !ok || plan < 0 || plan != float64(int64(plan)) {
				return nil, sdk.FieldErrorf("params.plan_id", "must be a non-negative integer")
			}
			if err := cl.SetBackupPlan(ctx, id, int64(plan)); err != nil {
				return nil, errkind.FromAPI(err, "setting the backup plan")
			}
			return &pb.InvokeActionResponse{Message: "backup plan set"}, nil
		}
	})
}

// Interface guards: the capabilities Describe reports come from these.
var (
	_ sdk.Plugin           = (*Plugin)(nil)
	_ sdk.ConfigValidator  = (*Plugin)(nil)
	_ sdk.Provisioner      = (*Plugin)(nil)
	_ sdk.PlanChanger      = (*Plugin)(nil)
	_ sdk.PasswordResetter = (*Plugin)(nil)
	_ sdk.AccountLister    = (*Plugin)(nil)
	_ sdk.UsageReporter    = (*Plugin)(nil)
	_ sdk.PowerController  = (*Plugin)(nil)
	_ sdk.LoginURLProvider = (*Plugin)(nil)
	_ sdk.ActionProvider   = (*Plugin)(nil)
	_ sdk.CapacityReporter = (*Plugin)(nil)
)
