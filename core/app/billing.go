package app

import (
	"context"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/scheduler"
)

// billingPlanChanger applies the scheduler's scheduled plan changes through
// billing's plan change, joining the scheduler's transaction (billing's
// methods join the ambient one) and calling no plugin inside it: the
// backend's ChangePlan is the sync job billing queues (core/provisioning
// works it). A change the customer
// scheduled happens when they chose, so it is applied "now": an upgrade
// with its prorated invoice, a downgrade with its prorated credit.
type billingPlanChanger struct{ b *billing.Billing }

// CheckPlanChange applies billing's rules for the service's new plan when
// the change is scheduled (the plan named by id or slug), naming the
// scheduler's field to_plan_id in a refusal.
func (c billingPlanChanger) CheckPlanChange(ctx context.Context, accountID, serviceID, toPlan string) (string, error) {
	plan, err := c.b.CheckPlanChange(ctx, accountID, serviceID, toPlan)
	if err != nil {
		return "", renameField(err, "plan_id", "to_plan_id")
	}
	return plan.ID, nil
}

// renameField renames a field of an application error (billing's names to
// the scheduler's).
func renameField(err error, from, to string) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]apperr.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if f.Field == from {
			f.Field = to
		}
		out.Fields[i] = f
	}
	return &out
}

func (c billingPlanChanger) ChangePlan(ctx context.Context, accountID, serviceID, toPlanID string) (*scheduler.PlanChangeOutcome, error) {
	res, err := c.b.ChangePlan(ctx, accountID, serviceID, billing.ChangeInput{PlanID: toPlanID, When: "now"})
	if err != nil {
		return nil, err
	}
	out := &scheduler.PlanChangeOutcome{ChangeID: res.Change.ID, Prorated: res.Change.Prorated, Currency: string(res.Service.Terms.Currency)}
	if res.Invoice != nil {
		out.InvoiceID = res.Invoice.ID
	}
	return out, nil
}

// AddAddon applies a scheduled add-on through billing's AddAddon, in the
// scheduler's transaction like ChangePlan: the add-on's price for the days
// left in the cycle is invoiced then, and a backend change (add-on
// options) is billing's sync job.
func (c billingPlanChanger) AddAddon(ctx context.Context, accountID, serviceID, addonID string, quantity int) (*scheduler.PlanChangeOutcome, error) {
	res, err := c.b.AddAddon(ctx, accountID, serviceID, billing.AddonAddInput{AddonID: addonID, Quantity: quantity})
	if err != nil {
		return nil, err
	}
	out := &scheduler.PlanChangeOutcome{Prorated: res.Prorated, Currency: string(res.Service.Terms.Currency)}
	if res.Invoice != nil {
		out.InvoiceID = res.Invoice.ID
	}
	return out, nil
}

var (
	_ scheduler.PlanChanger = billingPlanChanger{}
	_ scheduler.AddonAdder  = billingPlanChanger{}
)
