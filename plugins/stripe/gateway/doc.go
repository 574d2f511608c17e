// Package gateway is EZSCALE's payment logic on Stripe (stripe-go v82):
// customers, saved payment methods, off-session charges, refunds and webhook
// verification, behind a small API of its own that the plugin binary adapts to
// the SDK's PaymentGateway.
//
// Decisions worth knowing:
//
//   - A charge is a PaymentIntent created with confirm=true and
//     off_session=true, and its id (pi_…) is the charge id everywhere: in
//     Charge's result, in Refund's input, and in normalized webhook events
//     (charge.refunded events are mapped back to their PaymentIntent).
//   - Every POST carries a Stripe Idempotency-Key derived from the caller's key
//     (prefixed by operation, so one key reused for a charge and a refund
//     cannot collide). Stripe keeps keys for 24 hours; a repeat within that
//     returns the first result and never moves money twice.
//   - A card decline is not an error: Charge returns StatusFailed with the
//     decline code, or StatusRequiresAction when the bank wants the customer
//     to authenticate on-session. Errors carry a Kind that maps one to one
//     onto the SDK's error kinds.
//   - Customers are found by the metadata key ezscale_account_id through
//     Stripe's search API, and created with an idempotency key derived from
//     the account and its details: search lags writes by up to a minute, and
//     the key covers that window.
//   - Webhooks are verified with stripe-go's webhook package (HMAC-SHA256, a
//     timestamp tolerance, any of several v1 signatures, as Stripe sends
//     during a secret roll). The event's API version is not required to match
//     stripe-go's: only fields that are stable across versions are read.
//   - Amounts are int64 minor units and an ISO 4217 code; no float is used.
//     ISK and UGX are refused, because Stripe's amount for them is not the
//     ISO 4217 minor unit and a silent ×100 error is worse than a refusal.
//
// Internal API of the Stripe plugin; not a promise to other modules.
package gateway
