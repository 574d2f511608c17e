package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// AddonAddInput adds an add-on to a running service.
type AddonAddInput struct {
	AddonID  string `json:"addon_id"`
	Quantity int    `json:"quantity"` // 0 = 1
}

// AddonRemoveInput removes units of an add-on from a service.
type AddonRemoveInput struct {
	// Quantity is how many units to remove; 0 = all the next term would
	// have.
	Quantity int `json:"quantity"`
	// When is "end_of_term" (the default: the units run, paid, until the
	// term ends and the renewal no longer bills them) or "now" (removed at
	// once, the unused days credited, as an immediate downgrade).
	When string `json:"when"`
}

// AddonResult is what AddAddon or RemoveAddon did.
type AddonResult struct {
	Service *Service
	// Addons are the service's add-ons afterwards.
	Addons []ServiceAddon
	// Invoice is an addition's proration invoice (nil when nothing was
	// owed: a free add-on, or no paid day left).
	Invoice *Invoice
	// Credit is an immediate removal's proration credit.
	Credit *ledger.Entry
	// Prorated is the amount invoiced (addition) or credited (immediate
	// removal) for the days left, in minor units of the service's
	// currency; DaysLeft of DaysInCycle is the running term's share.
	Prorated              int64
	DaysLeft, DaysInCycle int
}

