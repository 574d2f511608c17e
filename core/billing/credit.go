package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/money"
	"github.com/uptrace/bun"
)

// applyCredit applies the account's credit to its open invoices, oldest
// first (by issue time, then number), paying each as far as the credit
// goes: an invoice the credit does not cover is paid partially. It holds
// the balance row lock, so concurrent applications for one account queue
// up. Called whenever credit arrives and whenever an invoice is issued.
func (b *Billing) applyCredit(ctx context.Context, t *txn, accountID string, cur money.Currency) (int64, error) {
	bal, err := b.ledger.Lock(ctx, t.Tx, accountID, cur)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Reason == "currency_mismatch" {
			return 0, nil // credit in another currency pays nothing here
		}
		return 0, err
	}
	if bal <= 0 {
		return 0, nil
	}
	var open []*Invoice
	err = t.NewSelect().Model(&open).Where("account_id = ?", accountID).Where("status = ?", InvoiceOpen).
		Where("currency = ?", cur).Where("amount_paid < total").Order("issued_at ASC", "number ASC").Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: loading open invoices of %s: %w", accountID, err)
	}
	var applied int64
	for _, inv := range open {
		if bal == 0 {
			break
		}
		take, err := b.payFromCredit(ctx, t, inv, bal)
		if err != nil {
			return applied, err
		}
		bal -= take
		applied += take
	}
	return applied, nil
}

// payFromCredit applies up to max of the account's credit to inv (already
// under the balance lock) and marks it paid when covered.
func (b *Billing) payFromCredit(ctx context.Context, t *txn, inv *Invoice, max int64) (int64, error) {
	take := min(max, inv.AmountDue())
	if take <= 0 {
		return 0, nil
	}
	_, err := b.ledger.Post(ctx, t.Tx, ledger.Posting{
		AccountID: inv.AccountID, Currency: inv.Currency, Amount: -take, Kind: ledger.KindInvoicePayment,
		InvoiceID: inv.ID, Description: fmt.Sprintf("Applied to invoice %s", invoiceRef(inv)),
	})
	if err != nil {
		return 0, err
	}
	res, err := t.NewUpdate().Model(inv).WherePK().Where("status = ?", InvoiceOpen).Where("amount_paid + ? <= total", take).
		Set("amount_paid = amount_paid + ?", take).Set("updated_at = ?", b.now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: crediting invoice %s: %w", inv.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, fmt.Errorf("billing: invoice %s changed while credit was applied", inv.ID)
	}
	inv.AmountPaid += take
	t.Audit("billing.credit.apply", inv.AccountID, "invoice", inv.ID, map[string]any{"amount": take, "amount_due": inv.AmountDue()})
	if inv.AmountDue() == 0 {
		if err := b.markPaid(ctx, t, inv); err != nil {
			return 0, err
		}
	}
	return take, nil
}

// creditArrived posts a credit and applies the account's credit to its
// open invoices: first to invoiceID when given (a payment meant for it),
// then oldest first.
func (b *Billing) creditArrived(ctx context.Context, t *txn, p ledger.Posting, invoiceID string) (*ledger.Entry, error) {
	e, err := b.ledger.Post(ctx, t.Tx, p)
	if err != nil || e.Replayed {
		return e, err
	}
	if invoiceID != "" {
		inv, err := b.invoiceTx(ctx, t, invoiceID, true)
		if err != nil {
			return nil, err
		}
		if inv.Status == InvoiceOpen && inv.Currency == p.Currency {
			bal, err := b.ledger.Lock(ctx, t.Tx, p.AccountID, p.Currency)
			if err != nil {
				return nil, err
			}
			if _, err := b.payFromCredit(ctx, t, inv, bal); err != nil {
				return nil, err
			}
		}
	}
	if _, err := b.applyCredit(ctx, t, p.AccountID, p.Currency); err != nil {
		return nil, err
	}
	return e, nil
}

// ApplyCredit applies the account's credit to its open invoices now (the
// billing run does this daily; credit arriving does it at once). It
// returns the amount applied.
func (b *Billing) ApplyCredit(ctx context.Context, accountID string) (int64, error) {
	var applied int64
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		applied, err = b.applyCredit(ctx, t, accountID, p.Currency)
		return err
	})
	return applied, err
}

// AdjustInput is a staff correction of an account's credit.
type AdjustInput struct {
	// Amount is signed: positive adds credit (a bank transfer, a goodwill
	// credit), negative removes it (never below zero).
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
	// IdempotencyKey makes a retried request post once.
	IdempotencyKey string `json:"-"`
}

