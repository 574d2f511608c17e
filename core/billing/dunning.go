package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/services"
)

// Each step below selects its work in keyset-paged batches and handles a
// batch per transaction, so memory stays flat and a failure costs one
// batch. They judge "today" by asOf, so a run for a past date (catching
// up) decides as it would have then.

// applyCreditStep applies credit for every account holding some while it
// has open invoices in the same currency. It pages through the open,
// unpaid invoices (a set dunning keeps small, unlike the accounts holding
// credit) and reads their accounts' balances from the ledger, so only
// accounts that both owe and hold credit open a transaction.
func (b *Billing) applyCreditStep(ctx context.Context, asOf time.Time) (int64, error) {
	var total int64
	after := ""
	for {
		var owing []struct {
			ID        string         `bun:"id"`
			AccountID string         `bun:"account_id"`
			Currency  money.Currency `bun:"currency"`
		}
		if err := b.db.Conn(ctx).NewSelect().Model((*Invoice)(nil)).Column("id", "account_id", "currency").
			Where("status = ?", InvoiceOpen).Where("amount_paid < total").Where("id > ?", after).
			Order("id ASC").Limit(int64(b.opts.BatchSize)).Scan(ctx, &owing); err != nil {
			return total, fmt.Errorf("billing: selecting open invoices: %w", err)
		}
		if len(owing) == 0 {
			return total, nil
		}
		after = owing[len(owing)-1].ID
		ids := make([]string, 0, len(owing))
		for _, o := range owing {
			ids = append(ids, o.AccountID)
		}
		balances, err := b.ledger.Balances(ctx, b.db.Conn(ctx), ids)
		if err != nil {
			return total, err
		}
		var accts []ledger.Balance
		seen := map[string]bool{}
		for _, o := range owing {
			if bal := balances[o.AccountID]; bal.Amount > 0 && bal.Currency == o.Currency && !seen[o.AccountID] {
				seen[o.AccountID] = true
				accts = append(accts, bal)
			}
		}
		if len(accts) == 0 {
			continue
		}
		err = b.inTx(ctx, func(ctx context.Context, t *txn) error {
			for _, a := range accts {
				n, err := b.applyCredit(ctx, t, a.AccountID, a.Currency)
				if err != nil {
					return err
				}
				if n > 0 {
					total++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
}

// chargeStep queues an off-session charge of every open invoice that is
// due, has attempts left and was not tried in the last ChargeRetryDays,
// for accounts with a default payment method. The job key (invoice,
// attempt) makes a re-run queue nothing new.
func (b *Billing) chargeStep(ctx context.Context, asOf time.Time) (int64, error) {
	if b.payer == nil || b.opts.PaymentGateway == "" {
		return 0, nil
	}
	retryBefore := asOf.AddDate(0, 0, -b.opts.ChargeRetryDays)
	var total int64
	after := ""
	for {
		var invs []struct {
			ID       string `bun:"id"`
			Attempts int    `bun:"charge_attempts"`
		}
		err := b.db.Conn(ctx).NewSelect().TableExpr("invoices AS i").ColumnExpr("i.id, i.charge_attempts").
			Join("JOIN billing_profiles AS p ON p.account_id = i.account_id").
			Where("i.status = ?", InvoiceOpen).Where("i.amount_paid < i.total").Where("i.due_at <= ?", asOf).
			Where("i.charge_attempts < ?", b.opts.ChargeMaxAttempts).
			Where("(i.last_charge_at IS NULL OR i.last_charge_at <= ?)", retryBefore).
			Where("p.default_payment_method_id IS NOT NULL").Where("i.id > ?", after).
			OrderExpr("i.id ASC").Limit(int64(b.opts.BatchSize)).Scan(ctx, &invs)
		if err != nil {
			return total, fmt.Errorf("billing: selecting invoices to charge: %w", err)
		}
		if len(invs) == 0 {
			return total, nil
		}
		after = invs[len(invs)-1].ID
		charges := make([]InvoiceCharge, len(invs))
		for i, inv := range invs {
			charges[i] = InvoiceCharge{InvoiceID: inv.ID, Attempt: inv.Attempts + 1}
		}
		if err := b.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return b.payer.QueueChargesTx(ctx, tx, charges) }); err != nil {
			return total, err
		}
		total += int64(len(invs))
	}
}

// remindStep sends each open invoice's issue notice once, then an overdue
// reminder every RemindEveryDays while it stays unpaid.
func (b *Billing) remindStep(ctx context.Context, asOf time.Time) (int64, error) {
	var total int64
	remindBefore := asOf.AddDate(0, 0, -b.opts.RemindEveryDays)
	for _, overdue := range []bool{false, true} {
		after := ""
		for {
			var invs []*Invoice
			q := b.db.Conn(ctx).NewSelect().Model(&invs).Where("status = ?", InvoiceOpen).Where("id > ?", after)
			if overdue {
				q = q.Where("due_at < ?", asOf).Where("notified_at IS NOT NULL").
					Where("(last_reminder_at IS NULL OR last_reminder_at <= ?)", remindBefore)
			} else {
				q = q.Where("notified_at IS NULL")
			}
			if err := q.Order("id ASC").Limit(int64(min(b.opts.BatchSize, 200))).Scan(ctx); err != nil {
				return total, fmt.Errorf("billing: selecting invoices to remind: %w", err)
			}
			if len(invs) == 0 {
				break
			}
			after = invs[len(invs)-1].ID
			err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
				for _, inv := range invs {
					if err := b.remind(ctx, t, inv, asOf, overdue); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total += int64(len(invs))
		}
	}
	return total, nil
}

func (b *Billing) remind(ctx context.Context, t *txn, inv *Invoice, asOf time.Time, overdue bool) error {
	if !overdue {
		if _, err := t.NewUpdate().Model(inv).WherePK().Set("notified_at = ?", asOf).Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording notice of %s: %w", inv.ID, err)
		}
		return b.tell(ctx, t, notify.Event{Type: notify.InvoiceIssued, AccountID: inv.AccountID, Data: invoiceData(inv),
			Link: "/invoices/" + inv.ID, Key: "invoice.issued:" + inv.ID})
	}
	days := money.Days(inv.DueAt, asOf)
	if _, err := t.NewUpdate().Model(inv).WherePK().Set("reminders_sent = reminders_sent + 1").Set("last_reminder_at = ?", asOf).Exec(ctx); err != nil {
		return fmt.Errorf("billing: recording reminder of %s: %w", inv.ID, err)
	}
	t.Audit("billing.invoice.remind", inv.AccountID, "invoice", inv.ID, map[string]any{"days_overdue": days})
	warning := ""
	if inv.ServiceID != nil {
		switch {
		case days < b.opts.SuspendAfterDays:
			warning = fmt.Sprintf("The service will be suspended %d day(s) after the due date.", b.opts.SuspendAfterDays)
		case days < b.opts.TerminateAfterDays:
			warning = fmt.Sprintf("The service will be terminated %d day(s) after the due date.", b.opts.TerminateAfterDays)
		}
	}
	data := invoiceData(inv)
	data["days_overdue"], data["warning"] = days, warning
	return b.tell(ctx, t, notify.Event{Type: notify.InvoiceOverdue, AccountID: inv.AccountID, Data: data, Link: "/invoices/" + inv.ID,
		Key: fmt.Sprintf("invoice.overdue:%s:%d", inv.ID, inv.RemindersSent+1)})
}

// overdueServices returns a batch of services in term (active or
// suspended) with an open renewal or upgrade invoice due on or before
// cutoff.
func (b *Billing) overdueServices(ctx context.Context, cutoff time.Time, after string) ([]string, error) {
	var ids []string
	err := b.db.Conn(ctx).NewSelect().Model((*Terms)(nil)).Column("st.service_id").
		Where("st.in_term").Where("st.service_id > ?", after).
		Where("EXISTS (SELECT 1 FROM invoices AS i WHERE i.service_id = st.service_id AND i.status = ? AND i.reason IN (?) AND i.due_at <= ?)",
			InvoiceOpen, bun.List([]string{ReasonRenewal, ReasonUpgrade}), cutoff).
		OrderExpr("st.service_id ASC").Limit(int64(b.opts.BatchSize)).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("billing: selecting overdue services: %w", err)
	}
	return ids, nil
}

// suspendStep suspends for non-payment exactly the services that have an
// invoice overdue past suspend_after_days; the account's other services
// are left alone.
func (b *Billing) suspendStep(ctx context.Context, asOf time.Time) (int64, error) {
	cutoff := asOf.AddDate(0, 0, -b.opts.SuspendAfterDays)
	var total int64
	after := ""
	for {
		ids, err := b.overdueServices(ctx, cutoff, after)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		after = ids[len(ids)-1]
		err = b.inTx(ctx, func(ctx context.Context, t *txn) error {
			for _, id := range ids {
				svc, err := b.serviceTx(ctx, t, id, true)
				if err != nil {
					return err
				}
				added, err := b.services.SuspendIn(ctx, t, svc.Service, services.SuspendNonPayment, "invoice overdue")
				if err != nil {
					return err
				}
				if added {
					total++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
}

// terminateStep ends services: overdue past terminate_after_days (their
// unpaid invoices are voided: the term was not served), cancelled at the
// end of a term that is over, or never paid for. It also re-queues the
// backend sync of services whose backend is out of step.
func (b *Billing) terminateStep(ctx context.Context, asOf time.Time) (int64, error) {
	var total int64
	cutoff := asOf.AddDate(0, 0, -b.opts.TerminateAfterDays)
	after := ""
	for {
		ids, err := b.overdueServices(ctx, cutoff, after)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		err = b.inTx(ctx, func(ctx context.Context, t *txn) error {
			for _, id := range ids {
				if err := b.terminateOverdue(ctx, t, id); err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	// End-of-term cancellations whose term is over.
	for {
		var ids []string
		if err := b.db.Conn(ctx).NewSelect().Model((*Terms)(nil)).Column("st.service_id").
			Where("st.cancel_at_period_end = ?", true).Where("st.in_term").
			Where("st.period_end <= ?", asOf).OrderExpr("st.service_id ASC").Limit(int64(b.opts.BatchSize)).Scan(ctx, &ids); err != nil {
			return total, fmt.Errorf("billing: selecting ended terms: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
			for _, id := range ids {
				svc, err := b.serviceTx(ctx, t, id, true)
				if err != nil {
					return err
				}
				if err := b.endService(ctx, t, svc, services.StatusCancelled); err != nil {
					return err
				}
				t.Audit("billing.service.term_ended", svc.AccountID, "service", svc.ID, nil)
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	// Orders never paid.
	for {
		var invs []*Invoice
		if err := b.db.Conn(ctx).NewSelect().Model(&invs).Where("status = ?", InvoiceOpen).Where("reason = ?", ReasonOrder).
			Where("due_at <= ?", cutoff).Order("id ASC").Limit(int64(b.opts.BatchSize)).Scan(ctx); err != nil {
			return total, fmt.Errorf("billing: selecting unpaid orders: %w", err)
		}
		if len(invs) == 0 {
			break
		}
		err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
			for _, inv := range invs {
				if err := b.lockAccountOfInvoice(ctx, t, inv.ID); err != nil {
					return err
				}
				if err := b.voidTx(ctx, t, inv, "order not paid"); err != nil {
					return err
				}
				t.Audit("billing.invoice.void", inv.AccountID, "invoice", inv.ID, map[string]any{"reason": "order not paid"})
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, b.services.QueueOutOfStep(ctx, b.opts.BatchSize)
}

func (b *Billing) terminateOverdue(ctx context.Context, t *txn, id string) error {
	if err := b.lockAccountOfService(ctx, t, id); err != nil {
		return err
	}
	svc, err := b.serviceTx(ctx, t, id, true)
	if err != nil {
		return err
	}
	var open []*Invoice
	if err := t.NewSelect().Model(&open).Where("service_id = ?", id).Where("status = ?", InvoiceOpen).Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading open invoices of %s: %w", id, err)
	}
	for _, inv := range open {
		if err := b.voidTx(ctx, t, inv, "service terminated for non-payment"); err != nil {
			return err
		}
	}
	if err := b.endService(ctx, t, svc, services.StatusTerminated); err != nil {
		return err
	}
	t.Audit("billing.service.terminate", svc.AccountID, "service", svc.ID, map[string]any{"reason": services.SuspendNonPayment, "voided_invoices": len(open)})
	return b.tell(ctx, t, notify.Event{Type: notify.ServiceTerminated, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
		Data: map[string]any{"service_id": svc.ID, "service_name": b.services.Name(ctx, t, svc.Service),
			"reason": fmt.Sprintf("its invoice stayed unpaid for %d days", b.opts.TerminateAfterDays)}})
}

// invoiceData is an invoice as core/notify's billing templates read it.
func invoiceData(inv *Invoice) map[string]any {
	return map[string]any{"invoice_id": inv.ID, "number": invoiceRef(inv), "total": inv.Total, "amount_due": inv.AmountDue(),
		"currency": string(inv.Currency), "due_date": inv.DueAt.Format("2006-01-02")}
}
