package billing

import (
	"cmp"
	"context"
	"fmt"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/services"
)

// markPaid closes a fully paid invoice and does what its payment means:
// an order starts provisioning, a renewal extends the paid period (and
// applies a change scheduled for it), an upgrade applies the new plan, and
// a paid renewal or upgrade lifts a non-payment suspension that nothing
// else overdue still justifies.
func (b *Billing) markPaid(ctx context.Context, t *txn, inv *Invoice) error {
	now := b.now()
	res, err := t.NewUpdate().Model(inv).WherePK().Where("status = ?", InvoiceOpen).
		Set("status = ?", InvoicePaid).Set("paid_at = ?", now).Set("updated_at = ?", now).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: marking %s paid: %w", inv.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already paid
	}
	inv.Status, inv.PaidAt = InvoicePaid, &now
	t.Audit("billing.invoice.paid", inv.AccountID, "invoice", inv.ID, map[string]any{"total": inv.Total, "number": inv.Number})
	if inv.Total > 0 {
		err := b.tell(ctx, t, notify.Event{Type: notify.InvoicePaid, AccountID: inv.AccountID, Data: invoiceData(inv),
			Link: "/invoices/" + inv.ID, Key: "invoice.paid:" + inv.ID})
		if err != nil {
			return err
		}
	}
	if inv.ServiceID != nil {
		svc, err := b.serviceTx(ctx, t, *inv.ServiceID, true)
		if err != nil {
			return err
		}
		switch inv.Reason {
		case ReasonOrder:
			err = b.startProvisioning(ctx, t, svc)
		case ReasonRenewal:
			err = b.renew(ctx, t, svc, inv)
		}
		if err != nil {
			return err
		}
		if inv.Reason != ReasonOrder {
			if err := b.liftNonPaymentIfClear(ctx, t, svc); err != nil {
				return err
			}
		}
	}
	return b.runPaidHooks(ctx, t, inv)
}

// startProvisioning moves a paid pending service to provisioning, starts
// its first period today and queues the provisioning job.
func (b *Billing) startProvisioning(ctx context.Context, t *txn, svc *Service) error {
	if svc.Status != services.StatusPending {
		return nil
	}
	start := money.Date(b.now())
	end := money.AddCycle(start, svc.Terms.Cycle, start.Day())
	svc.Terms.PeriodStart, svc.Terms.PeriodEnd, svc.Terms.AnchorDay = &start, &end, start.Day()
	if err := saveTerms(ctx, t, svc.Terms, "period_start", "period_end", "anchor_day"); err != nil {
		return err
	}
	return b.services.StartProvisioningIn(ctx, t, svc.Service)
}

// renew extends the paid period by the renewal invoice's period, and
// applies a plan or cycle change scheduled for the new term.
func (b *Billing) renew(ctx context.Context, t *txn, svc *Service, inv *Invoice) error {
	if svc.Terms.PeriodEnd == nil || inv.PeriodStart == nil || !svc.Terms.PeriodEnd.Equal(*inv.PeriodStart) {
		return nil // paid late for a period already replaced, or a cancelled service
	}
	svc.Terms.PeriodStart, svc.Terms.PeriodEnd = inv.PeriodStart, inv.PeriodEnd
	termCols := []string{"period_start", "period_end"}
	var change services.Update
	fromCycle := svc.Terms.Cycle
	if terms := svc.Terms; terms.PendingPlanID != nil || terms.PendingCycle != nil {
		if terms.PendingPlanID != nil {
			change.PlanID = *terms.PendingPlanID
		}
		if terms.PendingCycle != nil {
			terms.Cycle = *terms.PendingCycle
		}
		if terms.PendingPrice != nil {
			terms.Price = *terms.PendingPrice
		}
		terms.clearPending()
		termCols = append(append(termCols, "cycle", "price"), pendingColumns...)
		if _, err := t.NewUpdate().Table("plan_changes").Set("status = 'applied'").Set("applied_at = ?", b.now()).
			Where("service_id = ?", svc.ID).Where("status = 'scheduled'").Exec(ctx); err != nil {
			return fmt.Errorf("billing: applying the scheduled change: %w", err)
		}
		t.Audit("billing.service.plan_changed", svc.AccountID, "service", svc.ID, map[string]any{"plan": cmp.Or(change.PlanID, svc.PlanID), "cycle": svc.Terms.Cycle, "price": svc.Terms.Price, "when": "renewal"})
	}
	optionsChanged, err := b.renewAddons(ctx, t, svc, fromCycle)
	if err != nil {
		return err
	}
	change.OptionsBumped = optionsChanged
	if err := saveTerms(ctx, t, svc.Terms, termCols...); err != nil {
		return err
	}
	return b.services.UpdateIn(ctx, t, svc.Service, change)
}

