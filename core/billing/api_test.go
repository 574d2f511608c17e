package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/ratelimit"
)

// api is the HTTP API over the bundle's billing, with a customer and a
// staff admin logged in.
type api struct {
	srv      *httptest.Server
	router   routers.Router
	accounts *accounts.Service
	customer string // session token
	staff    string
	account  string // the customer's account
}

func (tb *testBundle) api(t testing.TB) *api {
	t.Helper()
	limiter := ratelimit.New(tb.db)
	as := accounts.New(tb.db, tb.notify, limiter, accounts.Options{
		SessionTTL: time.Hour, LoginLimit: 1000, LoginWindow: time.Minute, SignupLimit: 1000, ResetTokenTTL: time.Hour,
		TOTPIssuer: "test", PublicURL: "http://billing.test",
	})
	s := httpapi.New(httpapi.Deps{DB: tb.db, Accounts: as, Limiter: limiter}, httpapi.Options{}, &httpapi.BillingAPI{Billing: tb.b, TopUpLimit: &ratelimit.Rule{Limit: 1000, Window: time.Minute}})
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	a := &api{srv: httptest.NewServer(s.Handler()), accounts: as, router: router}
	t.Cleanup(a.srv.Close)
	a.account, a.customer = a.signup(t, tb)
	email := fmt.Sprintf("staff-%x@example.com", rand.Uint64())
	if _, err = as.CreateStaff(tb.ctx, email, "correct horse battery staple", accounts.StaffAdmin); err != nil {
		t.Fatal(err)
	}
	sess, _, err := as.Login(tb.ctx, accounts.LoginInput{Email: email, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	a.staff = sess.Token
	return a
}

// signup creates a customer and returns its account and session token.
func (a *api) signup(t testing.TB, tb *testBundle) (string, string) {
	t.Helper()
	email := fmt.Sprintf("c-%x@example.com", rand.Uint64())
	_, acc, err := a.accounts.Signup(tb.ctx, accounts.SignupInput{Email: email, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := a.accounts.Login(tb.ctx, accounts.LoginInput{Email: email, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	return acc.ID, sess.Token
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// do sends a request; body is JSON-encoded unless it is []byte.
func (a *api) do(t testing.TB, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
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
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a.validate(t, req, resp, out)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// validate checks the response against the OpenAPI document: every
// response the billing tests see must match what the document promises.
func (a *api) validate(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	route, params, err := a.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

func (a *api) must(t testing.TB, want int, method, path, token string, body any, headers ...string) response {
	t.Helper()
	r := a.do(t, method, path, token, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r
}
