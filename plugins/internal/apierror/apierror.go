// Package apierror holds the error type that every third-party API client in
// this module returns when the remote API answers with an error, and helpers
// that classify it by HTTP status. Plugins map these classes onto the SDK's
// error kinds; keeping the classification here means the three clients agree.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds the raw body kept on an Error so that a misbehaving API
// cannot make error values arbitrarily large.
const maxBody = 4 << 10

// Error is an error answer from a third-party API. StatusCode is the HTTP
// status; for APIs that report errors inside a 200 response (Kasm), it is 200
// and Message carries the API's error text.
type Error struct {
	// Method and Path identify the request (never the query string, which may
	// carry filters with personal data).
	Method string
	Path   string
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is the API's machine-readable error code when it has one, e.g.
	// Pterodactyl's "NotFoundHttpException".
	Code string
	// Message is the API's first human-readable error message.
	Message string
	// Messages are all messages the API returned (validation errors come one
	// per field and rule).
	Messages []string
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
	// Capacity is set by the vendor's client when the answer says the
	// backend has no room for the request (no node, allocation or
	// hypervisor can take it): a shortage that adding capacity heals, not a
	// bad request, whatever the status code.
	Capacity bool
	// Body is the raw response body, truncated to 4 KiB.
	Body string
}

// New returns an Error for a response, with Body truncated and RetryAfter
// parsed from the header.
func New(method, path string, status int, header http.Header, body []byte, now time.Time) *Error {
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	e := &Error{Method: method, Path: path, StatusCode: status, Body: string(body)}
	if header != nil {
		e.RetryAfter = ParseRetryAfter(header.Get("Retry-After"), now)
	}
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusCode returns the HTTP status of the *Error in err's chain, or 0.
func StatusCode(err error) int {
	if e, ok := As(err); ok {
		return e.StatusCode
	}
	return 0
}

// IsUnauthorized reports a 401: the credentials are missing or wrong.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsForbidden reports a 403: the credentials are valid but lack permission.
func IsForbidden(err error) bool { return StatusCode(err) == http.StatusForbidden }

// IsAuth reports a 401 or 403.
func IsAuth(err error) bool { return IsUnauthorized(err) || IsForbidden(err) }

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports a 409.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsUnprocessable reports a 422 (validation failed).
func IsUnprocessable(err error) bool { return StatusCode(err) == http.StatusUnprocessableEntity }

// IsLocked reports a 423 (the resource is locked by a running task).
func IsLocked(err error) bool { return StatusCode(err) == http.StatusLocked }

// IsRateLimited reports a 429.
func IsRateLimited(err error) bool { return StatusCode(err) == http.StatusTooManyRequests }

// IsServerError reports a 5xx.
func IsServerError(err error) bool { return StatusCode(err) >= 500 }

// RetryAfter returns the Retry-After of the *Error in err's chain.
func RetryAfter(err error) (time.Duration, bool) {
	if e, ok := As(err); ok && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// ParseRetryAfter parses a Retry-After header value, either delta-seconds or
// an HTTP-date (RFC 9110 §10.2.3). It returns 0 for an empty or unparsable
// value and for a date in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
