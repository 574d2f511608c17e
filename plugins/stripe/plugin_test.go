package main

import (
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v82/webhook"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/stripe/stripemock"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

var (
	mock    *stripemock.Server
	mockErr error
)

func TestMain(m *testing.M) {
	mock, mockErr = stripemock.Start()
	code := m.Run()
	mock.Close()
	os.Exit(code)
}

const webhookSecret = "whsec_plugin_test"

// setup serves the plugin in process over gRPC, configured against
// stripe-mock behind stripemock.TestMode (Stripe's idempotency and test
// cards, which stateless stripe-mock lacks).
func setup(t *testing.T, overrides map[string]any) *plugintest.Harness {
	t.Helper()
	m := stripemock.Require(t, mock, mockErr)
	srv := httptest.NewServer(stripemock.NewTestMode(m.URL))
	t.Cleanup(srv.Close)
	cfg := map[string]any{
		"secret_key":          "sk_test_plugin",
		"webhook_secret":      webhookSecret,
		"api_base_url":        srv.URL,
		"max_network_retries": 0,
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	return plugintest.New(t, New(), plugintest.WithConfig(cfg))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1"}}}`)
	forged := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_attacker"})
	conformance.PaymentGateway(t, h, conformance.PaymentGatewayFixture{
		Customer:            &pb.Customer{AccountId: "acc_conformance", Email: "billing@example.com", Name: "Conformance Hosting"},
		PaymentMethodToken:  "pm_card_visa",
		Amount:              &pb.Money{AmountMinor: 2847, Currency: "USD"},
		BadSignatureWebhook: &pb.ParseWebhookRequest{Body: body, Headers: map[string]string{"Stripe-Signature": forged.Header}},
	})
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	d := h.Description()
	type field struct {
		Name             string
		Required, Secret bool
	}
	var got []field
	for _, f := range d.GetConfigSchema().GetFields() {
		got = append(got, field{f.GetName(), f.GetRequired(), f.GetSecret()})
	}
	want := []field{
		{"secret_key", true, true}, {"webhook_secret", false, true}, {"api_base_url", false, false},
		{"timeout", false, false}, {"max_network_retries", false, false}, {"webhook_tolerance", false, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	if !h.HasKind(sdk.KindPaymentGateway) || len(d.GetKinds()) != 1 || d.GetName() != "stripe" {
		t.Errorf("description = %v", d)
	}
}

func TestDeclinedChargeIsAResult(t *testing.T) {
	t.Parallel()
	g := setup(t, nil).PaymentGateway()
	ctx := t.Context()
	res, err := g.Charge(ctx, &pb.ChargeRequest{IdempotencyKey: "decline-1", GatewayCustomerId: "cus_1",
		PaymentMethodId: "pm_card_chargeDeclinedInsufficientFunds", Amount: &pb.Money{AmountMinor: 999, Currency: "USD"}})
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	want := &pb.ChargeResponse{ChargeId: res.GetChargeId(), Status: pb.ChargeStatus_CHARGE_STATUS_FAILED,
		FailureCode: "insufficient_funds", FailureMessage: "Your card has insufficient funds."}
	if diff := cmp.Diff(want, res, protocmp.Transform()); diff != "" || res.GetChargeId() == "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	res, err = g.Charge(ctx, &pb.ChargeRequest{IdempotencyKey: "sca-1", GatewayCustomerId: "cus_1",
		PaymentMethodId: "pm_card_authenticationRequired", Amount: &pb.Money{AmountMinor: 999, Currency: "USD"}})
	if err != nil || res.GetStatus() != pb.ChargeStatus_CHARGE_STATUS_REQUIRES_ACTION {
		t.Errorf("authentication required: %v, %v", res, err)
	}
}

func TestErrorKindsCrossTheWire(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	g := h.PaymentGateway()
	ctx := t.Context()
	live := setup(t, map[string]any{"secret_key": "sk_live_wrong_for_stripe_mock"}).PaymentGateway()

	tests := []struct {
		name  string
		err   error
		kind  sdk.ErrorKind
		field string
	}{
		{"ISK is refused", func() error {
			_, err := g.Charge(ctx, &pb.ChargeRequest{IdempotencyKey: "isk", GatewayCustomerId: "cus_1",
				PaymentMethodId: "pm_card_visa", Amount: &pb.Money{AmountMinor: 500, Currency: "ISK"}})
			return err
		}(), sdk.NotSupported, "amount.currency"},
		{"refund in another currency", func() error {
			_, err := g.Refund(ctx, &pb.RefundRequest{IdempotencyKey: "eur", ChargeId: "pi_1",
				Amount: &pb.Money{AmountMinor: 500, Currency: "EUR"}})
			return err
		}(), sdk.InvalidInput, "amount.currency"},
		{"key refused by Stripe", func() error {
			_, err := live.ListPaymentMethods(ctx, &pb.ListPaymentMethodsRequest{GatewayCustomerId: "cus_1"})
			return err
		}(), sdk.Unauthenticated, ""},
		{"same key, other amount", func() error {
			req := &pb.ChargeRequest{IdempotencyKey: "reused", GatewayCustomerId: "cus_1", PaymentMethodId: "pm_card_visa",
				Amount: &pb.Money{AmountMinor: 100, Currency: "USD"}}
			if _, err := g.Charge(ctx, req); err != nil {
				return err
			}
			req.Amount.AmountMinor = 200
			_, err := g.Charge(ctx, req)
			return err
		}(), sdk.Conflict, ""},
		{"unhandled webhook type", func() error {
			body := []byte(`{"id":"evt_2","object":"event","type":"customer.created","created":1,"data":{"object":{"id":"cus_1"}}}`)
			sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret})
			_, err := g.ParseWebhook(ctx, &pb.ParseWebhookRequest{Body: body, Headers: map[string]string{"Stripe-Signature": sig.Header}})
			return err
		}(), sdk.NotSupported, ""},
	}
	for _, tt := range tests {
		if got := sdk.KindOf(tt.err); got != tt.kind {
			t.Errorf("%s: kind %s (%v), want %s", tt.name, got, tt.err, tt.kind)
			continue
		}
		var e *sdk.Error
		if errors.As(tt.err, &e); e.Field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, e.Field, tt.field)
		}
	}
}

