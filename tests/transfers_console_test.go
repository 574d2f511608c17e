package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
)

// sessionTab opens a tab signed in as email (the browser session cookie
// set in the tab's own browser context).
func sessionTab(t *testing.T, base, email, password string) context.Context {
	t.Helper()
	ctx := newTab(t)
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("session of %s: %d", email, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: base + ck.Path, Path: ck.Path}); err != nil {
			t.Fatal(err)
		}
	}
	// Leave the console first: its notification stream would hold the
	// server open.
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	return ctx
}

// TestConsoleServiceTransfer: a customer asks, from the service page, to
// transfer a service to another customer (an unknown email first: the
// refusal shows on the email field); the receiver sees it among their
// transfers and accepts it; staff approve it from the Transfers queue;
// the service then shows in the receiver's services. Every page passes
// axe-core with no CSP violation.
func TestConsoleServiceTransfer(t *testing.T) {
	t.Parallel()
	a, c := startInProcess(t)
	base := c.base

	const password = "correct horse battery"
	accountOf := func(email string) string {
		var signup struct {
			Account struct {
				ID string `json:"id"`
			} `json:"account"`
		}
		if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password}, &signup); code != http.StatusCreated {
			t.Fatalf("signup of %s: %d", email, code)
		}
		return signup.Account.ID
	}
	sender, receiver := accountOf("sam@example.net"), accountOf("rita@example.net")
	if _, err := a.Accounts.CreateStaff(context.Background(), "ops@example.net", "staff password for tests", "admin"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, err := catalogtest.Plan(ctx, a.DB, "recprov", 3000)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	start, end := now.AddDate(0, 0, -10), now.AddDate(0, 0, 20)
	svc, err := billingtest.Service(ctx, a.DB, billingtest.ServiceSpec{AccountID: sender, PlanID: plan, Price: 3000, Label: "shop-web",
		PeriodStart: &start, PeriodEnd: &end})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.ExecContext(ctx, `INSERT INTO payment_methods (id, account_id, gateway, gateway_method_id, created_at) VALUES ('pm-rita', ?, 'stripe', 'pm_rita', ?)`, receiver, now); err != nil {
		t.Fatal(err)
	}

	sam := sessionTab(t, base, "sam@example.net", password)
	do(t, sam, "opening the service", chromedp.Navigate(base+"/services/"+svc), click(`[data-action=transfer-service]`))
	do(t, sam, "asking for an unknown receiver",
		fill(`form[data-form=transfer] input[name=email]`, "nobody@example.net"),
		click(`form[data-form=transfer] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=transfer] .field.invalid input[name=email]`)))
	checkPage(t, sam, "transfer-refused")
	do(t, sam, "asking for the receiver",
		fill(`form[data-form=transfer] input[name=email]`, "rita@example.net"),
		click(`form[data-form=transfer] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-action=cancel-transfer]`)))
	checkPage(t, sam, "transfer-requested")

	rita := sessionTab(t, base, "rita@example.net", password)
	do(t, rita, "the receiver's transfers", chromedp.Navigate(base+"/transfers?direction=incoming"), chromedp.WaitVisible(chromedp.CSS(`tr[data-transfer]`)))
	checkPage(t, rita, "transfers-incoming")
	do(t, rita, "accepting", click(`tr[data-transfer] a`), click(`[data-action=accept-transfer]`), chromedp.WaitVisible(chromedp.CSS(`[data-transfer-done]`)))
	if got := text(t, rita, `[data-transfer-done]`); got != "The transfer is accepted." {
		t.Errorf("after accepting: %q", got)
	}
	checkPage(t, rita, "transfer-accepted")

	staff := sessionTab(t, base, "ops@example.net", "staff password for tests")
	do(t, staff, "the approval queue", chromedp.Navigate(base+"/staff/transfers"), chromedp.WaitVisible(chromedp.CSS(`tr[data-transfer] [data-action=approve-transfer]`)))
	checkPage(t, staff, "staff-transfers")
	do(t, staff, "approving", click(`tr[data-transfer] [data-action=approve-transfer]`), chromedp.WaitVisible(chromedp.CSS(`[data-transfer-done]`)))

	do(t, rita, "the receiver's services", chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-service=%q]`, svc))))
	checkPage(t, rita, "services-after-transfer")
	var owner string
	if err := a.DB.NewRaw("SELECT account_id FROM services WHERE id = ?", svc).Scan(ctx, &owner); err != nil || owner != receiver {
		t.Errorf("the service belongs to %s (%v), want the receiver %s", owner, err, receiver)
	}
}
