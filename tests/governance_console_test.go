package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
)

// TestConsoleStaffGovernance: a staff owner adds a staff member from the
// Users page (held for a second owner by the shipped policy: the page says
// so), deletes a customer (held the same way), and an admin terminates two
// services selected in the Services list at once. Every page passes
// axe-core with no CSP violation.
func TestConsoleStaffGovernance(t *testing.T) {
	t.Parallel()
	a, c := startInProcess(t)
	base := c.base
	ctx := context.Background()

	var signup struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "gus@example.net", "password": "correct horse battery"}, &signup); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	const password = "staff password for tests"
	for _, s := range []struct{ email, role string }{{"olga@example.net", "owner"}, {"adam@example.net", "admin"}} {
		if _, err := a.Accounts.CreateStaff(ctx, s.email, password, s.role); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := catalogtest.Plan(ctx, a.DB, "recprov", 3000)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	start, end := now.AddDate(0, 0, -1), now.AddDate(0, 1, -1)
	var svcs []string
	for _, label := range []string{"svc-gov-1", "svc-gov-2"} {
		id, err := billingtest.Service(ctx, a.DB, billingtest.ServiceSpec{AccountID: signup.Account.ID, PlanID: plan, Price: 3000,
			Label: label, PeriodStart: &start, PeriodEnd: &end})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, id)
	}

	owner := sessionTab(t, base, "olga@example.net", password)
	do(t, owner, "adding a staff member", chromedp.Navigate(base+"/staff/accounts?who=users"),
		fill(`#staff-new ~ form input[name=email]`, "sam@example.net"),
		choose(`#invite-role`, "support"),
		click(`#staff-new ~ form button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-held]`)))
	checkPage(t, owner, "staff-users-invite-held")
	var held int
	if err := a.DB.NewRaw("SELECT COUNT(*) FROM approvals WHERE action = ? AND state = ?", "staff.create", "pending").Scan(ctx, &held); err != nil || held != 1 {
		t.Fatalf("%d pending staff.create approvals (%v), want 1", held, err)
	}

	do(t, owner, "deleting a customer", chromedp.Navigate(base+"/staff/accounts?who=users&q=gus%40example.net"),
		click(`tr[data-user="`+signup.User.ID+`"] [data-action=delete]`),
		click(`tr[data-user="`+signup.User.ID+`"] [data-action=delete-confirm]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-held]`)))
	if err := a.DB.NewRaw("SELECT COUNT(*) FROM approvals WHERE action = ? AND state = ?", "users.delete", "pending").Scan(ctx, &held); err != nil || held != 1 {
		t.Fatalf("%d pending users.delete approvals (%v), want 1", held, err)
	}

	admin := sessionTab(t, base, "adam@example.net", password)
	do(t, admin, "selecting two services", chromedp.Navigate(base+"/staff/services?account_id="+signup.Account.ID),
		click(fmt.Sprintf(`tr[data-service=%q] [data-action=select]`, svcs[0])),
		click(fmt.Sprintf(`tr[data-service=%q] [data-action=select]`, svcs[1])),
		click(`[data-action=bulk-terminate]`))
	checkPage(t, admin, "staff-services-bulk")
	do(t, admin, "terminating them", click(`[data-action=bulk-terminate-confirm]`),
		chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	var ended int
	if err := a.DB.NewRaw("SELECT COUNT(*) FROM services WHERE account_id = ? AND status = ?", signup.Account.ID, "terminated").Scan(ctx, &ended); err != nil || ended != 2 {
		t.Errorf("%d services terminated (%v), want 2", ended, err)
	}
}
