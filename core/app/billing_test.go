package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// TestBillingPlanChangerJoinsTheSchedulersTransaction: the scheduler's
// plan change goes through billing's, inside the scheduler's transaction,
// so a rollback there undoes billing's change too.
func TestBillingPlanChangerJoinsTheSchedulersTransaction(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := jobs.NewRegistry(time.Hour)
		b, _, cat, _ := billingOver(db, reg, accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions()))
		if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
		acc, err := accountstest.Account(ctx, db, "acc@example.test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		small, err := cat.CreatePlan(ctx, catalog.PlanInput{Slug: "small", Name: "Small", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		big, err := cat.CreatePlan(ctx, catalog.PlanInput{Slug: "big", Name: "Big", ServiceType: "vps", Currency: "USD", MonthlyPrice: 3000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		start := money.Date(now)
		end := money.AddCycle(start, money.Monthly, start.Day())
		svc, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{AccountID: acc, PlanID: small.ID, Price: 1000,
			PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day()})
		if err != nil {
			t.Fatal(err)
		}
		c := billingPlanChanger{b: b}
		errRollback := context.Canceled
		err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := c.ChangePlan(ctx, acc, svc, big.ID); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatal(err)
		}
		if got, _ := b.Service(ctx, acc, svc); got.PlanID != small.ID {
			t.Fatal("the rolled-back scheduler transaction kept billing's change")
		}
		var out struct{ invoice string }
		err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			o, err := c.ChangePlan(ctx, acc, svc, big.ID)
			if err == nil {
				out.invoice = o.InvoiceID
				if o.Prorated <= 0 || o.Currency != "USD" || o.ChangeID == "" {
					t.Errorf("outcome %+v", o)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Service(ctx, acc, svc); got.PlanID != big.ID || out.invoice == "" {
			t.Errorf("after the change: plan %s, invoice %q", got.PlanID, out.invoice)
		}
	})
}

