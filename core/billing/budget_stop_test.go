package billing_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/services"
)

// TestBudgetHardStopAppliesToNewServices: with budget caps attached as the
// application wires them, a service whose own order takes the spend past
// the limit is held by the hard stop once it starts at its backend,
// instead of running on (the check after the order's payment ran while it
// was still being provisioned); while the stop is in force a further
// order is refused (422 budget_stopped) and creates nothing; once the
// customer pays by card to override the stop, the service resumes and
// orders go through.
func TestBudgetHardStopAppliesToNewServices(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var budgets *budget.Service
		tb := setup(t, db, setupOpts{noJobs: true, wire: func(tb *testBundle) {
			budgets = budget.New(db, tb.notify, tb.b, tb.svcs, tb.pay, tb.reg, budget.Options{Now: tb.b.Options().Now})
			budgets.Attach(tb.b, tb.svcs)
		}})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 1000, nil)
		if _, err := budgets.Save(tb.ctx, acc, budget.Settings{MonthlyLimit: 500, Currency: "USD", HardStop: true}); err != nil {
			t.Fatal(err)
		}
		tb.credit(t, acc, 10_000)
		// Nothing spent yet: admitted. Its payment from credit takes the
		// spend to 200 % of the limit.
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.Slug})
		if err != nil {
			t.Fatal(err)
		}
		svc := res.Service.ID
		// The check that payment queued, run now, while the service is
		// still being provisioned: nothing runs yet to hold.
		if r, err := budgets.Check(tb.ctx, acc, 0); err != nil || len(r.Suspended) != 0 || r.SpendPercent != 200 {
			t.Fatalf("check while provisioning: %+v, %v", r, err)
		}
		jobstest.Start(t, tb.engine)
		tb.waitService(t, svc, services.StatusSuspended)
		var held []string
		if err := db.NewSelect().Table("service_suspensions").Column("service_id").Where("reason = ?", budget.Reason).
			Where("lifted_at IS NULL").Scan(tb.ctx, &held); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{svc}, held); diff != "" {
			t.Errorf("budget suspensions (-want +got):\n%s", diff)
		}

		_, err = tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unprocessable || e.Reason != budget.ReasonStopped {
			t.Errorf("ordering while stopped: %v, want unprocessable %s", err, budget.ReasonStopped)
		}
		if svcs, _ := tb.b.Services(tb.ctx, billingFilter(acc)); len(svcs) != 1 {
			t.Errorf("services after the refusal: %d, want 1", len(svcs))
		}

		// A card top-up overrides the stop: the service resumes, and
		// orders go through.
		err = db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := tb.b.Ledger().Post(ctx, tx, ledger.Posting{AccountID: acc, Currency: "USD", Amount: 500, Kind: ledger.KindTopUp, Description: "card top-up"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, svc, services.StatusActive)
		if _, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID}); err != nil {
			t.Errorf("ordering once overridden: %v", err)
		}
	})
}
