package catalog

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
)

// PrivatePlanInput makes an account's private plan from a base plan.
type PrivatePlanInput struct {
	AccountID  string
	BasePlanID string
	// Slug and Name of the new plan; MonthlyPrice in the base plan's
	// currency (the plan is offered monthly only).
	Slug, Name   string
	MonthlyPrice int64
}

// CreatePrivatePlanTx creates, in the caller's transaction, a plan only
// in.AccountID may have: a copy of the base plan's provisioner, service
// type, specs and options at the given monthly price, monthly only, out
// of the public catalog. Errors: Invalid (base_plan_id: no such plan;
// monthly_price), Unprocessable (base_plan_id: a free-tier or another
// account's private plan).
func (cat *Catalog) CreatePrivatePlanTx(ctx context.Context, tx bun.Tx, in PrivatePlanInput) (*Plan, error) {
	base, err := planByRef(ctx, tx, in.BasePlanID, "base_plan_id")
	if err != nil {
		return nil, err
	}
	switch {
	case base.FreeTier:
		return nil, apperr.Refusal("base_plan_id", "free_tier", "a free-tier plan cannot be the base of a custom plan")
	case base.AccountID != nil && *base.AccountID != in.AccountID:
		return nil, apperr.Field("base_plan_id", "no such plan")
	case in.MonthlyPrice < 0 || in.MonthlyPrice > money.MaxAmount:
		return nil, apperr.Field("monthly_price", "must be from 0 to %d minor units", money.MaxAmount)
	}
	now := cat.now()
	p := *base
	p.ID, p.AccountID, p.Slug, p.Name, p.MonthlyPrice = newID(), &in.AccountID, in.Slug, in.Name, in.MonthlyPrice
	p.QuarterlyPrice, p.AnnualPrice, p.BiennialPrice = nil, nil, nil
	p.Cycles, p.Active, p.CreatedAt, p.UpdatedAt = string(money.Monthly), true, now, now
	if _, err := tx.NewInsert().Model(&p).Exec(ctx); err != nil {
		return nil, fmt.Errorf("catalog: inserting private plan: %w", err)
	}
	if err := appendAudit(ctx, tx, "billing.plan.create", in.AccountID, "plan", p.ID,
		map[string]any{"slug": p.Slug, "monthly_price": p.MonthlyPrice, "currency": p.Currency, "private": true, "base": base.ID}); err != nil {
		return nil, err
	}
	return &p, nil
}
