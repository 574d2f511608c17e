package payments_test

import (
	"fmt"
	"testing"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// BenchmarkAutoTopUpStepNothingDue measures the billing run's auto_topup
// step over 2,000 accounts with auto top-up on, each above its threshold:
// the daily check's usual case, where its cost is finding out that no
// account needs a top-up. Every iteration sees the same state.
func BenchmarkAutoTopUpStepNothingDue(b *testing.B) {
	for _, d := range []database.Dialect{database.Postgres, database.SQLite} {
		b.Run(string(d), func(b *testing.B) {
			db := databasetest.New(b, d)
			tb := setup(b, db, setupOpts{noJobs: true, opts: billing.Options{PaymentGateway: "stripe"}})
			const accounts = 2000
			for i := range accounts {
				acc, err := accountstest.Team(tb.ctx, db, fmt.Sprintf("bench %d", i), nil)
				if err != nil {
					b.Fatal(err)
				}
				tb.post(b, ledger.Posting{AccountID: acc, Currency: "USD", Amount: 5000, Kind: ledger.KindAdjustment, Description: "bench"})
				card, err := paymentstest.SavedCard(tb.ctx, db, acc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tb.pay.SetAutoTopUp(tb.ctx, acc, payments.AutoTopUpInput{Enabled: true, Threshold: 1000, Amount: 2000, PaymentMethodID: card}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if n := tb.step(b, billing.StepAutoTopUp, tb.clock.Now()); n != 0 {
					b.Fatalf("the step queued %d checks, want none", n)
				}
			}
			b.ReportMetric(float64(accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
		})
	}
}
