package provisioning_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/ratelimit"
)

// api is the HTTP API over the bundle (billing and provisioning routes,
// activity wired as in core/app), with a staff admin logged in.
type api struct {
	srv    *httptest.Server
	client *apitest.Client
	tb     *testBundle
	staff  string
}

func (tb *testBundle) api(t testing.TB) *api {
	t.Helper()
	limiter := ratelimit.New(tb.db)
	s := httpapi.New(httpapi.Deps{DB: tb.db, Accounts: tb.accounts, Limiter: limiter, ServiceActivity: tb.p.RecordActivity}, httpapi.Options{},
		&httpapi.CatalogAPI{Catalog: tb.cat, Reach: tb.svcs}, &httpapi.BillingAPI{Billing: tb.b, Services: tb.svcs}, &httpapi.ProvisioningAPI{Provisioning: tb.p, ActionLimit: &ratelimit.Rule{Limit: 1000, Window: time.Minute}})
	a := &api{srv: httptest.NewServer(s.Handler()), tb: tb}
	t.Cleanup(a.srv.Close)
	a.client = apitest.New(a.srv.URL)
	email := fmt.Sprintf("staff-%x@example.com", rand.Uint64())
	if _, err := tb.accounts.CreateStaff(tb.ctx, email, "correct horse battery staple", accounts.StaffAdmin); err != nil {
		t.Fatal(err)
	}
	a.staff = a.login(t, email)
	return a
}

func (a *api) login(t testing.TB, email string) string {
	t.Helper()
	sess, _, err := a.tb.accounts.Login(a.tb.ctx, accounts.LoginInput{Email: email, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	return sess.Token
}

// response is a read response, validated against the OpenAPI document.
type response = apitest.Response

// must sends a request (JSON body), checks the status and that the
// response matches the OpenAPI document.
func (a *api) must(t testing.TB, want int, method, path, token string, body any, headers ...string) response {
	t.Helper()
	return a.client.Must(t, want, method, path, token, body, headers...)
}

// TestProvisioningOverHTTP: power, SSO login, usage and free-tier status
// over HTTP, matching the OpenAPI document; another account's service is a
// 404 on every route; a read-only member cannot power; the customer's
// calls on the service (billing's routes too) are activity, staff's are
// not.
func TestProvisioningOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		c := tb.customer(t, false, false)
		token := a.login(t, c.Email)
		tb.secure(t, c, true, true) // after the login: it would ask for a code
		other := tb.customer(t, false, false)
		otherToken := a.login(t, other.Email)
		free := tb.plan(t, "free-micro", 0, true, "")

		var order struct {
			Service struct {
				ID          string `json:"id"`
				Environment string `json:"environment"`
			} `json:"service"`
		}
		acct := "/api/v1/accounts/" + c.AccountID
		a.must(t, 201, "POST", acct+"/orders", token, map[string]any{"plan_id": free.Slug}, "Idempotency-Key", "o-1").Decode(t, &order)
		if order.Service.Environment != "development" {
			t.Errorf("ordered a free-tier service in %q", order.Service.Environment)
		}
		tb.waitService(t, order.Service.ID, "active")
		svc := acct + "/services/" + order.Service.ID
		a.must(t, 422, "POST", acct+"/orders", token, map[string]any{"plan_id": free.Slug})

		var power provisioning.PowerResult
		a.must(t, 200, "POST", svc+"/power", token, map[string]any{"action": "restart"}, "Idempotency-Key", "p-1").Decode(t, &power)
		if power.Action != "restart" {
			t.Errorf("power %+v", power)
		}
		if calls := tb.prov.Calls("power"); len(calls) != 1 || calls[0].Key != "power:"+order.Service.ID+":p-1" {
			t.Errorf("power calls %+v", calls)
		}
		a.must(t, 400, "POST", svc+"/power", token, map[string]any{"action": "restart", "force": true})
		a.must(t, 400, "POST", svc+"/power", token, map[string]any{"action": "explode"})
		a.must(t, 200, "POST", svc+"/login-url", token, nil)

		if _, err := tb.p.CollectUsage(tb.ctx); err != nil {
			t.Fatal(err)
		}
		var usage httpapi.List[provisioning.UsageSample]
		a.must(t, 200, "GET", svc+"/usage", token, nil).Decode(t, &usage)
		if len(usage.Data) != 1 || usage.Data[0].CPUCentipercent != 1235 {
			t.Errorf("usage %+v", usage)
		}
		a.must(t, 400, "GET", svc+"/usage?since=yesterday", token, nil)
		a.must(t, 200, "GET", svc+"/free-tier", token, nil)

		// Another account: 404 everywhere, nothing reaches the backend.
		for _, r := range []struct{ method, path string }{
			{"POST", svc + "/power"}, {"POST", svc + "/login-url"}, {"GET", svc + "/usage"}, {"GET", svc + "/free-tier"},
			{"POST", "/api/v1/accounts/" + other.AccountID + "/services/" + order.Service.ID + "/power"},
			{"GET", "/api/v1/accounts/" + other.AccountID + "/services/" + order.Service.ID + "/usage"},
		} {
			var body any
			if r.method == "POST" {
				body = map[string]any{"action": "boot"}
			}
			a.must(t, 404, r.method, r.path, otherToken, body)
		}
		if n := len(tb.prov.Calls("power")); n != 1 {
			t.Errorf("%d power calls after another account's attempts, want 1", n)
		}

		// Activity: the customer's GET of the service counts, staff's
		// does not.
		last := func() time.Time {
			st, err := tb.p.FreeTier(tb.ctx, c.AccountID, order.Service.ID)
			if err != nil {
				t.Fatal(err)
			}
			return st.LastActivityAt
		}
		tb.clock.Add(time.Hour)
		a.must(t, 200, "GET", "/api/v1/admin/services/"+order.Service.ID, a.staff, nil)
		if last().Equal(tb.clock.Now()) {
			t.Errorf("a staff read counted as the customer's activity")
		}
		a.must(t, 200, "GET", svc, token, nil)
		if !last().Equal(tb.clock.Now()) {
			t.Errorf("the customer's read of the service was not recorded as activity")
		}
	})
}
