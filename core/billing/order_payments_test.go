package billing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// setupStripe runs the real ezscale-plugin-stripe against stripe-mock as
// the gateway. Without stripe-mock the test is skipped, or fails under
// CI=true.
func setupStripe(t *testing.T, db *database.DB, opts billing.Options) *testBundle {
	t.Helper()
	opts.PaymentGateway = "stripe"
	return setup(t, db, setupOpts{opts: opts, plugins: []pluginhost.Spec{stripe.Plugin(t, "stripe")}})
}

func (tb *testBundle) payments(t testing.TB, accountID string) []payments.Payment {
	t.Helper()
	ps, err := tb.pay.Payments(tb.ctx, accountID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestCardPaymentsThroughStripe: a saved card pays an order off-session
// (the service is provisioned), a declined card leaves the invoice open and
// tells the customer, and a signed webhook for that payment succeeding is
// applied once.
func TestCardPaymentsThroughStripe(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setupStripe(t, db, billing.Options{})
		a := tb.api(t)
		plan := tb.plan(t, "vps", 999, nil)

		// A good card.
		var pm struct {
			ID      string `json:"id"`
			Default bool   `json:"default"`
		}
		a.must(t, 201, "POST", "/api/v1/accounts/"+a.account+"/payment-methods", a.customer, map[string]any{"token": "pm_card_visa"},
			"Idempotency-Key", "attach-1").Decode(t, &pm)
		if !pm.Default {
			t.Error("the first payment method is not the default")
		}
		res, err := tb.b.Order(tb.ctx, a.account, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, res.Service.ID, services.StatusActive)
		inv, _ := tb.b.Invoice(tb.ctx, a.account, res.Invoice.ID)
		pays := tb.payments(t, a.account)
		if inv.Status != billing.InvoicePaid || len(pays) != 1 || pays[0].Status != payments.PaymentSucceeded || pays[0].IdempotencyKey != "invoice:"+inv.ID+":1" {
			t.Fatalf("after the charge: invoice %s, payments %+v", inv.Status, pays)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, a.account); err != nil {
			t.Error(err)
		}

		// The renewal is charged by the billing run on its due date, once.
		tb.clock.Set(date("2024-02-08"))
		tb.step(t, billing.StepGenerate, date("2024-02-08"))
		if n := tb.step(t, billing.StepCharge, date("2024-02-08")); n != 0 {
			t.Errorf("charged %d invoices a week before they are due", n)
		}
		tb.clock.Set(date("2024-02-15"))
		if n := tb.step(t, billing.StepCharge, date("2024-02-15")); n != 1 {
			t.Errorf("the charge step queued %d charges, want 1", n)
		}
		testkit.WaitFor(t, "the renewal to be paid", func() bool {
			s, _ := tb.b.Service(tb.ctx, a.account, res.Service.ID)
			return s.Terms.PeriodEnd.Equal(date("2024-03-15"))
		})
		tb.step(t, billing.StepCharge, date("2024-02-15"))
		if n := len(tb.payments(t, a.account)); n != 2 {
			t.Errorf("%d payments after the renewal, want 2", n)
		}

		// A declining card.
		other, otherToken := a.signup(t, tb)
		a.must(t, 201, "POST", "/api/v1/accounts/"+other+"/payment-methods", otherToken, map[string]any{"token": "pm_card_chargeDeclinedInsufficientFunds"})
		res2, err := tb.b.Order(tb.ctx, other, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		var declined payments.Payment
		testkit.WaitFor(t, "the declined charge", func() bool {
			ps := tb.payments(t, other)
			if len(ps) == 1 && ps[0].Status == payments.PaymentFailed {
				declined = ps[0]
				return true
			}
			return false
		})
		if declined.FailureCode != "insufficient_funds" {
			t.Errorf("failure code %q", declined.FailureCode)
		}
		inv2, _ := tb.b.Invoice(tb.ctx, other, res2.Invoice.ID)
		if inv2.Status != billing.InvoiceOpen || inv2.ChargeAttempts != 1 {
			t.Errorf("declined invoice: %s after %d attempts", inv2.Status, inv2.ChargeAttempts)
		}
		testkit.WaitFor(t, "the payment failed notice", func() bool {
			var n int
			_ = db.NewSelect().Table("outbox_messages").ColumnExpr("count(*)").Where("template = 'payment.failed'").Scan(tb.ctx, &n)
			return n == 1
		})

		// The customer completes the payment on-session: Stripe's webhook.
		body := []byte(fmt.Sprintf(`{"id":"evt_%s","object":"event","type":"payment_intent.succeeded","created":%d,"data":{"object":{"id":"pi_ok_%s","object":"payment_intent","amount":999,"currency":"usd","metadata":{"ezscale_payment_id":"%s"}}}}`,
			declined.ID, time.Now().Unix(), declined.ID, declined.ID))
		hook := "/api/v1/webhooks/payments/stripe"
		var out struct {
			Status string `json:"status"`
		}
		a.must(t, 401, "POST", hook, "", body, "Stripe-Signature", "t=1,v1=deadbeef")
		a.must(t, 200, "POST", hook, "", body, "Stripe-Signature", paymentstest.Sign(body)).Decode(t, &out)
		if out.Status != "applied" {
			t.Errorf("first delivery: %s", out.Status)
		}
		a.must(t, 200, "POST", hook, "", body, "Stripe-Signature", paymentstest.Sign(body)).Decode(t, &out)
		if out.Status != "duplicate" {
			t.Errorf("second delivery: %s", out.Status)
		}
		inv2, _ = tb.b.Invoice(tb.ctx, other, res2.Invoice.ID)
		if inv2.Status != billing.InvoicePaid {
			t.Errorf("after the webhook the invoice is %s", inv2.Status)
		}
		tb.waitService(t, res2.Service.ID, services.StatusActive)
		bal, _ := tb.b.Ledger().Balance(tb.ctx, other, "USD")
		es, _ := tb.b.Ledger().Entries(tb.ctx, other, 0, 10)
		if bal.Amount != 0 || len(es) != 2 {
			t.Errorf("after the webhook: balance %d over %d entries (want one credit, one application)", bal.Amount, len(es))
		}
	})
}
