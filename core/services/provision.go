package services

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/txwork"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ProvisionJob creates a paid service at its provisioner; core/provisioning
// works it. The services domain queues it when an order's service starts provisioning
// (and when staff retry one). Version is the service's state version when
// it was queued: a staff retry is a new version, so it is queued even while
// the previous job is still finishing.
type ProvisionJob struct {
	ServiceID string `json:"service_id"`
	Version   int    `json:"version"`
}

// Kind keeps the kind jobs queued before core/provisioning worked them had.
func (ProvisionJob) Kind() string { return "billing_provision" }

// InsertOpts: one live job per service and version.
func (ProvisionJob) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

func failureEvent(svc *Service, attempt int, msg string) audit.Event {
	return audit.Event{
		Action: "billing.service.provision_failed", Result: audit.Failure, AccountID: svc.AccountID,
		TargetType: "service", TargetID: svc.ID, Changes: map[string]any{"attempts": attempt, "error": msg},
	}
}

// RecordProvisionFailure records a failed Create of attempt: on the
// service (attempts, last error) and in the audit log, with a capacity
// alert to staff when the backend is full. final (attempts spent, or an
// error waiting cannot heal) fails the service: its order's payment
// returns to credit and the customer is told.
func (s *Services) RecordProvisionFailure(ctx context.Context, serviceID string, plan *catalog.Plan, attempt int, cause error, final bool) error {
	msg := database.Text(cause.Error(), 500)
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		if final {
			// The failure's reactions post to the ledger: take the
			// account's locks before the service's, in the order every
			// other path takes them.
			if err := s.lockAccountOf(ctx, t, serviceID); err != nil {
				return err
			}
		}
		svc, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		if sdk.IsKind(cause, sdk.Capacity) {
			if err := s.alertCapacity(ctx, t, svc, plan, msg); err != nil {
				return err
			}
		}
		svc.ProvisionAttempts, svc.LastError = attempt, msg
		if !final {
			svc.UpdatedAt = s.now()
			if _, err := t.NewUpdate().Model(svc).WherePK().Column("provision_attempts", "last_error", "updated_at").Exec(ctx); err != nil {
				return fmt.Errorf("services: recording provisioning failure: %w", err)
			}
			t.Audit("billing.service.provision_retry", svc.AccountID, "service", svc.ID, map[string]any{"attempt": attempt, "error": msg})
			return nil
		}
		return s.failProvisioning(ctx, t, svc, attempt, msg, "it could not be set up: "+msg)
	})
}

// alertCapacity tells staff, once per provisioning run of a service, that
// its backend has no room: a shortage heals only when someone adds a node,
// allocations or addresses. The attempts go on meanwhile.
func (s *Services) alertCapacity(ctx context.Context, t *txwork.Tx, svc *Service, plan *catalog.Plan, msg string) error {
	key := fmt.Sprintf("billing.capacity:%s:v%d", svc.ID, svc.StateVersion)
	t.Audit("billing.service.capacity_shortage", svc.AccountID, "service", svc.ID, map[string]any{"plugin": plan.Plugin, "plan": plan.ID, "error": msg})
	return s.tell(ctx, t, notify.Event{Type: notify.AdminAlert, Key: key, Link: "/admin/services/" + svc.ID,
		Data: map[string]any{
			"title": fmt.Sprintf("No capacity at %s for plan %s", plan.Plugin, plan.Name),
			"message": fmt.Sprintf("Service %s (plan %s, plugin %s) cannot be created: %s. Provisioning is retried with backoff (%d attempts); "+
				"add capacity at the backend, or the order fails and its payment returns to the customer's credit.",
				svc.ID, plan.Slug, plan.Plugin, msg, s.opts.ProvisionMaxAttempts),
		}})
}

// RecordProvisioned stores what Create returned. A backend that is ready
// makes the service active; one still installing (PENDING, or an install
// already failed: ERROR) leaves it provisioning with backend_state
// "installing", and a readiness job polls the backend until it is ready.
func (s *Services) RecordProvisioned(ctx context.Context, serviceID, planID, planName string, st *pb.ServiceStatus) error {
	return s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		svc, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		svc.ExternalID, svc.Attributes = st.GetExternalId(), EncodeJSON(st.GetAttributes())
		// The create call carried the add-ons' options as they were then.
		svc.BackendPlanID, svc.BackendOptionsVersion, svc.LastError = planID, svc.OptionsVersion, ""
		if installing(st.GetState()) {
			return s.startWaitingForBackend(ctx, t, svc)
		}
		return s.activate(ctx, t, svc, planID, planName)
	})
}

// activate makes a service whose backend is ready active and tells the
// customer.
func (s *Services) activate(ctx context.Context, t *txwork.Tx, svc *Service, planID, planName string) error {
	now := s.now()
	svc.BackendState, svc.ActivatedAt, svc.LastError = backendActive, &now, ""
	if err := s.SetStatusIn(ctx, t, svc, StatusActive, "external_id", "attributes", "backend_state", "backend_plan_id", "backend_options_version", "activated_at", "last_error"); err != nil {
		return err
	}
	if svc.PlanID != planID {
		s.enqueueSync(t, svc) // the plan changed while it was created
	}
	t.Audit("billing.service.provisioned", svc.AccountID, "service", svc.ID, map[string]any{"external_id": svc.ExternalID})
	return s.tell(ctx, t, notify.Event{Type: notify.ServiceProvisioned, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
		Data: map[string]any{"service_id": svc.ID, "service_name": s.Name(ctx, t, svc), "plan": planName}})
}

// RestartProvisioningIn starts provisioning a failed service again in t
// (staff retry it; billing first checks that its order was not refunded).
// Errors: Conflict (not failed, or created at the backend).
func (s *Services) RestartProvisioningIn(ctx context.Context, t *txwork.Tx, svc *Service) error {
	if svc.Status != StatusFailed {
		return apperr.New(apperr.Conflict, "only a failed service can be provisioned again").WithReason("service_" + svc.Status)
	}
	if svc.ExternalID != "" {
		return apperr.New(apperr.Conflict, "the backend created this service and it failed to install; it is removed there, and the customer orders again").WithReason("created_at_backend")
	}
	if err := s.StartProvisioningIn(ctx, t, svc); err != nil {
		return err
	}
	t.Audit("billing.service.provision_restart", svc.AccountID, "service", svc.ID, nil)
	return nil
}
