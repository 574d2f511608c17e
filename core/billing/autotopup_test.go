package billing_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestAutoTopUpNeedsSomethingToCharge: enabling auto top-up is refused
// with 422 naming the field when it could never be charged (no payment
// gateway: enabled; no saved payment method: payment_method_id), and the
// settings stay off; saving it disabled is fine; with a gateway and a
// default method it is enabled.
func TestAutoTopUpNeedsSomethingToCharge(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		on := map[string]any{"enabled": true, "threshold": 1000, "amount": 2000}

		noGateway := setup(t, db, setupOpts{noHost: true, noJobs: true})
		a := noGateway.api(t)
		path := "/api/v1/accounts/" + a.account + "/credit/auto-top-up"
		r := a.must(t, 422, "PUT", path, a.customer, on)
		if p := problemOf(t, r); p.Code != "gateway_not_configured" || len(p.Errors) != 1 || p.Errors[0].Field != "enabled" {
			t.Errorf("without a gateway: %s", r.Body)
		}
		a.must(t, 200, "PUT", path, a.customer, map[string]any{"enabled": false, "threshold": 1000, "amount": 2000})

		tb := setup(t, db, setupOpts{noHost: true, noJobs: true, opts: billing.Options{PaymentGateway: "stripe"}})
		acc := tb.account(t)
		in := billing.AutoTopUpInput{Enabled: true, Threshold: 1000, Amount: 2000}
		_, err := tb.b.SetAutoTopUp(tb.ctx, acc, in)
		want := refusal{Code: apperr.Unprocessable, Reason: "no_payment_method", Fields: []string{"payment_method_id"}}
		if diff := cmp.Diff(want, refusalOf(err)); diff != "" {
			t.Errorf("without a payment method: (-want +got)\n%s", diff)
		}
		if s, err := tb.b.AutoTopUpSettings(tb.ctx, acc); err != nil || s.Enabled {
			t.Errorf("settings after the refusal: %+v, %v", s, err)
		}
		pm := &billing.PaymentMethod{ID: "pm-" + acc, AccountID: acc, Gateway: "stripe", GatewayMethodID: "pm_card_visa", Type: "card",
			Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, CreatedAt: time.Now().UTC()}
		if _, err := db.NewInsert().Model(pm).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		if err := tb.b.SetDefaultPaymentMethod(tb.ctx, acc, pm.ID); err != nil {
			t.Fatal(err)
		}
		if s, err := tb.b.SetAutoTopUp(tb.ctx, acc, in); err != nil || !s.Enabled {
			t.Errorf("with a default payment method: %+v, %v", s, err)
		}
	})
}
