package billing

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// TransferFacts is what a service transfer needs to know about the service
// and the receiving account before it is asked, accepted or completed.
type TransferFacts struct {
	ServiceID string
	Label     string
	PlanName  string
	Currency  money.Currency
	// PerCycle is the service's price for one cycle, add-ons included: the
	// amount the proration of a transfer is computed on.
	PerCycle int64
	Cycle    money.Cycle
}

// CheckTransfer says whether service serviceID of account from may move
// to account to, and describes it. It reads through the caller's
// transaction when ctx carries one. Refusals (see docs/transfers.md):
// NotFound (service_id: no such service of from); Unprocessable naming
// the rule: same_account (email), service_not_active, free_tier,
// budget_stopped, service_suspended, cancel_at_period_end, open_invoice
// (service_id), currency_mismatch and no_payment_method (email).
func (b *Billing) CheckTransfer(ctx context.Context, serviceID, from, to string) (*TransferFacts, error) {
	return b.checkTransfer(ctx, b.db.Conn(ctx), serviceID, from, to, false)
}

func (b *Billing) checkTransfer(ctx context.Context, db bun.IDB, serviceID, from, to string, lock bool) (*TransferFacts, error) {
	svc, err := b.serviceTx(ctx, db, serviceID, lock)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && svc.AccountID != from) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "no such service",
			Fields: []apperr.FieldError{{Field: "service_id", Message: "no such service"}}}
	}
	if err != nil {
		return nil, err
	}
	if from == to {
		return nil, apperr.Refusal("email", "same_account", "the service already belongs to this account")
	}
	plan, err := b.catalog.PlanTx(ctx, db, svc.PlanID)
	if err != nil {
		return nil, err
	}
	if plan.FreeTier || svc.Environment == "development" {
		return nil, apperr.Refusal("service_id", "free_tier", "a free-tier service cannot be transferred")
	}
	switch svc.Status {
	case services.StatusActive:
	case services.StatusSuspended:
		reasons, err := b.services.ReasonsInForce(ctx, db, svc.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range reasons {
			if r == services.SuspendBudget {
				return nil, apperr.Refusal("service_id", "budget_stopped", "the service is stopped by its account's budget")
			}
		}
		return nil, apperr.Refusal("service_id", "service_suspended", "a suspended service cannot be transferred")
	default:
		return nil, apperr.Refusal("service_id", "service_not_active", "only an active service can be transferred (this one is %s)", svc.Status)
	}
	if svc.Terms.PeriodStart == nil || svc.Terms.PeriodEnd == nil {
		return nil, apperr.Refusal("service_id", "service_not_active", "the service has no paid period yet")
	}
	if svc.Terms.CancelAtPeriodEnd {
		return nil, apperr.Refusal("service_id", "cancel_at_period_end", "the service is cancelled at the end of its term")
	}
	open, err := db.NewSelect().Model((*Invoice)(nil)).Where("service_id = ?", svc.ID).
		Where("status IN (?)", bun.List([]string{InvoiceOpen, InvoiceDraft})).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: looking for open invoices of %s: %w", svc.ID, err)
	}
	if open {
		return nil, apperr.Refusal("service_id", "open_invoice", "the service has an unpaid invoice: pay it first")
	}
	p, err := b.profileTx(ctx, db, to)
	if err != nil {
		return nil, err
	}
	if p.Currency != svc.Terms.Currency {
		return nil, apperr.Refusal("email", "currency_mismatch", "the receiving account is billed in %s, the service in %s", p.Currency, svc.Terms.Currency)
	}
	perCycle, err := b.perCycle(ctx, db, svc)
	if err != nil {
		return nil, err
	}
	if perCycle > 0 {
		has, err := b.hasPaymentMethod(ctx, db, to)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, apperr.Refusal("email", "no_payment_method", "the receiving account has no saved payment method for this paid service")
		}
	}
	return &TransferFacts{ServiceID: svc.ID, Label: svc.Label, PlanName: plan.Name, Currency: svc.Terms.Currency, PerCycle: perCycle, Cycle: svc.Terms.Cycle}, nil
}

// perCycle is the service's price for one cycle with its add-ons.
func (b *Billing) perCycle(ctx context.Context, db bun.IDB, svc *Service) (int64, error) {
	var addons []ServiceAddon
	if err := db.NewSelect().Model(&addons).Where("service_id = ?", svc.ID).Scan(ctx); err != nil {
		return 0, fmt.Errorf("billing: loading add-ons of %s: %w", svc.ID, err)
	}
	total := svc.Terms.Price
	for _, a := range addons {
		total += satMul(a.Quantity, a.UnitPrice)
	}
	return total, nil
}

// TransferMove is a completed transfer's move of a service.
type TransferMove struct {
	// TransferID keys the settlement: the sender's credit and the
	// receiver's invoice happen once per transfer.
	TransferID string
	ServiceID  string
	From, To   string
}

