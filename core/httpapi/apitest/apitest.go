// Package apitest is the platform's HTTP API as tests use it: a client that
// sends JSON requests and checks every response of a documented operation
// against the OpenAPI document the server serves (kin-openapi, JSON Schema
// 2020-12 for OpenAPI 3.1): status (an undocumented status fails), content
// type, headers and body. Every package whose tests call the API over HTTP
// uses it, so a response the document does not promise fails wherever it
// is seen. Imported by tests only.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ezscale/platform/core/httpapi"
)

// router finds the documented operation of a request. The document is
// loaded once per test binary; kin-openapi only reads it while validating.
var router = sync.OnceValues(func() (routers.Router, error) {
	_, raw, err := httpapi.OpenAPI()
	if err != nil {
		return nil, err
	}
	// A private copy: the validator may cache compiled schemas in it.
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	// The document's server is "/", i.e. any host; matching is by path.
	doc.Servers = nil
	return gorillamux.NewRouter(doc)
})

// Validate checks a response against the OpenAPI document. Responses of
// paths outside the document (probes, the console) pass; an /api/ path
// outside it must answer 404 or 405.
func Validate(req *http.Request, status int, header http.Header, body []byte) error {
	r, err := router()
	if err != nil {
		return err
	}
	route, params, err := r.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		if strings.HasPrefix(req.URL.Path, "/api/") && status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return errors.New("an /api/ path outside the document answered " + http.StatusText(status))
		}
		return nil
	}
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// Transport validates every response that passes through it (Validate),
// reporting a mismatch as an error of T. For clients the test does not
// drive through Client (streams, the browser's requests).
type Transport struct {
	T    testing.TB
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (v *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := v.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp, nil // a stream is read as it comes
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := Validate(req, resp.StatusCode, resp.Header, body); err != nil {
		v.T.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// Client calls the API at BaseURL.
type Client struct {
	BaseURL string
	// HTTP sends the requests (nil: http.DefaultClient).
	HTTP *http.Client
}

// New returns a client of the API at baseURL (an httptest server's URL).
func New(baseURL string) *Client { return &Client{BaseURL: strings.TrimRight(baseURL, "/")} }

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Problem is what a problem+json response says: its code and the fields
// its errors name.
type Problem struct {
	Code   string `json:"code"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

// Problem decodes a problem+json response, failing the test when the
// response is not one.
func (r Response) Problem(t testing.TB) Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %q, want application/problem+json: %s", ct, r.Body)
	}
	var p Problem
	r.Decode(t, &p)
	return p
}

// Do sends a request and validates the response. body is nil (none),
// []byte or string (sent as is), or a value sent as JSON; a body is sent
// as application/json unless headers set Content-Type. headers are
// name/value pairs. A token is sent as a bearer token.
func (c *Client) Do(t testing.TB, method, path, token string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encoding the request: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.BaseURL+path, rd)
	if err != nil {
		t.Fatalf("building the request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if err := Validate(req, resp.StatusCode, resp.Header, out); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", method, path, resp.StatusCode, err, out)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// Must is Do that fails the test unless the response has status want.
func (c *Client) Must(t testing.TB, want int, method, path, token string, body any, headers ...string) Response {
	t.Helper()
	r := c.Do(t, method, path, token, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r
}
