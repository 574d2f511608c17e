package app

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
)

// TestBillingPlanChangerJoinsTheSchedulersTransaction: the scheduler's
// plan change goes through billing's, inside the scheduler's transaction,
// so a rollback there undoes billing's change too.
func TestBillingPlanChangerJoinsTheSchedulersTransaction(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := jobs.NewRegistry(time.Hour)
		b := billing.New(billing.Deps{DB: db, Jobs: reg}, billing.Options{})
		if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		if _, err := db.ExecContext(ctx, "INSERT INTO accounts (id, name, created_at, updated_at) VALUES ('acc', 'acc', ?, ?)", now, now); err != nil {
			t.Fatal(err)
		}
		small, err := b.CreatePlan(ctx, billing.PlanInput{Slug: "small", Name: "Small", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		big, err := b.CreatePlan(ctx, billing.PlanInput{Slug: "big", Name: "Big", ServiceType: "vps", Currency: "USD", MonthlyPrice: 3000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		start := money.Date(now)
		end := money.AddCycle(start, money.Monthly, start.Day())
		svc := &billing.Service{ID: "svc", AccountID: "acc", PlanID: small.ID, Cycle: money.Monthly, Currency: "USD", Price: 1000,
			Status: billing.StatusActive, Options: "{}", Attributes: "{}", PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day(), CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(svc).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		c := billingPlanChanger{b: b}
		errRollback := context.Canceled
		err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := c.ChangePlan(ctx, "acc", "svc", big.ID); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatal(err)
		}
		if got, _ := b.Service(ctx, "acc", "svc"); got.PlanID != small.ID {
			t.Fatal("the rolled-back scheduler transaction kept billing's change")
		}
		var out struct{ invoice string }
		err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			o, err := c.ChangePlan(ctx, "acc", "svc", big.ID)
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
		if got, _ := b.Service(ctx, "acc", "svc"); got.PlanID != big.ID || out.invoice == "" {
			t.Errorf("after the change: plan %s, invoice %q", got.PlanID, out.invoice)
		}
	})
}
