package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/sdk"
)

// Payer is the payment side (core/billing/payments: saved cards, charges,
// top-ups, auto top-up), which billing starts work in but never imports.
// core/app/reactions.go hands it to billing (payments.Attach). Without one,
// nothing is charged: invoices wait for credit, the auto top-up step does
// nothing and a paid service cannot be transferred (the receiver has no
// card on file).
type Payer interface {
	// QueueChargesTx queues, in tx, the automatic charge of each invoice
	// (an attempt is part of the charge's key, so queueing one twice
	// charges once).
	QueueChargesTx(ctx context.Context, tx bun.Tx, charges []InvoiceCharge) error
	// AutoTopUpStep is the billing run's auto_topup step: it queues the
	// check of every account whose auto top-up is due.
	AutoTopUpStep(ctx context.Context, asOf time.Time) (int64, error)
	// HasPaymentMethodTx reports whether the account has a saved payment
	// method, as db sees it.
	HasPaymentMethodTx(ctx context.Context, db bun.IDB, accountID string) (bool, error)
}

// InvoiceCharge is one automatic charge of an invoice: its attempt number
// starts at 1.
type InvoiceCharge struct {
	InvoiceID string
	Attempt   int
}

// PayWith makes p the payment side billing queues charges and top-up
// checks in. Register while wiring, before jobs start.
func (b *Billing) PayWith(p Payer) { b.payer = p }

// What follows is billing's API for the payment side: each call runs in
// the caller's transaction, so a payment and its effect on invoices and
// credit commit together.

// ProfileTx returns the account's billing profile as db sees it, creating
// the default one.
func (b *Billing) ProfileTx(ctx context.Context, db bun.IDB, accountID string) (*Profile, error) {
	return b.profileTx(ctx, db, accountID)
}

// SetDefaultPaymentMethodTx records pmID (payments' id of a saved method)
// as the one charged automatically.
func (b *Billing) SetDefaultPaymentMethodTx(ctx context.Context, db bun.IDB, accountID, pmID string) error {
	_, err := db.NewUpdate().Model((*Profile)(nil)).Set("default_payment_method_id = ?", pmID).Set("updated_at = ?", b.now()).
		Where("account_id = ?", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: setting the default payment method: %w", err)
	}
	return nil
}

// ClearDefaultPaymentMethodTx forgets pmID as the account's default, if
// it is.
func (b *Billing) ClearDefaultPaymentMethodTx(ctx context.Context, db bun.IDB, accountID, pmID string) error {
	if _, err := db.NewUpdate().Model((*Profile)(nil)).Set("default_payment_method_id = NULL").Set("updated_at = ?", b.now()).
		Where("account_id = ?", accountID).Where("default_payment_method_id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("billing: clearing the default payment method: %w", err)
	}
	return nil
}

// SetGatewayCustomerTx records the customer the payment gateway created
// for the account (kept, never searched for again).
func (b *Billing) SetGatewayCustomerTx(ctx context.Context, db bun.IDB, accountID, gateway, customerID string) error {
	if _, err := b.profileTx(ctx, db, accountID); err != nil {
		return err
	}
	_, err := db.NewUpdate().Model((*Profile)(nil)).Set("gateway = ?", gateway).Set("gateway_customer_id = ?", customerID).
		Set("updated_at = ?", b.now()).Where("account_id = ?", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: storing gateway customer: %w", err)
	}
	return nil
}

