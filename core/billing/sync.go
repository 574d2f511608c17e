package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Backend states recorded after the provisioner confirmed a call.
const (
	backendActive     = "active"
	backendSuspended  = "suspended"
	backendTerminated = "terminated"
)

// syncArgs brings a service's backend to its wanted state: suspended,
// unsuspended, terminated, or on its new plan. Version is the wanted-state
// version that queued it, so every change queues a job even while an
// earlier one is still running; each job converges on the latest state.
type syncArgs struct {
	ServiceID string `json:"service_id"`
	Version   int    `json:"version"`
}

func (syncArgs) Kind() string { return "billing_service_sync" }

// InsertOpts: one live job per service and version; a job re-reads the
// wanted state after each call until it has converged, and the daily run
// re-queues any service still out of step.
func (syncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

func (b *Billing) enqueueSync(t *txn, svc *Service) {
	t.Enqueue(syncArgs{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
}

type syncWorker struct {
	river.WorkerDefaults[syncArgs]
	b *Billing
}

func (w *syncWorker) Timeout(*river.Job[syncArgs]) time.Duration { return w.b.timeout(5 * time.Minute) }

// NextRetry spaces the retries of a job that failed on its own; a failed
// plugin call is retried by a snooze (retryLater).
func (w *syncWorker) NextRetry(job *river.Job[syncArgs]) time.Time { return w.b.nextRetry(job.Attempt) }

// Work makes at most a few calls, re-reading the service after each, so a
// change made while it ran is followed too. Every call's idempotency key
// carries the wanted-state version, so a retried job never repeats a call
// the backend already acted on and a new version is a new call. A failed
// call is written on the service (last_error, with backend_state still the
// backend's last confirmed state) and retried with backoff, never sooner
// than the plugin's retry-after; the daily run re-queues a service still
// out of step after the attempts.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[syncArgs]) error {
	b := w.b
	for range 4 {
		svc, err := b.Service(ctx, "", job.Args.ServiceID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return river.JobCancel(err)
		}
		if err != nil {
			return err
		}
		done, err := b.syncOnce(ctx, svc)
		if errors.Is(err, errPluginDown) {
			return b.waitForPlugin(ctx, job.JobRow)
		}
		if err != nil {
			attempt := attemptOf(job.JobRow)
			final := attempt >= b.opts.ProvisionMaxAttempts || !sdk.IsRetryable(err)
			if rerr := b.recordSyncFailure(ctx, svc, err, final); rerr != nil {
				return rerr
			}
			if final {
				return river.JobCancel(err)
			}
			return b.retryLater(attempt, err)
		}
		if done {
			return nil
		}
	}
	return nil
}

// syncOnce makes the one call that brings the backend closer to the wanted
// state and records it; done reports there was nothing left to do.
func (b *Billing) syncOnce(ctx context.Context, svc *Service) (bool, error) {
	if svc.ExternalID == "" && svc.BackendState == "" {
		return true, nil // never created at the backend
	}
	plan, err := b.catalog.PlanTx(ctx, b.db.Conn(ctx), svc.PlanID)
	if err != nil {
		return false, err
	}
	ref, err := b.serviceRef(ctx, svc, plan)
	if err != nil {
		return false, err
	}
	if b.pluginDown(plan.Plugin) {
		return false, errPluginDown
	}
	key := func(op string) string { return fmt.Sprintf("%s:%s:v%d", op, svc.ID, svc.StateVersion) }
	var action, state string
	prov, err := b.provisioner(plan.Plugin)
	if err != nil {
		return false, err
	}
	switch {
	case (svc.Status == StatusTerminated || svc.Status == StatusCancelled) && svc.BackendState != backendTerminated,
		svc.Status == StatusFailed && svc.BackendState == backendInstalling:
		// An ended service, or one whose install failed or never finished
		// (its order refunded): nothing of it may stay at the backend.
		action, state = "terminate", backendTerminated
		_, err = prov.Terminate(ctx, &pb.TerminateRequest{Service: ref, IdempotencyKey: key("terminate")})
	case svc.Status == StatusSuspended && svc.BackendState == backendActive:
		action, state = "suspend", backendSuspended
		reasons, lerr := b.Suspensions(ctx, svc.ID, true)
		if lerr != nil {
			return false, lerr
		}
		reason := ""
		if len(reasons) > 0 {
			reason = reasons[0].Reason
		}
		_, err = prov.Suspend(ctx, &pb.SuspendRequest{Service: ref, IdempotencyKey: key("suspend"), Reason: reason})
	case svc.Status == StatusActive && svc.BackendState == backendSuspended:
		action, state = "unsuspend", backendActive
		_, err = prov.Unsuspend(ctx, &pb.UnsuspendRequest{Service: ref, IdempotencyKey: key("unsuspend")})
	case (svc.Status == StatusActive || svc.Status == StatusSuspended) && backendBehind(svc):
		// A new plan, or add-ons with provisioner options added or removed:
		// the backend gets the whole new option set.
		action, state = "change_plan", svc.BackendState
		_, err = prov.ChangePlan(ctx, &pb.ChangePlanRequest{Service: ref, IdempotencyKey: key("change_plan"), NewPlanOptions: ref.GetPlanOptions()})
	default:
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", action, err)
	}
	return false, b.inTx(ctx, func(ctx context.Context, t *txn) error {
		cur, err := b.serviceTx(ctx, t, svc.ID, true)
		if err != nil {
			return err
		}
		cur.BackendState, cur.BackendPlanID, cur.BackendOptionsVersion, cur.LastError, cur.UpdatedAt = state, svc.PlanID, svc.OptionsVersion, "", b.now()
		if action != "change_plan" {
			cur.BackendPlanID, cur.BackendOptionsVersion = svc.BackendPlanID, svc.BackendOptionsVersion
		}
		if _, err := t.NewUpdate().Model(cur).WherePK().Column("backend_state", "backend_plan_id", "backend_options_version", "last_error", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording %s of %s: %w", action, svc.ID, err)
		}
		t.Audit("billing.service.backend_"+action, svc.AccountID, "service", svc.ID, map[string]any{"version": svc.StateVersion})
		return nil
	})
}

func (b *Billing) recordSyncFailure(ctx context.Context, svc *Service, cause error, final bool) error {
	msg := truncate(cause.Error(), 500)
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := t.NewUpdate().Model((*Service)(nil)).Set("last_error = ?", msg).Set("updated_at = ?", b.now()).
			Where("id = ?", svc.ID).Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording sync failure: %w", err)
		}
		action := "billing.service.backend_retry"
		if final {
			action = "billing.service.backend_failed"
		}
		t.Audit(action, svc.AccountID, "service", svc.ID, map[string]any{"error": msg, "status": svc.Status, "backend_state": svc.BackendState})
		return nil
	})
}