func TestWebhookThroughPlugin(t *testing.T) {
	t.Parallel()
	g := setup(t, nil).PaymentGateway()
	body := []byte(`{"id":"evt_9","object":"event","type":"charge.refunded","created":1767225600,"data":{"object":
		{"id":"ch_1","object":"charge","amount":2847,"amount_refunded":2847,"currency":"usd","customer":"cus_9","payment_intent":"pi_9","metadata":{}}}}`)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret})
	res, err := g.ParseWebhook(t.Context(), &pb.ParseWebhookRequest{Body: body, Headers: map[string]string{"stripe-signature": sig.Header}})
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	want := &pb.WebhookEvent{Id: "evt_9", Type: "charge.refunded", ChargeId: "pi_9", GatewayCustomerId: "cus_9",
		Amount: &pb.Money{AmountMinor: 2847, Currency: "USD"}, OccurredAt: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Metadata: map[string]string{"ezscale_stripe_event_type": "charge.refunded"}}
	if diff := cmp.Diff(want, res.GetEvent(), protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	tests := []struct {
		name string
		cfg  map[string]any
		want sdk.Diagnostics
	}{
		{"publishable key", map[string]any{"secret_key": "pk_test_1", "webhook_secret": "whsec_1"},
			sdk.Diagnostics{{Severity: sdk.SeverityError, Field: "secret_key",
				Summary: "is a publishable key; a secret (sk_) or restricted (rk_) key is needed"}}},
		{"no webhook secret warns", map[string]any{"secret_key": "sk_test_1"},
			sdk.Diagnostics{{Severity: sdk.SeverityWarning, Field: "webhook_secret",
				Summary: "not set: every webhook will be refused, so asynchronous outcomes (bank debits, refunds, disputes) are not reported"}}},
		{"bad tolerance", map[string]any{"secret_key": "sk_test_1", "webhook_secret": "whsec_1", "webhook_tolerance": "2h"},
			sdk.Diagnostics{{Severity: sdk.SeverityError, Field: "webhook_tolerance", Summary: "must be between 0 and 1h"}}},
	}
	for _, tt := range tests {
		got, err := h.Plugin().ValidateConfig(t.Context(), tt.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
