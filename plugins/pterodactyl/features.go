package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/internal/errkind"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ChangePlan applies the new plan's limits and feature limits, keeping the
// server's allocations.
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
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		if _, err := cl.UpdateBuild(ctx, s.ID, pt.BuildRequest{Allocation: s.Allocation, Limits: pl.limits(), FeatureLimits: pl.featureLimits()}); err != nil {
			return nil, errkind.FromAPI(err, "changing the server's build")
		}
		s, err = p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		return &pb.ChangePlanResponse{Status: status(s)}, nil
	})
}

// ResetPassword sets the panel password of the server's owner (generated
// when none is given).
func (p *Plugin) ResetPassword(ctx context.Context, req *pb.ResetPasswordRequest) (*pb.ResetPasswordResponse, error) {
	return outcomesResetPassword.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.ResetPasswordResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		u, err := cl.User(ctx, s.User)
		if err != nil {
			return nil, errkind.FromAPI(err, "reading the server's owner")
		}
		if u.RootAdmin {
			// Never change an administrator's password from a customer's service.
			return nil, sdk.Errorf(sdk.Conflict, "the server belongs to a panel administrator")
		}
		pw, generated := req.GetNewPassword(), ""
		if pw == "" {
			pw = newPassword()
			generated = pw
		}
		ext := ""
		if u.ExternalID != nil {
			ext = *u.ExternalID
		}
		if _, err := cl.UpdateUser(ctx, u.ID, pt.UserRequest{Email: u.Email, Username: u.Username, FirstName: u.FirstName,
			LastName: u.LastName, ExternalID: ext, Language: u.Language, Password: pw}); err != nil {
			return nil, errkind.FromAPI(err, "setting the password")
		}
		return &pb.ResetPasswordResponse{Status: status(s), Password: generated}, nil
	})
}

// ListAccounts pages through every server; the page token is the next page.
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
	if size <= 0 || size > 100 {
		size = 100
	}
	list, err := cl.Servers(ctx, pt.ListOptions{Page: page, PerPage: size})
	if err != nil {
		return nil, errkind.FromAPI(err, "listing servers")
	}
	out := &pb.ListAccountsResponse{}
	for _, s := range list.Items() {
		st := status(&s)
		out.Accounts = append(out.Accounts, &pb.RemoteAccount{ExternalId: st.GetExternalId(), State: st.GetState(),
			Label: s.Name, Attributes: st.GetAttributes()})
	}
	if page < list.Meta.Pagination.TotalPages {
		out.NextPageToken = strconv.Itoa(page + 1)
	}
	return out, nil
}

// Usage reads the live resources. Network bytes count since the container
// started (Wings keeps no billing-period total).
func (p *Plugin) Usage(ctx context.Context, req *pb.UsageRequest) (*pb.UsageResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	s, err := p.read(ctx, cl, req.GetService())
	if err != nil {
		return nil, err
	}
	stats, err := cl.Resources(ctx, s.Identifier)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the server's resources")
	}
	r := stats.Resources
	return &pb.UsageResponse{
		CpuPercent:   r.CPUAbsolute,
		RamUsedBytes: r.MemoryBytes, RamTotalBytes: s.Limits.Memory << 20,
		DiskUsedBytes: r.DiskBytes, DiskTotalBytes: s.Limits.Disk << 20,
		BandwidthInBytes: r.NetworkRxBytes, BandwidthOutBytes: r.NetworkTxBytes,
		SampledAt: timestamppb.Now(),
	}, nil
}

// Power sends a power signal. A suspended or installing server answers
// Conflict.
func (p *Plugin) Power(ctx context.Context, req *pb.PowerRequest) (*pb.PowerResponse, error) {
	var signal pt.Signal
	switch req.GetAction() {
	case pb.PowerAction_POWER_ACTION_BOOT:
		signal = pt.SignalStart
	case pb.PowerAction_POWER_ACTION_SHUTDOWN:
		signal = pt.SignalStop
	case pb.PowerAction_POWER_ACTION_RESTART:
		signal = pt.SignalRestart
	default:
		return nil, sdk.FieldErrorf("action", "unknown power action %s", req.GetAction())
	}
	return outcomesPower.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.PowerResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		if err := cl.Power(ctx, s.Identifier, signal); err != nil {
			return nil, errkind.FromAPI(err, "sending the power signal")
		}
		return &pb.PowerResponse{Status: status(s)}, nil
	})
}

