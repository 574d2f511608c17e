package billing_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/ratelimit"
)

// api is the HTTP API over the bundle's billing, with a customer and a
// staff admin logged in.
type api struct {
	srv      *httptest.Server
	client   *apitest.Client
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
	s := httpapi.New(httpapi.Deps{DB: tb.db, Accounts: as, Limiter: limiter}, httpapi.Options{}, &httpapi.CatalogAPI{Catalog: tb.cat, Reach: tb.svcs}, &httpapi.BillingAPI{Billing: tb.b, Services: tb.svcs},
		&httpapi.PaymentsAPI{Payments: tb.pay, TopUpLimit: &ratelimit.Rule{Limit: 1000, Window: time.Minute}})
	a := &api{srv: httptest.NewServer(s.Handler()), accounts: as}
	t.Cleanup(a.srv.Close)
	a.client = apitest.New(a.srv.URL)
	a.account, a.customer = a.signup(t, tb)
	staff, err := accountstest.StaffSession(tb.ctx, as, fmt.Sprintf("staff-%x@example.com", rand.Uint64()), accounts.StaffAdmin)
	if err != nil {
		t.Fatal(err)
	}
	a.staff = staff
	return a
}

// signup creates a customer and returns its account and session token.
func (a *api) signup(t testing.TB, tb *testBundle) (string, string) {
	t.Helper()
	acc, token, err := accountstest.Customer(tb.ctx, a.accounts, fmt.Sprintf("c-%x@example.com", rand.Uint64()))
	if err != nil {
		t.Fatal(err)
	}
	return acc, token
}

// response is a read response, validated against the OpenAPI document.
type response = apitest.Response

// do sends a request; body is JSON-encoded unless it is []byte.
func (a *api) do(t testing.TB, method, path, token string, body any, headers ...string) response {
	t.Helper()
	return a.client.Do(t, method, path, token, body, headers...)
}

func (a *api) must(t testing.TB, want int, method, path, token string, body any, headers ...string) response {
	t.Helper()
	return a.client.Must(t, want, method, path, token, body, headers...)
}
