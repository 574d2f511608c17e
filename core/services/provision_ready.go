package services

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/txwork"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// backendInstalling: Create succeeded but the backend is still installing
// (a game server's egg, a VPS's OS build, a workspace starting). The
// service stays provisioning until the backend reports it ready.
const backendInstalling = "installing"

// installing reports whether a state returned by Create means the backend
// is not ready yet: still installing, or already failed doing so (the
// readiness job then fails the service with the backend's word).
func installing(st pb.ServiceState) bool {
	return st == pb.ServiceState_SERVICE_STATE_PENDING || st == pb.ServiceState_SERVICE_STATE_ERROR
}

// ReadyJob polls the backend of a service created but still installing,
// one GetInfo call per run, until it is ready, reports a failed install,
// or InstallTimeout has passed since Since (then the service fails). Each
// run that finds it still installing snoozes for InstallPollInterval: a
// short job repeated, never a long wait inside one. It is queued when
// Create answers that the backend is installing; core/provisioning works
// it.
type ReadyJob struct {
	ServiceID string `json:"service_id" river:"unique"`
	Version   int    `json:"version" river:"unique"`
	// Since is when Create answered (the services domain's clock).
	Since time.Time `json:"since"`
}

// Kind keeps the kind jobs queued before core/provisioning worked them had.
func (ReadyJob) Kind() string { return "billing_provision_ready" }

// InsertOpts: one live job per service and version.
func (ReadyJob) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

// Installing reports whether a service is waiting for its backend to
// finish installing it, the state ReadyJob follows.
func (svc *Service) Installing() bool {
	return svc.Status == StatusProvisioning && svc.BackendState == backendInstalling
}

// startWaitingForBackend records a created service whose backend is still
// installing and queues the first readiness poll.
func (s *Services) startWaitingForBackend(ctx context.Context, t *txwork.Tx, svc *Service) error {
	svc.BackendState, svc.UpdatedAt = backendInstalling, s.now()
	if _, err := t.NewUpdate().Model(svc).WherePK().Column("external_id", "attributes", "backend_state", "backend_plan_id",
		"backend_options_version", "last_error", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("services: recording the installing backend of %s: %w", svc.ID, err)
	}
	t.Audit("billing.service.backend_installing", svc.AccountID, "service", svc.ID, map[string]any{"external_id": svc.ExternalID})
	t.Enqueue(ReadyJob{ServiceID: svc.ID, Version: svc.StateVersion, Since: s.now()},
		&river.InsertOpts{ScheduledAt: time.Now().Add(s.opts.InstallPollInterval)})
	return nil
}

// ActivateInstalled makes a service whose backend reported it ready
// active, keeping the attributes the backend returned (none keeps those
// Create returned), and tells the customer. A service that is no longer
// waiting for its install is left as it is.
func (s *Services) ActivateInstalled(ctx context.Context, serviceID string, attrs map[string]string, planName string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		cur, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if !cur.Installing() {
			return nil
		}
		if len(attrs) > 0 {
			cur.Attributes = EncodeJSON(attrs)
		}
		return s.activate(ctx, t, cur, cur.BackendPlanID, planName)
	})
}

// RecordInstallProblem shows why the readiness of a service cannot be
// read now, without failing it.
func (s *Services) RecordInstallProblem(ctx context.Context, serviceID string, cause error) error {
	msg := database.Text(cause.Error(), 500)
	_, err := s.db.Conn(ctx).NewUpdate().Model((*Service)(nil)).Set("last_error = ?", msg).Set("updated_at = ?", s.now()).
		Where("id = ?", serviceID).Where("status = ?", StatusProvisioning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("services: recording the install problem of %s: %w", serviceID, err)
	}
	return nil
}

// FailInstall fails a service whose backend never became ready, for
// reason (shown to the customer): its order's payment returns to credit
// and the half-made server is removed at the backend.
func (s *Services) FailInstall(ctx context.Context, serviceID, reason string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		if err := s.lockAccountOf(ctx, t, serviceID); err != nil {
			return err
		}
		svc, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if !svc.Installing() {
			return nil
		}
		svc.LastError = database.Text(reason, 500)
		return s.failProvisioning(ctx, t, svc, svc.ProvisionAttempts, svc.LastError, reason)
	})
}

// failProvisioning ends a provisioning for good: the service is failed
// (its reason in last_error), audited, the customer and staff are told,
// the failure's reactions run (billing returns the order's payment to
// credit), and a server the backend created but never finished installing
// is terminated there. svc is locked in t, after the reactions' account
// locks (lockAccountOf).
func (s *Services) failProvisioning(ctx context.Context, t *txwork.Tx, svc *Service, attempt int, msg, reason string) error {
	svc.ProvisionAttempts, svc.LastError = attempt, msg
	if err := s.SetStatusIn(ctx, t, svc, StatusFailed, "provision_attempts", "last_error"); err != nil {
		return err
	}
	t.AuditEvent(failureEvent(svc, attempt, msg))
	if svc.BackendState == backendInstalling {
		s.enqueueSync(t, svc) // the half-made server goes: the order is refunded
	}
	if err := s.tell(ctx, t, notify.Event{Type: notify.ServiceFailed, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
		Data: map[string]any{"service_id": svc.ID, "service_name": s.Name(ctx, t, svc), "reason": reason}}); err != nil {
		return err
	}
	for _, r := range s.failure {
		if err := r.Failed(ctx, t, svc); err != nil {
			return err
		}
	}
	return nil
}

// lockAccountOf takes, in t, the account locks the failure reactions
// need, before the service's row is locked.
func (s *Services) lockAccountOf(ctx context.Context, t *txwork.Tx, serviceID string) error {
	if len(s.failure) == 0 {
		return nil
	}
	accountID, err := s.AccountOf(ctx, t, serviceID)
	if err != nil || accountID == "" {
		return err // missing: the caller's own lookup reports NotFound
	}
	for _, r := range s.failure {
		if r.LockAccount == nil {
			continue
		}
		if err := r.LockAccount(ctx, t.Tx, accountID); err != nil {
			return err
		}
	}
	return nil
}
