package gateway

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v82"
)

// MetadataChargeKey is the PaymentIntent metadata key holding the caller's
// idempotency key, so a charge can be matched to the core's record from the
// Stripe dashboard.
const MetadataChargeKey = "ezscale_charge_key"

// ChargeStatus is the outcome of a charge.
type ChargeStatus int

// Charge outcomes, mirroring the protocol's ChargeStatus.
const (
	StatusUnspecified ChargeStatus = iota
	StatusSucceeded
	StatusPending
	StatusFailed
	// StatusRequiresAction: the customer must authenticate (3-D Secure)
	// on-session before the money can move.
	StatusRequiresAction
)

// ChargeRequest asks for an off-session charge of a saved payment method.
type ChargeRequest struct {
	IdempotencyKey  string
	CustomerID      string
	PaymentMethodID string
	Amount          Money
	Description     string
	Metadata        map[string]string
}

// ChargeResult is what happened to a charge. ChargeID is the PaymentIntent id
// and is set whenever Stripe created one, also for declines.
type ChargeResult struct {
	ChargeID       string
	Status         ChargeStatus
	FailureCode    string
	FailureMessage string
}

// Charge takes req.Amount off-session. A repeat with the same idempotency key
// within Stripe's 24 hours returns the first result without charging again. A
// declined card is a result with StatusFailed (or StatusRequiresAction), not
// an error.
func (g *Gateway) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return ChargeResult{}, err
	}
	if err := checkID("gateway_customer_id", req.CustomerID, "cus_"); err != nil {
		return ChargeResult{}, err
	}
	if err := checkID("payment_method_id", req.PaymentMethodID, "pm_", "card_", "src_", "ba_"); err != nil {
		return ChargeResult{}, err
	}
	if req.Amount.AmountMinor <= 0 {
		return ChargeResult{}, invalid("amount.amount_minor", "must be positive")
	}
	currency, err := req.Amount.stripeCurrency("amount")
	if err != nil {
		return ChargeResult{}, err
	}
	md, err := chargeMetadata(req.Metadata, req.IdempotencyKey)
	if err != nil {
		return ChargeResult{}, err
	}
	p := &stripe.PaymentIntentCreateParams{
		Amount:        stripe.Int64(req.Amount.AmountMinor),
		Currency:      stripe.String(currency),
		Customer:      stripe.String(req.CustomerID),
		PaymentMethod: stripe.String(req.PaymentMethodID),
		Confirm:       stripe.Bool(true),
		OffSession:    stripe.Bool(true),
		Metadata:      md,
		// Off-session means nobody is there to follow a redirect, so only
		// methods that need none may be used, and no return_url is needed.
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled:        stripe.Bool(true),
			AllowRedirects: stripe.String("never"),
		},
	}
	if req.Description != "" {
		p.Description = stripe.String(req.Description)
	}
	p.SetIdempotencyKey(idempotencyKey("charge", req.IdempotencyKey))
	pi, err := g.sc.V1PaymentIntents.Create(ctx, p)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			return declined(se), nil
		}
		return ChargeResult{}, classify("creating payment intent", err)
	}
	return chargeResult(pi), nil
}

// declined turns a card error from a confirm into a result. Stripe attaches
// the PaymentIntent it created, whose id identifies the failed attempt.
func declined(se *stripe.Error) ChargeResult {
	r := ChargeResult{Status: StatusFailed, FailureCode: string(se.DeclineCode), FailureMessage: se.Msg}
	if r.FailureCode == "" {
		r.FailureCode = string(se.Code)
	}
	if se.PaymentIntent != nil {
		r.ChargeID = se.PaymentIntent.ID
	}
	if se.Code == stripe.ErrorCodeAuthenticationRequired {
		r.Status = StatusRequiresAction
	}
	return r
}

func chargeResult(pi *stripe.PaymentIntent) ChargeResult {
	r := ChargeResult{ChargeID: pi.ID}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		r.Status = StatusSucceeded
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		// Bank debits settle later; the webhook reports the outcome.
		r.Status = StatusPending
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		r.Status = StatusRequiresAction
	default: // requires_payment_method, canceled
		r.Status = StatusFailed
	}
	if e := pi.LastPaymentError; e != nil && r.Status != StatusSucceeded {
		r.FailureCode = string(e.DeclineCode)
		if r.FailureCode == "" {
			r.FailureCode = string(e.Code)
		}
		r.FailureMessage = e.Msg
	}
	return r
}

// Stripe's metadata limits.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
)

