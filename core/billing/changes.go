package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// PlanChange records a change of plan or cycle and its proration.
type PlanChange struct {
	bun.BaseModel `bun:"table:plan_changes"`

	ID          string      `bun:"id,pk"`
	ServiceID   string      `bun:"service_id"`
	Kind        string      `bun:"kind"`   // upgrade, downgrade, cycle
	Timing      string      `bun:"timing"` // now, end_of_term
	FromPlanID  string      `bun:"from_plan_id"`
	ToPlanID    string      `bun:"to_plan_id"`
	FromCycle   money.Cycle `bun:"from_cycle"`
	ToCycle     money.Cycle `bun:"to_cycle"`
	FromPrice   int64       `bun:"from_price"`
	ToPrice     int64       `bun:"to_price"`
	Prorated    int64       `bun:"prorated"`
	DaysLeft    int         `bun:"days_left"`
	DaysInCycle int         `bun:"days_in_cycle"`
	InvoiceID   *string     `bun:"invoice_id"`
	// Status: scheduled (for the end of the term), applied, cancelled
	// (replaced by a later change); pending only inside the transaction
	// that applies it.
	Status      string     `bun:"status"`
	EffectiveAt time.Time  `bun:"effective_at"`
	CreatedAt   time.Time  `bun:"created_at"`
	AppliedAt   *time.Time `bun:"applied_at"`
}

// ChangeInput changes a service's plan and/or cycle.
type ChangeInput struct {
	PlanID string `json:"plan_id"`
	// Cycle, when set and different, applies from the next term.
	Cycle money.Cycle `json:"cycle"`
	// When: "" takes the default (an upgrade now, a downgrade or a cycle
	// change at the end of the term); "now" downgrades at once with the
	// unused days credited; "end_of_term" defers an upgrade too.
	When string `json:"when"`
}

// ChangeResult is what ChangePlan did.
type ChangeResult struct {
	Change  *PlanChange
	Service *Service
	// Invoice is an upgrade's proration invoice.
	Invoice *Invoice
	// Credit is an immediate downgrade's proration credit.
	Credit *ledger.Entry
}

