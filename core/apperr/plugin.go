package apperr

import (
	"errors"

	"github.com/ezscale/platform/sdk"
)

// Problem codes of a plugin's error (see FromPlugin). A client branches on
// them; the plugin named in the message differs, the codes do not.
const (
	ReasonBackendRefused     = "backend_refused"     // 422: invalid_input
	ReasonBackendNotFound    = "backend_not_found"   // 422: not_found
	ReasonNotSupported       = "not_supported"       // 422: not_supported
	ReasonBackendConflict    = "backend_conflict"    // 409: conflict
	ReasonBackendCapacity    = "backend_capacity"    // 503: capacity
	ReasonBackendUnavailable = "backend_unavailable" // 503: unavailable, unauthenticated, internal
)

// FromPlugin turns the error of a plugin call into what an API caller sees.
// It is the one mapping every HTTP path that calls a plugin uses, decided
// by the error's kind alone:
//
//	kind              code           reason               Retry-After
//	invalid_input     Unprocessable  backend_refused      -
//	not_found         Unprocessable  backend_not_found    -
//	not_supported     Unprocessable  not_supported        -
//	conflict          Conflict       backend_conflict     -
//	capacity          Unavailable    backend_capacity     the plugin's hint
//	unavailable       Unavailable    backend_unavailable  the plugin's hint
//	unauthenticated   Unavailable    backend_unavailable  -
//	internal (and any other error)   backend_unavailable  -
//
// A kind that retrying cannot heal is a 422 (repeating the request
// unchanged fails again); a conflict is a 409 (it may clear once the
// backend's state changes); everything else is the dependency failing, a
// 503. Credentials the backend refuses are the operator's to fix, not the
// caller's: a 503, never a 401.
//
// plugin names the backend to the caller ("the service's backend", "the
// payment gateway", "Discord"). The message is the core's own: the
// plugin's text (which may quote the backend or its URLs) is never shown;
// it stays in Err, for the log. An *Error (the core refused before the
// call) is returned unchanged, and nil is nil.
func FromPlugin(err error, plugin string) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	e := &Error{Err: err}
	switch sdk.KindOf(err) {
	case sdk.InvalidInput:
		e.Code, e.Reason, e.Message = Unprocessable, ReasonBackendRefused, plugin+" refused the request"
	case sdk.NotFound:
		e.Code, e.Reason, e.Message = Unprocessable, ReasonBackendNotFound, plugin+" does not know something this request names"
	case sdk.NotSupported:
		e.Code, e.Reason, e.Message = Unprocessable, ReasonNotSupported, plugin+" does not support this"
	case sdk.Conflict:
		e.Code, e.Reason, e.Message = Conflict, ReasonBackendConflict, plugin+" cannot do this in its current state; try again once it has changed"
	case sdk.Capacity:
		e.Code, e.Reason, e.Message = Unavailable, ReasonBackendCapacity, plugin+" has no room for this right now; try again later"
		e.RetryAfter = sdk.RetryAfterOf(err)
	case sdk.Unavailable:
		e.Code, e.Reason, e.Message = Unavailable, ReasonBackendUnavailable, plugin+" is not available right now; try again later"
		e.RetryAfter = sdk.RetryAfterOf(err)
	default:
		e.Code, e.Reason, e.Message = Unavailable, ReasonBackendUnavailable, plugin+" is not available right now; try again later"
	}
	return e
}
