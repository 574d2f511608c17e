package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/core/accounts"
)

// signInAs replaces the tab's browser session with a new one of email.
func signInAs(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("browser session for %s: %d", email, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: base + ck.Path, Path: ck.Path}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleDualApproval: with the shipped "Large credit adjustment"
// policy set to require approval, staff admin A adjusts a customer's
// credit by 750.00 in the staff console; the policy holds it, and the page says it was sent for approval with a link
// to the approval (the balance is unchanged). Staff admin B opens the
// Approvals page, finds it pending first, opens it (the held request shown
// with its body), approves it, and sees it executed with its history; the
// account's credit page then shows the 750.00. An owner edits the policy's
// rule in the High-risk policies page and a rule that does not compile is
// shown at its line and column. Every page passes axe-core with no CSP
// violation.
func TestConsoleDualApproval(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	a, c := startInProcess(t)
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	base := c.base
	const password = "staff password for tests"
	for _, s := range []struct{ email, role string }{{"ana@example.net", accounts.StaffAdmin}, {"bo@example.net", accounts.StaffAdmin}, {"olu@example.net", accounts.StaffOwner}} {
		if _, err := a.Accounts.CreateStaff(context.Background(), s.email, password, s.role); err != nil {
			t.Fatal(err)
		}
	}
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "cus@example.net", "password": "correct horse battery"}, &signup); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	account := signup.Account.ID
	// The shipped large-credit policy alerts; the owner makes it hold.
	var owner struct {
		Token string `json:"token"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "olu@example.net", "password": password}, &owner); code != http.StatusOK {
		t.Fatalf("owner login: %d", code)
	}
	if code := c.call(t, "PATCH", "/api/v1/admin/high-risk-policies/hrp_large_credit", owner.Token, map[string]any{"outcome": "require_approval"}, nil); code != http.StatusOK {
		t.Fatalf("making the large-credit policy hold: %d", code)
	}

	// A asks.
	signInAs(t, ctx, base, "ana@example.net", password)
	do(t, ctx, "adjusting credit beyond the policy",
		chromedp.Navigate(base+"/staff/accounts/"+account+"/credit"),
		fill(`form[aria-label="Adjust credit"] input[name=amount]`, "750"),
		fill(`form[aria-label="Adjust credit"] input[name=description]`, "bank transfer"),
		click(`form[aria-label="Adjust credit"] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-held] a`)))
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-held] a').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	id := href[len("/staff/approvals/"):]
	checkPage(t, ctx, "staff-approval-sent")
	if n, err := a.DB.NewSelect().Table("credit_entries").Where("account_id = ?", account).Count(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d credit entries before the approval (%v), want 0", n, err)
	}

	// B approves.
	signInAs(t, ctx, base, "bo@example.net", password)
	do(t, ctx, "opening the approvals queue", chromedp.Navigate(base+"/staff/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-approval="`+id+`"]`)))
	checkPage(t, ctx, "staff-approvals")
	do(t, ctx, "opening the approval", click(`tr[data-approval="`+id+`"] a`),
		chromedp.WaitVisible(chromedp.CSS(`[data-state=pending]`)), chromedp.WaitVisible(chromedp.CSS(`pre[aria-label="Request body"]`)))
	if body := text(t, ctx, `pre[aria-label="Request body"]`); !bytes.Contains([]byte(body), []byte(`"amount": 75000`)) {
		t.Errorf("the held body shown is %q, want the amount 75000", body)
	}
	checkPage(t, ctx, "staff-approval-pending")
	do(t, ctx, "approving it", fill(`form[data-form=decide] textarea[name=reason]`, "confirmed with the bank"),
		click(`button[data-action=approve]`), chromedp.WaitVisible(chromedp.CSS(`[data-state=executed]`)))
	checkPage(t, ctx, "staff-approval-executed")
	do(t, ctx, "seeing the credit", chromedp.Navigate(base+"/staff/accounts/"+account+"/credit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-balance]`)))
	waitJS(t, ctx, "the balance to show 750", `document.querySelector('[data-balance]').textContent.includes('750')`)

	// The owner edits the policy: a broken rule is shown where it breaks.
	signInAs(t, ctx, base, "olu@example.net", password)
	do(t, ctx, "editing the policy", chromedp.Navigate(base+"/staff/high-risk-policies"),
		click(`tr[data-policy=hrp_large_credit] button.link`),
		fill(`form[data-form=policy] textarea[name=rule]`, "amount >= "),
		click(`form[data-form=policy] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-rule-error]`)))
	if msg := text(t, ctx, `[data-rule-error] p`); !bytes.Contains([]byte(msg), []byte("Line 1, column")) {
		t.Errorf("the rule error reads %q, want its line and column", msg)
	}
	checkPage(t, ctx, "staff-high-risk-policies")
}