// ChangePlan changes a service's plan or cycle (see docs/billing.md,
// "Plan changes"):
//
//   - Upgrade (the new plan costs more for the current cycle): now. The
//     new plan applies at once and the difference is invoiced for the days
//     left in the current cycle over the cycle's actual days (plus a whole
//     term paid ahead), due now: paid from credit or the saved card, and
//     dunned like any invoice when it is not.
//   - Downgrade: at the end of the term by default (the renewal is priced
//     on the new plan); with When "now", at once, the unused days of the
//     difference credited to the account.
//   - Cycle change: always at the end of the term; the new term is billed
//     at the new cycle's price with no proration.
//
// The plan is named by id or slug. A service's provisioner plugin and
// service type never change (see keepsBackend). A pending renewal invoice
// is re-priced for the new terms. Errors: NotFound, Invalid, Conflict
// (service not active, nothing to change), Unprocessable (plan_id: another
// provisioner or service type, not orderable, currency; cycle).
func (b *Billing) ChangePlan(ctx context.Context, accountID, serviceID string, in ChangeInput) (*ChangeResult, error) {
	if in.When != "" && in.When != "now" && in.When != "end_of_term" {
		return nil, apperr.Field("when", "must be now or end_of_term")
	}
	if in.Cycle != "" && !in.Cycle.Valid() {
		return nil, apperr.Field("cycle", "must be monthly, quarterly, annual or biennial")
	}
	res := &ChangeResult{}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOfService(ctx, t, serviceID); err != nil {
			return err
		}
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if accountID != "" && svc.AccountID != accountID {
			return apperr.NotFoundf("no such service")
		}
		if err := changeable(svc); err != nil {
			return err
		}
		plan, err := b.catalog.PlanByRef(ctx, t, in.PlanID, "plan_id")
		if err != nil {
			return err
		}
		cycle := in.Cycle
		if cycle == "" {
			cycle = svc.Terms.Cycle
		}
		cur, err := b.catalog.PlanTx(ctx, t, svc.PlanID)
		if err != nil {
			return err
		}
		if err := checkTarget(svc, cur, plan, "plan_id"); err != nil {
			return err
		}
		switch {
		case !plan.OffersCycle(cycle):
			return apperr.Refusal("cycle", "cycle_unavailable", "this plan is not offered %s", cycle)
		case plan.ID == svc.PlanID && cycle == svc.Terms.Cycle:
			return apperr.New(apperr.Conflict, "the service already has this plan and cycle").WithReason("no_change")
		}
		now := b.now()
		newPrice := plan.Price(svc.Terms.Cycle) // the new plan in the current cycle
		ch := &PlanChange{
			ID: newID(), ServiceID: svc.ID, FromPlanID: svc.PlanID, ToPlanID: plan.ID, FromCycle: svc.Terms.Cycle, ToCycle: cycle,
			FromPrice: svc.Terms.Price, ToPrice: newPrice, CreatedAt: now,
		}
		switch {
		case plan.ID == svc.PlanID:
			ch.Kind = "cycle"
		case newPrice > svc.Terms.Price:
			ch.Kind = "upgrade"
		default:
			ch.Kind = "downgrade"
		}
		ch.Timing = in.When
		if ch.Timing == "" {
			ch.Timing = map[string]string{"upgrade": "now", "downgrade": "end_of_term", "cycle": "end_of_term"}[ch.Kind]
		}
		if ch.Kind == "cycle" && ch.Timing == "now" {
			return apperr.Refusal("when", "cycle_change_end_of_term", "a change of cycle takes effect at the end of the term")
		}
		// Days are counted on calendar dates of the actual cycle (month
		// ends and leap days included); a term paid ahead counts whole.
		ch.DaysInCycle = money.Days(*svc.Terms.PeriodStart, *svc.Terms.PeriodEnd)
		ch.DaysLeft = min(max(money.Days(now, *svc.Terms.PeriodEnd), 0), ch.DaysInCycle)
		res.Change, res.Service = ch, svc
		if err := b.boundNextTerm(ctx, t, svc, plan.Price(cycle), cycle, "plan_id", "each term's total on this plan"); err != nil {
			return err
		}

		if ch.Timing == "end_of_term" {
			ch.Status, ch.EffectiveAt = "scheduled", *svc.Terms.PeriodEnd
			if _, err := t.NewUpdate().Table("plan_changes").Set("status = 'cancelled'").Where("service_id = ?", svc.ID).
				Where("status = 'scheduled'").Exec(ctx); err != nil {
				return fmt.Errorf("billing: replacing the scheduled change: %w", err)
			}
			if err := b.insertChange(ctx, t, ch); err != nil {
				return err
			}
			pendingPrice := plan.Price(cycle)
			svc.Terms.PendingPlanID, svc.Terms.PendingCycle, svc.Terms.PendingPrice = &plan.ID, &cycle, &pendingPrice
			if err := saveTerms(ctx, t, svc.Terms, pendingColumns...); err != nil {
				return err
			}
			if err := b.services.UpdateIn(ctx, t, svc.Service, services.Update{}); err != nil {
				return err
			}
			t.Audit("billing.service.change_scheduled", svc.AccountID, "service", svc.ID, changeAudit(ch))
			return b.repriceRenewal(ctx, t, svc)
		}

		// Now: the new plan applies at once, and the difference for the
		// paid time left is invoiced (upgrade) or credited (downgrade).
		ch.EffectiveAt, ch.Status = now, "pending"
		diff := newPrice - svc.Terms.Price
		parts := prorationParts(svc, now, max(diff, -diff))
		ch.DaysLeft, ch.DaysInCycle = parts[0].days, parts[0].of
		for _, pt := range parts {
			ch.Prorated += pt.amount
		}
		fromName := cur.Name
		if err := b.insertChange(ctx, t, ch); err != nil {
			return err
		}
		if err := b.applyChange(ctx, t, svc, ch); err != nil {
			return err
		}
		if ch.Kind == "upgrade" {
			t.Audit("billing.service.upgrade", svc.AccountID, "service", svc.ID, changeAudit(ch))
			if ch.Prorated > 0 {
				p, err := b.profileTx(ctx, t, svc.AccountID)
				if err != nil {
					return err
				}
				end := *svc.Terms.PeriodEnd
				d := newDraft(svc.AccountID, ReasonUpgrade, &svc.ID, svc.Terms.Currency, now, now)
				d.inv.PeriodStart, d.inv.PeriodEnd, d.field = &now, &end, "plan_id"
				for _, pt := range parts {
					d.add(LineProration, fmt.Sprintf("Upgrade %s → %s, %d of %d days (%s – %s)", fromName, plan.Name, pt.days, pt.of,
						pt.start.Format("2006-01-02"), pt.end.Format("2006-01-02")), &svc.ID, 1, pt.amount, &pt.start, &pt.end)
				}
				if err := b.createInvoice(ctx, t, d, p); err != nil {
					return err
				}
				if _, err := t.NewUpdate().Model(ch).WherePK().Set("invoice_id = ?", d.inv.ID).Exec(ctx); err != nil {
					return fmt.Errorf("billing: linking the upgrade invoice: %w", err)
				}
				ch.InvoiceID = &d.inv.ID
				if err := b.afterIssue(ctx, t, d.inv); err != nil {
					return err
				}
				res.Invoice = d.inv
			}
		} else {
			t.Audit("billing.service.downgrade", svc.AccountID, "service", svc.ID, changeAudit(ch))
			if ch.Prorated > money.MaxAmount {
				return tooLarge("plan_id", "the credit for the unused days", ch.Prorated, svc.Terms.Currency)
			}
			if ch.Prorated > 0 {
				res.Credit, err = b.creditArrived(ctx, t, ledger.Posting{
					AccountID: svc.AccountID, Currency: svc.Terms.Currency, Amount: ch.Prorated, Kind: ledger.KindProration,
					Reference: ch.ID, IdempotencyKey: "proration:" + ch.ID,
					Description: fmt.Sprintf("Downgrade %s → %s: %d unused of %d days", fromName, plan.Name, ch.DaysLeft, ch.DaysInCycle),
				}, "")
				if err != nil {
					return err
				}
			}
		}
		res.Service, err = b.serviceTx(ctx, t, svc.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prorationPart is the share of a price difference for part of a term.
type prorationPart struct {
	start, end time.Time
	days, of   int
	amount     int64
}

// prorationParts splits a price difference (per cycle) over the paid time
// left: the rest of the current term, counted in calendar days of that
// term; when the current term was paid ahead (it starts later), the rest
// of the term running now plus the whole term paid ahead.
func prorationParts(svc *Service, now time.Time, diff int64) []prorationPart {
	start, end := *svc.Terms.PeriodStart, *svc.Terms.PeriodEnd
	part := func(from, to, termStart, termEnd time.Time) prorationPart {
		of := money.Days(termStart, termEnd)
		days := min(max(money.Days(from, to), 0), of)
		return prorationPart{start: from, end: to, days: days, of: of, amount: money.Prorate(diff, days, of)}
	}
	if money.Date(now).Before(money.Date(start)) {
		prev := money.AddMonths(start, -svc.Terms.Cycle.Months(), svc.Terms.AnchorDay)
		return []prorationPart{part(now, start, prev, start), part(start, end, start, end)}
	}
	return []prorationPart{part(now, end, start, end)}
}

func changeAudit(ch *PlanChange) map[string]any {
	return map[string]any{"change": ch.ID, "kind": ch.Kind, "timing": ch.Timing, "from": ch.FromPlanID, "to": ch.ToPlanID,
		"to_cycle": ch.ToCycle, "prorated": ch.Prorated, "days_left": ch.DaysLeft, "days_in_cycle": ch.DaysInCycle}
}

func (b *Billing) insertChange(ctx context.Context, t *txn, ch *PlanChange) error {
	if _, err := t.NewInsert().Model(ch).Exec(ctx); err != nil {
		return fmt.Errorf("billing: recording plan change: %w", err)
	}
	return nil
}

// applyChange puts the service on the change's plan now (a new cycle
// waits for the next term), queues the backend's plan change and
// re-prices the pending renewal.
func (b *Billing) applyChange(ctx context.Context, t *txn, svc *Service, ch *PlanChange) error {
	now := b.now()
	svc.Terms.Price = ch.ToPrice
	svc.Terms.clearPending()
	if ch.ToCycle != svc.Terms.Cycle {
		plan, err := b.catalog.PlanTx(ctx, t, ch.ToPlanID)
		if err != nil {
			return err
		}
		price := plan.Price(ch.ToCycle)
		svc.Terms.PendingPlanID, svc.Terms.PendingCycle, svc.Terms.PendingPrice = &plan.ID, &ch.ToCycle, &price
	}
	if err := saveTerms(ctx, t, svc.Terms, append([]string{"price"}, pendingColumns...)...); err != nil {
		return err
	}
	if err := b.services.UpdateIn(ctx, t, svc.Service, services.Update{PlanID: ch.ToPlanID}); err != nil {
		return err
	}
	ch.Status, ch.AppliedAt = "applied", &now
	if _, err := t.NewUpdate().Model(ch).WherePK().Column("status", "applied_at").Exec(ctx); err != nil {
		return fmt.Errorf("billing: recording plan change: %w", err)
	}
	t.Audit("billing.service.plan_changed", svc.AccountID, "service", svc.ID, map[string]any{"plan": svc.PlanID, "price": svc.Terms.Price, "change": ch.ID})
	return b.repriceRenewal(ctx, t, svc)
}

// repriceRenewal rebuilds the service's open renewal invoice (already
// generated for the next term) from the service's current terms, keeping
// its number. What it had been paid beyond the new total returns to
// credit; a covered invoice becomes paid.
func (b *Billing) repriceRenewal(ctx context.Context, t *txn, svc *Service) error {
	old := &Invoice{}
	err := t.NewSelect().Model(old).Where("service_id = ?", svc.ID).Where("reason = ?", ReasonRenewal).
		Where("status = ?", InvoiceOpen).Where("period_start = ?", *svc.Terms.PeriodEnd).Scan(ctx)
	if database.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("billing: loading the pending renewal: %w", err)
	}
	var oldLines []InvoiceLine
	if err := t.NewSelect().Model(&oldLines).Where("invoice_id = ?", old.ID).Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading renewal lines: %w", err)
	}
	hadDiscount := false
	for _, l := range oldLines {
		hadDiscount = hadDiscount || l.Kind == LineDiscount
	}
	cat, err := b.catalog.PricedTx(ctx, t)
	if err != nil {
		return err
	}
	var addons []ServiceAddon
	if err := t.NewSelect().Model(&addons).Where("service_id = ?", svc.ID).Order("addon_id").Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading add-ons: %w", err)
	}
	var coupon *catalog.Coupon
	if id := svc.Terms.CouponID; id != nil {
		coupons, err := b.catalog.CouponsByID(ctx, t, []string{*id})
		if err != nil {
			return err
		}
		if coupon = coupons[*id]; coupon == nil {
			return fmt.Errorf("billing: coupon %s of service %s is gone", *id, svc.ID)
		}
	}
	p, err := b.profileTx(ctx, t, svc.AccountID)
	if err != nil {
		return err
	}
	d := renewalDraftWith(svc, cat, addons, coupon, hadDiscount, p, b.now())
	// Keep the tax rate the invoice was issued with.
	d.price(&Profile{Country: old.TaxCountry, TaxExempt: old.TaxExempt}, old.TaxRatePPM)
	nu := d.inv
	for i := range d.lines {
		d.lines[i].InvoiceID = old.ID
	}
	excess := max(old.AmountPaid-nu.Total, 0)
	paid := old.AmountPaid - excess
	if _, err := t.NewDelete().Model((*InvoiceLine)(nil)).Where("invoice_id = ?", old.ID).Exec(ctx); err != nil {
		return fmt.Errorf("billing: replacing renewal lines: %w", err)
	}
	if _, err := t.NewInsert().Model(&d.lines).Exec(ctx); err != nil {
		return fmt.Errorf("billing: replacing renewal lines: %w", err)
	}
	if _, err := t.NewUpdate().Model(old).WherePK().Set("subtotal = ?", nu.Subtotal).Set("discount = ?", nu.Discount).
		Set("tax = ?", nu.Tax).Set("total = ?", nu.Total).Set("amount_paid = ?", paid).Set("period_end = ?", nu.PeriodEnd).
		Set("updated_at = ?", b.now()).Exec(ctx); err != nil {
		return fmt.Errorf("billing: re-pricing renewal %s: %w", old.ID, err)
	}
	t.Audit("billing.invoice.reprice", svc.AccountID, "invoice", old.ID, map[string]any{"total": []int64{old.Total, nu.Total}, "returned_to_credit": excess})
	old.Subtotal, old.Discount, old.Tax, old.Total, old.AmountPaid, old.PeriodEnd = nu.Subtotal, nu.Discount, nu.Tax, nu.Total, paid, nu.PeriodEnd
	if excess > 0 {
		if _, err := b.ledger.Post(ctx, t.Tx, ledger.Posting{AccountID: svc.AccountID, Currency: old.Currency, Amount: excess,
			Kind: ledger.KindInvoiceCredit, InvoiceID: old.ID, IdempotencyKey: "reprice:" + newID(),
			Description: fmt.Sprintf("Invoice %s re-priced", invoiceRef(old))}); err != nil {
			return err
		}
	}
	if old.AmountDue() == 0 {
		return b.markPaid(ctx, t, old)
	}
	_, err = b.applyCredit(ctx, t, svc.AccountID, svc.Terms.Currency)
	return err
}

// PlanChanges lists a service's plan changes newest first.
func (b *Billing) PlanChanges(ctx context.Context, serviceID string) ([]PlanChange, error) {
	var out []PlanChange
	if err := b.db.Conn(ctx).NewSelect().Model(&out).Where("service_id = ?", serviceID).Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing plan changes: %w", err)
	}
	return out, nil
}
