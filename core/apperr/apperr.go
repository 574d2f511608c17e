// Package apperr is the platform's one application error type. Domain code
// returns these with a machine code; the HTTP layer maps the code to a status
// and a problem+json body. Any other error is an internal error: logged in
// full, shown to the caller only as "internal error".
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable machine-readable error class.
type Code string

const (
	Invalid         Code = "invalid"          // 400: malformed or failing validation
	Unauthenticated Code = "unauthenticated"  // 401
	Forbidden       Code = "forbidden"        // 403: authenticated but not allowed (staff areas, scopes)
	NotFound        Code = "not_found"        // 404: missing or another account's
	Conflict        Code = "conflict"         // 409: state does not allow it, duplicate
	Unprocessable   Code = "unprocessable"    // 422: well-formed but unacceptable
	RateLimited     Code = "rate_limited"     // 429: RetryAfter says when
	PaymentRequired Code = "payment_required" // 402: insufficient credit, declined
	Unavailable     Code = "unavailable"      // 503: a dependency (plugin) is down
	Internal        Code = "internal"         // 500
)

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Line, Column and Snippet locate the problem inside the field's value
	// when it is source text (a rule): 1-based line and column (counting
	// characters), and the line with a caret under the column.
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

// Error is an application error.
type Error struct {
	Code Code
	// Reason refines Code with a stable identifier such as "totp_required".
	Reason string
	// Message is safe to show to the caller.
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	// Err is the underlying cause, logged but never shown.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Reason != "" {
		msg += "/" + e.Reason
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of code with a caller-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithReason sets the refining reason and returns e.
func (e *Error) WithReason(reason string) *Error { e.Reason = reason; return e }

// Field returns an Invalid error for one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: []FieldError{{Field: field, Message: msg}}}
}

// Refusal returns an Unprocessable error: a well-formed request the rules
// refuse, naming the field and the rule's reason clients act on.
func Refusal(field, reason, format string, args ...any) *Error {
	e := New(Unprocessable, format, args...).WithReason(reason)
	e.Fields = []FieldError{{Field: field, Message: e.Message}}
	return e
}

// Fields collects field errors; Err returns nil when there are none.
type Fields []FieldError

// Add records a problem with field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns the collected problems as one Invalid error, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: f}
}

// NotFoundf is the common "no such object (for you)" error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// CodeOf returns the code of err, Internal for foreign errors and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns err as *Error when it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
