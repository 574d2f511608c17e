package budget_test

import (
	"testing"

	"github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// BenchmarkCheck measures one budget check on SQLite of an account with 20
// services, a stop rule and an alert rule, over the limit with the hard stop
// in force (the steady state: sum the spend, find every alert already sent,
// evaluate the rules per service, change nothing).
func BenchmarkCheck(b *testing.B) {
	db := databasetest.New(b, database.SQLite)
	tb := setup(b, db)
	acc := tb.account(b)
	for i := range 20 {
		typ := []string{"vps", "game", "hosting", "kasm"}[i%4]
		tb.service(b, acc, typ, "active")
	}
	tb.save(b, acc, budget.Settings{MonthlyLimit: 10000, HardStop: true,
		StopRule:  `spend_percent >= 100 && service_type != "kasm"`,
		AlertRule: `projected_percent >= 100 && any(services, .type == "game")`})
	tb.spend(b, acc, 12000)
	tb.check(b, acc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.svc.Check(tb.ctx, acc, 0); err != nil {
			b.Fatal(err)
		}
	}
}
