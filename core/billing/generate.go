package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// A billing step reads the catalog (plans, add-ons, tax rates) once per
// step (catalog.Priced), which keeps per-batch work to the batch's own
// rows.

// renewalTerms is what the next term of a service costs: its plan, cycle
// and price, with a change scheduled for the end of the term applied.
func renewalTerms(svc *Service) (planID string, cycle money.Cycle, price int64) {
	planID, cycle, price = svc.PlanID, svc.Terms.Cycle, svc.Terms.Price
	if t := svc.Terms; t.PendingPlanID != nil {
		planID = *t.PendingPlanID
	}
	if t := svc.Terms; t.PendingCycle != nil {
		cycle = *t.PendingCycle
	}
	if t := svc.Terms; t.PendingPrice != nil {
		price = *t.PendingPrice
	}
	return planID, cycle, price
}

// renewalDraft builds the renewal invoice of svc's next term: the plan,
// the add-ons (re-priced when the cycle changes), and the coupon's
// discount while it lasts.
func renewalDraft(svc *Service, cat *catalog.Priced, addons []ServiceAddon, coupon *catalog.Coupon, p *Profile, now time.Time) *draft {
	return renewalDraftWith(svc, cat, addons, coupon, coupon != nil && (svc.Terms.CouponCyclesLeft == nil || *svc.Terms.CouponCyclesLeft > 0), p, now)
}

// renewalDraftWith is renewalDraft with the coupon decision made by the
// caller (a re-priced invoice keeps the discount it was issued with).
func renewalDraftWith(svc *Service, cat *catalog.Priced, addons []ServiceAddon, coupon *catalog.Coupon, withCoupon bool, p *Profile, now time.Time) *draft {
	planID, cycle, price := renewalTerms(svc)
	start := *svc.Terms.PeriodEnd
	end := money.AddCycle(start, cycle, svc.Terms.AnchorDay)
	d := newDraft(svc.AccountID, ReasonRenewal, &svc.ID, svc.Terms.Currency, start, now)
	d.inv.PeriodStart, d.inv.PeriodEnd = &start, &end
	name := planID
	if pl := cat.Plans[planID]; pl != nil {
		name = pl.Name
	}
	d.add(LinePlan, lineText(name, cycle, start, end), &svc.ID, 1, price, &start, &end)
	for _, sa := range addons {
		if sa.NextQuantity() == 0 {
			continue // removed at the end of this term
		}
		a := cat.Addons[sa.AddonID]
		unit, aname := sa.UnitPrice, sa.AddonID
		if a != nil {
			aname = a.Name
			if cycle != svc.Terms.Cycle {
				unit = a.Price(cycle)
			}
		}
		d.add(LineAddon, lineText(aname, cycle, start, end), &svc.ID, sa.NextQuantity(), unit, &start, &end)
	}
	if coupon != nil && withCoupon {
		if off := coupon.Discount(d.charged()); off > 0 {
			d.add(LineDiscount, "Coupon "+coupon.Code, &svc.ID, 1, -off, nil, nil)
		}
	}
	d.price(p, taxFor(p, cat.Rates))
	return d
}

// generate issues the renewal invoices of every service whose paid period
// ends within invoice_days_before of asOf and which has none yet, in
// batches of BatchSize, each its own transaction. It returns how many it
// issued; a second run finds nothing to do.
func (b *Billing) generate(ctx context.Context, asOf time.Time) (int64, error) {
	cat, err := b.catalog.PricedTx(ctx, b.db.Conn(ctx))
	if err != nil {
		return 0, err
	}
	horizon := asOf.AddDate(0, 0, b.opts.InvoiceDaysBefore)
	var total int64
	after := ""
	for {
		n, last, err := b.generateBatch(ctx, cat, horizon, after)
		total += int64(n)
		if err != nil {
			return total, fmt.Errorf("billing: generating renewal invoices: %w", err)
		}
		if last == "" {
			return total, nil
		}
		after = last
	}
}

