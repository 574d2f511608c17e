// Package errkind maps the API clients' errors onto the SDK's error kinds,
// the small stable set that crosses the plugin boundary:
//
//	capacity answers  → Capacity (the vendor's client recognised "no room")
//	401, 403          → Unauthenticated (the configured credentials are refused)
//	404               → NotFound
//	409, 423          → Conflict (the backend's state forbids the call now)
//	400, 422          → InvalidInput (with the backend's message)
//	429               → Unavailable with the backend's Retry-After
//	5xx               → Unavailable (with Retry-After when given)
//	timeout, refused  → Unavailable
//	anything else     → Internal
package errkind

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
	"github.com/ezscale/platform/sdk"
)

// DefaultRetryAfter is suggested for a 429 without a Retry-After header, so
// the core backs off rather than retrying at once.
const DefaultRetryAfter = 30 * time.Second

// FromAPI converts err (from an API client) to an *sdk.Error; what names the
// operation for the message, e.g. "creating the server". A nil err stays nil
// and an *sdk.Error passes through.
func FromAPI(err error, what string) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return se
	}
	e, ok := apierror.As(err)
	if !ok {
		if rest.IsTransport(err) || errors.Is(err, context.DeadlineExceeded) {
			return sdk.UnavailableError(0, "%s: the backend did not answer: %v", what, err)
		}
		return sdk.Errorf(sdk.Internal, "%s: %v", what, err)
	}
	msg := e.Message
	switch {
	case e.Capacity:
		return sdk.CapacityError(e.RetryAfter, "%s: the backend has no capacity: %s", what, msg)
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return sdk.Errorf(sdk.Unauthenticated, "%s: the backend refused the configured credentials: %s", what, msg)
	case e.StatusCode == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "%s: %s", what, msg)
	case e.StatusCode == http.StatusConflict || e.StatusCode == http.StatusLocked:
		return sdk.Errorf(sdk.Conflict, "%s: %s", what, msg)
	case e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity:
		return sdk.Errorf(sdk.InvalidInput, "%s: %s", what, msg)
	case e.StatusCode == http.StatusTooManyRequests:
		ra := e.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		return sdk.UnavailableError(ra, "%s: the backend is rate limiting: %s", what, msg)
	case e.StatusCode >= 500:
		return sdk.UnavailableError(e.RetryAfter, "%s: the backend failed (HTTP %d): %s", what, e.StatusCode, msg)
	}
	return sdk.Errorf(sdk.Internal, "%s: unexpected answer (HTTP %d): %s", what, e.StatusCode, msg)
}
