package errkind

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/sdk"
)

func TestFromAPI(t *testing.T) {
	t.Parallel()

	type out struct {
		Kind       sdk.ErrorKind
		RetryAfter time.Duration
	}
	api := func(status int, ra time.Duration) error {
		return fmt.Errorf("virtfusion: %w", &apierror.Error{StatusCode: status, Message: "m", RetryAfter: ra})
	}
	tests := map[string]struct {
		err  error
		want out
	}{
		"401":          {api(401, 0), out{sdk.Unauthenticated, 0}},
		"403":          {api(403, 0), out{sdk.Unauthenticated, 0}},
		"404":          {api(404, 0), out{sdk.NotFound, 0}},
		"409":          {api(409, 0), out{sdk.Conflict, 0}},
		"423":          {api(423, 0), out{sdk.Conflict, 0}},
		"400":          {api(400, 0), out{sdk.InvalidInput, 0}},
		"422":          {api(422, 0), out{sdk.InvalidInput, 0}},
		"429":          {api(429, 7*time.Second), out{sdk.Unavailable, 7 * time.Second}},
		"429 no RA":    {api(429, 0), out{sdk.Unavailable, DefaultRetryAfter}},
		"500":          {api(500, 0), out{sdk.Unavailable, 0}},
		"503 RA":       {api(503, 2*time.Second), out{sdk.Unavailable, 2 * time.Second}},
		"418":          {api(418, 0), out{sdk.Internal, 0}},
		"transport":    {&url.Error{Op: "Get", URL: "x", Err: errors.New("refused")}, out{sdk.Unavailable, 0}},
		"deadline":     {fmt.Errorf("x: %w", context.DeadlineExceeded), out{sdk.Unavailable, 0}},
		"other":        {errors.New("bug"), out{sdk.Internal, 0}},
		"sdk":          {sdk.Errorf(sdk.Conflict, "kept"), out{sdk.Conflict, 0}},
		"capacity 400": {fmt.Errorf("pterodactyl: %w", &apierror.Error{StatusCode: 400, Message: "m", Capacity: true}), out{sdk.Capacity, 0}},
		"capacity 422 RA": {fmt.Errorf("virtfusion: %w", &apierror.Error{StatusCode: 422, Message: "m", Capacity: true, RetryAfter: time.Minute}),
			out{sdk.Capacity, time.Minute}},
	}
	for name, tt := range tests {
		got := FromAPI(tt.err, "doing it")
		if diff := cmp.Diff(tt.want, out{sdk.KindOf(got), sdk.RetryAfterOf(got)}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if FromAPI(nil, "x") != nil {
		t.Error("nil became an error")
	}
}
