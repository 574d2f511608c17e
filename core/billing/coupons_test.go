package billing_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestCouponMaxUsesUnderRace: 30 accounts order at once with a coupon of 5
// uses; exactly 5 orders get it, and its use count is 5.
func TestCouponMaxUsesUnderRace(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, noHost: true})
		plan := tb.plan(t, "vps", 999, nil)
		five := 5
		c, err := tb.cat.CreateCoupon(tb.ctx, catalog.CouponInput{Code: "LAUNCH", Kind: catalog.CouponFixed, Amount: 500, Currency: "USD", MaxUses: &five})
		if err != nil {
			t.Fatal(err)
		}
		accs := make([]string, 30)
		for i := range accs {
			accs[i] = tb.account(t)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, refused := 0, 0
		for _, acc := range accs {
			wg.Go(func() {
				_, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, CouponCode: "launch"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case apperr.CodeOf(err) == apperr.Unprocessable:
					refused++
				default:
					t.Errorf("order: %v", err)
				}
			})
		}
		wg.Wait()
		got, err := tb.cat.Coupon(tb.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if won != 5 || refused != 25 || got.Uses != 5 {
			t.Errorf("%d orders got the coupon, %d were refused, uses = %d; want 5, 25, 5", won, refused, got.Uses)
		}
	})
}

// TestCouponPerAccountLimitAndExpiry: one use per account holds under
// concurrent orders of one account; an expired or inactive coupon and one
// for another plan are refused with their reason.
func TestCouponPerAccountLimitAndExpiry(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, noHost: true})
		plan, other := tb.plan(t, "vps", 999, nil), tb.plan(t, "other", 999, nil)
		one := 1
		if _, err := tb.cat.CreateCoupon(tb.ctx, catalog.CouponInput{Code: "ONCE", Kind: catalog.CouponPercent, PercentBP: 1000, PerAccountLimit: &one}); err != nil {
			t.Fatal(err)
		}
		acc := tb.account(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 10 {
			wg.Go(func() {
				if _, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, CouponCode: "ONCE"}); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d orders of one account used a once-per-account coupon", won)
		}
		soon := tb.clock.Now().Add(time.Hour)
		c, err := tb.cat.CreateCoupon(tb.ctx, catalog.CouponInput{Code: "SOON", Kind: catalog.CouponPercent, PercentBP: 1000, ExpiresAt: &soon, PlanIDs: []string{plan.ID}})
		if err != nil {
			t.Fatal(err)
		}
		reason := func(err error) string {
			e, _ := apperr.As(err)
			if e == nil {
				return ""
			}
			return e.Reason
		}
		if _, err := tb.b.Order(tb.ctx, tb.account(t), billing.OrderInput{PlanID: other.ID, CouponCode: "SOON"}); reason(err) != "coupon_plan" {
			t.Errorf("coupon for another plan: %v", err)
		}
		tb.clock.Add(2 * time.Hour)
		if _, err := tb.b.Order(tb.ctx, tb.account(t), billing.OrderInput{PlanID: plan.ID, CouponCode: "SOON"}); reason(err) != "coupon_expired" {
			t.Errorf("expired coupon: %v", err)
		}
		no := false
		if _, err := tb.cat.UpdateCoupon(tb.ctx, c.ID, catalog.CouponPatch{Active: &no}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.b.Order(tb.ctx, tb.account(t), billing.OrderInput{PlanID: plan.ID, CouponCode: "SOON"}); reason(err) != "coupon_inactive" {
			t.Errorf("inactive coupon: %v", err)
		}
		if _, err := tb.b.Order(tb.ctx, tb.account(t), billing.OrderInput{PlanID: plan.ID, CouponCode: "NOPE"}); reason(err) != "coupon_unknown" {
			t.Errorf("unknown coupon: %v", err)
		}
	})
}
