package billing_test

import (
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// TestConcurrentRunsIssueOneInvoicePerService: 50 billing runs for one
// period at once issue exactly one renewal invoice per due service, with
// gap-free numbers; a later run issues nothing.
func TestConcurrentRunsIssueOneInvoicePerService(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, noHost: true, opts: billing.Options{BatchSize: 25}})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 999, nil)
		due := tb.insertServices(t, acc, plan, money.Monthly, date("2024-01-20"), 120)  // renew Feb 20
		later := tb.insertServices(t, acc, plan, money.Monthly, date("2024-02-10"), 10) // renew Mar 10: not yet
		asOf := date("2024-02-14")
		var wg sync.WaitGroup
		issued := make([]int64, 50)
		for i := range 50 {
			wg.Go(func() {
				n, err := tb.b.RunStepNow(tb.ctx, billing.StepGenerate, asOf)
				if err != nil {
					t.Errorf("run %d: %v", i, err)
				}
				issued[i] = n
			})
		}
		wg.Wait()
		var sum int64
		for _, n := range issued {
			sum += n
		}
		if sum != int64(len(due)) {
			t.Errorf("the runs issued %d invoices together, want %d", sum, len(due))
		}
		invs := tb.invoices(t, billing.InvoiceFilter{AccountID: acc, Limit: 1000})
		per := map[string]int{}
		var numbers []int64
		for _, inv := range invs {
			per[*inv.ServiceID]++
			numbers = append(numbers, *inv.Number)
			if inv.Status != billing.InvoiceOpen || inv.Total != 999 || !inv.DueAt.Equal(date("2024-02-20")) {
				t.Fatalf("invoice %s: status %s total %d due %s", inv.ID, inv.Status, inv.Total, inv.DueAt)
			}
		}
		for _, s := range due {
			if per[s.ID] != 1 {
				t.Errorf("service %s has %d renewal invoices", s.ID, per[s.ID])
			}
		}
		for _, s := range later {
			if per[s.ID] != 0 {
				t.Errorf("service %s, not due, has %d invoices", s.ID, per[s.ID])
			}
		}
		sort.Slice(numbers, func(i, j int) bool { return numbers[i] < numbers[j] })
		for i, n := range numbers {
			if n != int64(i+1) {
				t.Fatalf("invoice numbers are not gap-free from 1: %v", numbers)
			}
		}
		if n := tb.step(t, billing.StepGenerate, asOf); n != 0 {
			t.Errorf("a re-run issued %d invoices", n)
		}
	})
}

// TestRenewalLinesAndTax: a renewal has the plan and add-on lines, the
// coupon's discount while its cycles last, and the country's tax (none for
// an exempt account), rounded once.
func TestRenewalLinesAndTax(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		if _, err := tb.cat.PutTaxRate(tb.ctx, "DE", "VAT", 190_000); err != nil {
			t.Fatal(err)
		}
		plan := tb.plan(t, "vps", 999, nil)
		ip, err := tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "ip", Name: "Extra IP", Currency: "USD", MonthlyPrice: 300, MaxQuantity: 4})
		if err != nil {
			t.Fatal(err)
		}
		cycles := 2
		if _, err := tb.cat.CreateCoupon(tb.ctx, catalog.CouponInput{Code: "HALF", Kind: catalog.CouponPercent, PercentBP: 5000, Cycles: &cycles}); err != nil {
			t.Fatal(err)
		}
		de, exempt := tb.account(t), tb.account(t)
		country := "de"
		for _, a := range []string{de, exempt} {
			if _, err := tb.b.UpdateProfile(tb.ctx, a, billing.ProfileUpdate{Country: &country}, false); err != nil {
				t.Fatal(err)
			}
			tb.credit(t, a, 100_000)
		}
		yes := true
		if _, err := tb.b.UpdateProfile(tb.ctx, exempt, billing.ProfileUpdate{TaxExempt: &yes}, true); err != nil {
			t.Fatal(err)
		}
		type totals struct{ Subtotal, Discount, Tax, Total int64 }
		var got []totals
		for _, a := range []string{de, exempt} {
			res, err := tb.b.Order(tb.ctx, a, billing.OrderInput{PlanID: plan.ID, CouponCode: "half", Addons: []billing.AddonChoice{{AddonID: ip.ID, Quantity: 2}}})
			if err != nil {
				t.Fatal(err)
			}
			i := res.Invoice
			got = append(got, totals{i.Subtotal, i.Discount, i.Tax, i.Total})
			tb.waitService(t, res.Service.ID, services.StatusActive)
		}
		// Order: 999 + 2×300 = 1599, half off = 800 (799.5), tax 19 % of
		// 799 = 152 (151.81).
		want := []totals{{1599, 800, 152, 951}, {1599, 800, 0, 799}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order invoices (-want +got):\n%s", diff)
		}
		// Renewals: the coupon's second (and last) cycle, then full price.
		got = nil
		for _, asOf := range []time.Time{date("2024-02-10"), date("2024-03-10")} {
			tb.step(t, billing.StepGenerate, asOf)
			tb.clock.Set(asOf)
			tb.step(t, billing.StepApplyCredit, asOf)
			invs := tb.invoices(t, billing.InvoiceFilter{AccountID: de, Limit: 1})
			i := invs[0]
			got = append(got, totals{i.Subtotal, i.Discount, i.Tax, i.Total})
			if i.Reason != billing.ReasonRenewal || i.Status != billing.InvoicePaid {
				t.Errorf("renewal %s: reason %s status %s", i.ID, i.Reason, i.Status)
			}
		}
		want = []totals{{1599, 800, 152, 951}, {1599, 0, 304, 1903}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("renewals (-want +got):\n%s", diff)
		}
		full, err := tb.b.Invoice(tb.ctx, de, got2(tb.invoices(t, billing.InvoiceFilter{AccountID: de, Limit: 1})))
		if err != nil {
			t.Fatal(err)
		}
		var lineTax int64
		var kinds []string
		for _, l := range full.Lines {
			lineTax += l.Tax
			kinds = append(kinds, l.Kind)
		}
		if lineTax != full.Tax || !slices.Equal(kinds, []string{billing.LinePlan, billing.LineAddon}) {
			t.Errorf("lines %v carry %d tax, invoice %d", kinds, lineTax, full.Tax)
		}
	})
}

