package billing_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestRandomizedLedgerWithInvoices runs random top-ups, charges, refunds,
// manual invoices and credit applications from many goroutines over a few
// accounts, and checks after every step that each balance equals the sum
// of its entries, none is negative, and every invoice's paid amount equals
// the credit applied to it.
func TestRandomizedLedgerWithInvoices(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, noHost: true})
		accs := []string{tb.account(t), tb.account(t), tb.account(t)}
		const workers, steps = 8, 30
		var mu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 99))
				for s := range steps {
					acc := accs[r.IntN(len(accs))]
					var err error
					switch r.IntN(6) {
					case 0, 1: // top-up (staff credit)
						_, err = tb.b.Adjust(tb.ctx, acc, billing.AdjustInput{Amount: 1 + r.Int64N(3000), Description: "top-up",
							IdempotencyKey: fmt.Sprintf("w%d-s%d", w, s%4)}) // some keys repeat: replays
					case 2: // direct charge against credit
						_, err = tb.b.ChargeCredit(tb.ctx, acc, billing.ChargeInput{Amount: 1 + r.Int64N(1500), Description: "usage"})
					case 3: // refund: credit leaves the account
						err = tb.db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
							_, err := tb.b.Ledger().Post(ctx, tx, ledger.Posting{AccountID: acc, Currency: "USD", Amount: -(1 + r.Int64N(1000)), Kind: ledger.KindRefund})
							return err
						})
					case 4: // a manual invoice (credit is applied to it at once)
						_, err = tb.b.CreateManualInvoice(tb.ctx, acc, billing.ManualInvoiceInput{Lines: []billing.ManualLine{{Description: "work", Quantity: 1, UnitAmount: 1 + r.Int64N(2500)}}})
					case 5: // an explicit credit application
						_, err = tb.b.ApplyCredit(tb.ctx, acc)
					}
					if err != nil && !errors.Is(err, ledger.ErrInsufficientCredit) {
						fail("worker %d step %d: %v", w, s, err)
						return
					}
					if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
						fail("after worker %d step %d: %v", w, s, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatal(strings.Join(failures, "\n"))
		}
		for _, acc := range accs {
			var bad []string
			err := db.NewSelect().TableExpr("invoices AS i").ColumnExpr("i.id").Where("i.account_id = ?", acc).
				Where("i.amount_paid <> (SELECT COALESCE(-SUM(e.amount), 0) FROM credit_entries e WHERE e.invoice_id = i.id AND e.kind = 'invoice_payment')").
				Scan(tb.ctx, &bad)
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("invoices whose paid amount differs from the credit applied: %v", bad)
			}
			// No open invoice is left unpaid while the account holds credit.
			bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
			open := tb.invoices(t, billing.InvoiceFilter{AccountID: acc, Status: billing.InvoiceOpen})
			if bal.Amount > 0 && len(open) > 0 {
				t.Errorf("account %s keeps %d credit with %d open invoices", acc, bal.Amount, len(open))
			}
		}
	})
}
