package gateway

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// Normalized event types, as the protocol names them.
const (
	EventChargeSucceeded       = "charge.succeeded"
	EventChargeFailed          = "charge.failed"
	EventChargeRefunded        = "charge.refunded"
	EventChargeDisputed        = "charge.disputed"
	EventPaymentMethodDetached = "payment_method.detached"
)

// Metadata keys the gateway adds to normalized events.
const (
	MetadataFailureCode     = "ezscale_failure_code"
	MetadataFailureMessage  = "ezscale_failure_message"
	MetadataPaymentMethodID = "ezscale_payment_method_id"
	MetadataStripeEventType = "ezscale_stripe_event_type"
)

// Event is a verified, normalized webhook event.
type Event struct {
	// ID is Stripe's event id (evt_…); Stripe may deliver an event more than
	// once, so the core deduplicates on it.
	ID   string
	Type string
	// ChargeID is the PaymentIntent id, as Charge returned it.
	ChargeID   string
	CustomerID string
	// Amount is the charge's amount for charge.succeeded and charge.failed,
	// the total refunded so far for charge.refunded (so a repeated or
	// reordered event cannot double count), and the disputed amount for
	// charge.disputed.
	Amount     Money
	OccurredAt time.Time
	Metadata   map[string]string
}

// SignatureHeader is the header Stripe signs webhooks in.
const SignatureHeader = "Stripe-Signature"

// ParseWebhook verifies a webhook's signature against the configured secret
// and normalizes it. A missing or bad signature, or one older than the
// tolerance, is Unauthenticated; an event type the gateway does not map is
// NotSupported (the core acknowledges and drops it).
func (g *Gateway) ParseWebhook(body []byte, headers map[string]string) (Event, error) {
	if g.webhookSecret == "" {
		return Event{}, &Error{Kind: Unauthenticated, Message: "no webhook_secret is configured, so no webhook can be verified"}
	}
	sig := ""
	for k, v := range headers {
		if strings.EqualFold(k, SignatureHeader) {
			sig = v
			break
		}
	}
	ev, err := webhook.ConstructEventWithOptions(body, sig, g.webhookSecret, webhook.ConstructEventOptions{
		Tolerance: g.webhookTolerance,
		// Only fields stable across API versions are read below, and the
		// endpoint's version is the account's choice, not ours.
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
			errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
			return Event{}, &Error{Kind: Unauthenticated, Message: "webhook signature: " + err.Error(), cause: err}
		default:
			return Event{}, &Error{Kind: InvalidInput, Field: "body", Message: "webhook body: " + err.Error(), cause: err}
		}
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return Event{}, invalid("body", "event %s has no data.object", ev.ID)
	}
	out := Event{ID: ev.ID, OccurredAt: time.Unix(ev.Created, 0).UTC(), Metadata: map[string]string{}}
	raw := ev.Data.Raw
	switch ev.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return Event{}, invalid("body", "payment intent: %v", err)
		}
		out.ChargeID = pi.ID
		out.Amount = fromStripeMoney(pi.Amount, pi.Currency)
		if pi.Customer != nil {
			out.CustomerID = pi.Customer.ID
		}
		maps.Copy(out.Metadata, pi.Metadata)
		out.Type = EventChargeSucceeded
		if ev.Type == "payment_intent.payment_failed" {
			out.Type = EventChargeFailed
			if e := pi.LastPaymentError; e != nil {
				code := string(e.DeclineCode)
				if code == "" {
					code = string(e.Code)
				}
				out.Metadata[MetadataFailureCode] = code
				out.Metadata[MetadataFailureMessage] = e.Msg
			}
		}
	case "charge.refunded":
		var ch stripe.Charge
		if err := json.Unmarshal(raw, &ch); err != nil {
			return Event{}, invalid("body", "charge: %v", err)
		}
		out.Type = EventChargeRefunded
		out.ChargeID = ch.ID
		if ch.PaymentIntent != nil && ch.PaymentIntent.ID != "" {
			out.ChargeID = ch.PaymentIntent.ID
		}
		if ch.Customer != nil {
			out.CustomerID = ch.Customer.ID
		}
		out.Amount = fromStripeMoney(ch.AmountRefunded, ch.Currency)
		maps.Copy(out.Metadata, ch.Metadata)
	case "charge.dispute.created":
		var d stripe.Dispute
		if err := json.Unmarshal(raw, &d); err != nil {
			return Event{}, invalid("body", "dispute: %v", err)
		}
		out.Type = EventChargeDisputed
		switch {
		case d.PaymentIntent != nil && d.PaymentIntent.ID != "":
			out.ChargeID = d.PaymentIntent.ID
		case d.Charge != nil:
			out.ChargeID = d.Charge.ID
		}
		out.Amount = fromStripeMoney(d.Amount, d.Currency)
		maps.Copy(out.Metadata, d.Metadata)
	case "payment_method.detached":
		var pm stripe.PaymentMethod
		if err := json.Unmarshal(raw, &pm); err != nil {
			return Event{}, invalid("body", "payment method: %v", err)
		}
		out.Type = EventPaymentMethodDetached
		// After a detach the object has no customer; the previous one is in
		// previous_attributes.
		if prev, ok := ev.Data.PreviousAttributes["customer"].(string); ok {
			out.CustomerID = prev
		}
		out.Metadata[MetadataPaymentMethodID] = pm.ID
	default:
		return Event{}, &Error{Kind: NotSupported, Message: "event type " + string(ev.Type) + " is not handled"}
	}
	out.Metadata[MetadataStripeEventType] = string(ev.Type)
	return out, nil
}
