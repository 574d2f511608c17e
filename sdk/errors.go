package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/sdk/pluginv1"
)

// ErrorKind classifies a plugin failure. The values mirror pluginv1.ErrorKind
// and travel over the wire; the set is append-only.
type ErrorKind int32

// Error kinds. A plugin returns them through *Error; the core receives the
// same kind on its side.
const (
	// Internal is a bug or an unexpected backend answer. Errors that are not
	// an *Error are Internal.
	Internal ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_INTERNAL)
	// InvalidInput: the request is wrong; retrying it unchanged fails again.
	InvalidInput ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_INVALID_INPUT)
	// NotFound: the object does not exist at the backend.
	NotFound ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_NOT_FOUND)
	// Conflict: the request conflicts with the backend's current state.
	Conflict ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_CONFLICT)
	// Unavailable: the backend (or the plugin) cannot answer now; retry after
	// Error.RetryAfter when it is set.
	Unavailable ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_UNAVAILABLE)
	// Unauthenticated: credentials refused or a signature did not verify.
	Unauthenticated ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_UNAUTHENTICATED)
	// NotSupported: the plugin or its backend lacks the operation.
	NotSupported ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_NOT_SUPPORTED)
	// Capacity: the backend has no room for the request now (no node,
	// allocation, hypervisor or address can take it). Retryable: the core
	// retries with backoff (after Error.RetryAfter when it is set) and
	// alerts staff. Return it only when waiting or adding capacity can
	// heal the request; a request no node could ever fit is InvalidInput.
	Capacity ErrorKind = ErrorKind(pluginv1.ErrorKind_ERROR_KIND_CAPACITY)
)

var kindNames = map[ErrorKind]string{
	Internal:        "internal",
	InvalidInput:    "invalid_input",
	NotFound:        "not_found",
	Conflict:        "conflict",
	Unavailable:     "unavailable",
	Unauthenticated: "unauthenticated",
	NotSupported:    "not_supported",
	Capacity:        "capacity",
}

// String returns the kind's stable snake_case name, used in logs and metrics.
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "internal"
}

// Error is the error type plugins return and the core receives. Any other
// error a plugin returns reaches the core as Internal.
type Error struct {
	Kind    ErrorKind
	Message string
	// Field is the request field at fault, for InvalidInput.
	Field string
	// RetryAfter is a hint for Unavailable and Capacity.
	RetryAfter time.Duration

	// cause keeps local context (a context error, a transport error) so
	// errors.Is works on the caller's side; it is not sent over the wire.
	cause error
}

// Errorf returns an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an InvalidInput error naming the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Kind: InvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// UnavailableError returns an Unavailable error with a retry hint.
func UnavailableError(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Kind: Unavailable, RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

// CapacityError returns a Capacity error (the backend has no room for the
// request now) with an optional retry hint (0: the core's backoff decides).
func CapacityError(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Kind: Capacity, RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	msg := e.Kind.String()
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.cause }

// WithCause records the local error behind e (for errors.Is/As on this side
// of the wire; the cause is never sent) and returns e.
func (e *Error) WithCause(err error) *Error {
	e.cause = err
	return e
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// or Internal. A nil error has no kind and returns 0.
func KindOf(err error) ErrorKind {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err has the given kind.
func IsKind(err error, kind ErrorKind) bool { return err != nil && KindOf(err) == kind }

// RetryAfterOf returns the retry hint of err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

var kindCodes = map[ErrorKind]codes.Code{
	Internal:        codes.Internal,
	InvalidInput:    codes.InvalidArgument,
	NotFound:        codes.NotFound,
	Conflict:        codes.FailedPrecondition,
	Unavailable:     codes.Unavailable,
	Unauthenticated: codes.Unauthenticated,
	NotSupported:    codes.Unimplemented,
	Capacity:        codes.ResourceExhausted,
}

// ToStatus encodes err as a gRPC status error carrying a
// pluginv1.ErrorDetail. The SDK's servers call it on every error a plugin
// returns; it is exported for plugins written without Serve.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		if _, ok := status.FromError(err); ok {
			// Already a status (e.g. from the gRPC runtime): pass it through.
			return err
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return status.Error(codes.DeadlineExceeded, err.Error())
		case errors.Is(err, context.Canceled):
			return status.Error(codes.Canceled, err.Error())
		}
		e = &Error{Kind: Internal, Message: err.Error()}
	}
	if _, known := kindNames[e.Kind]; !known {
		e = &Error{Kind: Internal, Message: e.Message, Field: e.Field}
	}
	detail := &pluginv1.ErrorDetail{
		Kind:    pluginv1.ErrorKind(e.Kind),
		Message: e.Message,
		Field:   e.Field,
	}
	if e.RetryAfter > 0 {
		detail.RetryAfter = durationpb.New(e.RetryAfter)
	}
	code := kindCodes[e.Kind]
	st, stErr := status.New(code, e.Error()).WithDetails(detail)
	if stErr != nil {
		return status.Error(code, e.Error())
	}
	return st.Err()
}

// FromStatus decodes an error returned by a gRPC call into an *Error. A
// status without an ErrorDetail is classified by its code: Unimplemented is
// NotSupported (a plugin built against an older protocol lacks the method),
// Unavailable is Unavailable (the plugin process is gone or restarting).
// Deadline and cancellation keep context.DeadlineExceeded/Canceled in the
// chain for errors.Is.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		// Raised on this side (e.g. by the host), not a wire status.
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Kind: Internal, Message: err.Error(), cause: err}
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*pluginv1.ErrorDetail); ok {
			e := &Error{
				Kind:    ErrorKind(detail.GetKind()),
				Message: detail.GetMessage(),
				Field:   detail.GetField(),
			}
			if _, known := kindNames[e.Kind]; !known {
				// A kind appended after this SDK was built, or unspecified.
				e.Kind = Internal
			}
			if detail.GetRetryAfter() != nil {
				e.RetryAfter = detail.GetRetryAfter().AsDuration()
			}
			return e
		}
	}
	e := &Error{Message: st.Message(), cause: err}
	switch st.Code() {
	case codes.InvalidArgument:
		e.Kind = InvalidInput
	case codes.NotFound:
		e.Kind = NotFound
	case codes.AlreadyExists, codes.FailedPrecondition, codes.Aborted:
		e.Kind = Conflict
	case codes.Unavailable, codes.ResourceExhausted:
		e.Kind = Unavailable
	case codes.Unauthenticated, codes.PermissionDenied:
		e.Kind = Unauthenticated
	case codes.Unimplemented:
		e.Kind = NotSupported
	case codes.DeadlineExceeded:
		e.Kind = Unavailable
		e.cause = fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	case codes.Canceled:
		e.Kind = Unavailable
		e.cause = fmt.Errorf("%w: %s", context.Canceled, st.Message())
	default:
		e.Kind = Internal
	}
	return e
}