// RunScript types each non-empty line of the script into the server's
// console. The panel gives no output back, so the response says how many
// commands were sent.
func (p *Plugin) RunScript(ctx context.Context, req *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	var lines []string
	for l := range strings.SplitSeq(req.GetScript(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, sdk.FieldErrorf("script", "is empty")
	}
	return outcomesRunScript.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.RunScriptResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		for i, l := range lines {
			if err := cl.SendCommand(ctx, s.Identifier, l); err != nil {
				if pt.StatusCodeOf(err) == http.StatusBadGateway {
					// The panel's way of saying the server is not running.
					return nil, sdk.Errorf(sdk.Conflict, "the server must be running to take console commands (%d of %d sent)", i, len(lines))
				}
				return nil, errkind.FromAPI(err, "sending a console command")
			}
		}
		return &pb.RunScriptResponse{ExitCode: 0, Output: strconv.Itoa(len(lines)) + " command(s) sent to the console"}, nil
	})
}

// Capacity reports every node: memory and disk from the node's totals and
// allocated resources, slots from its free allocations (none in
// maintenance).
func (p *Plugin) Capacity(ctx context.Context, _ *pb.CapacityRequest) (*pb.CapacityResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	nodes, err := cl.AllNodes(ctx)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing nodes")
	}
	out := &pb.CapacityResponse{}
	for _, n := range nodes {
		free, err := cl.FreeAllocations(ctx, n.ID)
		if err != nil {
			return nil, errkind.FromAPI(err, "listing free allocations")
		}
		slots := int64(len(free))
		if n.MaintenanceMode {
			slots = 0
		}
		out.Nodes = append(out.Nodes, &pb.NodeCapacity{
			NodeId: strconv.FormatInt(n.ID, 10), Name: n.Name, Region: "location-" + strconv.FormatInt(n.LocationID, 10),
			RamTotalBytes: n.Memory << 20, RamUsedBytes: n.AllocatedResources.Memory << 20,
			DiskTotalBytes: n.Disk << 20, DiskUsedBytes: n.AllocatedResources.Disk << 20,
			FreeSlots: slots,
		})
	}
	return out, nil
}

// Action ids.
const (
	actionReinstall    = "reinstall"
	actionDeleteBackup = "delete_backup"
)

// ListActions describes the Pterodactyl-specific operations.
func (p *Plugin) ListActions(context.Context, *pb.ListActionsRequest) (*pb.ListActionsResponse, error) {
	return &pb.ListActionsResponse{Actions: []*pb.ActionDescriptor{
		{Id: actionReinstall, Label: "Reinstall", Description: "Run the egg's install script again; the server's files may be replaced.",
			Destructive: true, CustomerVisible: true},
		{Id: actionDeleteBackup, Label: "Delete backup", Description: "Delete one of the server's backups, which frees room under its backup limit.",
			Params:      []*pb.ActionParam{{Name: "backup_id", Label: "Backup id (from the backup list)", Type: pb.ParamType_PARAM_TYPE_STRING, Required: true}},
			Destructive: true, CustomerVisible: true},
	}}, nil
}

// InvokeAction runs one of ListActions' operations.
func (p *Plugin) InvokeAction(ctx context.Context, req *pb.InvokeActionRequest) (*pb.InvokeActionResponse, error) {
	switch req.GetActionId() {
	case actionReinstall, actionDeleteBackup:
	default:
		return nil, sdk.Errorf(sdk.NotFound, "no action %q", req.GetActionId())
	}
	backupID, _ := req.GetParams().AsMap()["backup_id"].(string)
	if req.GetActionId() == actionDeleteBackup && backupID == "" {
		return nil, sdk.FieldErrorf("params.backup_id", "is required")
	}
	return outcomesAction.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.InvokeActionResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		if req.GetActionId() == actionDeleteBackup {
			return p.deleteBackup(ctx, cl, req.GetService(), backupID)
		}
		id, err := serverID(req.GetService().GetExternalId())
		if err != nil {
			return nil, err
		}
		if err := cl.ReinstallServer(ctx, id); err != nil {
			return nil, errkind.FromAPI(err, "reinstalling the server")
		}
		return &pb.InvokeActionResponse{Message: "reinstall started"}, nil
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
	_ sdk.ScriptRunner     = (*Plugin)(nil)
	_ sdk.ActionProvider   = (*Plugin)(nil)
	_ sdk.CapacityReporter = (*Plugin)(nil)
	_ sdk.BackupManager    = (*Plugin)(nil)
)
