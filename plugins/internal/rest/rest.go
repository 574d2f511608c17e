// Package rest is the small JSON-over-HTTP engine shared by the third-party
// API clients in this module: it builds requests under a base URL, applies
// credentials, decodes JSON answers and turns error answers into
// *apierror.Error with the vendor's message filled in by a per-API decoder.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
)

// DefaultTimeout bounds a whole request (connect, send, read) when the caller
// does not choose one. Provisioning APIs answer in seconds; a minute means
// the backend is unhealthy.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds how much of a response body is read.
const maxResponse = 32 << 20

// Client sends JSON requests to one API.
type Client struct {
	// BaseURL is the API root; request paths are appended to its path.
	BaseURL *url.URL
	// HTTPClient sends the requests.
	HTTPClient *http.Client
	// UserAgent is sent on every request.
	UserAgent string
	// PrepareFunc sets credentials and API-specific headers.
	PrepareFunc func(*http.Request)
	// DecodeErrorFunc fills e.Code, e.Message and e.Messages from an error
	// body in the API's own format.
	DecodeErrorFunc func(e *apierror.Error, body []byte)
	// BodyErrorFunc, when set, inspects every successful body and returns
	// the API's error message when the body reports a failure despite a 2xx
	// status (Kasm answers errors as HTTP 200).
	BodyErrorFunc func(body []byte) string
	// NowFunc is the clock used to resolve an HTTP-date Retry-After.
	NowFunc func() time.Time
}

// New returns a Client for baseURL. A zero timeout means DefaultTimeout.
func New(baseURL string, httpClient *http.Client, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid base URL %q: want http(s)://host[/path]", baseURL)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: timeout}
	} else if httpClient.Timeout == 0 {
		c := *httpClient
		c.Timeout = timeout
		httpClient = &c
	}
	return &Client{BaseURL: u, HTTPClient: httpClient, UserAgent: "ezscale-plugin", NowFunc: time.Now}, nil
}

// Request describes one call.
type Request struct {
	Method string
	// Path is relative to the base URL and already escaped where it holds
	// user-supplied segments (use url.PathEscape).
	Path  string
	Query url.Values
	// Body is encoded as JSON when non-nil.
	Body any
	// Expect lists the accepted statuses; empty means any 2xx.
	Expect []int
}

// Do sends req and decodes a successful JSON answer into out (when out is
// non-nil and the body is not empty). It returns the HTTP status.
func (c *Client) Do(ctx context.Context, req Request, out any) (int, error) {
	u := *c.BaseURL
	u.Path = c.BaseURL.Path + req.Path
	u.RawPath = ""
	if p, err := url.PathUnescape(u.Path); err == nil && p != u.Path {
		// Path segments were escaped by the caller; keep them escaped.
		u.RawPath = u.Path
		u.Path = p
	}
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return 0, fmt.Errorf("error encoding %s %s body: %w", req.Method, req.Path, err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("error building %s %s: %w", req.Method, req.Path, err)
	}
	hr.Header.Set("Accept", "application/json")
	if req.Body != nil {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if c.UserAgent != "" {
		hr.Header.Set("User-Agent", c.UserAgent)
	}
	if c.PrepareFunc != nil {
		c.PrepareFunc(hr)
	}
	resp, err := c.HTTPClient.Do(hr)
	if err != nil {
		return 0, fmt.Errorf("error calling %s %s: %w", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("error reading %s %s response: %w", req.Method, req.Path, err)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if len(req.Expect) > 0 {
		ok = slices.Contains(req.Expect, resp.StatusCode)
	}
	if !ok {
		e := apierror.New(req.Method, req.Path, resp.StatusCode, resp.Header, raw, c.now())
		if c.DecodeErrorFunc != nil {
			c.DecodeErrorFunc(e, raw)
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return resp.StatusCode, e
	}
	if c.BodyErrorFunc != nil {
		if msg := c.BodyErrorFunc(raw); msg != "" {
			e := apierror.New(req.Method, req.Path, resp.StatusCode, resp.Header, raw, c.now())
			e.Message, e.Messages = msg, []string{msg}
			return resp.StatusCode, e
		}
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("error decoding %s %s response: %w", req.Method, req.Path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) now() time.Time {
	if c.NowFunc != nil {
		return c.NowFunc()
	}
	return time.Now()
}

// IsTransport reports an error that never reached the API's error handling:
// a connection failure, a timeout or a cancelled context. Such calls may or
// may not have taken effect at the backend.
func IsTransport(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := apierror.As(err); ok {
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