// generateBatch issues the renewal invoices of one page of services and
// returns the page's last id ("" after the last page). It takes the invoice
// counter's lock first: concurrent runs (two replicas, an admin trigger
// during the daily run) then generate one batch at a time, and each sees
// the invoices the previous one committed, so none is created twice and
// every number is used. The unique index on (service, period, reason)
// backs that up: a duplicate fails the batch instead of billing twice.
func (b *Billing) generateBatch(ctx context.Context, cat *catalog.Priced, horizon time.Time, after string) (int, string, error) {
	issued, last := 0, ""
	var free []string
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		lock := t.NewSelect().Table("billing_counters").Column("value").Where("name = 'invoice'")
		lock = database.ForUpdate(lock)
		var counter int64
		if err := lock.Scan(ctx, &counter); err != nil {
			return fmt.Errorf("locking the invoice counter: %w", err)
		}
		// Services are read in pages of BatchSize by primary key of their
		// terms: the page is a plain ordered index range whatever the
		// table's statistics say (a planner misled by stale statistics
		// would otherwise scan every due service for every batch), and
		// only its due services without a renewal for their next period
		// are kept.
		var pageEnd []string
		if err := t.NewRaw("SELECT service_id FROM service_terms WHERE service_id > ? ORDER BY service_id LIMIT 1 OFFSET ?", after, b.opts.BatchSize-1).Scan(ctx, &pageEnd); err != nil {
			return fmt.Errorf("paging services: %w", err)
		}
		bound, args := "", []any{after}
		if len(pageEnd) > 0 {
			last = pageEnd[0]
			bound, args = " AND service_id <= ?", append(args, last)
		} // else the last page: open-ended
		args = append(args, b.opts.BatchSize, false, horizon, ReasonRenewal)
		var due []*Terms
		err := t.NewRaw(`WITH page AS MATERIALIZED (SELECT * FROM service_terms WHERE service_id > ?`+bound+` ORDER BY service_id LIMIT ?)
			SELECT st.* FROM page AS st
			WHERE st.in_term AND st.cancel_at_period_end = ? AND st.period_end <= ?
			AND NOT EXISTS (SELECT 1 FROM invoices AS i WHERE i.service_id = st.service_id AND i.period_start = st.period_end AND i.reason = ?)
			ORDER BY st.service_id`, args...).Scan(ctx, &due)
		if err != nil {
			return fmt.Errorf("selecting services: %w", err)
		}
		if len(due) == 0 {
			return nil
		}
		svcs, err := b.servicesWithTerms(ctx, t, due)
		if err != nil {
			return err
		}
		ids := make([]string, len(svcs))
		accountIDs := make([]string, 0, len(svcs))
		couponIDs := []string{}
		for i, s := range svcs {
			ids[i] = s.ID
			accountIDs = append(accountIDs, s.AccountID)
			if s.Terms.CouponID != nil {
				couponIDs = append(couponIDs, *s.Terms.CouponID)
			}
		}
		profiles := map[string]*Profile{}
		var ps []*Profile
		if err := t.NewSelect().Model(&ps).Where("account_id IN (?)", bun.List(accountIDs)).Scan(ctx); err != nil {
			return fmt.Errorf("loading profiles: %w", err)
		}
		for _, p := range ps {
			profiles[p.AccountID] = p
		}
		addons := map[string][]ServiceAddon{}
		var sas []ServiceAddon
		if err := t.NewSelect().Model(&sas).Where("service_id IN (?)", bun.List(ids)).Order("service_id", "addon_id").Scan(ctx); err != nil {
			return fmt.Errorf("loading add-ons: %w", err)
		}
		for _, sa := range sas {
			addons[sa.ServiceID] = append(addons[sa.ServiceID], sa)
		}
		coupons, err := b.catalog.CouponsByID(ctx, t, couponIDs)
		if err != nil {
			return err
		}
		now := b.now()
		first, err := takeNumbers(ctx, t, len(svcs))
		if err != nil {
			return err
		}
		invs := make([]*Invoice, len(svcs))
		var lines []InvoiceLine
		var couponUsed []string
		for i, s := range svcs {
			p := profiles[s.AccountID]
			if p == nil {
				p = &Profile{AccountID: s.AccountID, Currency: s.Terms.Currency}
			}
			var coupon *catalog.Coupon
			if s.Terms.CouponID != nil {
				coupon = coupons[*s.Terms.CouponID]
			}
			d := renewalDraft(s, cat, addons[s.ID], coupon, p, now)
			num := first + int64(i)
			d.inv.Number, d.inv.Status, d.inv.IssuedAt = &num, InvoiceOpen, &now
			invs[i] = d.inv
			lines = append(lines, d.lines...)
			if left := s.Terms.CouponCyclesLeft; left != nil && *left > 0 {
				couponUsed = append(couponUsed, s.ID)
			}
		}
		if err := b.insertInvoices(ctx, t, invs, lines); err != nil {
			return err
		}
		if len(couponUsed) > 0 {
			if _, err := t.NewUpdate().Model((*Terms)(nil)).Set("coupon_cycles_left = coupon_cycles_left - 1").
				Where("service_id IN (?)", bun.List(couponUsed)).Where("coupon_cycles_left > 0").Exec(ctx); err != nil {
				return fmt.Errorf("counting coupon cycles: %w", err)
			}
		}
		if err := b.runIssuedHooks(ctx, t, invs); err != nil {
			return err
		}
		for _, inv := range invs {
			if inv.Total == 0 {
				free = append(free, inv.ID)
			}
		}
		// One event per batch: the invoices themselves are the record of
		// what was billed, and 100,000 chain appends would serialise the run.
		t.Audit("billing.run.invoices_issued", "", "invoice_batch", invs[0].ID, map[string]any{
			"count": len(invs), "first_number": first, "last_number": first + int64(len(invs)) - 1,
		})
		issued = len(invs)
		return nil
	})
	if err != nil {
		return issued, last, err
	}
	// Free renewals are paid at once, after the batch: paying locks the
	// account and the service, which must come before the invoice counter.
	for _, id := range free {
		err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
			if err := b.lockAccountOfInvoice(ctx, t, id); err != nil {
				return err
			}
			inv, err := b.invoiceTx(ctx, t, id, true)
			if err != nil {
				return err
			}
			return b.markPaid(ctx, t, inv)
		})
		if err != nil {
			return issued, last, err
		}
	}
	return issued, last, nil
}
