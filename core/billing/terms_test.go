package billing_test

import (
	"testing"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestInTermFollowsTheStatus: billing's copy of whether a service's term
// runs (service_terms.in_term, what the renewal and dunning scans read)
// follows every status change in the change's transaction: not while the
// order is pending or provisioning, while the service is active or
// suspended, and no more once it has ended.
func TestInTermFollowsTheStatus(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-terms", 1000, nil)
		inTerm := func(id string) (string, bool) {
			t.Helper()
			svc, err := tb.b.Service(tb.ctx, "", id)
			if err != nil {
				t.Fatal(err)
			}
			return svc.Status, svc.Terms.InTerm
		}
		check := func(id, wantStatus string, want bool) {
			t.Helper()
			if status, got := inTerm(id); status != wantStatus || got != want {
				t.Errorf("service %s, in term %v; want %s, in term %v", status, got, wantStatus, want)
			}
		}

		unpaid, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		check(unpaid.Service.ID, billing.StatusPending, false)

		tb.credit(t, acc, 5000)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Service.ID
		if status, got := inTerm(id); got && status != billing.StatusActive && status != billing.StatusSuspended {
			t.Errorf("service %s is in term", status)
		}
		tb.waitService(t, id, billing.StatusActive)
		check(id, billing.StatusActive, true)

		if _, err := tb.b.Suspend(tb.ctx, id, billing.SuspendAdmin, "checking"); err != nil {
			t.Fatal(err)
		}
		check(id, billing.StatusSuspended, true)
		if _, err := tb.b.Unsuspend(tb.ctx, id, billing.SuspendAdmin); err != nil {
			t.Fatal(err)
		}
		check(id, billing.StatusActive, true)
		if _, err := tb.b.Terminate(tb.ctx, id, "done"); err != nil {
			t.Fatal(err)
		}
		check(id, billing.StatusTerminated, false)
	})
}
