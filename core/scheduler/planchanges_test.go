package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
)

// fakeChanger stands in for billing: it writes the plan change in the
// caller's transaction, or refuses with err.
type fakeChanger struct {
	db *database.DB
	// plans finds the plan a change names (setup sets it to the bundle's
	// catalog).
	plans interface {
		Plan(ctx context.Context, idOrSlug string) (*catalog.Plan, error)
	}
	mu    sync.Mutex
	calls int
	err   error
	// checkErr is billing's refusal when a change is scheduled.
	checkErr error
}

// CheckPlanChange resolves the plan by id or slug, as billing does, and
// refuses what checkErr says.
func (f *fakeChanger) CheckPlanChange(ctx context.Context, accountID, serviceID, toPlan string) (string, error) {
	f.mu.Lock()
	err := f.checkErr
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	p, err := f.plans.Plan(ctx, toPlan)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "", apperr.Field("to_plan_id", "no such plan")
	}
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

func (f *fakeChanger) ChangePlan(ctx context.Context, accountID, serviceID, toPlanID string) (*scheduler.PlanChangeOutcome, error) {
	f.mu.Lock()
	f.calls++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := billingtest.ChangePlan(ctx, f.db, serviceID, toPlanID); err != nil {
		return nil, err
	}
	return &scheduler.PlanChangeOutcome{ChangeID: "pc1", InvoiceID: "inv1", Prorated: 450, Currency: "USD"}, nil
}

// AddAddon makes fakeChanger an AddonAdder: it records the add-on in the
// caller's transaction, as billing does.
func (f *fakeChanger) AddAddon(ctx context.Context, accountID, serviceID, addonID string, quantity int) (*scheduler.PlanChangeOutcome, error) {
	f.mu.Lock()
	f.calls++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := billingtest.ServiceAddon(ctx, f.db, serviceID, addonID, quantity, 300); err != nil {
		return nil, err
	}
	return &scheduler.PlanChangeOutcome{InvoiceID: "inv2", Prorated: 120, Currency: "USD"}, nil
}

// planOnlyChanger is a billing that cannot add add-ons.
type planOnlyChanger struct{ scheduler.PlanChanger }

// TestScheduledAddonChange: with billing able to add add-ons, an add-on
// scheduled for a date is applied through it once, recorded with its
// outcome and notified; a quantity above the add-on's maximum is refused
// at scheduling. Without AddAddon, scheduling an add-on stays 503.
func TestScheduledAddonChange(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		changer := &fakeChanger{db: db}
		b := setup(t, db, setupOpts{changer: changer})
		ctx := context.Background()
		addon, err := catalogtest.Addon(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		runAt := b.clock.Now().Add(48 * time.Hour)
		_, err = b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeAddon, AddonID: addon, Quantity: 5, RunAt: runAt})
		if code, field, _ := fieldOf(err); code != apperr.Invalid || field != "quantity" {
			t.Errorf("quantity above the maximum: %v, want invalid quantity", err)
		}
		c, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeAddon, AddonID: addon, Quantity: 2, RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := b.s.ApplyChangeForTest(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		got, err := b.s.PlanChange(ctx, b.account, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&scheduler.PlanChangeOutcome{InvoiceID: "inv2", Prorated: 120, Currency: "USD"}, got.Outcome); diff != "" || got.Status != scheduler.ChangeApplied || changer.calls != 1 {
			t.Errorf("change %s after %d billing calls; outcome (-want +got):\n%s", got.Status, changer.calls, diff)
		}
		sas, err := b.billing.ServiceAddons(ctx, b.full)
		if err != nil {
			t.Fatal(err)
		}
		var qty int
		for _, sa := range sas {
			if sa.AddonID == addon {
				qty = sa.Quantity
			}
		}
		if qty != 2 {
			t.Errorf("service add-on quantity %d, want 2", qty)
		}
		if diff := cmp.Diff([]string{scheduler.NoticePlanChangeApplied}, b.notices.Types()); diff != "" {
			t.Errorf("notices (-want +got)\n%s", diff)
		}

		b.s.SetPlanChangerForTest(planOnlyChanger{changer})
		_, err = b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeAddon, AddonID: addon, RunAt: runAt})
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || e.Reason != "plan_changes_unavailable" {
			t.Errorf("add-on without AddAddon: %v, want unavailable plan_changes_unavailable", err)
		}
	})
}

