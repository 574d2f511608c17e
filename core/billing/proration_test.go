package billing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

// TestUpgradeChargesActualDaysLeft: an upgrade mid-February of a leap year
// applies at once and is charged for the days left over the 29 days of
// that cycle; an open renewal is re-priced; a term paid ahead is charged
// whole.
func TestUpgradeChargesActualDaysLeft(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc := tb.account(t)
		small, big := tb.plan(t, "small", 2900, nil), tb.plan(t, "big", 5800, nil)
		plain := tb.insertServices(t, acc, small, money.Monthly, date("2024-02-01"), 1)[0]    // Feb 1 – Mar 1
		withOpen := tb.insertServices(t, acc, small, money.Monthly, date("2024-02-01"), 1)[0] // same, renewal open
		tb.clock.Set(date("2024-02-15").Add(20 * time.Hour))

		res, err := tb.b.ChangePlan(tb.ctx, acc, plain.ID, billing.ChangeInput{PlanID: big.ID})
		if err != nil {
			t.Fatal(err)
		}
		ch := res.Change
		// 15 of 29 days (Feb 15 to Mar 1) of the 2900 difference = 1500.
		if ch.Kind != "upgrade" || ch.Timing != "now" || ch.Status != "applied" || ch.DaysLeft != 15 || ch.DaysInCycle != 29 || ch.Prorated != 1500 {
			t.Fatalf("change: %+v", ch)
		}
		inv, err := tb.b.Invoice(tb.ctx, acc, res.Invoice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Reason != billing.ReasonUpgrade || inv.Total != 1500 || inv.Status != billing.InvoiceOpen || len(inv.Lines) != 1 ||
			!strings.Contains(inv.Lines[0].Description, "15 of 29 days (2024-02-15 – 2024-03-01)") || !inv.DueAt.Equal(tb.clock.Now()) {
			t.Errorf("upgrade invoice: %s %s %d due %s %+v", inv.Reason, inv.Status, inv.Total, inv.DueAt, inv.Lines)
		}
		if s, _ := tb.b.Service(tb.ctx, acc, plain.ID); s.PlanID != big.ID || s.Terms.Price != 5800 {
			t.Errorf("after the upgrade: plan %s price %d", s.PlanID, s.Terms.Price)
		}

		// With the March renewal already issued at 2900: re-priced to 5800.
		tb.step(t, billing.StepGenerate, date("2024-02-25"))
		var renewal billing.Invoice
		for _, i := range tb.invoices(t, billing.InvoiceFilter{ServiceID: withOpen.ID}) {
			renewal = i
		}
		if renewal.Total != 2900 {
			t.Fatalf("renewal %d", renewal.Total)
		}
		if _, err := tb.b.ChangePlan(tb.ctx, acc, withOpen.ID, billing.ChangeInput{PlanID: big.ID}); err != nil {
			t.Fatal(err)
		}
		got, err := tb.b.Invoice(tb.ctx, acc, renewal.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != 5800 || got.Number == nil || *got.Number != *renewal.Number {
			t.Errorf("re-priced renewal: total %d number %v (was %v)", got.Total, got.Number, renewal.Number)
		}

		// Paid ahead: the renewal paid, the term running now is Feb and the
		// paid one Mar; an upgrade owes the rest of Feb and all of Mar.
		ahead := tb.insertServices(t, acc, small, money.Monthly, date("2024-02-01"), 1)[0]
		tb.step(t, billing.StepGenerate, date("2024-02-25"))
		tb.credit(t, acc, 100_000)
		if s, _ := tb.b.Service(tb.ctx, acc, ahead.ID); !s.Terms.PeriodStart.Equal(date("2024-03-01")) {
			t.Fatalf("renewal not paid ahead: %s", s.Terms.PeriodStart)
		}
		res, err = tb.b.ChangePlan(tb.ctx, acc, ahead.ID, billing.ChangeInput{PlanID: big.ID})
		if err != nil {
			t.Fatal(err)
		}
		inv, _ = tb.b.Invoice(tb.ctx, acc, res.Invoice.ID)
		if inv.Total != 1500+2900 || len(inv.Lines) != 2 || inv.Status != billing.InvoicePaid {
			t.Errorf("paid-ahead upgrade: total %d, %d lines, %s", inv.Total, len(inv.Lines), inv.Status)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
	})
}

// TestDowngrades: by default at the end of the term (the pending renewal
// is re-priced and the plan switches when it is paid); on request at once,
// with the unused days of the difference credited.
func TestDowngrades(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc := tb.account(t)
		small, big := tb.plan(t, "small", 2900, nil), tb.plan(t, "big", 5800, nil)
		later := tb.insertServices(t, acc, big, money.Monthly, date("2024-02-01"), 1)[0] // Feb 1 – Mar 1
		now := tb.insertServices(t, acc, big, money.Monthly, date("2024-01-31"), 1)[0]   // Jan 31 – Feb 29
		tb.step(t, billing.StepGenerate, date("2024-02-23"))                             // both renewals
		tb.clock.Set(date("2024-02-15"))

		res, err := tb.b.ChangePlan(tb.ctx, acc, later.ID, billing.ChangeInput{PlanID: small.ID})
		if err != nil {
			t.Fatal(err)
		}
		if res.Change.Kind != "downgrade" || res.Change.Timing != "end_of_term" || res.Change.Status != "scheduled" {
			t.Fatalf("change: %+v", res.Change)
		}
		svc, _ := tb.b.Service(tb.ctx, acc, later.ID)
		if svc.PlanID != big.ID || svc.Terms.PendingPlanID == nil || *svc.Terms.PendingPlanID != small.ID {
			t.Errorf("scheduled downgrade: plan %s pending %v", svc.PlanID, svc.Terms.PendingPlanID)
		}
		renewal := tb.invoices(t, billing.InvoiceFilter{ServiceID: later.ID})[0]
		if renewal.Total != 2900 {
			t.Errorf("pending renewal re-priced to %d, want 2900", renewal.Total)
		}

		res, err = tb.b.ChangePlan(tb.ctx, acc, now.ID, billing.ChangeInput{PlanID: small.ID, When: "now"})
		if err != nil {
			t.Fatal(err)
		}
		// 14 of 29 days (Feb 15 to Feb 29) of the 2900 difference.
		if res.Change.DaysLeft != 14 || res.Change.DaysInCycle != 29 || res.Change.Prorated != 1400 || res.Credit == nil || res.Credit.Amount != 1400 {
			t.Fatalf("immediate downgrade: %+v credit %+v", res.Change, res.Credit)
		}
		svc, _ = tb.b.Service(tb.ctx, acc, now.ID)
		if svc.PlanID != small.ID || svc.Terms.Price != 2900 {
			t.Errorf("after the immediate downgrade: plan %s price %d", svc.PlanID, svc.Terms.Price)
		}
		// The credit paid the oldest open invoice (the first renewal) in part.
		renewals := tb.invoices(t, billing.InvoiceFilter{AccountID: acc})
		var paid int64
		for _, i := range renewals {
			paid += i.AmountPaid
		}
		if paid != 1400 {
			t.Errorf("credit applied %d, want 1400", paid)
		}

		// Paying the re-priced renewal moves the scheduled plan in.
		tb.credit(t, acc, 10_000)
		svc, _ = tb.b.Service(tb.ctx, acc, later.ID)
		if svc.PlanID != small.ID || svc.Terms.Price != 2900 || svc.Terms.PendingPlanID != nil || !svc.Terms.PeriodEnd.Equal(date("2024-04-01")) {
			t.Errorf("after renewal: plan %s price %d pending %v ends %s", svc.PlanID, svc.Terms.Price, svc.Terms.PendingPlanID, svc.Terms.PeriodEnd)
		}
	})
}

