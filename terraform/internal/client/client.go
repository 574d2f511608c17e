// Package client is the provider's client of the EZSCALE public API
// (/api/v1). It calls only the operations listed in Operations, each named
// by the operationId the served OpenAPI document gives it; a test checks
// every one against web/openapi.json, so the client cannot drift from the
// API unnoticed.
//
// Internal API of the provider, do not import from elsewhere.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls the API with a bearer token. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[:port], without /api/v1
	token     string
	userAgent string
	http      *http.Client

	// MaxRetries bounds how often one call is repeated after a 429, or a
	// 503 with Retry-After on a call that is safe to repeat.
	MaxRetries int
	// MaxWait caps a single Retry-After wait.
	MaxWait time.Duration
	// SleepFunc waits d or until ctx ends; tests replace it so that no
	// test waits on the wall clock.
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// New returns a client of the API at endpoint (the installation's base URL,
// with or without a trailing /api/v1).
func New(endpoint, token, userAgent string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/api/v1")
	return &Client{
		base:       strings.TrimSuffix(base, "/"),
		token:      token,
		userAgent:  userAgent,
		http:       &http.Client{Timeout: 60 * time.Second},
		MaxRetries: 8,
		MaxWait:    2 * time.Minute,
		SleepFunc:  sleep,
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Call is one call of an operation.
type Call struct {
	Op Operation
	// Params fill the path's {placeholders}, in order.
	Params []string
	Query  url.Values
	// IdempotencyKey is sent as Idempotency-Key when not empty.
	IdempotencyKey string
	Body           any
}

// Response is what a successful call answered besides its body.
type Response struct {
	Status   int
	Replayed bool // Idempotent-Replayed: true
}

// Do sends the call and decodes a 2xx answer's JSON into out (when out is
// not nil). Any other answer is an *Error. A 429, and a 503 with
// Retry-After on a call that is safe to repeat (a read, a PUT or DELETE,
// or a POST with an Idempotency-Key), is repeated after the time the API
// asked for.
func (c *Client) Do(ctx context.Context, call Call, out any) (Response, error) {
	path, err := call.Op.expand(call.Params)
	if err != nil {
		return Response{}, err
	}
	target := c.base + path
	if len(call.Query) > 0 {
		target += "?" + call.Query.Encode()
	}
	var body []byte
	if call.Body != nil {
		if body, err = json.Marshal(call.Body); err != nil {
			return Response{}, fmt.Errorf("error encoding the %s request: %w", call.Op.ID, err)
		}
	}
	repeatable := call.Op.Method != http.MethodPost || call.IdempotencyKey != ""
	for attempt := 0; ; attempt++ {
		resp, apiErr, err := c.once(ctx, call, target, body, out)
		if err != nil {
			return Response{}, err
		}
		if apiErr == nil {
			return resp, nil
		}
		retry := apiErr.Status == http.StatusTooManyRequests ||
			(apiErr.Status == http.StatusServiceUnavailable && apiErr.RetryAfter > 0 && repeatable) ||
			(apiErr.Code == "idempotency_key_in_use")
		if !retry || attempt >= c.MaxRetries {
			return Response{}, apiErr
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		if c.MaxWait > 0 && wait > c.MaxWait {
			wait = c.MaxWait
		}
		if err := c.SleepFunc(ctx, wait); err != nil {
			return Response{}, fmt.Errorf("%s: waiting %s to retry after %w: %w", call.Op.ID, wait, apiErr, err)
		}
	}
}

func (c *Client) once(ctx context.Context, call Call, target string, body []byte, out any) (Response, *Error, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Op.Method, target, rd)
	if err != nil {
		return Response{}, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return Response{}, nil, fmt.Errorf("%s %s: %w", call.Op.Method, call.Op.Path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return Response{}, nil, fmt.Errorf("%s %s: reading the answer: %w", call.Op.Method, call.Op.Path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return Response{}, decodeError(call.Op, res, data), nil
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return Response{}, nil, fmt.Errorf("%s: decoding the answer: %w", call.Op.ID, err)
		}
	}
	return Response{Status: res.StatusCode, Replayed: res.Header.Get("Idempotent-Replayed") == "true"}, nil, nil
}

// FieldError is one entry of a problem's errors.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an RFC 9457 problem the API answered.
type Error struct {
	Op         string
	Status     int
	Code       string       `json:"code"`
	Title      string       `json:"title"`
	Detail     string       `json:"detail"`
	RequestID  string       `json:"request_id"`
	Errors     []FieldError `json:"errors"`
	RetryAfter time.Duration
}

func decodeError(op Operation, res *http.Response, data []byte) *Error {
	e := &Error{Op: op.ID, Status: res.StatusCode}
	_ = json.Unmarshal(data, e)
	if e.Code == "" {
		e.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(res.StatusCode), " ", "_"))
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(res.StatusCode)
	}
	if s := res.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = time.Until(t)
		}
	}
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s: %s", e.Op, e.Status, e.Code, e.Detail)
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// HasCode reports whether err is an API problem with the code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
