package transfers_test

import (
	"testing"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// BenchmarkCompletion measures a transfer's completion as staff approve it
// (one transaction: billing's move, the sender's credit and the receiver's
// invoice, the scheduler's and projects' moves, the transfer row, two
// notifications, the audit events) against its nearest billing operation,
// an immediate upgrade of a like service (a proration invoice, the plan
// change, the backend sync job), on each database. The services and the
// accepted transfers are made before the timer starts.
func BenchmarkCompletion(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			tb := setup(b, databasetest.New(b, d), setupOpts{})
			b.Run("transfer", func(b *testing.B) {
				ids := make([]string, b.N)
				for i := range ids {
					tr := tb.request(b, tb.service(b, tb.sender, "svc", 2900))
					if _, err := tb.t.Accept(tb.ctx, tb.receiver, tr.ID); err != nil {
						b.Fatal(err)
					}
					ids[i] = tr.ID
				}
				b.ResetTimer()
				for _, id := range ids {
					if _, err := tb.t.Approve(tb.ctx, staff, id); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("upgrade", func(b *testing.B) {
				big, err := catalogtest.Plan(tb.ctx, tb.db, "testprov", 5800)
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]string, b.N)
				for i := range ids {
					ids[i] = tb.service(b, tb.sender, "svc", 2900)
				}
				b.ResetTimer()
				for _, id := range ids {
					if _, err := tb.b.ChangePlan(tb.ctx, tb.sender.AccountID, id, billing.ChangeInput{PlanID: big}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
