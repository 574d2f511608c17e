package payments_test

import (
	"slices"
	"testing"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
)

// TestAutoTopUp: a debit below the threshold tops up (to the target); a
// card that keeps failing turns auto top-up off after max failures, with
// every attempt recorded and the customer told.
func TestAutoTopUp(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{stripe: true})
		acc, token := tb.customer(t)
		tb.must(t, 201, "POST", "/api/v1/accounts/"+acc+"/payment-methods", token, map[string]any{"token": "pm_card_visa"})
		tb.credit(t, acc, 3000)
		tb.must(t, 200, "PUT", "/api/v1/accounts/"+acc+"/credit/auto-top-up", token,
			map[string]any{"enabled": true, "threshold": 1000, "target": 5000})
		if _, err := tb.b.ChargeCredit(tb.ctx, acc, billing.ChargeInput{Amount: 2500, Description: "usage"}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the auto top-up", func() bool {
			bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
			return bal.Amount == 5000
		})

		// A declining card: two failures in a row turn it off.
		b, bToken := tb.customer(t)
		var pm struct {
			ID string `json:"id"`
		}
		tb.must(t, 201, "POST", "/api/v1/accounts/"+b+"/payment-methods", bToken, map[string]any{"token": "pm_card_chargeDeclined"}).Decode(t, &pm)
		tb.must(t, 200, "PUT", "/api/v1/accounts/"+b+"/credit/auto-top-up", bToken,
			map[string]any{"enabled": true, "threshold": 1000, "amount": 2000, "max_failures": 2, "payment_method_id": pm.ID})
		testkit.WaitFor(t, "the first failed attempt", func() bool {
			s, _ := tb.pay.AutoTopUpSettings(tb.ctx, b)
			return s.Failures == 1
		})
		tb.step(t, billing.StepAutoTopUp, tb.clock.Now()) // the daily check tries again
		testkit.WaitFor(t, "auto top-up to turn itself off", func() bool {
			s, _ := tb.pay.AutoTopUpSettings(tb.ctx, b)
			return !s.Enabled && s.DisabledReason != ""
		})
		tus, _ := tb.pay.TopUps(tb.ctx, b, "", 10)
		if len(tus) != 2 || tus[0].Status != payments.TopUpFailed || tus[1].Status != payments.TopUpFailed || tus[0].Source != payments.TopUpAuto {
			t.Errorf("attempts: %+v", tus)
		}
		want := []string{"autotopup.failed", "autotopup.disabled"}
		if msgs := tb.outbox(t, "autotopup."); !slices.Equal(msgs, want) {
			t.Errorf("notices %v", msgs)
		}
		if got := tb.inApp(t, b, "autotopup."); !slices.Equal(got, want) {
			t.Errorf("in-app notifications %v, want %v", got, want)
		}
		tb.step(t, billing.StepAutoTopUp, tb.clock.Now())
		if tus, _ := tb.pay.TopUps(tb.ctx, b, "", 10); len(tus) != 2 {
			t.Errorf("a disabled auto top-up tried again: %d attempts", len(tus))
		}
	})
}

// TestAutoTopUpNeedsSomethingToCharge: enabling auto top-up is refused
// with 422 naming the field when it could never be charged (no payment
// gateway: enabled; no saved payment method: payment_method_id), and the
// settings stay off; saving it disabled is fine; with a gateway and a
// default method it is enabled.
func TestAutoTopUpNeedsSomethingToCharge(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		on := map[string]any{"enabled": true, "threshold": 1000, "amount": 2000}

		noGateway := setup(t, db, setupOpts{noJobs: true})
		acc, token := noGateway.customer(t)
		path := "/api/v1/accounts/" + acc + "/credit/auto-top-up"
		r := noGateway.must(t, 422, "PUT", path, token, on)
		if p := r.Problem(t); p.Code != "gateway_not_configured" || len(p.Errors) != 1 || p.Errors[0].Field != "enabled" {
			t.Errorf("without a gateway: %s", r.Body)
		}
		noGateway.must(t, 200, "PUT", path, token, map[string]any{"enabled": false, "threshold": 1000, "amount": 2000})

		tb := setup(t, db, setupOpts{noJobs: true, opts: billing.Options{PaymentGateway: "stripe"}})
		acc = tb.account(t)
		in := payments.AutoTopUpInput{Enabled: true, Threshold: 1000, Amount: 2000}
		_, err := tb.pay.SetAutoTopUp(tb.ctx, acc, in)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unprocessable || e.Reason != "no_payment_method" ||
			len(e.Fields) != 1 || e.Fields[0].Field != "payment_method_id" {
			t.Errorf("without a payment method: %v, want a 422 no_payment_method naming payment_method_id", err)
		}
		if s, err := tb.pay.AutoTopUpSettings(tb.ctx, acc); err != nil || s.Enabled {
			t.Errorf("settings after the refusal: %+v, %v", s, err)
		}
		pm, err := paymentstest.SavedCard(tb.ctx, db, acc)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.pay.SetDefaultPaymentMethod(tb.ctx, acc, pm); err != nil {
			t.Fatal(err)
		}
		if s, err := tb.pay.SetAutoTopUp(tb.ctx, acc, in); err != nil || !s.Enabled {
			t.Errorf("with a default payment method: %+v, %v", s, err)
		}
	})
}

// TestAutoTopUpStepQueuesAccountsBelowTheirThreshold: the billing run's
// auto_topup step (payments' through billing.Payer) queues a check of each
// enabled auto top-up whose account's balance is below its threshold,
// counting an account that never had credit as zero, and none for an
// account above it or one whose auto top-up is off; one account per batch
// pages through them all.
func TestAutoTopUpStepQueuesAccountsBelowTheirThreshold(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true, opts: billing.Options{PaymentGateway: "stripe", BatchSize: 1}})
		autoTopUp := func(credit int64, enabled bool) string {
			acc := tb.account(t)
			if credit > 0 {
				tb.credit(t, acc, credit)
			}
			if _, err := paymentstest.SavedCard(tb.ctx, db, acc); err != nil {
				t.Fatal(err)
			}
			pms, err := tb.pay.PaymentMethods(tb.ctx, acc)
			if err != nil || len(pms) != 1 {
				t.Fatalf("saved cards %v, %v", pms, err)
			}
			if err := tb.pay.SetDefaultPaymentMethod(tb.ctx, acc, pms[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := tb.pay.SetAutoTopUp(tb.ctx, acc, payments.AutoTopUpInput{Enabled: enabled, Threshold: 1000, Amount: 2000}); err != nil {
				t.Fatal(err)
			}
			return acc
		}
		autoTopUp(500, true)  // below: checked
		autoTopUp(5000, true) // above: not
		autoTopUp(0, true)    // never had credit: checked
		autoTopUp(500, false) // off: not
		n, err := tb.b.RunStepNow(tb.ctx, billing.StepAutoTopUp, tb.clock.Now())
		if err != nil || n != 2 {
			t.Errorf("the auto_topup step queued %d checks (%v), want 2", n, err)
		}
	})
}
