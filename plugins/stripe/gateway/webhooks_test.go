package gateway_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ezscale/platform/plugins/stripe/gateway"
)

// event builds a webhook body as Stripe sends it.
func event(typ, object, previous string) []byte {
	prev := ""
	if previous != "" {
		prev = `,"previous_attributes":` + previous
	}
	return fmt.Appendf(nil, `{"id":"evt_1","object":"event","api_version":"2020-08-27","created":1767225600,
		"livemode":false,"pending_webhooks":1,"type":%q,"data":{"object":%s%s}}`, typ, object, prev)
}

func sign(body []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

func webhookGateway(t *testing.T) *gateway.Gateway {
	t.Helper()
	gw, err := gateway.New(gateway.Config{SecretKey: testKey, WebhookSecret: testWebhookSecret, WebhookTolerance: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestParseWebhookEvents(t *testing.T) {
	t.Parallel()
	gw := webhookGateway(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pi := `{"id":"pi_1","object":"payment_intent","amount":2847,"amount_received":2847,"currency":"usd",
		"customer":"cus_1","status":"succeeded","metadata":{"invoice_id":"inv_42"}}`
	tests := []struct {
		name string
		body []byte
		want gateway.Event
	}{
		{"payment succeeded", event("payment_intent.succeeded", pi, ""), gateway.Event{
			ID: "evt_1", Type: "charge.succeeded", ChargeID: "pi_1", CustomerID: "cus_1",
			Amount: gateway.Money{AmountMinor: 2847, Currency: "USD"}, OccurredAt: at,
			Metadata: map[string]string{"invoice_id": "inv_42", "ezscale_stripe_event_type": "payment_intent.succeeded"}}},
		{"payment failed", event("payment_intent.payment_failed", `{"id":"pi_2","object":"payment_intent","amount":999,
			"currency":"eur","customer":"cus_1","status":"requires_payment_method","metadata":{},
			"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Insufficient funds."}}`, ""),
			gateway.Event{ID: "evt_1", Type: "charge.failed", ChargeID: "pi_2", CustomerID: "cus_1",
				Amount: gateway.Money{AmountMinor: 999, Currency: "EUR"}, OccurredAt: at,
				Metadata: map[string]string{"ezscale_failure_code": "insufficient_funds", "ezscale_failure_message": "Insufficient funds.",
					"ezscale_stripe_event_type": "payment_intent.payment_failed"}}},
		{"refunded, reported as the total refunded", event("charge.refunded", `{"id":"ch_1","object":"charge","amount":2847,
			"amount_refunded":1000,"currency":"usd","customer":"cus_1","payment_intent":"pi_1","refunded":false,"metadata":{}}`, ""),
			gateway.Event{ID: "evt_1", Type: "charge.refunded", ChargeID: "pi_1", CustomerID: "cus_1",
				Amount: gateway.Money{AmountMinor: 1000, Currency: "USD"}, OccurredAt: at,
				Metadata: map[string]string{"ezscale_stripe_event_type": "charge.refunded"}}},
		{"disputed", event("charge.dispute.created", `{"id":"dp_1","object":"dispute","amount":2847,"currency":"usd",
			"charge":"ch_1","payment_intent":"pi_1","reason":"fraudulent","status":"needs_response","metadata":{}}`, ""),
			gateway.Event{ID: "evt_1", Type: "charge.disputed", ChargeID: "pi_1",
				Amount: gateway.Money{AmountMinor: 2847, Currency: "USD"}, OccurredAt: at,
				Metadata: map[string]string{"ezscale_stripe_event_type": "charge.dispute.created"}}},
		{"payment method detached", event("payment_method.detached", `{"id":"pm_1","object":"payment_method","type":"card","customer":null}`,
			`{"customer":"cus_1"}`),
			gateway.Event{ID: "evt_1", Type: "payment_method.detached", CustomerID: "cus_1", OccurredAt: at,
				Metadata: map[string]string{"ezscale_payment_method_id": "pm_1", "ezscale_stripe_event_type": "payment_method.detached"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := gw.ParseWebhook(tt.body, map[string]string{"Stripe-Signature": sign(tt.body, testWebhookSecret, time.Now())})
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWebhookVerification(t *testing.T) {
	t.Parallel()
	gw := webhookGateway(t)
	body := event("payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","amount":1,"currency":"usd"}`, "")
	now := time.Now()
	good := sign(body, testWebhookSecret, now)
	wrongSig := hex.EncodeToString(webhook.ComputeSignature(now, body, "whsec_other"))
	rightSig := hex.EncodeToString(webhook.ComputeSignature(now, body, testWebhookSecret))

	tests := []struct {
		name    string
		body    []byte
		headers map[string]string
		kind    gateway.Kind // -1: the event must verify
	}{
		{"valid", body, map[string]string{"Stripe-Signature": good}, -1},
		{"header name in any case", body, map[string]string{"stripe-signature": good}, -1},
		{"rolled secret: one of several v1 signatures matches", body,
			map[string]string{"Stripe-Signature": fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=ignored", now.Unix(), wrongSig, rightSig)}, -1},
		{"no header", body, map[string]string{}, gateway.Unauthenticated},
		{"malformed header", body, map[string]string{"Stripe-Signature": "garbage"}, gateway.Unauthenticated},
		{"wrong secret", body, map[string]string{"Stripe-Signature": sign(body, "whsec_other", now)}, gateway.Unauthenticated},
		{"tampered body", append([]byte(" "), body...), map[string]string{"Stripe-Signature": good}, gateway.Unauthenticated},
		{"outside tolerance (replay)", body, map[string]string{"Stripe-Signature": sign(body, testWebhookSecret, now.Add(-2*time.Minute))},
			gateway.Unauthenticated},
		{"signed garbage", []byte("not json"), map[string]string{"Stripe-Signature": sign([]byte("not json"), testWebhookSecret, now)},
			gateway.InvalidInput},
		{"unhandled type", event("customer.created", `{"id":"cus_1","object":"customer"}`, ""),
			map[string]string{"Stripe-Signature": sign(event("customer.created", `{"id":"cus_1","object":"customer"}`, ""), testWebhookSecret, now)},
			gateway.NotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := gw.ParseWebhook(tt.body, tt.headers)
			if tt.kind == -1 {
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				return
			}
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.Kind != tt.kind {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
		})
	}
}

func TestParseWebhookWithoutSecret(t *testing.T) {
	t.Parallel()
	gw, err := gateway.New(gateway.Config{SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	body := event("payment_intent.succeeded", `{"id":"pi_1"}`, "")
	_, err = gw.ParseWebhook(body, map[string]string{"Stripe-Signature": sign(body, "", time.Now())})
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated: an unconfigured secret must not accept unsigned or empty-key events", err)
	}
}