// endService terminates or cancels a service (core/services' status
// machine, which queues the backend's termination).
func (b *Billing) endService(ctx context.Context, t *txn, svc *Service, status string) error {
	return b.services.EndIn(ctx, t, svc.Service, status)
}

// liftNonPaymentIfClear lifts a non-payment suspension once no invoice of
// the service is overdue past the suspension threshold any more.
func (b *Billing) liftNonPaymentIfClear(ctx context.Context, t *txn, svc *Service) error {
	if svc.Status != services.StatusSuspended {
		return nil
	}
	cutoff := b.now().AddDate(0, 0, -b.opts.SuspendAfterDays)
	n, err := t.NewSelect().Model((*Invoice)(nil)).Where("service_id = ?", svc.ID).Where("status = ?", InvoiceOpen).
		Where("due_at <= ?", cutoff).Count(ctx)
	if err != nil {
		return fmt.Errorf("billing: checking overdue invoices of %s: %w", svc.ID, err)
	}
	if n > 0 {
		return nil
	}
	_, err = b.services.LiftIn(ctx, t, svc.Service, services.SuspendNonPayment)
	return err
}

// Terminate ends a service at once: its open invoices are voided and the
// backend terminates it. For the platform's own decisions (an unused free
// tier, say): nothing asks whether other services depend on it. Errors:
// NotFound, Conflict.
func (b *Billing) Terminate(ctx context.Context, serviceID, reason string) (*Service, error) {
	return b.terminate(ctx, serviceID, reason, nil)
}

// TerminateInput is a staff request to terminate a service.
type TerminateInput struct {
	Reason string `json:"reason"`
	// ConfirmDependents terminates a service that other services depend
	// on; without it that is refused (see OnEnding).
	ConfirmDependents bool `json:"confirm_dependents"`
}

// TerminateRequested is Terminate at a staff member's request, guarded:
// a service others depend on is refused unless the request confirms it.
// Errors: NotFound, Conflict (the service has ended;
// service_has_dependents).
func (b *Billing) TerminateRequested(ctx context.Context, serviceID string, in TerminateInput) (*Service, error) {
	return b.terminate(ctx, serviceID, in.Reason, &in.ConfirmDependents)
}

// terminate ends the service; confirmed nil skips the dependents guard.
func (b *Billing) terminate(ctx context.Context, serviceID, reason string, confirmed *bool) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOfService(ctx, t, serviceID); err != nil {
			return err
		}
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if !svc.Live() {
			return apperr.New(apperr.Conflict, "the service is already %s", svc.Status).WithReason("service_" + svc.Status)
		}
		if confirmed != nil {
			if err := b.checkEnd(ctx, t, svc, *confirmed); err != nil {
				return err
			}
		}
		var open []*Invoice
		if err := t.NewSelect().Model(&open).Where("service_id = ?", svc.ID).Where("status = ?", InvoiceOpen).Scan(ctx); err != nil {
			return fmt.Errorf("billing: loading open invoices: %w", err)
		}
		for _, inv := range open {
			if err := b.voidTx(ctx, t, inv, "service terminated by staff"); err != nil {
				return err
			}
		}
		if err := b.endService(ctx, t, svc, services.StatusTerminated); err != nil {
			return err
		}
		changes := map[string]any{"reason": reason, "voided_invoices": len(open)}
		if confirmed != nil {
			changes["confirm_dependents"] = *confirmed
		}
		t.Audit("billing.service.terminate", svc.AccountID, "service", svc.ID, changes)
		return nil
	})
	return svc, err
}
