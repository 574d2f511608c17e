package services

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/txwork"
)

// Backend states recorded after the provisioner confirmed a call.
const (
	backendActive     = "active"
	backendSuspended  = "suspended"
	backendTerminated = "terminated"
)

// SyncJob brings a service's backend to its wanted state: suspended,
// unsuspended, terminated, or on its new plan. The services domain queues
// it with every change of that state; core/provisioning works it. Version is the
// wanted-state version that queued it, so every change queues a job even
// while an earlier one is still running; each job converges on the latest
// state.
type SyncJob struct {
	ServiceID string `json:"service_id"`
	Version   int    `json:"version"`
}

// Kind keeps the kind jobs queued before core/provisioning worked them had.
func (SyncJob) Kind() string { return "billing_service_sync" }

// InsertOpts: one live job per service and version; a job re-reads the
// wanted state after each call until it has converged, and the daily run
// re-queues any service still out of step.
func (SyncJob) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

func (s *Services) enqueueSync(t *txwork.Tx, svc *Service) {
	t.Enqueue(SyncJob{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
}

// The calls a backend sync makes, each bringing the backend one step
// closer to the service's wanted state.
const (
	BackendTerminate  = "terminate"
	BackendSuspend    = "suspend"
	BackendUnsuspend  = "unsuspend"
	BackendChangePlan = "change_plan"
)

// BackendStep is the one provisioner call that brings a service's backend
// closer to its wanted state (Action, "" when it is in step), and the
// backend state recorded once the provisioner confirmed it.
type BackendStep struct {
	Action string
	State  string
}

// NextBackendStep decides what the backend of svc must do next: the
// status machine's word on what a service's backend should be.
func NextBackendStep(svc *Service) BackendStep {
	switch {
	case !svc.atBackend():
		return BackendStep{} // never created at the backend
	case (svc.Status == StatusTerminated || svc.Status == StatusCancelled) && svc.BackendState != backendTerminated,
		svc.Status == StatusFailed && svc.BackendState == backendInstalling:
		// An ended service, or one whose install failed or never finished
		// (its order refunded): nothing of it may stay at the backend.
		return BackendStep{BackendTerminate, backendTerminated}
	case svc.Status == StatusSuspended && svc.BackendState == backendActive:
		return BackendStep{BackendSuspend, backendSuspended}
	case svc.Status == StatusActive && svc.BackendState == backendSuspended:
		return BackendStep{BackendUnsuspend, backendActive}
	case (svc.Status == StatusActive || svc.Status == StatusSuspended) && backendBehind(svc):
		// A new plan, or add-ons with provisioner options added or removed:
		// the backend gets the whole new option set.
		return BackendStep{BackendChangePlan, svc.BackendState}
	}
	return BackendStep{}
}

// RecordBackendStep records a step the provisioner confirmed for svc (the
// service as the step was decided): the backend's new state, and after a
// plan change the plan and options it now runs.
func (s *Services) RecordBackendStep(ctx context.Context, svc *Service, step BackendStep) error {
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		cur, err := s.ServiceTx(ctx, t, svc.ID, true)
		if err != nil {
			return err
		}
		cur.BackendState, cur.BackendPlanID, cur.BackendOptionsVersion, cur.LastError, cur.UpdatedAt = step.State, svc.PlanID, svc.OptionsVersion, "", s.now()
		if step.Action != BackendChangePlan {
			cur.BackendPlanID, cur.BackendOptionsVersion = svc.BackendPlanID, svc.BackendOptionsVersion
		}
		if _, err := t.NewUpdate().Model(cur).WherePK().Column("backend_state", "backend_plan_id", "backend_options_version", "last_error", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("services: recording %s of %s: %w", step.Action, svc.ID, err)
		}
		t.Audit("billing.service.backend_"+step.Action, svc.AccountID, "service", svc.ID, map[string]any{"version": svc.StateVersion})
		return nil
	})
}

// RecordSyncFailure records a failed backend call on the service (its
// last error; backend_state stays the backend's last confirmed state) and
// in the audit log; final says no retry follows.
func (s *Services) RecordSyncFailure(ctx context.Context, svc *Service, cause error, final bool) error {
	msg := database.Text(cause.Error(), 500)
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		if _, err := t.NewUpdate().Model((*Service)(nil)).Set("last_error = ?", msg).Set("updated_at = ?", s.now()).
			Where("id = ?", svc.ID).Exec(ctx); err != nil {
			return fmt.Errorf("services: recording sync failure: %w", err)
		}
		action := "billing.service.backend_retry"
		if final {
			action = "billing.service.backend_failed"
		}
		t.Audit(action, svc.AccountID, "service", svc.ID, map[string]any{"error": msg, "status": svc.Status, "backend_state": svc.BackendState})
		return nil
	})
}

// backendBehind reports whether the provisioner runs an older plan or
// older add-on options than the service has.
func backendBehind(svc *Service) bool {
	return (svc.BackendPlanID != "" && svc.BackendPlanID != svc.PlanID) ||
		(svc.BackendState != "" && svc.OptionsVersion != svc.BackendOptionsVersion)
}

// QueueOutOfStep queues a sync for every service whose backend state does
// not match its status (a sync job lost to a crash, or one that gave up),
// batch services per transaction: the billing run's safety net of the
// event-driven syncs.
func (s *Services) QueueOutOfStep(ctx context.Context, batch int) error {
	after := ""
	for {
		var rows []struct {
			ID      string `bun:"id"`
			Version int    `bun:"state_version"`
		}
		err := s.db.Conn(ctx).NewSelect().Model((*Service)(nil)).Column("s.id", "s.state_version").Where("s.id > ?", after).
			WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("s.status = ? AND s.backend_state = ?", StatusSuspended, backendActive).
					WhereOr("s.status = ? AND s.backend_state = ?", StatusActive, backendSuspended).
					WhereOr("s.status = ? AND s.backend_state = ?", StatusFailed, backendInstalling).
					WhereOr("s.status IN (?) AND s.backend_state IN (?)", bun.List([]string{StatusTerminated, StatusCancelled}), bun.List([]string{backendActive, backendSuspended, backendInstalling})).
					WhereOr("s.status IN (?) AND s.backend_plan_id <> '' AND s.backend_plan_id <> s.plan_id", bun.List([]string{StatusActive, StatusSuspended})).
					WhereOr("s.status IN (?) AND s.backend_state <> '' AND s.backend_options_version <> s.options_version", bun.List([]string{StatusActive, StatusSuspended}))
			}).OrderExpr("s.id ASC").Limit(int64(batch)).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("services: selecting services out of step: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		after = rows[len(rows)-1].ID
		params := make([]river.InsertManyParams, len(rows))
		for i, r := range rows {
			params[i] = river.InsertManyParams{Args: SyncJob{ServiceID: r.ID, Version: r.Version}}
		}
		if err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return s.jobs.InsertManyTx(ctx, tx, params) }); err != nil {
			return err
		}
	}
}
