package billing_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

// post credits an account through the ledger alone: credit that is held
// but not yet applied to its open invoices.
func (tb *testBundle) post(t testing.TB, accountID string, cur money.Currency, amount int64) {
	t.Helper()
	err := tb.db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tb.b.Ledger().Post(ctx, tx, ledger.Posting{AccountID: accountID, Currency: cur, Amount: amount, Kind: ledger.KindAdjustment, Description: "held"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApplyCreditStepPaysWhereCreditMeetsAnOpenInvoice: the billing run's
// apply_credit step applies the credit of each account holding some to its
// open invoices in the balance's currency, and touches no account without
// credit, without an open invoice, or whose open invoice is in another
// currency; one account per batch pages through them all.
func TestApplyCreditStepPaysWhereCreditMeetsAnOpenInvoice(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true, opts: billing.Options{BatchSize: 1}})
		at := tb.clock.Now()
		invoice := func(acc string, cur money.Currency) string {
			id, err := billingtest.OpenInvoice(tb.ctx, db, acc, "", 1000, string(cur), at)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		owes := tb.account(t) // credit and an open invoice: paid
		tb.post(t, owes, "USD", 1500)
		paid := invoice(owes, "USD")
		holds := tb.account(t) // credit, nothing open
		tb.post(t, holds, "USD", 500)
		unfunded := tb.account(t) // an open invoice, no credit
		stays := invoice(unfunded, "USD")
		elsewhere := tb.account(t) // credit in USD, the invoice in EUR
		tb.post(t, elsewhere, "USD", 1500)
		other := invoice(elsewhere, "EUR")

		if n := tb.step(t, billing.StepApplyCredit, at); n != 1 {
			t.Errorf("the apply_credit step paid from %d accounts, want 1", n)
		}
		for acc, want := range map[string]struct {
			invoice, status string
		}{owes: {paid, billing.InvoicePaid}, unfunded: {stays, billing.InvoiceOpen}, elsewhere: {other, billing.InvoiceOpen}} {
			inv, err := tb.b.Invoice(tb.ctx, acc, want.invoice)
			if err != nil || inv.Status != want.status {
				t.Errorf("invoice of %s: %+v (%v), want %s", acc, inv, err, want.status)
			}
		}
		if bal, _ := tb.b.Ledger().Balance(tb.ctx, owes, "USD"); bal.Amount != 500 {
			t.Errorf("the paying account keeps %d, want 500", bal.Amount)
		}
	})
}

// TestCurrencyChangeNeedsNothingInTheOldCurrency: staff may change an
// account's billing currency only while it holds no credit, has no open
// invoice and no live service (409 currency_in_use); the empty balance
// then follows the new currency.
func TestCurrencyChangeNeedsNothingInTheOldCurrency(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		eur := money.Currency("EUR")
		change := func(acc string) error {
			_, err := tb.b.UpdateProfile(tb.ctx, acc, billing.ProfileUpdate{Currency: &eur}, true)
			return err
		}
		credited := tb.account(t)
		tb.post(t, credited, "USD", 100)
		if err := change(credited); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("with credit: %v, want a conflict", err)
		}
		owing := tb.account(t)
		if _, err := billingtest.OpenInvoice(tb.ctx, db, owing, "", 1000, "USD", tb.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := change(owing); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("with an open invoice: %v, want a conflict", err)
		}

		emptied := tb.account(t) // had credit, spent it: an empty USD balance
		tb.post(t, emptied, "USD", 100)
		tb.post(t, emptied, "USD", -100)
		if err := change(emptied); err != nil {
			t.Fatalf("with nothing in USD: %v", err)
		}
		if bal, _ := tb.b.Ledger().Balance(tb.ctx, emptied, "USD"); bal.Currency != eur {
			t.Errorf("the empty balance is in %s, want EUR", bal.Currency)
		}
		if p, _ := tb.b.Profile(tb.ctx, emptied); p.Currency != eur {
			t.Errorf("the profile is in %s, want EUR", p.Currency)
		}
	})
}
