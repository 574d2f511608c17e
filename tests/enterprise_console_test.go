package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
)

// TestConsoleEnterpriseRequest: a customer submits an enterprise request
// in the console; staff quote it with the staff quote form; the customer sees the
// quote and accepts it; staff attach a hand-provisioned service from the
// staff Enterprise page, which is then billed at the quoted price. Every
// page passes axe-core with no CSP violation.
func TestConsoleEnterpriseRequest(t *testing.T) {
	t.Parallel()
	a, c := startInProcess(t)
	base := c.base
	ctx := context.Background()

	const password = "correct horse battery"
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "erin@example.net", "password": password}, &signup); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	account := signup.Account.ID
	if _, err := a.Accounts.CreateStaff(ctx, "ops@example.net", "staff password for tests", "admin"); err != nil {
		t.Fatal(err)
	}
	var login struct {
		Token string `json:"token"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "ops@example.net", "password": "staff password for tests"}, &login); code != http.StatusOK {
		t.Fatalf("staff login: %d", code)
	}
	plan, err := catalogtest.Plan(ctx, a.DB, "recprov", 3000)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	start, end := now.AddDate(0, 0, -1), now.AddDate(0, 1, -1)
	svc, err := billingtest.Service(ctx, a.DB, billingtest.ServiceSpec{AccountID: account, PlanID: plan, Price: 3000, Label: "db-node-1",
		PeriodStart: &start, PeriodEnd: &end})
	if err != nil {
		t.Fatal(err)
	}

	erin := sessionTab(t, base, "erin@example.net", password)
	do(t, erin, "opening enterprise", chromedp.Navigate(base+"/enterprise"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	checkPage(t, erin, "enterprise-empty")
	do(t, erin, "submitting a request", click(`[data-action=new-enterprise]`),
		fill(`form[data-form=enterprise] input[name=nodes]`, "3"),
		fill(`form[data-form=enterprise] input[name=region]`, "eu-central"),
		click(`form[data-form=enterprise] input[name=failover]`),
		click(`form[data-form=enterprise] button[type=submit]`))
	waitJS(t, erin, "the request's page", `location.pathname.startsWith('/enterprise/') && document.querySelector('dl.facts') !== null`)
	var path string
	if path, err = chromedp.Run(erin, chromedp.Evaluate[string](`location.pathname`)); err != nil || !strings.HasPrefix(path, "/enterprise/") {
		t.Fatalf("after submitting: %q %v", path, err)
	}
	id := strings.TrimPrefix(path, "/enterprise/")
	checkPage(t, erin, "enterprise-submitted")

	staff := sessionTab(t, base, "ops@example.net", "staff password for tests")
	do(t, staff, "quoting from the staff queue", chromedp.Navigate(base+"/staff/enterprise"),
		click(`tr[data-request="`+id+`"] [data-action=quote]`),
		fill(`form[data-form=quote] input[name=base_plan_id]`, plan),
		fill(`form[data-form=quote] input[name=monthly_price]`, "120000"),
		fill(`form[data-form=quote] input[name=setup_fee]`, "50000"),
		setValue(`form[data-form=quote] input[name=expires_at]`, now.Add(72*time.Hour).Local().Format("2006-01-02T15:04")),
		fill(`form[data-form=quote] textarea`, "12 months minimum"))
	checkPage(t, staff, "staff-enterprise-quote")
	do(t, staff, "sending the quote", click(`form[data-form=quote] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`[data-enterprise-done]`)))
	var quoted struct {
		Status       string `json:"status"`
		MonthlyPrice int64  `json:"monthly_price"`
		SetupFee     int64  `json:"setup_fee"`
		Terms        string `json:"terms"`
	}
	if code := c.call(t, "GET", "/api/v1/admin/enterprise-requests/"+id, login.Token, nil, &quoted); code != http.StatusOK ||
		quoted.Status != "quoted" || quoted.MonthlyPrice != 120000 || quoted.SetupFee != 50000 || quoted.Terms != "12 months minimum" {
		t.Fatalf("after the staff quote form: %d %+v", code, quoted)
	}
	do(t, erin, "accepting the quote", chromedp.Navigate(base+path), click(`[data-action=accept-quote]`), chromedp.WaitVisible(chromedp.CSS(`[data-accepted]`)))
	checkPage(t, erin, "enterprise-accepted")

	do(t, staff, "the accepted requests", chromedp.Navigate(base+"/staff/enterprise"), choose(`#staff-enterprise-status`, "accepted"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-request="`+id+`"] [data-action=attach]`)))
	checkPage(t, staff, "staff-enterprise")
	do(t, staff, "attaching the service", click(`tr[data-request="`+id+`"] [data-action=attach]`),
		fill(`form[data-form=attach] input[name=service_id]`, svc),
		click(`form[data-form=attach] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-enterprise-done]`)))
	var price int64
	if err := a.DB.NewRaw("SELECT price FROM service_terms WHERE service_id = ?", svc).Scan(ctx, &price); err != nil || price != 120000 {
		t.Errorf("the service's price is %d (%v), want the quoted 120000", price, err)
	}
}