func got2(invs []billing.Invoice) string { return invs[0].ID }

// TestDunningSuspendsOnlyOverdueServicesAndPaymentLiftsOnlyNonPayment:
// the suspend step suspends the overdue service and not the account's
// other one; paying lifts the non-payment suspension but not an admin
// one; the backend follows.
func TestDunningSuspendsOnlyOverdueServicesAndPaymentLiftsOnlyNonPayment(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		monthly := tb.plan(t, "vps", 1000, nil)
		tb.credit(t, acc, 1000+money.CyclePrice(1000, money.Annual))
		a, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: monthly.ID}) // Jan 15 – Feb 15
		if err != nil {
			t.Fatal(err)
		}
		b, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: monthly.ID, Cycle: money.Annual}) // until 2025
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, a.Service.ID, services.StatusActive)
		tb.waitService(t, b.Service.ID, services.StatusActive)

		tb.clock.Set(date("2024-02-08"))
		if n := tb.step(t, billing.StepGenerate, date("2024-02-08")); n != 1 {
			t.Fatalf("generated %d renewals, want 1", n)
		}
		tb.clock.Set(date("2024-02-21"))
		if n := tb.step(t, billing.StepSuspend, date("2024-02-21")); n != 0 {
			t.Errorf("suspended %d services 6 days after the due date", n)
		}
		tb.clock.Set(date("2024-02-23"))
		if n := tb.step(t, billing.StepSuspend, date("2024-02-23")); n != 1 {
			t.Fatalf("suspended %d services 8 days after the due date, want 1", n)
		}
		tb.step(t, billing.StepSuspend, date("2024-02-23")) // idempotent
		sa := tb.waitService(t, a.Service.ID, services.StatusSuspended)
		if sb, _ := tb.b.Service(tb.ctx, acc, b.Service.ID); sb.Status != services.StatusActive {
			t.Errorf("the paid service is %s", sb.Status)
		}
		testkit.WaitFor(t, "the backend to suspend", func() bool { return tb.backend(t, sa.ID).State == "suspended" })
		if _, err := tb.svcs.Suspend(tb.ctx, sa.ID, services.SuspendAdmin, "abuse report"); err != nil {
			t.Fatal(err)
		}

		// Paying lifts non_payment only: the admin suspension stays.
		tb.credit(t, acc, 1000)
		svc, _ := tb.b.Service(tb.ctx, acc, sa.ID)
		sus, err := tb.svcs.Suspensions(tb.ctx, sa.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Status != services.StatusSuspended || len(sus) != 1 || sus[0].Reason != services.SuspendAdmin {
			t.Fatalf("after payment: %s with suspensions %+v", svc.Status, sus)
		}
		if !svc.Terms.PeriodEnd.Equal(date("2024-03-15")) {
			t.Errorf("paid renewal did not extend the period: ends %s", svc.Terms.PeriodEnd)
		}
		if _, err := tb.svcs.Unsuspend(tb.ctx, sa.ID, services.SuspendAdmin); err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, sa.ID, services.StatusActive)
		testkit.WaitFor(t, "the backend to unsuspend", func() bool { return tb.backend(t, sa.ID).State == "active" })
		calls := tb.backend(t, sa.ID).Calls
		if diff := cmp.Diff([]string{"create", "suspend:non_payment", "unsuspend"}, calls); diff != "" {
			t.Errorf("backend calls (-want +got):\n%s", diff)
		}
		msgs := tb.messages(t, acc)
		for _, m := range []string{"service.suspended", "service.unsuspended"} {
			if !slices.Contains(msgs, m) {
				t.Errorf("messages %v lack %s", msgs, m)
			}
		}
	})
}