// TransferSettlement is how a transfer was billed.
type TransferSettlement struct {
	// Credit is the sender's credit for the unused paid time (nil: none).
	Credit *ledger.Entry
	// Invoice is the receiver's prorated invoice up to the renewal date
	// (nil: no day left, the next renewal is the receiver's first).
	Invoice     *Invoice
	Amount      int64
	DaysLeft    int
	DaysInCycle int
	RenewsAt    time.Time
}

// TransferServiceTx moves the service to the receiving account in the
// caller's transaction and settles it by proration (docs/transfers.md):
// the sender is credited the unused paid time and the receiver invoiced
// the same days, due now; the service keeps its plan, cycle, price and
// renewal date; its coupon ends. The checks of CheckTransfer run again on
// the locked service. Errors: those of CheckTransfer.
func (b *Billing) TransferServiceTx(ctx context.Context, tx bun.Tx, mv TransferMove) (*TransferSettlement, error) {
	res := &TransferSettlement{}
	err := b.join(ctx, tx, func(t *txn) error {
		// Both credit balances are locked, in id order, so two transfers
		// between the same accounts cannot deadlock.
		ids := []string{mv.From, mv.To}
		sort.Strings(ids)
		for _, id := range ids {
			p, err := b.profileTx(ctx, t, id)
			if err != nil {
				return err
			}
			if _, err := b.ledger.Lock(ctx, t.Tx, id, p.Currency); err != nil && apperr.CodeOf(err) != apperr.Conflict {
				return err
			}
		}
		facts, err := b.checkTransfer(ctx, t, mv.ServiceID, mv.From, mv.To, true)
		if err != nil {
			return err
		}
		svc, err := b.serviceTx(ctx, t, mv.ServiceID, true)
		if err != nil {
			return err
		}
		now := b.now()
		parts := prorationParts(svc, now, facts.PerCycle)
		res.DaysLeft, res.DaysInCycle, res.RenewsAt = parts[0].days, parts[0].of, *svc.Terms.PeriodEnd
		for _, pt := range parts {
			res.Amount += pt.amount
		}
		if res.Amount > money.MaxAmount {
			return tooLarge("service_id", "the credit for the unused days", res.Amount, svc.Terms.Currency)
		}

		svc.Terms.CouponID, svc.Terms.CouponCyclesLeft = nil, nil
		if err := saveTerms(ctx, t, svc.Terms, "coupon_id", "coupon_cycles_left"); err != nil {
			return err
		}
		// The backend is told the new customer by the sync job queued
		// after commit (each call carries the service's customer).
		if err := b.services.UpdateIn(ctx, t, svc.Service, services.Update{AccountID: mv.To}); err != nil {
			return err
		}

		if res.Amount > 0 {
			res.Credit, err = b.creditArrived(ctx, t, ledger.Posting{
				AccountID: mv.From, Currency: svc.Terms.Currency, Amount: res.Amount, Kind: ledger.KindProration,
				Reference: mv.TransferID, IdempotencyKey: "transfer:" + mv.TransferID,
				Description: fmt.Sprintf("Transfer of %s: %d unused of %d days", serviceName(svc, facts.PlanName), res.DaysLeft, res.DaysInCycle),
			}, "")
			if err != nil {
				return err
			}
			p, err := b.profileTx(ctx, t, mv.To)
			if err != nil {
				return err
			}
			// The reasons are fixed by the schema: a transfer's invoice is,
			// like an add-on's, a proration of the running term ("upgrade"),
			// dunned as one.
			end := *svc.Terms.PeriodEnd
			d := newDraft(mv.To, ReasonUpgrade, &svc.ID, svc.Terms.Currency, now, now)
			d.inv.PeriodStart, d.inv.PeriodEnd, d.field = &now, &end, "service_id"
			d.inv.Memo = "Service transfer " + mv.TransferID
			for _, pt := range parts {
				d.add(LineProration, fmt.Sprintf("Transfer of %s, %d of %d days (%s – %s)", serviceName(svc, facts.PlanName), pt.days, pt.of,
					pt.start.Format("2006-01-02"), pt.end.Format("2006-01-02")), &svc.ID, 1, pt.amount, &pt.start, &pt.end)
			}
			if err := b.createInvoice(ctx, t, d, p); err != nil {
				return err
			}
			if err := b.afterIssue(ctx, t, d.inv); err != nil {
				return err
			}
			res.Invoice = d.inv
		}
		changes := map[string]any{"transfer": mv.TransferID, "from": mv.From, "to": mv.To, "prorated": res.Amount,
			"days_left": res.DaysLeft, "days_in_cycle": res.DaysInCycle}
		if res.Invoice != nil {
			changes["invoice"] = res.Invoice.ID
		}
		t.Audit("billing.service.transferred_out", mv.From, "service", svc.ID, changes)
		t.Audit("billing.service.transferred_in", mv.To, "service", svc.ID, changes)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func serviceName(svc *Service, planName string) string {
	if svc.Label != "" {
		return svc.Label
	}
	return planName
}
