package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/sdk"
)

// TestPluginErrorToAPIError: every plugin error kind, with and without a
// retry hint, and after the wire, becomes one HTTP status, problem code and
// Retry-After, whichever plugin it came from, and the plugin's own text
// never reaches the message. The mapping is two steps, apperr.FromPlugin
// (kind to code, reason and retry hint) and StatusOf (code to status); the
// test is here, where both are, so core/apperr's tests do not link the API.
func TestPluginErrorToAPIError(t *testing.T) {
	t.Parallel()
	type api struct {
		Status     int
		Reason     string
		RetryAfter time.Duration
	}
	const hint = 42 * time.Second
	rows := []struct {
		kind         sdk.ErrorKind
		want, hinted api
	}{
		{sdk.InvalidInput, api{http.StatusUnprocessableEntity, "backend_refused", 0}, api{http.StatusUnprocessableEntity, "backend_refused", 0}},
		{sdk.NotFound, api{http.StatusUnprocessableEntity, "backend_not_found", 0}, api{http.StatusUnprocessableEntity, "backend_not_found", 0}},
		{sdk.NotSupported, api{http.StatusUnprocessableEntity, "not_supported", 0}, api{http.StatusUnprocessableEntity, "not_supported", 0}},
		{sdk.Conflict, api{http.StatusConflict, "backend_conflict", 0}, api{http.StatusConflict, "backend_conflict", 0}},
		{sdk.Capacity, api{http.StatusServiceUnavailable, "backend_capacity", 0}, api{http.StatusServiceUnavailable, "backend_capacity", hint}},
		{sdk.Unavailable, api{http.StatusServiceUnavailable, "backend_unavailable", 0}, api{http.StatusServiceUnavailable, "backend_unavailable", hint}},
		{sdk.Unauthenticated, api{http.StatusServiceUnavailable, "backend_unavailable", 0}, api{http.StatusServiceUnavailable, "backend_unavailable", 0}},
		{sdk.Internal, api{http.StatusServiceUnavailable, "backend_unavailable", 0}, api{http.StatusServiceUnavailable, "backend_unavailable", 0}},
		// A kind appended after this core was built arrives as Internal.
		{sdk.ErrorKind(99), api{http.StatusServiceUnavailable, "backend_unavailable", 0}, api{http.StatusServiceUnavailable, "backend_unavailable", 0}},
	}
	covered := map[sdk.ErrorKind]bool{}
	for _, tc := range rows {
		covered[tc.kind] = true
	}
	for _, k := range sdk.ErrorKinds() {
		if !covered[k] {
			t.Errorf("kind %s has no row", k)
		}
	}
	for _, tc := range rows {
		for _, retryAfter := range []time.Duration{0, hint} {
			want := tc.want
			if retryAfter > 0 {
				want = tc.hinted
			}
			pe := &sdk.Error{Kind: tc.kind, Message: "secret-host.internal said no", Field: "plan_options", RetryAfter: retryAfter}
			for how, err := range map[string]error{
				"local":         fmt.Errorf("calling the plugin: %w", pe),
				"over the wire": sdk.FromStatus(sdk.ToStatus(pe)),
			} {
				name := fmt.Sprintf("%s, retry hint %s, %s", tc.kind, retryAfter, how)
				got := apperr.FromPlugin(err, "the payment gateway")
				e, ok := apperr.As(got)
				if !ok {
					t.Errorf("%s: %T is not an apperr.Error", name, got)
					continue
				}
				if diff := cmp.Diff(want, api{httpapi.StatusOf(e.Code), e.Reason, e.RetryAfter}); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
				if strings.Contains(e.Message, "secret") || !strings.HasPrefix(e.Message, "the payment gateway ") || len(e.Fields) != 0 {
					t.Errorf("%s: message %q, fields %v: want the core's own words about the payment gateway", name, e.Message, e.Fields)
				}
				if !errors.Is(got, err) {
					t.Errorf("%s: the plugin's error is not kept for the log", name)
				}
			}
		}
	}
}