// TestScheduledAddonAppliedThroughBilling: with the wiring App uses, an
// add-on scheduled through the scheduler is applied by its River job
// through billing's AddAddon: the service has the add-on, and the change's
// outcome names billing's proration invoice, paid from credit.
func TestScheduledAddonAppliedThroughBilling(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
		reg := jobs.NewRegistry(time.Hour)
		b, svcs, cat, prov := billingOver(db, reg, accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions()))
		// The scheduler's clock runs 10 minutes behind, so a change due in
		// 6 of its minutes is already due for River.
		s := scheduler.New(scheduler.Deps{DB: db, Jobs: reg, PlanChanger: billingPlanChanger{b: b}, Services: svcs, Descriptions: prov, Catalog: cat},
			scheduler.Options{Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
		engine, err := jobs.New(db, reg, jobstest.Working(4))
		if err != nil {
			t.Fatal(err)
		}
		acc, err := accountstest.Account(ctx, db, "acc@example.test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		plan, err := cat.CreatePlan(ctx, catalog.PlanInput{Slug: "small", Name: "Small", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		addon, err := cat.CreateAddon(ctx, catalog.AddonInput{Slug: "ip", Name: "IP", Currency: "USD", MonthlyPrice: 300, MaxQuantity: 4})
		if err != nil {
			t.Fatal(err)
		}
		start := money.Date(now)
		end := money.AddCycle(start, money.Monthly, start.Day())
		svc, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{AccountID: acc, PlanID: plan.ID, Price: 1000,
			PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Adjust(ctx, acc, billing.AdjustInput{Amount: 10_000, Description: "test credit"}); err != nil {
			t.Fatal(err)
		}
		c, err := s.SchedulePlanChange(ctx, acc, scheduler.PlanChangeInput{ServiceID: svc, Kind: scheduler.ChangeAddon, AddonID: addon.ID, Quantity: 2,
			RunAt: time.Now().Add(-4 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(stop)
		})
		var got *scheduler.PlanChange
		testkit.WaitFor(t, "the scheduled add-on to be applied", func() bool {
			if got, err = s.PlanChange(ctx, acc, c.ID); err != nil {
				t.Fatal(err)
			}
			return got.Status != scheduler.ChangePending
		})
		if got.Status != scheduler.ChangeApplied || got.Outcome == nil || got.Outcome.InvoiceID == "" || got.Outcome.Prorated <= 0 {
			t.Fatalf("change %s (%s), outcome %+v", got.Status, got.Error, got.Outcome)
		}
		inv, err := b.Invoice(ctx, acc, got.Outcome.InvoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Total != got.Outcome.Prorated || inv.Status != billing.InvoicePaid {
			t.Errorf("invoice %s total %d, outcome prorated %d", inv.Status, inv.Total, got.Outcome.Prorated)
		}
		sas, err := b.ServiceAddons(ctx, svc)
		if err != nil || len(sas) != 1 || sas[0].AddonID != addon.ID || sas[0].Quantity != 2 {
			t.Errorf("service add-ons %+v, %v", sas, err)
		}
	})
}

// TestScheduledPlanChangeKeepsProvisioner: with the wiring App uses, a
// scheduled change to a plan of another provisioner plugin or service type
// is refused when it is scheduled (422 naming to_plan_id, nothing stored);
// a plan named by its slug is accepted and stored by id; and when the plan
// has moved to another plugin by the time the change is due, billing
// refuses it again as it is applied: the change fails and the service
// keeps its plan.
func TestScheduledPlanChangeKeepsProvisioner(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
		reg := jobs.NewRegistry(time.Hour)
		b, svcs, cat, prov := billingOver(db, reg, accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions()))
		// The scheduler's clock runs 10 minutes behind, so a change due in
		// 6 of its minutes is already due for River.
		s := scheduler.New(scheduler.Deps{DB: db, Jobs: reg, PlanChanger: billingPlanChanger{b: b}, Services: svcs, Descriptions: prov, Catalog: cat},
			scheduler.Options{Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
		engine, err := jobs.New(db, reg, jobstest.Working(4))
		if err != nil {
			t.Fatal(err)
		}
		acc, err := accountstest.Account(ctx, db, "acc@example.test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		plan := func(slug, serviceType, plugin string, monthly int64) *catalog.Plan {
			p, err := cat.CreatePlan(ctx, catalog.PlanInput{Slug: slug, Name: slug, ServiceType: serviceType, Currency: "USD", MonthlyPrice: monthly, Plugin: plugin})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		small, big := plan("small", "vps", "p", 1000), plan("big", "vps", "p", 3000)
		elsewhere, game := plan("elsewhere", "vps", "q", 3000), plan("game", "game", "p", 3000)
		start := money.Date(now)
		end := money.AddCycle(start, money.Monthly, start.Day())
		svc, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{AccountID: acc, PlanID: small.ID, Price: 1000,
			PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day()})
		if err != nil {
			t.Fatal(err)
		}
		runAt := time.Now().Add(-4 * time.Minute)
		for _, to := range []string{elsewhere.Slug, elsewhere.ID, game.ID} {
			_, err := s.SchedulePlanChange(ctx, acc, scheduler.PlanChangeInput{ServiceID: svc, Kind: scheduler.ChangeUpgrade, ToPlanID: to, RunAt: runAt})
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Unprocessable || e.Reason != billing.ReasonBackendFixed || len(e.Fields) != 1 || e.Fields[0].Field != "to_plan_id" {
				t.Errorf("scheduling a change to %s: %v, want unprocessable %s naming to_plan_id", to, err, billing.ReasonBackendFixed)
			}
		}
		if cs, err := s.PlanChanges(ctx, acc, svc, "", 10); err != nil || len(cs) != 0 {
			t.Fatalf("changes stored after the refusals: %d, %v", len(cs), err)
		}

		c, err := s.SchedulePlanChange(ctx, acc, scheduler.PlanChangeInput{ServiceID: svc, Kind: scheduler.ChangeUpgrade, ToPlanID: "big", RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		if c.ToPlanID == nil || *c.ToPlanID != big.ID {
			t.Fatalf("change stored with plan %v, want %s", c.ToPlanID, big.ID)
		}
		// Nobody runs on big yet, so staff may move it to another plugin.
		if _, err := cat.UpdatePlan(ctx, big.ID, catalog.PlanInput{Slug: "big", Name: "big", ServiceType: "vps", Currency: "USD", MonthlyPrice: 3000, Plugin: "q"}); err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(stop)
		})
		var got *scheduler.PlanChange
		testkit.WaitFor(t, "the scheduled change to be applied", func() bool {
			if got, err = s.PlanChange(ctx, acc, c.ID); err != nil {
				t.Fatal(err)
			}
			return got.Status != scheduler.ChangePending
		})
		if got.Status != scheduler.ChangeFailed || !strings.Contains(got.Error, "provisioner and service type never change") {
			t.Errorf("change %s (%q), want failed by the provisioner rule", got.Status, got.Error)
		}
		if cur, _ := b.Service(ctx, acc, svc); cur.PlanID != small.ID {
			t.Errorf("service plan after the refused change: %s", cur.PlanID)
		}
	})
}

// billingOver builds billing, the service records it drives
// (core/services), the catalog it prices from and provisioning
// (which works the backend jobs billing queues and describes services to
// their provisioner) over db, wired as New wires them (the catalog's plan
// guard is billing's rule), with their default options.
func billingOver(db *database.DB, reg *jobs.Registry, acc *accounts.Service) (*billing.Billing, *services.Services, *catalog.Catalog, *provisioning.Service) {
	cat := catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{})
	svcs := services.New(services.Deps{DB: db, Jobs: reg, Catalog: cat, Accounts: acc}, services.Options{})
	b := billing.New(billing.Deps{Services: svcs, DB: db, Catalog: cat, Jobs: reg}, billing.Options{})
	return b, svcs, cat, provisioningtest.BackendJobs(provisioning.Deps{Services: svcs, DB: db, Jobs: reg, Billing: b, Catalog: cat, Accounts: acc})
}