// TestCycleChangeAtEndOfTerm: a change of cycle is billed from the next
// term at the new cycle's price, for the new cycle's length; it cannot be
// made "now".
func TestCycleChangeAtEndOfTerm(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 999, nil)
		svc := tb.insertServices(t, acc, plan, money.Monthly, date("2024-01-31"), 1)[0] // renews Feb 29
		if _, err := tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: plan.ID, Cycle: money.Annual, When: "now"}); apperr.CodeOf(err) != apperr.Unprocessable {
			t.Fatalf("cycle change now: %v, want Unprocessable", err)
		}
		res, err := tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: plan.ID, Cycle: money.Annual})
		if err != nil {
			t.Fatal(err)
		}
		if res.Change.Kind != "cycle" || res.Change.Timing != "end_of_term" {
			t.Fatalf("change %+v", res.Change)
		}
		tb.step(t, billing.StepGenerate, date("2024-02-25"))
		inv := tb.invoices(t, billing.InvoiceFilter{ServiceID: svc.ID})[0]
		type got struct {
			Total      int64
			Start, End string
		}
		want := got{10190, "2024-02-29", "2025-02-28"} // twelve months on, clamped to February
		if diff := cmp.Diff(want, got{inv.Total, inv.PeriodStart.Format("2006-01-02"), inv.PeriodEnd.Format("2006-01-02")}); diff != "" {
			t.Errorf("renewal (-want +got):\n%s", diff)
		}
		tb.credit(t, acc, 10190)
		s, _ := tb.b.Service(tb.ctx, acc, svc.ID)
		if s.Terms.Cycle != money.Annual || s.Terms.Price != 10190 {
			t.Errorf("after the renewal: %s at %d", s.Terms.Cycle, s.Terms.Price)
		}
	})
}
