package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/services"
)

// A service's provisioner plugin and service type are fixed for its life:
// its external_id means something only to the plugin that created it, so
// a plan on another plugin would hand that id (another customer's server at
// the other backend) to a plugin that never made it, while the service's
// own server ran on unbilled. Every path that puts a service on another
// plan checks the rule here, in keepsBackend:
//
//   - ChangePlan, now and at the end of the term, for customers and staff,
//     and for core/scheduler's scheduled changes when they are applied;
//   - CheckPlanChange, for core/scheduler when a change is scheduled;
//   - UpdatePlan, so that a plan with live services (or a change scheduled
//     onto it) keeps its plugin and service type.
//
// Add-ons never change a service's plan: their options reach the plugin
// of the service's own plan.

// ReasonBackendFixed is the reason of the refusal of a plan on another
// provisioner plugin or service type.
const ReasonBackendFixed = "service_backend_fixed"

// keepsBackend refuses next as the plan of a service now on cur when it is
// served by another provisioner plugin or is of another service type.
func keepsBackend(cur, next *catalog.Plan, field string) error {
	switch {
	case next.ServiceType != cur.ServiceType:
		return apperr.Refusal(field, ReasonBackendFixed,
			"this is a %s plan and the service is a %s service: a service's service type and provisioner never change; order the plan as a new service instead",
			next.ServiceType, cur.ServiceType)
	case next.Plugin != cur.Plugin:
		// The plugins' names are the operator's, not the customer's.
		return apperr.Refusal(field, ReasonBackendFixed,
			"this plan is provisioned by another backend than the service: a service's provisioner and service type never change; order the plan as a new service instead")
	}
	return nil
}

// checkTarget applies the rules a service's new plan must meet whatever
// the cycle and timing: the same provisioner and service type, the same
// tier kind (free or paid), orderable (unless it is the service's own), and
// priced in the service's currency.
func checkTarget(svc *Service, cur, plan *catalog.Plan, field string) error {
	if err := keepsBackend(cur, plan, field); err != nil {
		return err
	}
	if cur.FreeTier != plan.FreeTier {
		// A free-tier service is a development sandbox under its own
		// rules (one per account, verified customers, inactivity
		// termination): it cannot become a paid one, and a paid one
		// cannot move onto the free tier. Order the other plan instead.
		return apperr.Refusal(field, "free_tier_plan_change", "a free-tier service cannot change to a paid plan, nor a paid one to a free-tier plan; order the plan instead")
	}
	switch {
	case plan.AccountID != nil && *plan.AccountID != svc.AccountID:
		return apperr.Field(field, "no such plan")
	case !plan.Active && plan.ID != svc.PlanID:
		return apperr.Refusal(field, "plan_unavailable", "this plan can no longer be ordered")
	case plan.Currency != svc.Terms.Currency:
		return apperr.Refusal(field, "currency_mismatch", "this plan is priced in %s", plan.Currency)
	}
	return nil
}

// CheckPlanChange checks, without changing anything, that the account's
// service may move to the plan planRef (an id or a slug) under the rules
// ChangePlan applies, and returns that plan. core/scheduler calls it when a
// change is scheduled (ChangePlan checks again when it is applied); it
// joins the ambient transaction. Errors: NotFound (the service), Invalid
// (plan_id), Conflict (service not active or being cancelled),
// Unprocessable (plan_id: another provisioner or service type, free tier,
// archived, currency).
func (b *Billing) CheckPlanChange(ctx context.Context, accountID, serviceID, planRef string) (*catalog.Plan, error) {
	var plan *catalog.Plan
	err := b.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		svc, err := b.serviceTx(ctx, tx, serviceID, false)
		if err != nil {
			return err
		}
		if accountID != "" && svc.AccountID != accountID {
			return apperr.NotFoundf("no such service")
		}
		if err := changeable(svc); err != nil {
			return err
		}
		cur, err := b.catalog.PlanTx(ctx, tx, svc.PlanID)
		if err != nil {
			return err
		}
		if plan, err = b.catalog.PlanByRef(ctx, tx, planRef, "plan_id"); err != nil {
			return err
		}
		return checkTarget(svc, cur, plan, "plan_id")
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// changeable refuses a plan change of a service that is not running on a
// paid term or is being cancelled.
func changeable(svc *Service) error {
	if (svc.Status != services.StatusActive && svc.Status != services.StatusSuspended) || svc.Terms.PeriodEnd == nil || svc.Terms.CancelAtPeriodEnd {
		return apperr.New(apperr.Conflict, "only an active service that is not being cancelled can change plan").WithReason("service_" + svc.Status)
	}
	return nil
}

// KeepsBackendInUse refuses a plan update that moves a plan with live
// services, or with changes scheduled onto it, to another provisioner
// plugin or service type: those services would follow the plan to a
// backend that never created them.
func KeepsBackendInUse(ctx context.Context, tx bun.IDB, old, next *catalog.Plan) error {
	if old.Plugin == next.Plugin && old.ServiceType == next.ServiceType {
		return nil
	}
	var pending []string
	if err := tx.NewSelect().Model((*Terms)(nil)).Column("service_id").Where("pending_plan_id = ?", old.ID).Scan(ctx, &pending); err != nil {
		return fmt.Errorf("billing: listing changes scheduled onto plan %s: %w", old.ID, err)
	}
	n, err := services.CountLive(ctx, tx, old.ID, pending)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	field, what := "plugin", fmt.Sprintf("provisioner %q", old.Plugin)
	if old.ServiceType != next.ServiceType {
		field, what = "service_type", fmt.Sprintf("service type %s", old.ServiceType)
	}
	return apperr.Refusal(field, ReasonBackendFixed,
		"%d live service(s) use this plan and keep its %s for life: create a new plan instead", n, what)
}
