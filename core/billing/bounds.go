package billing

import (
	"context"
	"fmt"
	"math"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
)

// Every amount billing stores, posts to the ledger or charges is bounded by
// money.MaxAmount. Catalog prices are bounded when saved (every cycle's
// price, derived or not), but products and sums of them are not: an order
// of 1,000 units of an add-on, a plan with many add-ons, the tax on top, a
// proration over a term paid ahead. A term whose invoice would exceed the
// bound is refused where it is set up (order, plan change, add-on), naming
// the field that made it too large, because every renewal of it would fail
// to be posted or charged; each invoice is checked again when it is priced.

// reasonTooLarge is the reason of a refusal of an amount over the bound.
const reasonTooLarge = "amount_too_large"

// tooLarge refuses amount, which is what, naming field.
func tooLarge(field, what string, amount int64, c money.Currency) error {
	return apperr.Refusal(field, reasonTooLarge, "%s would be %s %s, more than the largest amount the platform bills (%s %s)",
		what, money.Format(amount, c), c, money.Format(money.MaxAmount, c), c)
}

// satAdd adds non-negative amounts without overflowing (saturating at
// math.MaxInt64, far beyond anything accepted).
func satAdd(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// satMul multiplies a non-negative amount by a quantity without
// overflowing.
func satMul(qty int, unit int64) int64 {
	if qty <= 0 || unit <= 0 {
		return 0
	}
	if unit > math.MaxInt64/int64(qty) {
		return math.MaxInt64
	}
	return int64(qty) * unit
}

// boundTerm refuses a term whose invoice, every charge billed and none
// discounted, with the tax at the account's rate, would exceed
// money.MaxAmount. charges are the plan's price for the cycle and each
// add-on's quantity × unit price.
func (b *Billing) boundTerm(ctx context.Context, t *txn, p *Profile, field, what string, charges ...int64) error {
	var sum int64
	for _, c := range charges {
		sum = satAdd(sum, max(c, 0))
	}
	if sum > money.MaxAmount {
		return tooLarge(field, what, sum, p.Currency)
	}
	rates, err := b.catalog.TaxRateMap(ctx, t)
	if err != nil {
		return err
	}
	if total := sum + money.Tax(sum, taxFor(p, rates)); total > money.MaxAmount {
		return tooLarge(field, what, total, p.Currency)
	}
	return nil
}

// boundNextTerm refuses the service's next term at price in cycle when,
// with the add-ons the service will have then, its invoice would exceed
// money.MaxAmount (see boundTerm).
func (b *Billing) boundNextTerm(ctx context.Context, t *txn, svc *Service, price int64, cycle money.Cycle, field, what string) error {
	var sas []ServiceAddon
	if err := t.NewSelect().Model(&sas).Where("service_id = ?", svc.ID).Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading add-ons of %s: %w", svc.ID, err)
	}
	charges := []int64{price}
	for _, sa := range sas {
		unit := sa.UnitPrice
		if cycle != svc.Terms.Cycle {
			a, err := b.catalog.FindAddon(ctx, t, sa.AddonID)
			if err != nil {
				return fmt.Errorf("billing: loading add-on %s: %w", sa.AddonID, err)
			}
			unit = a.Price(cycle)
		}
		charges = append(charges, satMul(sa.NextQuantity(), unit))
	}
	p, err := b.profileTx(ctx, t, svc.AccountID)
	if err != nil {
		return err
	}
	return b.boundTerm(ctx, t, p, field, what, charges...)
}

// bounded refuses a priced draft whose subtotal or total exceeds
// money.MaxAmount, naming field ("total" when empty).
func (d *draft) bounded(field, what string) error {
	if field == "" {
		field = "total"
	}
	if v := max(d.inv.Subtotal, d.inv.Total); v > money.MaxAmount {
		return tooLarge(field, what, v, d.inv.Currency)
	}
	return nil
}
