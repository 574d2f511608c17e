package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/services"
)

// budgetBundle is the budget API over real HTTP. (Names are prefixed so
// that other modules' tests in this package can keep their own bundles.)
type budgetBundle struct {
	db       *database.DB
	accounts *accounts.Service
	server   *httptest.Server
}

func setupBudget(t *testing.T, db *database.DB) *budgetBundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	nt, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nt.Stop)
	// Hard stops suspend through billing's service lifecycle.
	cat := catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{})
	accts := accounts.New(db, nt, ratelimit.New(db), accounts.DefaultOptions())
	svcs := services.New(services.Deps{DB: db, Jobs: reg, Notifier: nt, Catalog: cat, Accounts: accts}, services.Options{})
	bill := billing.New(billing.Deps{Services: svcs, DB: db, Jobs: reg, Notifier: nt, Catalog: cat}, billing.Options{})
	provisioningtest.BackendJobs(provisioning.Deps{Services: svcs, DB: db, Jobs: reg, Billing: bill, Catalog: cat, Accounts: accts, Notifier: nt})
	// No payment side: the budget routes never meet a top-up.
	svc := budget.New(db, nt, bill, svcs, nil, reg, budget.Options{})
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second,
		RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(db)
	acc := accounts.New(db, nt, limiter, accounts.Options{
		SessionTTL: time.Hour, LoginLimit: 100, LoginWindow: time.Minute, SignupLimit: 100, ResetTokenTTL: time.Hour,
		TOTPIssuer: "test", PublicURL: "https://billing.example.com",
	})
	srv := httpapi.New(httpapi.Deps{DB: db, Accounts: acc, Limiter: limiter}, httpapi.Options{}, &httpapi.BudgetAPI{Budgets: svc})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &budgetBundle{db: db, accounts: acc, server: ts}
}

type budgetUser struct {
	ID, AccountID, Token string
}

func (b *budgetBundle) signup(t *testing.T) budgetUser {
	t.Helper()
	ctx := context.Background()
	email := fmt.Sprintf("u%d@example.com", rand.Int64())
	u, a, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: email, Password: "correct horse battery", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return budgetUser{ID: u.ID, AccountID: a.ID, Token: sess.Token}
}

// call makes a request, checks the answer against the OpenAPI document
// (apitest) and decodes it into out.
func (b *budgetBundle) call(t *testing.T, token, method, path, body string, out any) int {
	t.Helper()
	var in any
	if body != "" {
		in = body
	}
	r := apitest.New(b.server.URL).Do(t, method, path, token, in)
	if out != nil {
		r.Decode(t, out)
	}
	return r.Status
}

type problem struct {
	Code   string              `json:"code"`
	Errors []apperr.FieldError `json:"errors"`
}

