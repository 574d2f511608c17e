package payments_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
)

// TestTopUpsWithOneKeyCreditOnce: 20 concurrent top-up requests with one
// Idempotency-Key create one top-up and one credit; a staff refund of it
// goes back to the card.
func TestTopUpsWithOneKeyCreditOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{stripe: true})
		acc, token := tb.customer(t)
		tb.must(t, 201, "POST", "/api/v1/accounts/"+acc+"/payment-methods", token, map[string]any{"token": "pm_card_visa"})
		path := "/api/v1/accounts/" + acc + "/credit/top-ups"
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range 20 {
			wg.Go(func() {
				statuses[i] = tb.do(t, "POST", path, token, map[string]any{"amount": 5000}, "Idempotency-Key", "topup-1").Status
			})
		}
		wg.Wait()
		for _, s := range statuses {
			if s != 202 && s != 409 {
				t.Errorf("statuses %v: want 202 (first or replayed) or 409 (in progress)", statuses)
				break
			}
		}
		testkit.WaitFor(t, "the top-up to be credited", func() bool {
			bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
			return bal.Amount > 0
		})
		// Any straggler is replayed, never a second top-up.
		tb.must(t, 202, "POST", path, token, map[string]any{"amount": 5000}, "Idempotency-Key", "topup-1")
		tus, _ := tb.pay.TopUps(tb.ctx, acc, "", 100)
		if len(tus) != 1 {
			t.Fatalf("%d top-ups", len(tus))
		}
		testkit.WaitFor(t, "every top-up job to finish", func() bool {
			var live int
			_ = db.NewSelect().Table("river_job").ColumnExpr("count(*)").Where("kind = 'billing_topup_charge'").
				Where("state NOT IN ('completed', 'cancelled', 'discarded')").Scan(tb.ctx, &live)
			return live == 0
		})
		bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
		if bal.Amount != 5000 || bal.Entries != 1 {
			t.Fatalf("balance %d over %d entries, want 5000 over 1", bal.Amount, bal.Entries)
		}

		// Refund 2000 of it to the card.
		pays := tb.payments(t, acc)
		var ref struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		tb.must(t, 202, "POST", "/api/v1/admin/accounts/"+acc+"/credit/refunds", tb.staff,
			map[string]any{"payment_id": pays[0].ID, "amount": 2000, "reason": "requested_by_customer"}, "Idempotency-Key", "refund-1").Decode(t, &ref)
		tb.must(t, 422, "POST", "/api/v1/admin/accounts/"+acc+"/credit/refunds", tb.staff,
			map[string]any{"payment_id": pays[0].ID, "amount": 3001}, "Idempotency-Key", "refund-2")
		testkit.WaitFor(t, "the refund to succeed", func() bool {
			rs, _ := tb.pay.Refunds(tb.ctx, acc, 10)
			return len(rs) == 1 && rs[0].Status == payments.RefundSucceeded
		})
		bal, _ = tb.b.Ledger().Balance(tb.ctx, acc, "USD")
		p, _ := tb.pay.Payment(tb.ctx, acc, pays[0].ID)
		if bal.Amount != 3000 || p.Refunded != 2000 {
			t.Errorf("after the refund: balance %d, payment refunded %d", bal.Amount, p.Refunded)
		}
	})
}

// TestWebhookCompletesADeclinedTopUpOnce: a top-up whose card was declined
// fails, and the gateway's signed webhook that the customer completed the
// payment after all (on-session) credits the account once: a bad
// signature is refused with 401, a second delivery of the event is a
// duplicate, and the top-up ends succeeded.
func TestWebhookCompletesADeclinedTopUpOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{stripe: true})
		acc, token := tb.customer(t)
		tb.must(t, 201, "POST", "/api/v1/accounts/"+acc+"/payment-methods", token, map[string]any{"token": "pm_card_chargeDeclined"})
		var tu struct {
			ID string `json:"id"`
		}
		tb.must(t, 202, "POST", "/api/v1/accounts/"+acc+"/credit/top-ups", token, map[string]any{"amount": 5000},
			"Idempotency-Key", "topup-1").Decode(t, &tu)
		var declined payments.Payment
		testkit.WaitFor(t, "the declined top-up", func() bool {
			got, err := tb.pay.GetTopUp(tb.ctx, acc, tu.ID)
			if err != nil || got.Status != payments.TopUpFailed {
				return false
			}
			declined = tb.payments(t, acc)[0]
			return true
		})
		if declined.Status != payments.PaymentFailed {
			t.Fatalf("the declined payment is %s", declined.Status)
		}

		body := []byte(fmt.Sprintf(`{"id":"evt_%s","object":"event","type":"payment_intent.succeeded","created":%d,"data":{"object":{"id":"pi_ok_%s","object":"payment_intent","amount":5000,"currency":"usd","metadata":{"ezscale_payment_id":"%s"}}}}`,
			declined.ID, time.Now().Unix(), declined.ID, declined.ID))
		hook := "/api/v1/webhooks/payments/stripe"
		var out struct {
			Status string `json:"status"`
		}
		tb.must(t, 401, "POST", hook, "", body, "Stripe-Signature", "t=1,v1=deadbeef")
		tb.must(t, 200, "POST", hook, "", body, "Stripe-Signature", paymentstest.Sign(body)).Decode(t, &out)
		if out.Status != payments.WebhookApplied {
			t.Errorf("first delivery: %s", out.Status)
		}
		tb.must(t, 200, "POST", hook, "", body, "Stripe-Signature", paymentstest.Sign(body)).Decode(t, &out)
		if out.Status != payments.WebhookDuplicate {
			t.Errorf("second delivery: %s", out.Status)
		}
		if bal := tb.balance(t, acc); bal.Amount != 5000 || bal.Entries != 1 {
			t.Errorf("after the webhook: balance %d over %d entries, want 5000 over 1", bal.Amount, bal.Entries)
		}
		if got, _ := tb.pay.GetTopUp(tb.ctx, acc, tu.ID); got.Status != payments.TopUpSucceeded {
			t.Errorf("the top-up is %s after the webhook, want succeeded", got.Status)
		}
	})
}
