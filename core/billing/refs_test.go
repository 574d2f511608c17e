package billing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

// TestPlansAndAddonsByIDOrSlug: wherever a plan or an add-on is named, its
// slug works as well as its id and the id is what is stored: the plans of
// an add-on and of a coupon (an unknown one refused, naming plan_ids[i]),
// an order's add-ons, removing an add-on from a service, and the staff
// catalog's update and archive. An id wins over a slug that spells it.
func TestPlansAndAddonsByIDOrSlug(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		small := tb.plan(t, "small", 1000, nil)
		ip, err := tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "ipv4", Name: "IPv4", Currency: "USD", MonthlyPrice: 300, MaxQuantity: 4,
			PlanIDs: []string{"small"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{small.ID}, ip.Plans()); diff != "" {
			t.Errorf("add-on plans (-want +got):\n%s", diff)
		}
		_, err = tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "x", Name: "X", Currency: "USD", MonthlyPrice: 1, PlanIDs: []string{small.ID, "nope"}})
		if code, field := fieldErr(err); code != apperr.Invalid || field != "plan_ids[1]" {
			t.Errorf("an add-on for an unknown plan: %v", err)
		}
		c, err := tb.cat.CreateCoupon(tb.ctx, catalog.CouponInput{Code: "TENOFF", Kind: catalog.CouponPercent, PercentBP: 1000, PlanIDs: []string{"small"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.PlanIDs != `["`+small.ID+`"]` {
			t.Errorf("coupon plans %s", c.PlanIDs)
		}

		acc := tb.account(t)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: "small", CouponCode: "TENOFF", Addons: []billing.AddonChoice{{AddonID: "ipv4", Quantity: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		if sas, _ := tb.b.ServiceAddons(tb.ctx, res.Service.ID); len(sas) != 1 || sas[0].AddonID != ip.ID || sas[0].Quantity != 2 {
			t.Errorf("ordered add-ons %+v", sas)
		}
		svc := tb.insertServices(t, acc, small, money.Monthly, date("2024-01-01"), 1)[0]
		tb.clock.Set(date("2024-01-15"))
		if _, err := tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: "ipv4", Quantity: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.b.RemoveAddon(tb.ctx, acc, svc.ID, "ipv4", billing.AddonRemoveInput{When: "now"}); err != nil {
			t.Errorf("removing an add-on by slug: %v", err)
		}

		in := catalog.PlanInput{Slug: "small", Name: "Small renamed", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "testprov"}
		if p, err := tb.cat.UpdatePlan(tb.ctx, "small", in); err != nil || p.ID != small.ID || p.Name != "Small renamed" {
			t.Errorf("updating a plan by slug: %+v, %v", p, err)
		}
		if _, err := tb.cat.UpdateAddon(tb.ctx, "ipv4", catalog.AddonInput{Slug: "ipv4", Name: "IPv4 address", Currency: "USD", MonthlyPrice: 300, MaxQuantity: 4}); err != nil {
			t.Errorf("updating an add-on by slug: %v", err)
		}
		if err := tb.cat.ArchiveAddon(tb.ctx, "ipv4"); err != nil {
			t.Errorf("archiving an add-on by slug: %v", err)
		}
		// A plan whose slug spells another plan's id: the id wins.
		shadow, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: small.ID, Name: "Shadow", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1, Plugin: "testprov"})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := tb.cat.Plan(tb.ctx, small.ID); err != nil || p.ID != small.ID {
			t.Errorf("plan by an id another plan's slug spells: %+v, %v", p, err)
		}
		if err := tb.cat.ArchivePlan(tb.ctx, small.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := tb.cat.Plan(tb.ctx, shadow.ID); !p.Active {
			t.Error("archiving by id archived the plan whose slug spells it")
		}
		if err := tb.cat.ArchivePlan(tb.ctx, "nope"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("archiving an unknown plan: %v", err)
		}
	})
}
