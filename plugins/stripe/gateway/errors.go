package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Kind classifies an error the way the SDK's error kinds do; the plugin maps
// them one to one.
type Kind int

// Error kinds.
const (
	Internal Kind = iota
	InvalidInput
	NotFound
	Conflict
	Unavailable
	Unauthenticated
	NotSupported
)

var kindNames = [...]string{"internal", "invalid input", "not found", "conflict", "unavailable",
	"unauthenticated", "not supported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is every error the gateway returns.
type Error struct {
	Kind    Kind
	Message string
	// Field is the request field at fault, for InvalidInput.
	Field string
	// RetryAfter is a hint for Unavailable.
	RetryAfter time.Duration
	// Code is Stripe's error code ("resource_missing", "card_declined"…),
	// and DeclineCode the issuer's reason for a card error.
	Code        string
	DeclineCode string
	// RequestID is Stripe's request id, for support tickets.
	RequestID string
	cause     error
}

func (e *Error) Error() string {
	msg := "stripe: " + e.Kind.String()
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.cause }

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: InvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// defaultRetryAfter is the hint for a Stripe rate limit or outage that names
// no delay; Stripe advises backing off exponentially from about a second.
const defaultRetryAfter = time.Second

// classify turns an error from stripe-go into an *Error. op names the
// operation for the message.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		// Transport failures, timeouts and unreadable answers: the request
		// may or may not have reached Stripe. Every POST carries an
		// idempotency key, so a retry with the same key is safe.
		e := &Error{Kind: Unavailable, Message: op + ": " + err.Error(), RetryAfter: defaultRetryAfter, cause: err}
		if errors.Is(err, context.Canceled) {
			e.RetryAfter = 0
		}
		return e
	}
	e := &Error{
		Message:     op + ": " + se.Msg,
		Code:        string(se.Code),
		DeclineCode: string(se.DeclineCode),
		RequestID:   se.RequestID,
		cause:       err,
	}
	switch {
	case se.HTTPStatusCode == http.StatusUnauthorized:
		e.Kind = Unauthenticated
	case se.HTTPStatusCode == http.StatusForbidden:
		// A restricted key without the permission: a credentials problem
		// for the operator, not the customer's input.
		e.Kind = Unauthenticated
	case se.HTTPStatusCode == http.StatusTooManyRequests:
		e.Kind = Unavailable
		e.RetryAfter = retryAfter(se)
	case se.Type == stripe.ErrorTypeIdempotency || se.HTTPStatusCode == http.StatusConflict:
		e.Kind = Conflict
	case se.HTTPStatusCode >= 500 || se.Type == stripe.ErrorTypeAPI:
		e.Kind = Unavailable
		e.RetryAfter = retryAfter(se)
	case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == http.StatusNotFound:
		e.Kind = NotFound
		e.Field = se.Param
	case se.Type == stripe.ErrorTypeCard:
		// A declined card outside of Charge (for example while attaching
		// it): the customer has to use another card.
		e.Kind = InvalidInput
		e.Field = se.Param
	case se.Type == stripe.ErrorTypeInvalidRequest || se.HTTPStatusCode == http.StatusBadRequest ||
		se.HTTPStatusCode == http.StatusPaymentRequired:
		e.Kind = InvalidInput
		e.Field = se.Param
	default:
		e.Kind = Internal
	}
	return e
}

func retryAfter(se *stripe.Error) time.Duration {
	if se.LastResponse != nil {
		if s := se.LastResponse.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 24*3600 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return defaultRetryAfter
}
