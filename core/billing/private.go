package billing

import (
	"context"

	"github.com/ezscale/platform/core/apperr"
)

// AttachPrivatePlan puts a service of the account on the account's private
// plan at that plan's price for the service's cycle, from now: a service
// staff set up by hand for an enterprise quote. Billing changes only (no
// proration of the running term, which was billed as it was; an issued
// renewal is re-priced); the backend keeps what staff provisioned, so no
// provisioner call is made. Staff only. Errors: NotFound (service_id),
// Invalid (plan_id: no such plan of the account), Conflict (the service
// has ended), Unprocessable (plan_id: another provisioner or service type,
// currency).
func (b *Billing) AttachPrivatePlan(ctx context.Context, accountID, serviceID, planID string) (*Service, error) {
	var out *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOfService(ctx, t, serviceID); err != nil {
			return err
		}
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && svc.AccountID != accountID) {
			return &apperr.Error{Code: apperr.NotFound, Message: "no such service", Fields: []apperr.FieldError{{Field: "service_id", Message: "no such service"}}}
		}
		if err != nil {
			return err
		}
		if !svc.Live() {
			return apperr.New(apperr.Conflict, "the service has ended (%s)", svc.Status).WithReason("service_" + svc.Status)
		}
		plan, err := b.catalog.PlanTx(ctx, t, planID)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && (plan.AccountID == nil || *plan.AccountID != accountID)) {
			return apperr.Field("plan_id", "no such plan of this account")
		}
		if err != nil {
			return err
		}
		cur, err := b.catalog.PlanTx(ctx, t, svc.PlanID)
		if err != nil {
			return err
		}
		if err := checkTarget(svc, cur, plan, "plan_id"); err != nil {
			return err
		}
		from := svc.PlanID
		svc.Terms.Price = plan.Price(svc.Terms.Cycle)
		svc.Terms.clearPending()
		if err := saveTerms(ctx, t, svc.Terms, append([]string{"price"}, pendingColumns...)...); err != nil {
			return err
		}
		if err := b.services.AttachPlanIn(ctx, t, svc.Service, plan.ID); err != nil {
			return err
		}
		t.Audit("billing.service.plan_attached", accountID, "service", svc.ID, map[string]any{"from": from, "plan": plan.ID, "price": svc.Terms.Price})
		if err := b.repriceRenewal(ctx, t, svc); err != nil {
			return err
		}
		out, err = b.serviceTx(ctx, t, svc.ID, false)
		return err
	})
	return out, err
}
