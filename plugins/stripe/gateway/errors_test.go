package gateway_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ezscale/platform/plugins/stripe/gateway"
)

func stripeError(typ, code, param, msg string) string {
	return `{"error":{"type":"` + typ + `","code":"` + code + `","param":"` + param + `","message":"` + msg + `"}}`
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer canned
		want   gateway.Error
	}{
		{"bad key", canned{status: 401, body: stripeError("invalid_request_error", "", "", "Invalid API Key provided")},
			gateway.Error{Kind: gateway.Unauthenticated, Message: "creating refund: Invalid API Key provided"}},
		{"restricted key lacks permission", canned{status: 403, body: stripeError("invalid_request_error", "", "", "no permission")},
			gateway.Error{Kind: gateway.Unauthenticated, Message: "creating refund: no permission"}},
		{"unknown charge", canned{status: 404, body: stripeError("invalid_request_error", "resource_missing", "payment_intent", "No such payment_intent")},
			gateway.Error{Kind: gateway.NotFound, Field: "payment_intent", Code: "resource_missing", Message: "creating refund: No such payment_intent"}},
		{"concurrent use of a key", canned{status: 409, body: stripeError("idempotency_error", "idempotency_key_in_use", "", "in use")},
			gateway.Error{Kind: gateway.Conflict, Code: "idempotency_key_in_use", Message: "creating refund: in use"}},
		{"key reused with other parameters", canned{status: 400, body: stripeError("idempotency_error", "", "", "Keys for idempotent requests can only be used with the same parameters")},
			gateway.Error{Kind: gateway.Conflict, Message: "creating refund: Keys for idempotent requests can only be used with the same parameters"}},
		{"rate limited", canned{status: 429, header: map[string]string{"Retry-After": "7"}, body: stripeError("invalid_request_error", "rate_limit", "", "Too many requests")},
			gateway.Error{Kind: gateway.Unavailable, RetryAfter: 7 * time.Second, Code: "rate_limit", Message: "creating refund: Too many requests"}},
		{"rate limited without hint", canned{status: 429, body: stripeError("invalid_request_error", "rate_limit", "", "Too many requests")},
			gateway.Error{Kind: gateway.Unavailable, RetryAfter: time.Second, Code: "rate_limit", Message: "creating refund: Too many requests"}},
		{"stripe outage", canned{status: 500, body: stripeError("api_error", "", "", "Something went wrong")},
			gateway.Error{Kind: gateway.Unavailable, RetryAfter: time.Second, Message: "creating refund: Something went wrong"}},
		{"already refunded", canned{status: 400, body: stripeError("invalid_request_error", "charge_already_refunded", "", "Charge has already been refunded.")},
			gateway.Error{Kind: gateway.InvalidInput, Code: "charge_already_refunded", Message: "creating refund: Charge has already been refunded."}},
		{"amount too large", canned{status: 400, body: stripeError("invalid_request_error", "amount_too_large", "amount", "Refund amount is greater than unrefunded amount")},
			gateway.Error{Kind: gateway.InvalidInput, Field: "amount", Code: "amount_too_large", Message: "creating refund: Refund amount is greater than unrefunded amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, gateway.Config{})
			b.proxy.answer("POST /v1/refunds", tt.answer)
			_, err := b.gw.Refund(b.ctx, gateway.RefundRequest{IdempotencyKey: "k", ChargeID: "pi_1",
				Amount: gateway.Money{AmountMinor: 1, Currency: "USD"}})
			var ge *gateway.Error
			if !errors.As(err, &ge) {
				t.Fatalf("got %v, want *gateway.Error", err)
			}
			if diff := cmp.Diff(tt.want, *ge, cmpopts.IgnoreUnexported(gateway.Error{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeclinedCardWhileAttachingIsInvalidInput(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	b.proxy.answer("POST /v1/payment_methods/pm_1/attach", canned{status: 402,
		body: `{"error":{"type":"card_error","code":"card_declined","decline_code":"stolen_card","message":"Your card was declined."}}`})
	_, err := b.gw.AttachPaymentMethod(b.ctx, "k", "cus_1", "pm_1", false)
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.InvalidInput || ge.DeclineCode != "stolen_card" {
		t.Fatalf("got %#v, want InvalidInput with decline code", err)
	}
}

func TestStripeMockRejectsLiveKey(t *testing.T) {
	t.Parallel()
	// stripe-mock answers any non-test key with Stripe's 401 body: a real
	// authentication failure through the whole stack.
	b := setup(t, gateway.Config{SecretKey: "sk_live_not_for_tests"})
	_, err := b.gw.ListPaymentMethods(b.ctx, "cus_1")
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	gw, err := gateway.New(gateway.Config{SecretKey: testKey, APIBaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.ListPaymentMethods(t.Context(), "cus_1")
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.Unavailable || ge.RetryAfter <= 0 {
		t.Fatalf("got %v, want Unavailable with a retry hint", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   gateway.Config
		field string
	}{
		{"no key", gateway.Config{}, "secret_key"},
		{"publishable key", gateway.Config{SecretKey: "pk_test_1"}, "secret_key"},
		{"garbage key", gateway.Config{SecretKey: "hunter2"}, "secret_key"},
		{"webhook secret", gateway.Config{SecretKey: testKey, WebhookSecret: "secret"}, "webhook_secret"},
		{"base URL", gateway.Config{SecretKey: testKey, APIBaseURL: "api.stripe.com"}, "api_base_url"},
	}
	for _, tt := range tests {
		_, err := gateway.New(tt.cfg)
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Kind != gateway.InvalidInput || ge.Field != tt.field {
			t.Errorf("%s: got %v, want invalid %s", tt.name, err, tt.field)
		}
	}
	if _, err := gateway.New(gateway.Config{SecretKey: "rk_live_1", WebhookSecret: "whsec_1"}); err != nil {
		t.Errorf("restricted key refused: %v", err)
	}
}