// AccountOfGatewayCustomerTx returns the account whose customer at gateway
// is customerID, or "" when it is none of ours.
func (b *Billing) AccountOfGatewayCustomerTx(ctx context.Context, db bun.IDB, gateway, customerID string) (string, error) {
	if customerID == "" {
		return "", nil
	}
	var ids []string
	if err := db.NewSelect().Model((*Profile)(nil)).Column("account_id").Where("gateway = ?", gateway).
		Where("gateway_customer_id = ?", customerID).Limit(1).Scan(ctx, &ids); err != nil {
		return "", fmt.Errorf("billing: finding the account of a gateway customer: %w", err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// InvoiceTx loads an invoice as db sees it, locking it on PostgreSQL when
// lock is set. Errors: NotFound.
func (b *Billing) InvoiceTx(ctx context.Context, db bun.IDB, id string, lock bool) (*Invoice, error) {
	return b.invoiceTx(ctx, db, id, lock)
}

// RecordChargeAttemptTx counts the attempt-th automatic charge of an
// invoice (never counting back) and when it was made: the daily charge
// step spaces and bounds attempts by it.
func (b *Billing) RecordChargeAttemptTx(ctx context.Context, db bun.IDB, invoiceID string, attempt int) error {
	_, err := db.NewUpdate().Model((*Invoice)(nil)).Where("id = ?", invoiceID).
		Set("charge_attempts = CASE WHEN charge_attempts < ? THEN ? ELSE charge_attempts END", attempt, attempt).
		Set("last_charge_at = ?", b.now()).Set("updated_at = ?", b.now()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: recording the charge of invoice %s: %w", invoiceID, err)
	}
	return nil
}

// CreditArrivedTx posts a credit (once per its idempotency key) and applies
// the account's credit to its open invoices: first to invoiceID when given
// (a payment meant for it), then oldest first. Paid invoices start what
// payment starts (services provisioned or lifted) in tx.
func (b *Billing) CreditArrivedTx(ctx context.Context, tx bun.Tx, p ledger.Posting, invoiceID string) (*ledger.Entry, error) {
	var e *ledger.Entry
	err := b.join(ctx, tx, func(t *txn) error {
		var err error
		e, err = b.creditArrived(ctx, t, p, invoiceID)
		return err
	})
	return e, err
}

// ApplyCreditTx applies the account's credit in cur to its open invoices,
// oldest first, and returns the amount applied.
func (b *Billing) ApplyCreditTx(ctx context.Context, tx bun.Tx, accountID string, cur money.Currency) (int64, error) {
	var applied int64
	err := b.join(ctx, tx, func(t *txn) error {
		var err error
		applied, err = b.applyCredit(ctx, t, accountID, cur)
		return err
	})
	return applied, err
}

// JobTimeout is a job kind's timeout d, capped below the engine's rescue
// horizon.
func (b *Billing) JobTimeout(d time.Duration) time.Duration { return b.timeout(d) }

// NextRetry is when a job that failed attempt times runs again: billing's
// backoff (Options.RetryBase doubling, at most RetryMax).
func (b *Billing) NextRetry(attempt int) time.Time { return b.nextRetry(attempt) }

// Ref names an invoice for people: its number, or its id as a draft.
func (inv *Invoice) Ref() string { return invoiceRef(inv) }

// queueCharge queues the invoice's next automatic charge when card
// payments are on, the account has a default payment method and attempts
// are left.
func (b *Billing) queueCharge(ctx context.Context, t *txn, inv *Invoice) error {
	if b.payer == nil || b.opts.PaymentGateway == "" || inv.ChargeAttempts >= b.opts.ChargeMaxAttempts {
		return nil
	}
	p, err := b.profileTx(ctx, t, inv.AccountID)
	if err != nil {
		return err
	}
	if p.DefaultPaymentMethodID == nil {
		return nil
	}
	return b.payer.QueueChargesTx(ctx, t.Tx, []InvoiceCharge{{InvoiceID: inv.ID, Attempt: inv.ChargeAttempts + 1}})
}

// hasPaymentMethod reports whether the account has a saved payment method
// (false without a payment side).
func (b *Billing) hasPaymentMethod(ctx context.Context, db bun.IDB, accountID string) (bool, error) {
	if b.payer == nil {
		return false, nil
	}
	return b.payer.HasPaymentMethodTx(ctx, db, accountID)
}

// nextRetry doubles the delay per attempt from RetryBase up to RetryMax.
func (b *Billing) nextRetry(attempt int) time.Time {
	return time.Now().Add(b.backoff(attempt))
}

// backoff is the delay after the attempt-th failure: RetryBase doubling per
// attempt, at most RetryMax.
func (b *Billing) backoff(attempt int) time.Duration {
	d := b.opts.RetryBase
	for i := 1; i < attempt && d < b.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, b.opts.RetryMax)
}

// RetryDelay is when a failed plugin call about a service is tried again:
// the backoff, but never sooner than the plugin's retry-after hint (a
// rate-limited or full backend knows better than our doubling), and never
// later than RetryMax.
func (b *Billing) RetryDelay(attempt int, cause error) time.Duration {
	return min(max(b.backoff(attempt), sdk.RetryAfterOf(cause)), b.opts.RetryMax)
}
