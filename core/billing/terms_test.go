package billing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/services"
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
		check(unpaid.Service.ID, services.StatusPending, false)

		tb.credit(t, acc, 5000)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Service.ID
		if status, got := inTerm(id); got && !billing.InTerm(status) {
			t.Errorf("service %s is in term", status)
		}
		tb.waitService(t, id, services.StatusActive)
		check(id, services.StatusActive, true)

		if _, err := tb.svcs.Suspend(tb.ctx, id, services.SuspendAdmin, "checking"); err != nil {
			t.Fatal(err)
		}
		check(id, services.StatusSuspended, true)
		if _, err := tb.svcs.Unsuspend(tb.ctx, id, services.SuspendAdmin); err != nil {
			t.Fatal(err)
		}
		check(id, services.StatusActive, true)
		if _, err := tb.b.Terminate(tb.ctx, id, "done"); err != nil {
			t.Fatal(err)
		}
		check(id, services.StatusTerminated, false)
	})
}

// TestUnpaidOrderEndsThroughTheStatusMachine: an order whose invoice is
// voided (never paid by the terminate step, voided by staff, or cancelled
// by the customer) ends through the status machine: cancelled, with its
// end time, and the status hooks told once, as for every other status
// change.
func TestUnpaidOrderEndsThroughTheStatusMachine(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var mu sync.Mutex
		seen := map[string][]string{}
		tb := setup(t, db, setupOpts{wire: func(tb *testBundle) {
			tb.svcs.OnStatus(func(_ context.Context, _ bun.Tx, svc *services.Service, from string) error {
				mu.Lock()
				defer mu.Unlock()
				seen[svc.ID] = append(seen[svc.ID], from+">"+svc.Status)
				return nil
			})
		}})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-unpaid", 1000, nil)
		order := func() (serviceID, invoiceID string) {
			t.Helper()
			res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
			if err != nil {
				t.Fatal(err)
			}
			if res.Service.Status != services.StatusPending {
				t.Fatalf("an unpaid order is %s", res.Service.Status)
			}
			return res.Service.ID, res.Invoice.ID
		}
		neverPaid, _ := order()
		voided, voidedInvoice := order()
		cancelled, _ := order()

		if _, err := tb.b.VoidInvoice(tb.ctx, voidedInvoice, "ordered by mistake"); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.b.Cancel(tb.ctx, acc, cancelled, billing.CancelInput{When: "now"}); err != nil {
			t.Fatal(err)
		}
		if n := tb.step(t, billing.StepTerminate, tb.clock.Now().AddDate(0, 0, 60)); n != 1 {
			t.Errorf("the terminate step ended %d orders, want the one never paid", n)
		}

		mu.Lock()
		defer mu.Unlock()
		for _, id := range []string{neverPaid, voided, cancelled} {
			svc, err := tb.b.Service(tb.ctx, acc, id)
			if err != nil {
				t.Fatal(err)
			}
			if svc.Status != services.StatusCancelled || svc.EndedAt == nil || svc.Terms.InTerm {
				t.Errorf("%s: status %s, ended %v, in term %v; want cancelled and ended", id, svc.Status, svc.EndedAt, svc.Terms.InTerm)
			}
			if diff := cmp.Diff([]string{"pending>cancelled"}, seen[id]); diff != "" {
				t.Errorf("%s: the status hooks saw (-want +got)\n%s", id, diff)
			}
		}
	})
}
