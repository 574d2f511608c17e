package httpapi_test

import (
	"bytes"
	"context"
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

// openapiRouter finds the documented operation of a request. The document
// is loaded once per test binary; kin-openapi only reads it while validating.
var openapiRouter = sync.OnceValues(func() (routers.Router, error) {
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

// validatingTransport checks every response of a documented operation
// against the OpenAPI document (kin-openapi, JSON Schema 2020-12 for 3.1):
// status (undocumented statuses fail), content type, headers and body.
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := validateResponse(req, resp.StatusCode, resp.Header, body); err != nil {
		v.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// validateResponse returns nil for responses of routes outside the
// document (probes, unknown paths and methods, which the route coverage test
// accounts for).
func validateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	router, err := openapiRouter()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
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

// TestValidatorCatchesMismatches proves the transport's check has teeth: a
// body that breaks the schema, a wrong content type and a problem without
// its required members are all reported.
func TestValidatorCatchesMismatches(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/api/v1/me", nil)
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	problemCT := http.Header{"Content-Type": {"application/problem+json"}}
	for name, tc := range map[string]struct {
		status int
		header http.Header
		body   string
	}{
		"wrong type":           {200, jsonCT, `{"user": 1, "accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"missing member":       {200, jsonCT, `{"accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"value outside enum":   {200, jsonCT, `{"user": {"id": "u", "email": "e", "email_verified": true, "totp_enabled": false, "staff_role": "king", "created_at": "2026-01-02T03:04:05Z"}, "accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"wrong content type":   {401, jsonCT, `{"type": "t", "title": "t", "status": 401, "code": "c"}`},
		"problem without code": {401, problemCT, `{"type": "t", "title": "t", "status": 401}`},
	} {
		if err := validateResponse(req, tc.status, tc.header, []byte(tc.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := `{"user": {"id": "u", "email": "e", "email_verified": true, "totp_enabled": false, "staff_role": null, "created_at": "2026-01-02T03:04:05Z"}, "accounts": [], "token": {"kind": "session", "scopes": []}}`
	if err := validateResponse(req, 200, jsonCT, []byte(ok)); err != nil {
		t.Errorf("a valid body was refused: %v", err)
	}
}
