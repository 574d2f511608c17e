package tests

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	svcs := []string{"svc-gov-1", "svc-gov-2"}
	for _, id := range svcs {
		if _, err := a.DB.ExecContext(ctx, `INSERT INTO services (id, account_id, plan_id, cycle, currency, price, status, label, period_start, period_end, created_at, updated_at)
			VALUES (?, ?, ?, 'monthly', 'USD', 3000, 'active', ?, ?, ?, ?, ?)`, id, signup.Account.ID, plan, id, now.AddDate(0, 0, -1), now.AddDate(0, 1, -1), now, now); err != nil {
			t.Fatal(err)
		}
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
		click(`tr[data-service="svc-gov-1"] [data-action=select]`),
		click(`tr[data-service="svc-gov-2"] [data-action=select]`),
		click(`[data-action=bulk-terminate]`))
	checkPage(t, admin, "staff-services-bulk")
	do(t, admin, "terminating them", click(`[data-action=bulk-terminate-confirm]`),
		chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	var ended int
	if err := a.DB.NewRaw("SELECT COUNT(*) FROM services WHERE account_id = ? AND status = ?", signup.Account.ID, "terminated").Scan(ctx, &ended); err != nil || ended != 2 {
		t.Errorf("%d services terminated (%v), want 2", ended, err)
	}
}
