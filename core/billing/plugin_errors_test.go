package billing_test

import (
	"testing"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// TestProvisioningTheBackendCannotFindFailsAtOnce: a Create the backend
// answers with NotFound (it does not know something the plan names) cannot
// heal by waiting: the service fails at the first attempt, as with a
// refused input, instead of being retried until the attempts run out.
func TestProvisioningTheBackendCannotFindFailsAtOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "unknown-template", 0, map[string]string{"fail_create": "always", "fail_kind": "not_found"})
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		svc := tb.waitService(t, res.Service.ID, services.StatusFailed)
		if svc.ProvisionAttempts != 1 || tb.backend(t, svc.ID).CreateAttempts != 1 {
			t.Errorf("attempts %d (backend saw %d), want 1", svc.ProvisionAttempts, tb.backend(t, svc.ID).CreateAttempts)
		}
	})
}

// TestSyncTheBackendCannotFindStopsAtOnce: a suspension the backend
// answers with NotFound is not retried: the failure is recorded as final
// (backend_failed) at the first attempt, with no backend_retry before it.
func TestSyncTheBackendCannotFindStopsAtOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		id := tb.order(t, acc, tb.plan(t, "vps", 0, nil))
		tb.waitService(t, id, services.StatusActive)
		tb.marker(t, id, "suspend_not_found", true)
		if _, err := tb.svcs.Suspend(tb.ctx, id, services.SuspendAdmin, "abuse report"); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the suspension's final failure", func() bool {
			return count(tb.auditActions(t, id), "billing.service.backend_failed") == 1
		})
		if n := count(tb.auditActions(t, id), "billing.service.backend_retry"); n != 0 {
			t.Errorf("%d backend_retry events before the final failure, want none", n)
		}
	})
}