func TestBudgetAPI(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupBudget(t, db)
		owner := b.signup(t)
		path := "/api/v1/accounts/" + owner.AccountID + "/budget"

		var p problem
		if code := b.call(t, owner.Token, "GET", path, "", &p); code != http.StatusNotFound {
			t.Fatalf("GET before any budget: %d, want 404", code)
		}

		var st budget.Status
		code := b.call(t, owner.Token, "PUT", path,
			`{"monthly_limit": 5000, "currency": "EUR", "hard_stop": true, "reset_day": 15, "stop_rule": "spend_percent >= 100 && service_type != \"dedicated\""}`, &st)
		if code != http.StatusOK {
			t.Fatalf("PUT: %d", code)
		}
		if st.Budget.MonthlyLimit != 5000 || !st.Budget.HardStop || st.Budget.ResetDay != 15 ||
			fmt.Sprint(st.Budget.Thresholds) != "[50 75 90]" || st.Period.Start.Day() != 15 {
			t.Errorf("PUT answered %+v", st)
		}
		if code := b.call(t, owner.Token, "GET", path, "", &st); code != http.StatusOK || st.Budget.Currency != "EUR" {
			t.Errorf("GET: %d %+v", code, st.Budget)
		}

		// A bad rule: 400 with its position.
		p = problem{}
		code = b.call(t, owner.Token, "PUT", path, `{"monthly_limit": 5000, "alert_rule": "spend_percent >= \"80\""}`, &p)
		if code != http.StatusBadRequest || len(p.Errors) != 1 {
			t.Fatalf("bad rule: %d %+v", code, p)
		}
		if e := p.Errors[0]; e.Field != "alert_rule" || e.Line != 1 || e.Column != 15 || !strings.Contains(e.Snippet, "^") {
			t.Errorf("bad rule error = %+v, want alert_rule at 1:15 with a snippet", e)
		}
		// Unknown fields are refused (no mass assignment).
		if code := b.call(t, owner.Token, "PUT", path, `{"monthly_limit": 5000, "rule_error": "x"}`, nil); code != http.StatusBadRequest {
			t.Errorf("unknown field: %d, want 400", code)
		}

		// Another account's budget is 404, never 403.
		stranger := b.signup(t)
		if code := b.call(t, stranger.Token, "GET", path, "", nil); code != http.StatusNotFound {
			t.Errorf("stranger GET: %d, want 404", code)
		}
		if code := b.call(t, stranger.Token, "PUT", path, `{"monthly_limit": 1}`, nil); code != http.StatusNotFound {
			t.Errorf("stranger PUT: %d, want 404", code)
		}
		// A technical member reads but cannot change it.
		tech := b.signup(t)
		if err := accountstest.Join(context.Background(), db, owner.AccountID, tech.ID, accounts.RoleTechnical); err != nil {
			t.Fatal(err)
		}
		if code := b.call(t, tech.Token, "GET", path, "", nil); code != http.StatusOK {
			t.Errorf("technical GET: %d, want 200", code)
		}
		if code := b.call(t, tech.Token, "DELETE", path, "", nil); code != http.StatusForbidden {
			t.Errorf("technical DELETE: %d, want 403", code)
		}

		// Exclusions: the account's own services only.
		mine := createService(t, db, owner.AccountID)
		theirs := createService(t, db, stranger.AccountID)
		if code := b.call(t, owner.Token, "PUT", path+"/exclusions/"+mine, "", nil); code != http.StatusNoContent {
			t.Errorf("exclude: %d", code)
		}
		if code := b.call(t, owner.Token, "PUT", path+"/exclusions/"+theirs, "", nil); code != http.StatusNotFound {
			t.Errorf("exclude another account's service: %d, want 404", code)
		}
		b.call(t, owner.Token, "GET", path, "", &st)
		if fmt.Sprint(st.Excluded) != "["+mine+"]" {
			t.Errorf("excluded = %v", st.Excluded)
		}
		if code := b.call(t, owner.Token, "DELETE", path+"/exclusions/"+mine, "", nil); code != http.StatusNoContent {
			t.Errorf("include: %d", code)
		}

		if code := b.call(t, owner.Token, "DELETE", path, "", nil); code != http.StatusNoContent {
			t.Errorf("DELETE: %d", code)
		}
		if code := b.call(t, owner.Token, "GET", path, "", nil); code != http.StatusNotFound {
			t.Errorf("GET after DELETE: %d, want 404", code)
		}
	})
}

// createService makes a plan and an active service of the account.
func createService(t *testing.T, db *database.DB, accountID string) string {
	t.Helper()
	ctx := context.Background()
	plan, err := catalogtest.PlanOf(ctx, db, catalogtest.PlanSpec{Name: "Game", ServiceType: "game", Currency: "EUR", Plugin: "test", MonthlyPrice: 1000})
	if err != nil {
		t.Fatal(err)
	}
	id, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{AccountID: accountID, PlanID: plan, Currency: "EUR", Price: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBudgetRoutesAreDocumented: every route of the module is in the
// OpenAPI document.
func TestBudgetRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Deps{}, httpapi.Options{}, &httpapi.BudgetAPI{})
	for _, rt := range srv.Routes() {
		item := doc.Paths.Find(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
}