// TestTerminationAfterTerminateDays: an invoice unpaid past
// terminate_after_days terminates its service at the backend and voids the
// invoice; an end-of-term cancellation ends when its term does.
func TestTerminationAfterTerminateDays(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 1000, nil)
		tb.credit(t, acc, 2000)
		a, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, a.Service.ID, services.StatusActive)
		tb.waitService(t, c.Service.ID, services.StatusActive)
		if _, err := tb.b.Cancel(tb.ctx, acc, c.Service.ID, billing.CancelInput{}); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"2024-02-08", "2024-02-23", "2024-03-10", "2024-03-16"} {
			tb.clock.Set(date(d))
			for _, s := range billing.Steps {
				tb.step(t, s, date(d))
			}
		}
		svc := tb.waitService(t, a.Service.ID, services.StatusTerminated)
		if svc.EndedAt == nil {
			t.Error("terminated without ended_at")
		}
		testkit.WaitFor(t, "the backend to terminate", func() bool { return tb.backend(t, svc.ID).State == "terminated" })
		invs := tb.invoices(t, billing.InvoiceFilter{ServiceID: svc.ID})
		if invs[0].Reason != billing.ReasonRenewal || invs[0].Status != billing.InvoiceVoid {
			t.Errorf("renewal of the terminated service is %s", invs[0].Status)
		}
		// The cancelled one was not renewed and ended with its term.
		cs := tb.waitService(t, c.Service.ID, services.StatusCancelled)
		if n := len(tb.invoices(t, billing.InvoiceFilter{ServiceID: cs.ID})); n != 1 {
			t.Errorf("the cancelled service has %d invoices, want only its order", n)
		}
		testkit.WaitFor(t, "the cancelled backend to terminate", func() bool { return tb.backend(t, cs.ID).State == "terminated" })
		if msgs := tb.messages(t, acc); !slices.Contains(msgs, "service.terminated") || !slices.Contains(msgs, "invoice.overdue") {
			t.Errorf("messages %v", msgs)
		}
	})
}

// TestRunChainAsJobs: a triggered run goes through every step as its own
// job and records each.
func TestRunChainAsJobs(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 999, nil)
		tb.insertServices(t, acc, plan, money.Monthly, date("2024-01-01"), 3)
		run, err := tb.b.TriggerRun(tb.ctx, billing.RunInput{AsOf: date("2024-01-28")})
		if err != nil {
			t.Fatal(err)
		}
		var got *billing.Run
		testkit.WaitFor(t, "every step to finish", func() bool {
			got, err = tb.b.GetRun(tb.ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, s := range got.Steps {
				if s.Status == "succeeded" {
					done++
				}
			}
			return done == len(billing.Steps)
		})
		var steps []string
		for _, s := range got.Steps {
			steps = append(steps, s.Step)
			if s.Step == billing.StepGenerate && s.Processed != 3 {
				t.Errorf("generate processed %d", s.Processed)
			}
		}
		if diff := cmp.Diff(billing.Steps, steps); diff != "" {
			t.Errorf("steps in order (-want +got):\n%s", diff)
		}
	})
}

// TestFreeRenewalIsPaidAtOnce: a free plan's renewal is issued (numbered,
// for the record) and paid at once, extending the period.
func TestFreeRenewalIsPaidAtOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, noHost: true})
		acc := tb.account(t)
		free := tb.plan(t, "free", 0, nil)
		svc := tb.insertServices(t, acc, free, money.Monthly, date("2024-01-31"), 1)[0]
		if n := tb.step(t, billing.StepGenerate, date("2024-02-25")); n != 1 {
			t.Fatalf("generated %d", n)
		}
		inv := tb.invoices(t, billing.InvoiceFilter{ServiceID: svc.ID})[0]
		got, _ := tb.b.Service(tb.ctx, acc, svc.ID)
		if inv.Status != billing.InvoicePaid || inv.Number == nil || !got.Terms.PeriodEnd.Equal(date("2024-03-31")) {
			t.Errorf("free renewal %s (number %v); service ends %s", inv.Status, inv.Number, got.Terms.PeriodEnd)
		}
	})
}