// TestScheduledPlanChange: one pending change per service; a reminder 24 h
// before is sent once; the change applies through billing once and is
// notified; a second one can be cancelled with a reason, and a cancelled
// one does not apply.
func TestScheduledPlanChange(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		changer := &fakeChanger{db: db}
		b := setup(t, db, setupOpts{changer: changer})
		ctx := context.Background()
		bigger, err := catalogtest.Plan(ctx, db, "full", 2000)
		if err != nil {
			t.Fatal(err)
		}
		runAt := b.clock.Now().Add(72 * time.Hour)
		in := scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeUpgrade, ToPlanID: bigger, RunAt: runAt}

		for _, bad := range []struct {
			in    scheduler.PlanChangeInput
			field string
		}{
			{scheduler.PlanChangeInput{ServiceID: b.full, Kind: "upgrade", RunAt: runAt}, "to_plan_id"},
			{scheduler.PlanChangeInput{ServiceID: b.full, Kind: "downgrade", ToPlanID: bigger, RunAt: runAt}, "kind"},
			{scheduler.PlanChangeInput{ServiceID: b.full, Kind: "upgrade", ToPlanID: bigger, RunAt: b.clock.Now().Add(time.Minute)}, "run_at"},
			{scheduler.PlanChangeInput{ServiceID: b.otherSvc, Kind: "upgrade", ToPlanID: bigger, RunAt: runAt}, "service_id"},
			{scheduler.PlanChangeInput{ServiceID: b.full, Kind: "upgrade", ToPlanID: b.planFull, RunAt: runAt}, "to_plan_id"},
		} {
			_, err := b.s.SchedulePlanChange(ctx, b.account, bad.in)
			if code, field, _ := fieldOf(err); code != apperr.Invalid || field != bad.field {
				t.Errorf("%+v: %v, want invalid %s", bad.in, err, bad.field)
			}
		}

		c, err := b.s.SchedulePlanChange(ctx, b.account, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.SchedulePlanChange(ctx, b.account, in); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("second pending change: %v, want conflict", err)
		}
		if n := b.jobCount(t, scheduler.KindPlanChangeReminder); n != 1 {
			t.Errorf("%d reminder jobs, want 1", n)
		}
		for range 2 {
			if err := b.s.RemindForTest(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := b.s.ApplyChangeForTest(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		got, err := b.s.PlanChange(ctx, b.account, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != scheduler.ChangeApplied || got.ReminderSentAt == nil || got.Outcome == nil || got.Outcome.Prorated != 450 || changer.calls != 1 {
			t.Errorf("change %+v (outcome %+v), %d billing calls", got, got.Outcome, changer.calls)
		}
		if diff := cmp.Diff([]string{scheduler.NoticePlanChangeReminder, scheduler.NoticePlanChangeApplied}, b.notices.Types()); diff != "" {
			t.Errorf("notices (-want +got)\n%s", diff)
		}

		// Back down, then cancel before it runs.
		down, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: "downgrade", ToPlanID: b.planFull, RunAt: runAt.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.CancelPlanChange(ctx, b.account, down.ID, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("cancel without a reason: %v", err)
		}
		if _, err := b.s.CancelPlanChange(ctx, b.other, down.ID, "no"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("cancel from another account: %v", err)
		}
		cancelled, err := b.s.CancelPlanChange(ctx, b.account, down.ID, "changed my mind")
		if err != nil || cancelled.Status != scheduler.ChangeCancelled || cancelled.CancelReason != "changed my mind" {
			t.Fatalf("cancel: %+v, %v", cancelled, err)
		}
		if _, err := b.s.CancelPlanChange(ctx, b.account, down.ID, "again"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("second cancel: %v", err)
		}
		if err := b.s.ApplyChangeForTest(ctx, down.ID); err != nil || changer.calls != 1 {
			t.Errorf("apply of a cancelled change: %v, %d billing calls", err, changer.calls)
		}

		// Billing refuses: the change fails and the customer hears of it.
		changer.err = apperr.New(apperr.Conflict, "the service already has this plan")
		biggest, err := catalogtest.Plan(ctx, db, "full", 3000)
		if err != nil {
			t.Fatal(err)
		}
		again, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: "upgrade", ToPlanID: biggest, RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.ApplyChangeForTest(ctx, again.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = b.s.PlanChange(ctx, b.account, again.ID)
		if got.Status != scheduler.ChangeFailed || got.Error != "the service already has this plan" {
			t.Errorf("refused change %+v", got)
		}
	})
}

// TestPlanChangesUnavailableWithoutBilling: without billing's plan change
// wired in, scheduling is refused as unavailable.
func TestPlanChangesUnavailableWithoutBilling(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		_, err := b.s.SchedulePlanChange(context.Background(), b.account, scheduler.PlanChangeInput{
			ServiceID: b.full, Kind: "upgrade", ToPlanID: b.planFull, RunAt: b.clock.Now().Add(time.Hour)})
		if apperr.CodeOf(err) != apperr.Unavailable {
			t.Errorf("%v, want unavailable", err)
		}
	})
}

// TestSchedulePlanChangeByNameAndBillingsRules: the plan and the add-on of
// a scheduled change may be named by slug and are stored by id; billing's
// refusal at scheduling time (PlanChanger.CheckPlanChange: another
// provisioner, say) is the answer, and nothing is stored.
func TestSchedulePlanChangeByNameAndBillingsRules(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		changer := &fakeChanger{db: db}
		b := setup(t, db, setupOpts{changer: changer})
		ctx := context.Background()
		bigger, err := catalogtest.Plan(ctx, db, "full", 2000)
		if err != nil {
			t.Fatal(err)
		}
		addon, err := catalogtest.Addon(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		runAt := b.clock.Now().Add(48 * time.Hour)

		refusal := apperr.New(apperr.Unprocessable, "another backend").WithReason("service_backend_fixed")
		refusal.Fields = []apperr.FieldError{{Field: "to_plan_id", Message: "another backend"}}
		changer.checkErr = refusal
		_, err = b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeUpgrade, ToPlanID: "plan-" + bigger, RunAt: runAt})
		if code, field, reason := fieldOf(err); code != apperr.Unprocessable || field != "to_plan_id" || reason != "service_backend_fixed" {
			t.Errorf("billing's refusal: %v", err)
		}
		if cs, err := b.s.PlanChanges(ctx, b.account, b.full, "", 10); err != nil || len(cs) != 0 {
			t.Fatalf("changes stored after the refusal: %d, %v", len(cs), err)
		}

		changer.checkErr = nil
		c, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeUpgrade, ToPlanID: "plan-" + bigger, RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		if c.ToPlanID == nil || *c.ToPlanID != bigger {
			t.Errorf("plan stored as %v, want the id %s", c.ToPlanID, bigger)
		}
		if _, err := b.s.CancelPlanChange(ctx, b.account, c.ID, "by slug next"); err != nil {
			t.Fatal(err)
		}
		c, err = b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeAddon, AddonID: "addon-" + addon, RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		if c.AddonID == nil || *c.AddonID != addon {
			t.Errorf("add-on stored as %v, want the id %s", c.AddonID, addon)
		}
	})
}