// AddAddon adds quantity units of an add-on to an active service now (see
// docs/billing.md, "Add-ons on a running service"): the units' price for
// the days left in the current cycle over the cycle's actual days (plus a
// whole term paid ahead) is invoiced at once, as an upgrade is, paid from
// credit then the saved card; from the next term the renewal bills them,
// and a renewal already issued is re-priced. An add-on with provisioner
// options changes the backend through the sync job's ChangePlan. It joins
// the ambient transaction (the scheduler applies changes in its own) and
// calls no plugin. Errors: NotFound (also another account's service),
// Invalid (addon_id, quantity above the add-on's maximum counting the units
// the service has), Conflict (service not active or being cancelled),
// Unprocessable (add-on archived, not offered with the service's plan, or
// priced in another currency).
func (b *Billing) AddAddon(ctx context.Context, accountID, serviceID string, in AddonAddInput) (*AddonResult, error) {
	in.AddonID = strings.TrimSpace(in.AddonID)
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	var errs apperr.Fields
	if in.AddonID == "" {
		errs.Add("addon_id", "is required")
	}
	if in.Quantity < 1 || in.Quantity > 1000 {
		errs.Add("quantity", "must be from 1 to 1000")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	res := &AddonResult{}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		svc, err := b.addonService(ctx, t, accountID, serviceID)
		if err != nil {
			return err
		}
		a, err := b.catalog.FindAddon(ctx, t, in.AddonID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return apperr.Field("addon_id", "no such add-on")
		}
		if err != nil {
			return err
		}
		switch {
		case !a.Active:
			return apperr.Refusal("addon_id", "addon_unavailable", "this add-on can no longer be ordered")
		case !a.OffersPlan(svc.PlanID):
			return apperr.Refusal("addon_id", "addon_unavailable", "this add-on is not offered with this service's plan")
		case a.Currency != svc.Terms.Currency:
			return apperr.Refusal("addon_id", "currency_mismatch", "this add-on is priced in %s", a.Currency)
		}
		sa, err := b.serviceAddonTx(ctx, t, svc.ID, a.ID)
		if err != nil {
			return err
		}
		have := 0
		if sa != nil {
			have = sa.Quantity
		}
		if have+in.Quantity > a.MaxQuantity {
			return apperr.Field("quantity", "must be at most %d: this add-on allows %d per service and the service has %d", max(a.MaxQuantity-have, 0), a.MaxQuantity, have)
		}
		// Units added to a service that has the add-on join its row at the
		// unit price locked when it was first ordered, as the renewal bills
		// one price per add-on.
		if sa == nil {
			sa = &ServiceAddon{ServiceID: svc.ID, AddonID: a.ID, Quantity: in.Quantity, UnitPrice: a.Price(svc.Terms.Cycle)}
			if _, err := t.NewInsert().Model(sa).Exec(ctx); err != nil {
				return fmt.Errorf("billing: adding add-on %s to %s: %w", a.ID, svc.ID, err)
			}
		} else {
			sa.Quantity += in.Quantity
			if sa.PendingQuantity != nil {
				*sa.PendingQuantity += in.Quantity
			}
			if _, err := t.NewUpdate().Model(sa).WherePK().Column("quantity", "pending_quantity").Exec(ctx); err != nil {
				return fmt.Errorf("billing: adding add-on %s to %s: %w", a.ID, svc.ID, err)
			}
		}

		_, nextCycle, nextPrice := renewalTerms(svc)
		if err := b.boundNextTerm(ctx, t, svc, nextPrice, nextCycle, "quantity", "each term's total with these units"); err != nil {
			return err
		}
		now := b.now()
		parts := prorationParts(svc, now, satMul(in.Quantity, sa.UnitPrice))
		res.DaysLeft, res.DaysInCycle = parts[0].days, parts[0].of
		for _, pt := range parts {
			res.Prorated += pt.amount
		}
		changes := map[string]any{"addon": a.ID, "slug": a.Slug, "quantity": in.Quantity, "total_quantity": sa.Quantity,
			"unit_price": sa.UnitPrice, "prorated": res.Prorated, "days_left": res.DaysLeft, "days_in_cycle": res.DaysInCycle}
		if res.Prorated > 0 {
			p, err := b.profileTx(ctx, t, svc.AccountID)
			if err != nil {
				return err
			}
			// The invoice's reason is "upgrade": an add-on is an upgrade of
			// the service, and the reasons are fixed by the schema.
			end := *svc.Terms.PeriodEnd
			d := newDraft(svc.AccountID, ReasonUpgrade, &svc.ID, svc.Terms.Currency, now, now)
			d.inv.PeriodStart, d.inv.PeriodEnd, d.field = &now, &end, "quantity"
			for _, pt := range parts {
				// One line per part, rounded once: the units' price times
				// the days over the term's days.
				d.add(LineProration, fmt.Sprintf("Add-on %s ×%d, %d of %d days (%s – %s)", a.Name, in.Quantity, pt.days, pt.of,
					pt.start.Format("2006-01-02"), pt.end.Format("2006-01-02")), &svc.ID, 1, pt.amount, &pt.start, &pt.end)
			}
			if err := b.createInvoice(ctx, t, d, p); err != nil {
				return err
			}
			changes["invoice"] = d.inv.ID
			if err := b.afterIssue(ctx, t, d.inv); err != nil {
				return err
			}
			res.Invoice = d.inv
		}
		if err := b.addonsChanged(ctx, t, svc, a); err != nil {
			return err
		}
		t.Audit("billing.service.addon_add", svc.AccountID, "service", svc.ID, changes)
		return b.fillAddonResult(ctx, t, svc.ID, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RemoveAddon removes units of an add-on from an active service: by
// default at the end of the term (the renewal, re-priced if issued, no
// longer bills them and they leave when it is paid), or now with the
// unused days of their price credited. Errors: NotFound (also another
// account's service, or an add-on the service does not have), Invalid
// (quantity, when), Conflict (service not active or being cancelled, or
// the units already leave at the end of the term).
func (b *Billing) RemoveAddon(ctx context.Context, accountID, serviceID, addonID string, in AddonRemoveInput) (*AddonResult, error) {
	if in.When == "" {
		in.When = "end_of_term"
	}
	if in.When != "end_of_term" && in.When != "now" {
		return nil, apperr.Field("when", "must be end_of_term or now")
	}
	if in.Quantity < 0 || in.Quantity > 1000 {
		return nil, apperr.Field("quantity", "must be from 1 to 1000 (0 or absent: all)")
	}
	res := &AddonResult{}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		svc, err := b.addonService(ctx, t, accountID, serviceID)
		if err != nil {
			return err
		}
		named, err := b.catalog.FindAddon(ctx, t, addonID)
		if err != nil {
			return apperr.NotFoundf("this service has no such add-on")
		}
		sa, err := b.serviceAddonTx(ctx, t, svc.ID, named.ID)
		if err != nil {
			return err
		}
		if sa == nil {
			return apperr.NotFoundf("this service has no such add-on")
		}
		a, err := b.catalog.FindAddon(ctx, b.db.Conn(ctx), sa.AddonID)
		if err != nil {
			return err
		}
		next := sa.NextQuantity()
		if next == 0 {
			return apperr.New(apperr.Conflict, "this add-on already leaves the service at the end of the term").WithReason("no_change")
		}
		q := in.Quantity
		if q == 0 {
			q = next
		}
		if q > next {
			return apperr.Field("quantity", "must be at most %d: the service keeps %d from the next term", next, next)
		}
		changes := map[string]any{"addon": a.ID, "slug": a.Slug, "quantity": q, "when": in.When}
		if in.When == "end_of_term" {
			left := next - q
			sa.PendingQuantity = &left
			if _, err := t.NewUpdate().Model(sa).WherePK().Column("pending_quantity").Exec(ctx); err != nil {
				return fmt.Errorf("billing: scheduling the removal of add-on %s: %w", a.ID, err)
			}
			changes["next_quantity"] = left
			t.Audit("billing.service.addon_remove", svc.AccountID, "service", svc.ID, changes)
			if err := b.repriceRenewal(ctx, t, svc); err != nil {
				return err
			}
			return b.fillAddonResult(ctx, t, svc.ID, res)
		}

		// Now: fewer units this term too, and the unused days credited.
		now := b.now()
		sa.Quantity -= q
		if sa.PendingQuantity != nil {
			*sa.PendingQuantity -= q
		}
		if sa.Quantity == 0 {
			if _, err := t.NewDelete().Model(sa).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("billing: removing add-on %s: %w", a.ID, err)
			}
		} else if _, err := t.NewUpdate().Model(sa).WherePK().Column("quantity", "pending_quantity").Exec(ctx); err != nil {
			return fmt.Errorf("billing: removing add-on %s: %w", a.ID, err)
		}
		parts := prorationParts(svc, now, int64(q)*sa.UnitPrice)
		res.DaysLeft, res.DaysInCycle = parts[0].days, parts[0].of
		for _, pt := range parts {
			res.Prorated += pt.amount
		}
		changes["prorated"], changes["days_left"], changes["days_in_cycle"] = res.Prorated, res.DaysLeft, res.DaysInCycle
		if res.Prorated > money.MaxAmount {
			return tooLarge("quantity", "the credit for the unused days", res.Prorated, svc.Terms.Currency)
		}
		if res.Prorated > 0 {
			res.Credit, err = b.creditArrived(ctx, t, ledger.Posting{
				AccountID: svc.AccountID, Currency: svc.Terms.Currency, Amount: res.Prorated, Kind: ledger.KindProration,
				Reference: svc.ID, IdempotencyKey: "addon-removal:" + newID(),
				Description: fmt.Sprintf("Add-on %s ×%d removed: %d unused of %d days", a.Name, q, res.DaysLeft, res.DaysInCycle),
			}, "")
			if err != nil {
				return err
			}
		}
		if err := b.addonsChanged(ctx, t, svc, a); err != nil {
			return err
		}
		t.Audit("billing.service.addon_remove", svc.AccountID, "service", svc.ID, changes)
		return b.fillAddonResult(ctx, t, svc.ID, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// addonService loads and locks a service whose add-ons may change: the
// account's, active, with a paid term, not being cancelled. The account's
// balance row is locked first, as every money path does.
func (b *Billing) addonService(ctx context.Context, t *txn, accountID, serviceID string) (*Service, error) {
	if err := b.lockAccountOfService(ctx, t, serviceID); err != nil {
		return nil, err
	}
	svc, err := b.serviceTx(ctx, t, serviceID, true)
	if err != nil {
		return nil, err
	}
	if accountID != "" && svc.AccountID != accountID {
		return nil, apperr.NotFoundf("no such service")
	}
	if svc.Status != services.StatusActive || svc.Terms.PeriodStart == nil || svc.Terms.PeriodEnd == nil || svc.Terms.CancelAtPeriodEnd {
		return nil, apperr.New(apperr.Conflict, "only an active service that is not being cancelled can change its add-ons").WithReason("service_" + svc.Status)
	}
	return svc, nil
}

// serviceAddonTx returns the service's row of an add-on, nil when it has
// none.
func (b *Billing) serviceAddonTx(ctx context.Context, db bun.IDB, serviceID, addonID string) (*ServiceAddon, error) {
	sa := &ServiceAddon{}
	q := db.NewSelect().Model(sa).Where("service_id = ?", serviceID).Where("addon_id = ?", addonID)
	q = database.ForUpdate(q)
	err := q.Scan(ctx)
	if database.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: loading add-on %s of %s: %w", addonID, serviceID, err)
	}
	return sa, nil
}

// addonsChanged follows a change of the service's add-ons now: an add-on
// with provisioner options changes what the backend should run (the sync
// job's ChangePlan gets the whole new option set), and a renewal already
// issued is re-priced.
func (b *Billing) addonsChanged(ctx context.Context, t *txn, svc *Service, a *catalog.Addon) error {
	if len(a.Options()) > 0 {
		if err := b.services.UpdateIn(ctx, t, svc.Service, services.Update{OptionsBumped: true}); err != nil {
			return err
		}
	}
	return b.repriceRenewal(ctx, t, svc)
}

func (b *Billing) fillAddonResult(ctx context.Context, t *txn, serviceID string, res *AddonResult) error {
	var err error
	if res.Service, err = b.serviceTx(ctx, t, serviceID, false); err != nil {
		return err
	}
	res.Addons = []ServiceAddon{}
	if err := t.NewSelect().Model(&res.Addons).Where("service_id = ?", serviceID).Order("addon_id").Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading add-ons of %s: %w", serviceID, err)
	}
	return nil
}

// renewAddons applies, as a renewal is paid, the removals scheduled for
// the end of the term, and re-prices the units for a new cycle (the
// renewal invoice billed them at the new cycle's price). It reports
// whether an add-on with provisioner options left.
func (b *Billing) renewAddons(ctx context.Context, t *txn, svc *Service, fromCycle money.Cycle) (bool, error) {
	var sas []ServiceAddon
	if err := t.NewSelect().Model(&sas).Where("service_id = ?", svc.ID).Scan(ctx); err != nil {
		return false, fmt.Errorf("billing: loading add-ons of %s: %w", svc.ID, err)
	}
	optionsChanged, cycleChanged := false, fromCycle != svc.Terms.Cycle
	for i := range sas {
		sa := &sas[i]
		if sa.PendingQuantity == nil && !cycleChanged {
			continue
		}
		a, err := b.catalog.FindAddon(ctx, b.db.Conn(ctx), sa.AddonID)
		if err != nil {
			return false, err
		}
		if sa.NextQuantity() == 0 {
			if _, err := t.NewDelete().Model(sa).WherePK().Exec(ctx); err != nil {
				return false, fmt.Errorf("billing: removing add-on %s at renewal: %w", sa.AddonID, err)
			}
			optionsChanged = optionsChanged || len(a.Options()) > 0
			t.Audit("billing.service.addon_removed", svc.AccountID, "service", svc.ID, map[string]any{"addon": sa.AddonID, "when": "renewal"})
			continue
		}
		if sa.PendingQuantity != nil {
			t.Audit("billing.service.addon_removed", svc.AccountID, "service", svc.ID,
				map[string]any{"addon": sa.AddonID, "quantity": []int{sa.Quantity, *sa.PendingQuantity}, "when": "renewal"})
		}
		sa.Quantity, sa.PendingQuantity = sa.NextQuantity(), nil
		if cycleChanged {
			sa.UnitPrice = a.Price(svc.Terms.Cycle)
		}
		if _, err := t.NewUpdate().Model(sa).WherePK().Column("quantity", "pending_quantity", "unit_price").Exec(ctx); err != nil {
			return false, fmt.Errorf("billing: renewing add-on %s: %w", sa.AddonID, err)
		}
	}
	return optionsChanged, nil
}