// chargeMetadata copies the caller's metadata, adds the charge key, and
// checks Stripe's limits so a bad key is the caller's InvalidInput rather
// than an opaque Stripe error.
func chargeMetadata(in map[string]string, key string) (map[string]string, error) {
	out := make(map[string]string, len(in)+1)
	for k, v := range in {
		switch {
		case k == "" || utf8.RuneCountInString(k) > maxMetadataKeyLen || strings.ContainsAny(k, "[]"):
			return nil, invalid("metadata", "key %q must be 1 to %d characters without brackets", k, maxMetadataKeyLen)
		case utf8.RuneCountInString(v) > maxMetadataValueLen:
			return nil, invalid("metadata", "value of %q is longer than %d characters", k, maxMetadataValueLen)
		}
		out[k] = v
	}
	if utf8.RuneCountInString(key) <= maxMetadataValueLen {
		out[MetadataChargeKey] = key
	}
	if len(out) > maxMetadataKeys {
		return nil, invalid("metadata", "has more than %d keys", maxMetadataKeys-1)
	}
	return out, nil
}

// RefundRequest asks to refund (part of) a charge.
type RefundRequest struct {
	IdempotencyKey string
	// ChargeID is the PaymentIntent id Charge returned (a ch_ id of an older
	// charge works too).
	ChargeID string
	Amount   Money
	// Reason is free text; Stripe's own reasons (duplicate, fraudulent,
	// requested_by_customer) are passed as Stripe's reason, anything else is
	// kept in the refund's metadata.
	Reason string
}

// RefundResult is Stripe's refund id and status: "succeeded", "pending" or
// "failed".
type RefundResult struct {
	RefundID string
	Status   string
}

// MetadataRefundReason holds a free-text refund reason.
const MetadataRefundReason = "ezscale_reason"

// Refund refunds req.Amount of a charge. The currency must be the charge's.
// A repeat with the same idempotency key returns the first refund.
func (g *Gateway) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return RefundResult{}, err
	}
	if err := checkID("charge_id", req.ChargeID, "pi_", "ch_", "py_"); err != nil {
		return RefundResult{}, err
	}
	if req.Amount.AmountMinor <= 0 {
		return RefundResult{}, invalid("amount.amount_minor", "must be positive")
	}
	currency, err := req.Amount.stripeCurrency("amount")
	if err != nil {
		return RefundResult{}, err
	}
	// Stripe takes no currency on a refund and would refund in the charge's
	// currency whatever the caller meant, so the currency is checked first.
	p := &stripe.RefundCreateParams{Amount: stripe.Int64(req.Amount.AmountMinor)}
	var chargeCurrency stripe.Currency
	if strings.HasPrefix(req.ChargeID, "pi_") {
		pi, err := g.sc.V1PaymentIntents.Retrieve(ctx, req.ChargeID, nil)
		if err != nil {
			return RefundResult{}, classify("retrieving payment intent", err)
		}
		chargeCurrency = pi.Currency
		p.PaymentIntent = stripe.String(req.ChargeID)
	} else {
		ch, err := g.sc.V1Charges.Retrieve(ctx, req.ChargeID, nil)
		if err != nil {
			return RefundResult{}, classify("retrieving charge", err)
		}
		chargeCurrency = ch.Currency
		p.Charge = stripe.String(req.ChargeID)
	}
	if string(chargeCurrency) != currency {
		return RefundResult{}, invalid("amount.currency", "the charge is in %s, not %s",
			strings.ToUpper(string(chargeCurrency)), req.Amount.Currency)
	}
	switch stripe.RefundReason(req.Reason) {
	case stripe.RefundReasonDuplicate, stripe.RefundReasonFraudulent, stripe.RefundReasonRequestedByCustomer:
		p.Reason = stripe.String(req.Reason)
	case "":
	default:
		reason := req.Reason
		if utf8.RuneCountInString(reason) > maxMetadataValueLen {
			reason = string([]rune(reason)[:maxMetadataValueLen])
		}
		p.Metadata = map[string]string{MetadataRefundReason: reason}
	}
	p.SetIdempotencyKey(idempotencyKey("refund", req.IdempotencyKey))
	rf, err := g.sc.V1Refunds.Create(ctx, p)
	if err != nil {
		return RefundResult{}, classify("creating refund", err)
	}
	return RefundResult{RefundID: rf.ID, Status: refundStatus(rf.Status)}, nil
}

func refundStatus(s stripe.RefundStatus) string {
	switch s {
	case stripe.RefundStatusSucceeded:
		return "succeeded"
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		return "failed"
	default: // pending, requires_action
		return "pending"
	}
}
