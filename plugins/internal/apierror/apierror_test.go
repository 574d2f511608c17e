package apierror

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]time.Duration{
		"":     0,
		"7":    7 * time.Second,
		" 30 ": 30 * time.Second,
		"0":    0,
		"-3":   0,
		"soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	}
	for in, want := range tests {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClassification(t *testing.T) {
	t.Parallel()

	type class struct {
		Unauthorized, Forbidden, Auth, NotFound, Conflict, Unprocessable, Locked, RateLimited, Server bool
	}
	classify := func(err error) class {
		return class{IsUnauthorized(err), IsForbidden(err), IsAuth(err), IsNotFound(err), IsConflict(err),
			IsUnprocessable(err), IsLocked(err), IsRateLimited(err), IsServerError(err)}
	}
	tests := map[int]class{
		401: {Unauthorized: true, Auth: true},
		403: {Forbidden: true, Auth: true},
		404: {NotFound: true},
		409: {Conflict: true},
		422: {Unprocessable: true},
		423: {Locked: true},
		429: {RateLimited: true},
		500: {Server: true},
		503: {Server: true},
		200: {},
	}
	for status, want := range tests {
		// Wrapped, as callers add context before returning.
		err := fmt.Errorf("error doing thing: %w", &Error{StatusCode: status})
		if diff := cmp.Diff(want, classify(err)); diff != "" {
			t.Errorf("status %d (-want +got):\n%s", status, diff)
		}
	}
	if diff := cmp.Diff(class{}, classify(fmt.Errorf("dial tcp: refused"))); diff != "" {
		t.Errorf("non-API error classified (-want +got):\n%s", diff)
	}
}

func TestNewAndError(t *testing.T) {
	t.Parallel()

	h := http.Header{}
	h.Set("Retry-After", "12")
	big := make([]byte, maxBody+100)
	e := New("GET", "/x", 429, h, big, time.Now())
	if e.RetryAfter != 12*time.Second || len(e.Body) != maxBody {
		t.Fatalf("New: retry %v, body %d", e.RetryAfter, len(e.Body))
	}
	e.Code, e.Message = "TooManyRequestsHttpException", "Too Many Attempts."
	want := "GET /x: HTTP 429 TooManyRequestsHttpException: Too Many Attempts. (retry after 12s)"
	if diff := cmp.Diff(want, e.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
	if d, ok := RetryAfter(fmt.Errorf("wrap: %w", e)); !ok || d != 12*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
}