// Adjust posts a staff adjustment; a credit is applied to open invoices at
// once. Errors: Invalid, PaymentRequired (not enough credit to remove).
func (b *Billing) Adjust(ctx context.Context, accountID string, in AdjustInput) (*ledger.Entry, error) {
	if in.Amount == 0 || money.CheckAmount(in.Amount) != nil {
		return nil, apperr.Field("amount", "must be a non-zero number of minor units")
	}
	if in.Description == "" || len(in.Description) > 500 {
		return nil, apperr.Field("description", "is required (at most 500 characters)")
	}
	var e *ledger.Entry
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		posting := ledger.Posting{AccountID: accountID, Currency: p.Currency, Amount: in.Amount, Kind: ledger.KindAdjustment,
			Description: in.Description, IdempotencyKey: keyed("adjust", in.IdempotencyKey)}
		if in.Amount > 0 {
			e, err = b.creditArrived(ctx, t, posting, "")
		} else {
			e, err = b.ledger.Post(ctx, t.Tx, posting)
		}
		if err != nil || e.Replayed {
			return err
		}
		t.Audit("billing.credit.adjust", accountID, "credit_entry", e.ID, map[string]any{"amount": in.Amount, "description": in.Description, "balance_after": e.BalanceAfter})
		return nil
	})
	return e, err
}

// ChargeInput debits credit directly (usage billed from credit).
type ChargeInput struct {
	Amount         int64  `json:"amount"`
	Description    string `json:"description"`
	Reference      string `json:"reference"`
	IdempotencyKey string `json:"-"`
}

// ChargeCredit debits the account's credit by in.Amount (positive).
// Errors: Invalid, PaymentRequired (insufficient credit).
func (b *Billing) ChargeCredit(ctx context.Context, accountID string, in ChargeInput) (*ledger.Entry, error) {
	if in.Amount <= 0 || money.CheckAmount(in.Amount) != nil {
		return nil, apperr.Field("amount", "must be a positive number of minor units")
	}
	var e *ledger.Entry
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		e, err = b.ledger.Post(ctx, t.Tx, ledger.Posting{AccountID: accountID, Currency: p.Currency, Amount: -in.Amount,
			Kind: ledger.KindCharge, Description: in.Description, Reference: in.Reference, IdempotencyKey: keyed("charge", in.IdempotencyKey)})
		if err != nil || e.Replayed {
			return err
		}
		t.Audit("billing.credit.charge", accountID, "credit_entry", e.ID, map[string]any{"amount": in.Amount, "reference": in.Reference})
		return nil
	})
	return e, err
}

// keyed namespaces a client key by operation, so one key used for two
// operations cannot collide in the ledger.
func keyed(op, key string) string {
	if key == "" {
		return ""
	}
	return op + ":" + key
}

// lockAccountOfInvoice takes the balance row lock of the account owning an
// invoice before its rows are locked (lockAccountOfService: a service's). Every transaction that may move
// credit and touch services or invoices locks in this order (account, then
// service or invoice, then the invoice counter), so two of them cannot
// deadlock.
func (b *Billing) lockAccountOfInvoice(ctx context.Context, t *txn, id string) error {
	var accountID string
	if err := t.NewSelect().Model((*Invoice)(nil)).Column("account_id").Where("id = ?", id).Scan(ctx, &accountID); err != nil {
		return nil // missing: the caller's own lookup reports NotFound
	}
	return b.lockAccount(ctx, t.Tx, accountID)
}

// lockAccountOfService is lockAccountOfInvoice for a service, whose account
// core/services knows.
func (b *Billing) lockAccountOfService(ctx context.Context, t *txn, serviceID string) error {
	accountID, err := b.services.AccountOf(ctx, t, serviceID)
	if err != nil || accountID == "" {
		return err // missing: the caller's own lookup reports NotFound
	}
	return b.lockAccount(ctx, t.Tx, accountID)
}

// lockAccount takes the balance row lock of the account in its billing
// currency (nothing when its credit is kept in another).
func (b *Billing) lockAccount(ctx context.Context, tx bun.Tx, accountID string) error {
	p, err := b.profileTx(ctx, tx, accountID)
	if err != nil {
		return err
	}
	_, err = b.ledger.Lock(ctx, tx, accountID, p.Currency)
	if apperr.CodeOf(err) == apperr.Conflict {
		return nil // credit kept in another currency: nothing to serialise with
	}
	return err
}
