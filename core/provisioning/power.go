package provisioning

import (
	"context"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Power actions a customer can ask for.
const (
	PowerBoot     = "boot"
	PowerShutdown = "shutdown"
	PowerRestart  = "restart"
)

var powerActions = map[string]pb.PowerAction{
	PowerBoot:     pb.PowerAction_POWER_ACTION_BOOT,
	PowerShutdown: pb.PowerAction_POWER_ACTION_SHUTDOWN,
	PowerRestart:  pb.PowerAction_POWER_ACTION_RESTART,
}

// PowerResult is what the backend reported after a power action.
type PowerResult struct {
	Action string `json:"action"`
	// State is the backend's view after the call (active, suspended,
	// pending, error, …; "" when the plugin did not say).
	State string `json:"state"`
}

// Power boots, shuts down or restarts one of the account's services
// through its provisioner. key makes a repeated request (same
// Idempotency-Key) one action at the backend. Only an active service can be
// powered: a suspended one is refused, so suspension cannot be bypassed.
// The action counts as activity (free tier) and is audited, refusals by the
// backend included. Errors: NotFound (another account's service), Invalid,
// Conflict (not active; the backend refused), Unprocessable (the plugin has
// no power control), Unavailable (plugin or backend down).
func (s *Service) Power(ctx context.Context, accountID, serviceID, action, key string) (*PowerResult, error) {
	pa, ok := powerActions[action]
	if !ok {
		return nil, apperr.Field("action", "must be boot, shutdown or restart")
	}
	svc, err := s.activeService(ctx, accountID, serviceID, "powered")
	if err != nil {
		return nil, err
	}
	ref, plan, err := s.ProvisionerRef(ctx, svc)
	if err != nil {
		return nil, err
	}
	prov, err := s.provisioner(plan.Plugin, sdk.CapPower)
	if err != nil {
		return nil, err
	}
	if key == "" {
		key = newID()
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	resp, callErr := prov.Power(cctx, &pb.PowerRequest{Service: ref, IdempotencyKey: "power:" + svc.ID + ":" + key, Action: pa})
	ev := audit.Event{Action: "provisioning.service.power", AccountID: svc.AccountID, TargetType: "service", TargetID: svc.ID,
		Changes: map[string]any{"action": action}}
	if callErr != nil {
		ev.Result, ev.Changes["error"] = audit.Failure, database.Text(callErr.Error(), 300)
		_ = audit.LogDetached(ctx, s.db, ev, func(err error) { s.log.Warn("auditing a failed power action", "error", err) })
		return nil, backendError(action, callErr)
	}
	res := &PowerResult{Action: action, State: stateName(resp.GetStatus().GetState())}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.touch(ctx, tx, svc.AccountID, svc.ID, s.now()); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// LoginURL is a single sign-on link into the service's panel or session.
type LoginURL struct {
	URL       string     `json:"url"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// LoginURL asks the provisioner for a single sign-on link for one of the
// account's active services. The login counts as activity (free tier) and
// is audited (without the link, which is a credential). Errors: as Power.
func (s *Service) LoginURL(ctx context.Context, accountID, serviceID string) (*LoginURL, error) {
	svc, err := s.activeService(ctx, accountID, serviceID, "logged in to")
	if err != nil {
		return nil, err
	}
	ref, plan, err := s.ProvisionerRef(ctx, svc)
	if err != nil {
		return nil, err
	}
	prov, err := s.provisioner(plan.Plugin, sdk.CapLoginURL)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	resp, callErr := prov.LoginURL(cctx, &pb.LoginURLRequest{Service: ref})
	ev := audit.Event{Action: "provisioning.service.login", AccountID: svc.AccountID, TargetType: "service", TargetID: svc.ID}
	if callErr != nil {
		ev.Result, ev.Changes = audit.Failure, map[string]any{"error": database.Text(callErr.Error(), 300)}
		_ = audit.LogDetached(ctx, s.db, ev, func(err error) { s.log.Warn("auditing a failed login", "error", err) })
		return nil, backendError("login", callErr)
	}
	out := &LoginURL{URL: resp.GetUrl()}
	if resp.GetExpiresAt() != nil {
		t := resp.GetExpiresAt().AsTime().UTC()
		out.ExpiresAt = &t
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.touch(ctx, tx, svc.AccountID, svc.ID, s.now()); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// activeService loads one of the account's services and refuses any that
// is not active (verb says what was refused).
func (s *Service) activeService(ctx context.Context, accountID, serviceID, verb string) (*services.Service, error) {
	svc, err := s.services.Service(ctx, accountID, serviceID)
	if err != nil {
		return nil, err
	}
	if svc.Status != services.StatusActive {
		return nil, apperr.New(apperr.Conflict, "only an active service can be %s; this one is %s", verb, svc.Status).WithReason("service_" + svc.Status)
	}
	return svc, nil
}

func stateName(st pb.ServiceState) string {
	switch st {
	case pb.ServiceState_SERVICE_STATE_ACTIVE:
		return "active"
	case pb.ServiceState_SERVICE_STATE_SUSPENDED:
		return "suspended"
	case pb.ServiceState_SERVICE_STATE_PENDING:
		return "pending"
	case pb.ServiceState_SERVICE_STATE_TERMINATED:
		return "terminated"
	case pb.ServiceState_SERVICE_STATE_ERROR:
		return "error"
	}
	return ""
}
