package gateway_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/stripe/gateway"
)

func chargeRequest(key string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey:  key,
		CustomerID:      "cus_1",
		PaymentMethodID: "pm_1",
		Amount:          gateway.Money{AmountMinor: 2847, Currency: "USD"},
		Description:     "Invoice INV-0042",
		Metadata:        map[string]string{"invoice_id": "inv_42"},
	}
}

func TestChargeRequestShape(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	res, err := b.gw.Charge(b.ctx, chargeRequest("charge-1"))
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if !strings.HasPrefix(res.ChargeID, "pi_") {
		t.Errorf("charge id %q, want the PaymentIntent id", res.ChargeID)
	}
	reqs := b.proxy.recorded()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	got := map[string]string{"route": r.Method + " " + r.Path, "Idempotency-Key": r.Header.Get("Idempotency-Key")}
	for _, k := range []string{"amount", "currency", "customer", "payment_method", "confirm", "off_session",
		"description", "metadata[invoice_id]", "metadata[ezscale_charge_key]",
		"automatic_payment_methods[enabled]", "automatic_payment_methods[allow_redirects]"} {
		got[k] = r.Form.Get(k)
	}
	want := map[string]string{
		"route": "POST /v1/payment_intents", "Idempotency-Key": "ezscale:charge:charge-1",
		"amount": "2847", "currency": "usd", "customer": "cus_1", "payment_method": "pm_1",
		"confirm": "true", "off_session": "true", "description": "Invoice INV-0042",
		"metadata[invoice_id]": "inv_42", "metadata[ezscale_charge_key]": "charge-1",
		"automatic_payment_methods[enabled]": "true", "automatic_payment_methods[allow_redirects]": "never",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func paymentIntent(status, lastError string) string {
	if lastError == "" {
		lastError = "null"
	}
	return fmt.Sprintf(`{"id":"pi_123","object":"payment_intent","amount":2847,"currency":"usd","status":%q,"last_payment_error":%s}`,
		status, lastError)
}

func TestChargeOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer canned
		want   gateway.ChargeResult
	}{
		{"succeeded", canned{status: 200, body: paymentIntent("succeeded", "")},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusSucceeded}},
		{"processing bank debit", canned{status: 200, body: paymentIntent("processing", "")},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusPending}},
		{"requires action", canned{status: 200, body: paymentIntent("requires_action", "")},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusRequiresAction}},
		{"failed without error", canned{status: 200, body: paymentIntent("requires_payment_method",
			`{"type":"card_error","code":"card_declined","decline_code":"do_not_honor","message":"Your card was declined."}`)},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusFailed, FailureCode: "do_not_honor",
				FailureMessage: "Your card was declined."}},
		{"declined", canned{status: 402, body: `{"error":{"type":"card_error","code":"card_declined",
			"decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
			"payment_intent":` + paymentIntent("requires_payment_method", "") + `}}`},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusFailed, FailureCode: "insufficient_funds",
				FailureMessage: "Your card has insufficient funds."}},
		{"authentication required", canned{status: 402, body: `{"error":{"type":"card_error","code":"authentication_required",
			"message":"This payment requires authentication.","payment_intent":` + paymentIntent("requires_payment_method", "") + `}}`},
			gateway.ChargeResult{ChargeID: "pi_123", Status: gateway.StatusRequiresAction, FailureCode: "authentication_required",
				FailureMessage: "This payment requires authentication."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, gateway.Config{})
			b.proxy.answer("POST /v1/payment_intents", tt.answer)
			got, err := b.gw.Charge(b.ctx, chargeRequest("k"))
			if err != nil {
				t.Fatalf("Charge: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestChargeValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	tests := []struct {
		name   string
		modify func(*gateway.ChargeRequest)
		kind   gateway.Kind
		field  string
	}{
		{"no key", func(r *gateway.ChargeRequest) { r.IdempotencyKey = "" }, gateway.InvalidInput, "idempotency_key"},
		{"zero amount", func(r *gateway.ChargeRequest) { r.Amount.AmountMinor = 0 }, gateway.InvalidInput, "amount.amount_minor"},
		{"negative amount", func(r *gateway.ChargeRequest) { r.Amount.AmountMinor = -5 }, gateway.InvalidInput, "amount.amount_minor"},
		{"lower-case currency", func(r *gateway.ChargeRequest) { r.Amount.Currency = "usd" }, gateway.InvalidInput, "amount.currency"},
		{"not a currency", func(r *gateway.ChargeRequest) { r.Amount.Currency = "U$D" }, gateway.InvalidInput, "amount.currency"},
		{"ISK", func(r *gateway.ChargeRequest) { r.Amount.Currency = "ISK" }, gateway.NotSupported, "amount.currency"},
		{"path in method id", func(r *gateway.ChargeRequest) { r.PaymentMethodID = "pm_1/../x" }, gateway.InvalidInput, "payment_method_id"},
		{"customer id", func(r *gateway.ChargeRequest) { r.CustomerID = "acc_1" }, gateway.InvalidInput, "gateway_customer_id"},
		{"metadata key", func(r *gateway.ChargeRequest) { r.Metadata = map[string]string{strings.Repeat("k", 41): "v"} },
			gateway.InvalidInput, "metadata"},
		{"long key", func(r *gateway.ChargeRequest) { r.IdempotencyKey = strings.Repeat("k", 201) }, gateway.InvalidInput, "idempotency_key"},
	}
	for _, tt := range tests {
		req := chargeRequest("k")
		tt.modify(&req)
		_, err := b.gw.Charge(b.ctx, req)
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Kind != tt.kind || ge.Field != tt.field {
			t.Errorf("%s: got %v, want %v on %s", tt.name, err, tt.kind, tt.field)
		}
	}
	if n := len(b.proxy.recorded()); n != 0 {
		t.Errorf("%d requests sent for invalid charges", n)
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	t.Run("partial refund of a payment intent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		res, err := b.gw.Refund(b.ctx, gateway.RefundRequest{IdempotencyKey: "refund-1", ChargeID: "pi_123",
			Amount: gateway.Money{AmountMinor: 500, Currency: "USD"}, Reason: "requested_by_customer"})
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		if !strings.HasPrefix(res.RefundID, "re_") || res.Status != "succeeded" {
			t.Errorf("result = %+v", res)
		}
		reqs := b.proxy.recorded()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want retrieve + refund", len(reqs))
		}
		r := reqs[1]
		got := []string{r.Method + " " + r.Path, r.Header.Get("Idempotency-Key"), r.Form.Get("payment_intent"),
			r.Form.Get("amount"), r.Form.Get("reason")}
		want := []string{"POST /v1/refunds", "ezscale:refund:refund-1", "pi_123", "500", "requested_by_customer"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("refund request (-want +got):\n%s", diff)
		}
	})
	t.Run("free-text reason goes to metadata", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		b.proxy.answer("POST /v1/refunds", canned{status: 200, body: `{"id":"re_1","object":"refund","status":"pending"}`})
		res, err := b.gw.Refund(b.ctx, gateway.RefundRequest{IdempotencyKey: "r", ChargeID: "ch_1",
			Amount: gateway.Money{AmountMinor: 100, Currency: "USD"}, Reason: "server was down for a day"})
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		reqs := b.proxy.recorded()
		if res.Status != "pending" || reqs[0].Path != "/v1/charges/ch_1" || reqs[1].Form.Get("charge") != "ch_1" ||
			reqs[1].Form.Get("reason") != "" || reqs[1].Form.Get("metadata[ezscale_reason]") != "server was down for a day" {
			t.Errorf("result %+v, requests %+v", res, reqs)
		}
	})
	t.Run("currency must match the charge", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		_, err := b.gw.Refund(b.ctx, gateway.RefundRequest{IdempotencyKey: "r", ChargeID: "pi_123",
			Amount: gateway.Money{AmountMinor: 500, Currency: "EUR"}})
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Kind != gateway.InvalidInput || ge.Field != "amount.currency" {
			t.Fatalf("got %v, want invalid amount.currency", err)
		}
		for _, r := range b.proxy.recorded() {
			if r.Path == "/v1/refunds" {
				t.Errorf("a refund was requested in the wrong currency")
			}
		}
	})
}
